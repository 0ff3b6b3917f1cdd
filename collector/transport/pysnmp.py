"""pysnmp 7 transport (v3arch asyncio): the portable pure-Python path.

One SnmpEngine per event loop (engines are bound to the loop's dispatcher), numeric OIDs,
``lookupMib=False`` and ``lexicographicMode=False`` so no MIB is ever loaded and walks stop at
the end of their subtree.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from pyasn1.type.univ import ObjectIdentifier
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_walk_cmd,
    get_cmd,
    usmAesBlumenthalCfb192Protocol,
    usmAesBlumenthalCfb256Protocol,
    usmAesCfb128Protocol,
    usmAesCfb192Protocol,
    usmAesCfb256Protocol,
    usmDESPrivProtocol,
    usmHMAC128SHA224AuthProtocol,
    usmHMAC192SHA256AuthProtocol,
    usmHMAC256SHA384AuthProtocol,
    usmHMAC384SHA512AuthProtocol,
    usmHMACMD5AuthProtocol,
    usmHMACSHAAuthProtocol,
)
from pysnmp.proto import rfc1902, rfc1905

from collector.transport.base import SnmpError, SnmpTimeout, Target, VarBinds, community_of, v3_keys_of
from linkmargin.credentials import AuthProtocol, PrivProtocol

_ENGINES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SnmpEngine] = weakref.WeakKeyDictionary()
# every name of linkmargin.credentials, mapped (tests/collector/test_transport.py checks both ways)
AUTH: dict[AuthProtocol, tuple[int, ...]] = {
    "md5": usmHMACMD5AuthProtocol,
    "sha": usmHMACSHAAuthProtocol,
    "sha224": usmHMAC128SHA224AuthProtocol,
    "sha256": usmHMAC192SHA256AuthProtocol,
    "sha384": usmHMAC256SHA384AuthProtocol,
    "sha512": usmHMAC384SHA512AuthProtocol,
}
# pysnmp's plain usmAesCfb192/256Protocol use the Cisco/Reeder key extension; aes192/aes256 are Blumenthal
PRIV: dict[PrivProtocol, tuple[int, ...]] = {
    "des": usmDESPrivProtocol,
    "aes": usmAesCfb128Protocol,
    "aes192": usmAesBlumenthalCfb192Protocol,
    "aes192c": usmAesCfb192Protocol,
    "aes256": usmAesBlumenthalCfb256Protocol,
    "aes256c": usmAesCfb256Protocol,
}
_ABSENT = (rfc1905.NoSuchObject, rfc1905.NoSuchInstance, rfc1905.EndOfMibView)


def engine_for_loop() -> SnmpEngine:
    """The one SnmpEngine of the running loop."""
    loop = asyncio.get_running_loop()
    eng = _ENGINES.get(loop)
    if eng is None:
        eng = _ENGINES[loop] = SnmpEngine()
    return eng


def _py(val: Any) -> int | bytes | str | None:
    """pyasn1 value -> int / bytes / dotted OID str, as gufo returns them."""
    if isinstance(val, _ABSENT):
        return None
    if isinstance(val, rfc1902.OctetString | rfc1902.IpAddress | rfc1902.Opaque):
        return bytes(val)
    if isinstance(val, ObjectIdentifier):
        return ".".join(str(x) for x in val)
    return int(val)


class PysnmpTransport:
    """A pysnmp v3arch session with one target."""

    def __init__(self, target: Target) -> None:
        self.target = target
        creds = target.credentials
        self._auth: Any
        if creds.version == "3":
            assert creds.user and creds.auth and creds.priv, "validated: v3 is authPriv"
            a, p = v3_keys_of(creds)
            self._auth = UsmUserData(
                creds.user,
                authKey=a,
                privKey=p,
                authProtocol=AUTH[creds.auth],
                privProtocol=PRIV[creds.priv],
            )
        else:
            self._auth = CommunityData(community_of(creds), mpModel=1)
        self._udp: UdpTransportTarget | None = None

    async def __aenter__(self) -> PysnmpTransport:
        self._udp = await UdpTransportTarget.create(
            (self.target.host, self.target.port), timeout=self.target.timeout, retries=self.target.retries
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._udp = None

    def _check(self, err_ind: Any, err_stat: Any) -> None:
        if err_ind:
            msg = str(err_ind)
            if "timeout" in msg.lower() or "no snmp response" in msg.lower():
                raise SnmpTimeout(f"{self.target.name}: {msg}")
            raise SnmpError(f"{self.target.name}: {msg}")
        if err_stat:
            raise SnmpError(f"{self.target.name}: {err_stat.prettyPrint()}")

    async def get(self, oids: list[str]) -> VarBinds:
        """GET numeric OIDs; absent ones come back as None."""
        assert self._udp is not None, "use async with"
        err_ind, err_stat, _idx, vbs = await get_cmd(
            engine_for_loop(),
            self._auth,
            self._udp,
            ContextData(),
            *(ObjectType(ObjectIdentity(o)) for o in oids),
            lookupMib=False,
        )
        self._check(err_ind, err_stat)
        return VarBinds([str(vb[0]) for vb in vbs], [_py(vb[1]) for vb in vbs])

    async def bulk_walk(self, root: str, max_repetitions: int | None = None) -> VarBinds:
        """GETBULK-walk the subtree under ``root``."""
        assert self._udp is not None, "use async with"
        out = VarBinds()
        async for err_ind, err_stat, _idx, vbs in bulk_walk_cmd(
            engine_for_loop(),
            self._auth,
            self._udp,
            ContextData(),
            0,
            max_repetitions or self.target.max_repetitions,
            ObjectType(ObjectIdentity(root)),
            lexicographicMode=False,
            lookupMib=False,
        ):
            self._check(err_ind, err_stat)
            for name, val in vbs:
                v = _py(val)
                if v is None and isinstance(val, rfc1905.EndOfMibView):
                    continue
                out.oids.append(str(name))
                out.values.append(v)
        return out
