"""Typed SNMP values a MibView holds; each knows its BER encoding and its .snmprec tag."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lab.agent import ber

Oid = tuple[int, ...]


def parse_oid(text: str) -> Oid:
    """Dotted text ("1.3.6.1" or ".1.3.6.1") to an OID tuple."""
    return tuple(int(p) for p in text.strip().lstrip(".").split("."))


def format_oid(oid: Oid) -> str:
    """OID tuple to dotted text without a leading dot."""
    return ".".join(map(str, oid))


def _check_range(name: str, v: int, lo: int, hi: int) -> None:
    if not lo <= v <= hi:
        raise ValueError(f"{name} out of range [{lo}, {hi}]: {v}")


@dataclass(frozen=True, slots=True)
class Integer:
    """Integer32 (signed 32-bit)."""

    value: int
    tag: ClassVar[int] = ber.INTEGER
    snmprec_tag: ClassVar[str] = "2"

    def __post_init__(self) -> None:
        _check_range("Integer32", self.value, -(2**31), 2**31 - 1)

    def encode(self) -> bytes:
        """Full TLV."""
        return ber.enc_int(self.value)


@dataclass(frozen=True, slots=True)
class _Unsigned:
    value: int
    tag: ClassVar[int] = 0
    snmprec_tag: ClassVar[str] = ""
    bits: ClassVar[int] = 32

    def __post_init__(self) -> None:
        _check_range(type(self).__name__, self.value, 0, 2**self.bits - 1)

    def encode(self) -> bytes:
        """Full TLV."""
        return ber.enc_uint(self.value, self.tag)


@dataclass(frozen=True, slots=True)
class Counter32(_Unsigned):
    """Counter32 (wraps at 2^32)."""

    tag: ClassVar[int] = ber.COUNTER32
    snmprec_tag: ClassVar[str] = "65"


@dataclass(frozen=True, slots=True)
class Gauge32(_Unsigned):
    """Gauge32 / Unsigned32."""

    tag: ClassVar[int] = ber.GAUGE32
    snmprec_tag: ClassVar[str] = "66"


@dataclass(frozen=True, slots=True)
class TimeTicks(_Unsigned):
    """TimeTicks (hundredths of a second)."""

    tag: ClassVar[int] = ber.TIMETICKS
    snmprec_tag: ClassVar[str] = "67"


@dataclass(frozen=True, slots=True)
class Counter64(_Unsigned):
    """Counter64 (wraps at 2^64)."""

    tag: ClassVar[int] = ber.COUNTER64
    snmprec_tag: ClassVar[str] = "70"
    bits: ClassVar[int] = 64


@dataclass(frozen=True, slots=True)
class OctetString:
    """OCTET STRING; str input is stored as its UTF-8 bytes."""

    value: bytes
    tag: ClassVar[int] = ber.OCTET_STRING
    snmprec_tag: ClassVar[str] = "4"

    def __init__(self, value: bytes | str) -> None:
        object.__setattr__(self, "value", value.encode() if isinstance(value, str) else bytes(value))

    def encode(self) -> bytes:
        """Full TLV."""
        return ber.tlv(ber.OCTET_STRING, self.value)


@dataclass(frozen=True, slots=True)
class ObjectIdentifier:
    """OBJECT IDENTIFIER value (e.g. sysObjectID); accepts a tuple or dotted text."""

    value: Oid
    tag: ClassVar[int] = ber.OBJECT_IDENTIFIER
    snmprec_tag: ClassVar[str] = "6"

    def __init__(self, value: Oid | str) -> None:
        object.__setattr__(self, "value", parse_oid(value) if isinstance(value, str) else tuple(value))
        ber.oid_content(self.value)  # validates

    def encode(self) -> bytes:
        """Full TLV."""
        return ber.enc_oid(self.value)


@dataclass(frozen=True, slots=True)
class IpAddress:
    """IpAddress (4 octets)."""

    value: bytes
    tag: ClassVar[int] = ber.IP_ADDRESS
    snmprec_tag: ClassVar[str] = "64"

    def __post_init__(self) -> None:
        if len(self.value) != 4:
            raise ValueError("IpAddress needs 4 octets")

    def encode(self) -> bytes:
        """Full TLV."""
        return ber.tlv(ber.IP_ADDRESS, self.value)


SnmpValue = Integer | OctetString | ObjectIdentifier | Counter32 | Gauge32 | TimeTicks | Counter64 | IpAddress

# The three v2c exception values, pre-encoded (tag, zero length).
NO_SUCH_OBJECT = bytes((ber.NO_SUCH_OBJECT, 0))
NO_SUCH_INSTANCE = bytes((ber.NO_SUCH_INSTANCE, 0))
END_OF_MIB_VIEW = bytes((ber.END_OF_MIB_VIEW, 0))
