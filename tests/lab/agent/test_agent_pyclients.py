"""pysnmp 7 (asyncio) and gufo_snmp clients, v2c and v3 authPriv, against the lab agent."""

from __future__ import annotations

from typing import Any

import pytest
from gufo.snmp import SnmpVersion
from gufo.snmp.aio import SnmpSession
from gufo.snmp.user import Aes128Key, Sha1Key, Sha256Key, User
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
    usmAesCfb128Protocol,
    usmHMACSHAAuthProtocol,
)

from lab.agent import (
    Counter32,
    Counter64,
    Gauge32,
    Integer,
    MibView,
    ObjectIdentifier,
    OctetString,
    SnmpValue,
    TimeTicks,
    V3User,
    parse_oid,
)
from tests.lab.agent.helpers import SHA256_USER, SHA_USER, ThreadedAgent


def _from_pysnmp(v: Any) -> SnmpValue:
    name = type(v).__name__
    if name == "Integer32" or name == "Integer":
        return Integer(int(v))
    if name == "OctetString":
        return OctetString(bytes(v))
    if name == "ObjectIdentifier":
        return ObjectIdentifier(tuple(v))
    kinds: dict[str, type[Counter32] | type[Gauge32] | type[TimeTicks] | type[Counter64]] = {
        "Counter32": Counter32,
        "Gauge32": Gauge32,
        "Unsigned32": Gauge32,
        "TimeTicks": TimeTicks,
        "Counter64": Counter64,
    }
    return kinds[name](int(v))


async def _pysnmp_walk(auth: Any, port: int) -> list[tuple[tuple[int, ...], SnmpValue]]:
    engine = SnmpEngine()
    try:
        target = await UdpTransportTarget.create(("127.0.0.1", port), timeout=2, retries=1)
        rows = []
        async for err_ind, err_stat, _, vbs in bulk_walk_cmd(
            engine,
            auth,
            target,
            ContextData(),
            0,
            25,
            ObjectType(ObjectIdentity("1.3.6.1")),
            lexicographicMode=False,
            lookupMib=False,
        ):
            assert not err_ind and not err_stat, (err_ind, err_stat)
            rows.extend((tuple(o), _from_pysnmp(v)) for o, v in vbs)
        return rows
    finally:
        engine.close_dispatcher()


async def test_pysnmp_v2c_bulk_walk(agent: ThreadedAgent, view: MibView) -> None:
    rows = await _pysnmp_walk(CommunityData("public", mpModel=1), agent.port("sw-sha"))
    assert rows == list(view)


async def test_pysnmp_v3_authpriv_bulk_walk(agent: ThreadedAgent, view: MibView) -> None:
    auth = UsmUserData(
        SHA_USER.name,
        SHA_USER.auth_password,
        SHA_USER.priv_password,
        authProtocol=usmHMACSHAAuthProtocol,
        privProtocol=usmAesCfb128Protocol,
    )
    rows = await _pysnmp_walk(auth, agent.port("sw-sha"))
    assert rows == list(view)


async def test_pysnmp_v3_get_counter64_max(agent: ThreadedAgent) -> None:
    engine = SnmpEngine()
    try:
        target = await UdpTransportTarget.create(("127.0.0.1", agent.port("sw-sha")), timeout=2, retries=1)
        auth = UsmUserData(
            SHA_USER.name,
            SHA_USER.auth_password,
            SHA_USER.priv_password,
            authProtocol=usmHMACSHAAuthProtocol,
            privProtocol=usmAesCfb128Protocol,
        )
        err_ind, err_stat, _, vbs = await get_cmd(
            engine,
            auth,
            target,
            ContextData(),
            ObjectType(ObjectIdentity("1.3.6.1.2.1.31.1.1.1.6.1")),
            lookupMib=False,
        )
        assert not err_ind and not err_stat
        assert int(vbs[0][1]) == 2**64 - 1 - 7919
    finally:
        engine.close_dispatcher()


def _from_gufo(oid: str, v: Any, view: MibView) -> tuple[tuple[int, ...], SnmpValue]:
    """gufo returns plain Python values; take the SNMP type from the view and check the value."""
    key = parse_oid(oid)
    expected = view.get(key)
    assert expected is not None, oid
    if isinstance(expected, ObjectIdentifier):
        return key, ObjectIdentifier(v)
    if isinstance(expected, OctetString):
        return key, OctetString(v)
    return key, type(expected)(int(v))


def _gufo_user(u: V3User) -> User:
    assert u.priv_password is not None
    key = Sha1Key if u is SHA_USER else Sha256Key
    return User(u.name, auth_key=key(u.auth_password.encode()), priv_key=Aes128Key(u.priv_password.encode()))


@pytest.mark.parametrize(
    ("device", "kwargs"),
    [
        ("sw-sha", {"community": "public", "version": SnmpVersion.v2c}),
        ("sw-sha256", {"community": "c0mm", "version": SnmpVersion.v2c}),
        ("sw-sha", {"user": "SHA"}),
        ("sw-sha256", {"user": "SHA256"}),
    ],
)
async def test_gufo_bulk_walk(
    agent: ThreadedAgent, view: MibView, device: str, kwargs: dict[str, Any]
) -> None:
    if "user" in kwargs:
        kwargs = {"user": _gufo_user(SHA_USER if kwargs["user"] == "SHA" else SHA256_USER)}
    async with SnmpSession(
        addr="127.0.0.1", port=agent.port(device), timeout=3.0, max_repetitions=20, **kwargs
    ) as sess:
        rows = [_from_gufo(o, v, view) async for o, v in sess.getbulk("1.3.6.1")]
        assert rows == list(view)
        assert await sess.get("1.3.6.1.2.1.99.1.1.1.4.1001") == -(2**31) + 1
