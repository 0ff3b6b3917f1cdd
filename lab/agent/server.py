"""AgentServer: asyncio UDP SNMP agents (v2c and v3 USM) serving one MibView per simulated device.

Each device gets its own UDP port on loopback. The view callable is called once per request, so
the physics can swap views as simulated time advances without any locking (views are immutable).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import cast

from lab.agent import ber
from lab.agent.ber import BerError, expect, read_tlv, tlv
from lab.agent.mibview import MibView, encode_varbind
from lab.agent.usm import LocalizedUser, V3User
from lab.agent.values import END_OF_MIB_VIEW, Counter32, Oid

log = logging.getLogger(__name__)

# usmStats (RFC 3414 5): the report varbinds.
USM_UNSUPPORTED_SEC_LEVELS: Oid = (1, 3, 6, 1, 6, 3, 15, 1, 1, 1, 0)
USM_NOT_IN_TIME_WINDOWS: Oid = (1, 3, 6, 1, 6, 3, 15, 1, 1, 2, 0)
USM_UNKNOWN_USER_NAMES: Oid = (1, 3, 6, 1, 6, 3, 15, 1, 1, 3, 0)
USM_UNKNOWN_ENGINE_IDS: Oid = (1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0)
USM_WRONG_DIGESTS: Oid = (1, 3, 6, 1, 6, 3, 15, 1, 1, 5, 0)
USM_DECRYPTION_ERRORS: Oid = (1, 3, 6, 1, 6, 3, 15, 1, 1, 6, 0)

TIME_WINDOW_S = 150  # RFC 3414 3.2 step 7
MAX_DATAGRAM = 65000  # below the 65507-byte UDP payload limit, with room for headers
_ZERO_ERRORS = b"\x02\x01\x00\x02\x01\x00"  # error-status 0, error-index 0
_FLAG_AUTH, _FLAG_PRIV, _FLAG_REPORTABLE = 0x01, 0x02, 0x04
_ERR_TOO_BIG, _ERR_NOT_WRITABLE = 1, 17


@dataclass
class DeviceEndpoint:
    """One simulated device: its UDP port (0 picks a free one), credentials and its view source."""

    port: int
    view: Callable[[], MibView]
    community: str = "public"
    v3_user: V3User | None = None
    engine_id: bytes | None = None  # default: derived from the device name
    engine_boots: int = 1


@dataclass
class AgentStats:
    """Per-device counters (the usmStats ones are also what the reports carry)."""

    requests: int = 0
    responses: int = 0
    garbage: int = 0
    bad_community: int = 0
    unsupported_sec_levels: int = 0
    not_in_time_windows: int = 0
    unknown_user_names: int = 0
    unknown_engine_ids: int = 0
    wrong_digests: int = 0
    decryption_errors: int = 0
    internal_errors: int = 0


def default_engine_id(name: str) -> bytes:
    """RFC 3411 snmpEngineID, format 5 (octets) under the net-snmp enterprise, from the device name."""
    return b"\x80\x00\x1f\x88\x05" + hashlib.sha1(name.encode()).digest()[:12]


class _Engine:
    """SNMPv3 engine state of one device: ID, boots, time, localized users, salt."""

    def __init__(self, engine_id: bytes, boots: int, users: list[LocalizedUser]) -> None:
        self.engine_id = engine_id
        self.boots = boots
        self._t0 = time.monotonic()
        self.users = {u.name: u for u in users}
        self._salt = secrets.randbits(64)

    def time(self) -> int:
        """snmpEngineTime: seconds since the last (simulated) boot."""
        return int(time.monotonic() - self._t0)

    def reboot(self) -> None:
        """An agent reboot: engineBoots + 1, engineTime back to 0."""
        self.boots += 1
        self._t0 = time.monotonic()

    def next_salt(self) -> bytes:
        """A fresh 64-bit AES salt (a counter from a random start, as RFC 3826 3.1.2.1 suggests)."""
        self._salt = (self._salt + 1) & 0xFFFFFFFFFFFFFFFF
        return self._salt.to_bytes(8, "big")


def _parse_varbind_names(buf: bytes, s: int, e: int) -> list[tuple[Oid, bytes]]:
    """(oid, oid TLV bytes) of each varbind in a VarBindList's content."""
    names: list[tuple[Oid, bytes]] = []
    pos = s
    while pos < e:
        vs, ve = expect(buf, pos, e, ber.SEQUENCE)
        t, os_, oe = read_tlv(buf, vs, ve)
        if t != ber.OBJECT_IDENTIFIER:
            raise BerError("varbind name is not an OID")
        names.append((ber.dec_oid(buf, os_, oe), buf[vs:oe]))
        pos = ve
    return names


def answer_pdu(view: MibView, buf: bytes, tag: int, s: int, e: int, budget: int) -> bytes | None:
    """The Response PDU TLV for a GET/GETNEXT/GETBULK/SET PDU whose content is buf[s:e]; None to drop."""
    t, _, re_ = read_tlv(buf, s, e)
    if t != ber.INTEGER:
        raise BerError("request-id is not an INTEGER")
    rid_tlv = buf[s:re_]
    a_s, a_e = expect(buf, re_, e, ber.INTEGER)
    b_s, b_e = expect(buf, a_e, e, ber.INTEGER)
    vs, ve = expect(buf, b_e, e, ber.SEQUENCE)
    names = _parse_varbind_names(buf, vs, ve)
    if tag == ber.GET:
        body = b"".join([view.get_vb(o, ot) for o, ot in names])
    elif tag == ber.GETNEXT:
        body = b"".join([view.next_vb(o, ot) for o, ot in names])
    elif tag == ber.GETBULK:
        body = _bulk(view, names, ber.dec_int(buf, a_s, a_e), ber.dec_int(buf, b_s, b_e), budget)
    elif tag == ber.SET:
        # A read-only lab: refuse writes as a read-only view does, echoing the varbinds back.
        errs = ber.enc_int(_ERR_NOT_WRITABLE) + ber.enc_int(1 if names else 0)
        return tlv(ber.RESPONSE, rid_tlv + errs + buf[b_e:ve])
    else:
        return None  # responses, traps, reports: nothing to answer
    if len(body) > budget:
        return tlv(ber.RESPONSE, rid_tlv + ber.enc_int(_ERR_TOO_BIG) + b"\x02\x01\x00\x30\x00")
    return tlv(ber.RESPONSE, rid_tlv + _ZERO_ERRORS + ber.tlv(ber.SEQUENCE, body))


def _bulk(view: MibView, names: list[tuple[Oid, bytes]], nonrep: int, maxrep: int, budget: int) -> bytes:
    """GETBULK varbinds (RFC 3416 4.2.3), cut short when the next one would not fit in budget."""
    n = min(max(nonrep, 0), len(names))
    maxrep = max(maxrep, 0)
    parts = [view.next_vb(o, ot) for o, ot in names[:n]]
    used = sum(len(p) for p in parts)
    reps = names[n:]
    total = len(view)
    if len(reps) == 1 and maxrep:
        # The common walk: one column, so the answer is one contiguous run of pre-encoded varbinds.
        oid, oid_tlv = reps[0]
        start = view.next_index(oid)
        chunk, taken = view.run(start, maxrep, budget - used)
        parts.append(chunk)
        used += len(chunk)
        if taken < maxrep and start + taken >= total:
            last_tlv = view.oid_tlv_at(start + taken - 1) if taken else oid_tlv
            eom = tlv(ber.SEQUENCE, last_tlv + END_OF_MIB_VIEW)
            if used + len(eom) <= budget:
                parts.append(eom)
    elif reps and maxrep:
        idx = [view.next_index(o) for o, _ in reps]
        last = [ot for _, ot in reps]
        done = False
        for _ in range(maxrep):
            all_end = True
            for j in range(len(reps)):
                i = idx[j]
                if i < total:
                    vb = view.vb_at(i)
                    last[j] = view.oid_tlv_at(i)
                    idx[j] = i + 1
                    all_end = False
                else:
                    vb = tlv(ber.SEQUENCE, last[j] + END_OF_MIB_VIEW)
                if used + len(vb) > budget:
                    done = True
                    break
                parts.append(vb)
                used += len(vb)
            if done or all_end:
                break
    return b"".join(parts)


def _plain_rid(buf: bytes, s: int, e: int) -> bytes:
    """request-id TLV of a plaintext ScopedPDU at buf[s:e], or INTEGER 0 when unreadable."""
    try:
        ss, se = expect(buf, s, e, ber.SEQUENCE)
        _, _, p = read_tlv(buf, ss, se)  # contextEngineID
        _, _, p = read_tlv(buf, p, se)  # contextName
        _, ps, pe = read_tlv(buf, p, se)  # PDU
        t, _, re_ = read_tlv(buf, ps, pe)
        if t == ber.INTEGER:
            return buf[ps:re_]
    except BerError:
        pass
    return b"\x02\x01\x00"


class _DeviceProtocol(asyncio.DatagramProtocol):
    """The UDP endpoint of one device."""

    def __init__(self, name: str, ep: DeviceEndpoint, engine: _Engine) -> None:
        self.name = name
        self.ep = ep
        self.engine = engine
        self.community = ep.community.encode()
        self.stats = AgentStats()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.stats.requests += 1
        try:
            resp = self.handle(data)
        except (BerError, ValueError, IndexError, OverflowError):
            # Garbage (or a shape we do not speak) is dropped silently, as real agents do.
            self.stats.garbage += 1
            return
        except Exception:
            # A bug (ours or in the view callable) must not kill the device's endpoint: log, drop.
            self.stats.internal_errors += 1
            if self.stats.internal_errors <= 3:
                log.exception("lab agent %s: internal error answering a request", self.name)
            return
        if resp is not None and self.transport is not None:
            self.stats.responses += 1
            self.transport.sendto(resp, addr)

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP unreachable from a client that went away: nothing to do

    def handle(self, buf: bytes) -> bytes | None:
        """The response datagram for one request datagram, or None to stay silent."""
        ms, me = expect(buf, 0, len(buf), ber.SEQUENCE)
        vs, ve = expect(buf, ms, me, ber.INTEGER)
        version = ber.dec_int(buf, vs, ve)
        if version == 1:
            return self._v2c(buf, ve, me)
        if version == 3 and self.engine.users:
            return self._v3(buf, ve, me)
        return None  # SNMPv1 and v3-without-users are not served

    # --- v2c --------------------------------------------------------------------------------------

    def _v2c(self, buf: bytes, pos: int, end: int) -> bytes | None:
        cs, ce = expect(buf, pos, end, ber.OCTET_STRING)
        if buf[cs:ce] != self.community:
            self.stats.bad_community += 1
            return None
        tag, ps, pe = read_tlv(buf, ce, end)
        budget = MAX_DATAGRAM - 64 - (ce - cs)
        pdu = answer_pdu(self.ep.view(), buf, tag, ps, pe, budget)
        if pdu is None:
            return None
        return tlv(ber.SEQUENCE, b"\x02\x01\x01" + buf[pos:ce] + pdu)

    # --- v3 USM -----------------------------------------------------------------------------------

    def _v3(self, buf: bytes, pos: int, end: int) -> bytes | None:
        st = self.stats
        eng = self.engine
        gs, ge = expect(buf, pos, end, ber.SEQUENCE)
        s, e = expect(buf, gs, ge, ber.INTEGER)
        msg_id = ber.dec_int(buf, s, e)
        s, e = expect(buf, e, ge, ber.INTEGER)
        max_size = ber.dec_int(buf, s, e)
        s, e = expect(buf, e, ge, ber.OCTET_STRING)
        if e - s != 1:
            raise BerError("msgFlags must be one octet")
        flags = buf[s]
        s, e = expect(buf, e, ge, ber.INTEGER)
        if ber.dec_int(buf, s, e) != 3:
            return None  # not USM
        sps, data_pos = expect(buf, ge, end, ber.OCTET_STRING)
        ss, se = expect(buf, sps, data_pos, ber.SEQUENCE)
        s, e = expect(buf, ss, se, ber.OCTET_STRING)
        engine_id = buf[s:e]
        s, e = expect(buf, e, se, ber.INTEGER)
        boots = ber.dec_int(buf, s, e)
        s, e = expect(buf, e, se, ber.INTEGER)
        etime = ber.dec_int(buf, s, e)
        s, e = expect(buf, e, se, ber.OCTET_STRING)
        user_name = buf[s:e]
        aps, ape = expect(buf, e, se, ber.OCTET_STRING)
        pps, ppe = expect(buf, ape, se, ber.OCTET_STRING)
        auth, priv, reportable = flags & _FLAG_AUTH, flags & _FLAG_PRIV, flags & _FLAG_REPORTABLE
        if priv and not auth:
            raise BerError("priv without auth is an invalid msgFlags")

        def report(oid: Oid, count: int, rid: bytes, lu: LocalizedUser | None = None) -> bytes | None:
            if not reportable:
                return None
            pdu = tlv(
                ber.REPORT,
                rid
                + _ZERO_ERRORS
                + tlv(ber.SEQUENCE, encode_varbind(oid, Counter32(count & 0xFFFFFFFF).encode())),
            )
            scoped = tlv(ber.SEQUENCE, tlv(ber.OCTET_STRING, eng.engine_id) + b"\x04\x00" + pdu)
            return self._v3_message(msg_id, _FLAG_AUTH if lu else 0, lu, user_name, scoped)

        if engine_id != eng.engine_id:
            # Discovery (empty engine ID) lands here too: the report tells the client our ID/boots/time.
            st.unknown_engine_ids += 1
            rid = b"\x02\x01\x00" if priv else _plain_rid(buf, data_pos, end)
            return report(USM_UNKNOWN_ENGINE_IDS, st.unknown_engine_ids, rid)
        lu = eng.users.get(user_name)
        if lu is None:
            st.unknown_user_names += 1
            return report(USM_UNKNOWN_USER_NAMES, st.unknown_user_names, b"\x02\x01\x00")
        if not auth or (priv and lu.priv_key is None) or (lu.priv_key is not None and not priv):
            # The lab's users are authPriv (or authNoPriv when no priv password): nothing weaker.
            st.unsupported_sec_levels += 1
            return report(USM_UNSUPPORTED_SEC_LEVELS, st.unsupported_sec_levels, b"\x02\x01\x00")
        if ape - aps != lu.auth_len or not hmac.compare_digest(
            lu.sign(buf[:aps] + bytes(lu.auth_len) + buf[ape:end]), buf[aps:ape]
        ):
            st.wrong_digests += 1
            return report(USM_WRONG_DIGESTS, st.wrong_digests, b"\x02\x01\x00")
        if priv:
            ds, de = expect(buf, data_pos, end, ber.OCTET_STRING)
            if ppe - pps != 8:
                st.decryption_errors += 1
                return report(USM_DECRYPTION_ERRORS, st.decryption_errors, b"\x02\x01\x00")
            scoped_buf = lu.decrypt(buf[ds:de], boots & 0xFFFFFFFF, etime & 0xFFFFFFFF, buf[pps:ppe])
            sp, sp_end = 0, len(scoped_buf)
        else:
            scoped_buf, sp, sp_end = buf, data_pos, end
        if boots != eng.boots or abs(etime - eng.time()) > TIME_WINDOW_S or eng.boots >= 2**31 - 1:
            st.not_in_time_windows += 1
            return report(
                USM_NOT_IN_TIME_WINDOWS, st.not_in_time_windows, _plain_rid(scoped_buf, sp, sp_end), lu
            )
        try:
            cs, ce = expect(scoped_buf, sp, sp_end, ber.SEQUENCE)
            _, _, p = read_tlv(scoped_buf, cs, ce)  # contextEngineID
            _, _, p = read_tlv(scoped_buf, p, ce)  # contextName
        except BerError:
            if priv:  # a wrong priv key decrypts to noise
                st.decryption_errors += 1
                return report(USM_DECRYPTION_ERRORS, st.decryption_errors, b"\x02\x01\x00")
            raise
        tag, ps, pe = read_tlv(scoped_buf, p, ce)
        budget = min(max(max_size, 484), MAX_DATAGRAM) - 200 - len(user_name) - len(eng.engine_id)
        pdu = answer_pdu(self.ep.view(), scoped_buf, tag, ps, pe, budget)
        if pdu is None:
            return None
        scoped = tlv(ber.SEQUENCE, scoped_buf[cs:p] + pdu)
        return self._v3_message(msg_id, flags & (_FLAG_AUTH | _FLAG_PRIV), lu, user_name, scoped)

    def _v3_message(
        self, msg_id: int, flags: int, lu: LocalizedUser | None, user_name: bytes, scoped: bytes
    ) -> bytes:
        """A whole v3 message: encrypt the ScopedPDU when priv, sign when auth."""
        eng = self.engine
        boots, etime = eng.boots, eng.time()
        auth_len = lu.auth_len if (flags & _FLAG_AUTH and lu) else 0
        if flags & _FLAG_PRIV and lu is not None:
            salt = eng.next_salt()
            data = tlv(ber.OCTET_STRING, lu.encrypt(scoped, boots, etime, salt))
        else:
            salt, data = b"", scoped
        priv_tlv = tlv(ber.OCTET_STRING, salt)
        sec = tlv(
            ber.SEQUENCE,
            tlv(ber.OCTET_STRING, eng.engine_id)
            + ber.enc_int(boots)
            + ber.enc_int(etime)
            + tlv(ber.OCTET_STRING, user_name)
            + tlv(ber.OCTET_STRING, bytes(auth_len))
            + priv_tlv,
        )
        glob = tlv(
            ber.SEQUENCE,
            ber.enc_int(msg_id) + ber.enc_int(MAX_DATAGRAM) + bytes((0x04, 1, flags)) + b"\x02\x01\x03",
        )
        msg = tlv(ber.SEQUENCE, b"\x02\x01\x03" + glob + tlv(ber.OCTET_STRING, sec) + data)
        if auth_len and lu is not None:
            # The auth parameters sit right before the priv TLV, which precedes msgData at the end.
            stop = len(msg) - len(data) - len(priv_tlv)
            msg = msg[: stop - auth_len] + lu.sign(msg) + msg[stop:]
        return msg


@dataclass
class _Running:
    transport: asyncio.DatagramTransport
    protocol: _DeviceProtocol
    address: tuple[str, int]


@dataclass
class AgentServer:
    """Serves many simulated devices, one UDP port each, on a loopback address."""

    host: str = "127.0.0.1"
    _running: dict[str, _Running] = field(default_factory=dict, init=False, repr=False)

    async def start(self, devices: Mapping[str, DeviceEndpoint]) -> dict[str, tuple[str, int]]:
        """Bind every device's port; return name -> (host, port) actually bound (port 0 resolved)."""
        loop = asyncio.get_running_loop()
        try:
            for name, ep in devices.items():
                if name in self._running:
                    raise ValueError(f"device {name!r} is already served")
                engine_id = ep.engine_id or default_engine_id(name)
                users = [LocalizedUser.create(ep.v3_user, engine_id)] if ep.v3_user else []
                proto = _DeviceProtocol(name, ep, _Engine(engine_id, ep.engine_boots, users))
                transport, _ = await loop.create_datagram_endpoint(
                    lambda p=proto: p,  # type: ignore[misc]
                    local_addr=(self.host, ep.port),
                )
                addr = transport.get_extra_info("sockname")
                self._running[name] = _Running(transport, proto, (addr[0], addr[1]))
        except BaseException:
            self.close()
            raise
        return self.endpoints()

    async def serve(self, devices: Mapping[str, DeviceEndpoint]) -> None:
        """Serve devices until cancelled."""
        await self.start(devices)
        try:
            await asyncio.Event().wait()
        finally:
            self.close()

    def close(self) -> None:
        """Stop serving every device."""
        for r in self._running.values():
            r.transport.close()
        self._running.clear()

    async def __aenter__(self) -> AgentServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def endpoints(self) -> dict[str, tuple[str, int]]:
        """name -> (host, port) of every served device."""
        return {n: r.address for n, r in self._running.items()}

    def engine_id(self, name: str) -> bytes:
        """The device's snmpEngineID."""
        return self._running[name].protocol.engine.engine_id

    def engine_boots_time(self, name: str) -> tuple[int, int]:
        """The device's (snmpEngineBoots, snmpEngineTime)."""
        eng = self._running[name].protocol.engine
        return eng.boots, eng.time()

    def stats(self, name: str) -> AgentStats:
        """The device's request/response/error counters."""
        return self._running[name].protocol.stats

    def reboot(self, name: str) -> None:
        """Simulate an agent reboot: engineBoots + 1, engineTime 0 (the view's sysUpTime is the physics')."""
        self._running[name].protocol.engine.reboot()
