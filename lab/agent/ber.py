"""Minimal BER (X.690) encoding and decoding for the subset SNMP uses: single-byte tags, definite lengths."""

from __future__ import annotations

# Universal and SNMP application tags.
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
SEQUENCE = 0x30
IP_ADDRESS = 0x40
COUNTER32 = 0x41
GAUGE32 = 0x42
TIMETICKS = 0x43
OPAQUE = 0x44
COUNTER64 = 0x46
NO_SUCH_OBJECT = 0x80
NO_SUCH_INSTANCE = 0x81
END_OF_MIB_VIEW = 0x82

# PDU tags (context-specific, constructed).
GET = 0xA0
GETNEXT = 0xA1
RESPONSE = 0xA2
SET = 0xA3
GETBULK = 0xA5
INFORM = 0xA6
TRAP2 = 0xA7
REPORT = 0xA8


class BerError(ValueError):
    """A datagram that is not well-formed BER (or not the SNMP shape we expect)."""


def enc_len(n: int) -> bytes:
    """Definite-length octets for a content length of n."""
    if n < 0x80:
        return bytes((n,))
    if n < 0x100:
        return bytes((0x81, n))
    if n < 0x10000:
        return bytes((0x82, n >> 8, n & 0xFF))
    return bytes((0x83, n >> 16, (n >> 8) & 0xFF, n & 0xFF))


def tlv(tag: int, content: bytes) -> bytes:
    """Tag-length-value with a single-byte tag."""
    return bytes((tag,)) + enc_len(len(content)) + content


def int_content(v: int) -> bytes:
    """Minimal two's-complement content octets of a signed integer."""
    return v.to_bytes((v + (v < 0)).bit_length() // 8 + 1, "big", signed=True)


def uint_content(v: int) -> bytes:
    """Content octets of a non-negative integer (a leading 0 keeps the sign bit clear)."""
    return v.to_bytes(v.bit_length() // 8 + 1, "big")


def enc_int(v: int, tag: int = INTEGER) -> bytes:
    """A signed INTEGER TLV."""
    return tlv(tag, int_content(v))


def enc_uint(v: int, tag: int) -> bytes:
    """An unsigned application-type TLV (Counter32, Gauge32, TimeTicks, Counter64)."""
    return tlv(tag, uint_content(v))


def oid_content(oid: tuple[int, ...]) -> bytes:
    """Content octets of an OBJECT IDENTIFIER (first two arcs combined, base-128 arcs)."""
    if len(oid) < 2:
        raise ValueError(f"OID needs at least two arcs: {oid}")
    first, second = oid[0], oid[1]
    if first > 2 or (first < 2 and second > 39):
        raise ValueError(f"invalid leading arcs: {oid}")
    out = bytearray()
    for arc in (first * 40 + second, *oid[2:]):
        if arc < 0 or arc > 0xFFFFFFFF:
            raise ValueError(f"OID arc out of range: {arc}")
        if arc < 0x80:
            out.append(arc)
            continue
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def enc_oid(oid: tuple[int, ...]) -> bytes:
    """An OBJECT IDENTIFIER TLV."""
    return tlv(OBJECT_IDENTIFIER, oid_content(oid))


def read_tlv(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """Read a TLV at pos (not beyond end); return (tag, content start, content end)."""
    if pos + 2 > end:
        raise BerError("truncated TLV header")
    tag = buf[pos]
    first = buf[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        nlen = first & 0x7F
        if nlen == 0 or nlen > 4 or pos + nlen > end:
            raise BerError("bad length octets")
        length = int.from_bytes(buf[pos : pos + nlen], "big")
        pos += nlen
    stop = pos + length
    if stop > end:
        raise BerError("TLV runs past its container")
    return tag, pos, stop


def expect(buf: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    """Read a TLV that must carry tag; return (content start, content end)."""
    t, s, e = read_tlv(buf, pos, end)
    if t != tag:
        raise BerError(f"expected tag 0x{tag:02x}, got 0x{t:02x}")
    return s, e


def dec_int(buf: bytes, s: int, e: int) -> int:
    """Signed integer from content octets."""
    if s >= e:
        raise BerError("empty integer")
    return int.from_bytes(buf[s:e], "big", signed=True)


def dec_oid(buf: bytes, s: int, e: int) -> tuple[int, ...]:
    """OBJECT IDENTIFIER arcs from content octets."""
    if s >= e:
        raise BerError("empty OID")
    arcs: list[int] = []
    acc = 0
    for i in range(s, e):
        b = buf[i]
        acc = (acc << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(acc)
            acc = 0
    if buf[e - 1] & 0x80:
        raise BerError("OID ends inside an arc")
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return head + tuple(arcs[1:])
