"""Both transports through the same tests, against real snmpd (v2c + v3 authPriv) and snmpsim."""

from __future__ import annotations

import itertools
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import get_args

import pytest

from collector.transport import SnmpCredentials, SnmpError, SnmpTimeout, Target, open_transport
from collector.transport import gufo as gufo_transport
from collector.transport import pysnmp as pysnmp_transport
from linkmargin.credentials import AUTH_PROTOCOLS, PRIV_PROTOCOLS, AuthProtocol, PrivProtocol
from tests.collector.conftest import V3_AUTH, V3_PRIV, V3_USER, running_snmpd
from tests.services import free_port

KINDS = ["gufo", "pysnmp"]
IFX = "1.3.6.1.2.1.31.1.1.1"


def _netsnmp_walk(port: int, root: str) -> list[str]:
    out = subprocess.run(
        [
            "snmpbulkwalk",
            "-v2c",
            "-c",
            "public",
            "-On",
            "-m",
            "",
            "-M",
            "/nonexistent",
            f"127.0.0.1:{port}",
            root,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split(" = ")[0].lstrip(".") for line in out.splitlines() if " = " in line]


def _v3(
    auth_key: str = V3_AUTH, user: str = V3_USER, auth: str = "sha", priv: str = "aes"
) -> SnmpCredentials:
    d = Path(tempfile.mkdtemp())
    (d / "a").write_text(auth_key + "\n")
    (d / "p").write_text(V3_PRIV + "\n")
    return SnmpCredentials.model_validate(
        {
            "version": "3",
            "user": user,
            "auth": auth,
            "auth_key_file": str(d / "a"),
            "priv": priv,
            "priv_key_file": str(d / "p"),
        }
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("v3", [False, True], ids=["v2c", "v3authPriv"])
async def test_walk_matches_net_snmp(snmpd: int, kind: str, v3: bool) -> None:
    """The walked ifName column has exactly the OIDs net-snmp's own snmpbulkwalk sees."""
    creds = _v3() if v3 else SnmpCredentials.v2c("public")
    tgt = Target("snmpd", "127.0.0.1", snmpd, creds)
    async with open_transport(tgt, kind) as tr:
        vb = await tr.bulk_walk(f"{IFX}.1", 3)
        got = await tr.get(["1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.2.0"])
    assert vb.oids == _netsnmp_walk(snmpd, f"{IFX}.1")
    assert b"lo" in vb.values
    assert isinstance(got.values[0], int) and got.values[0] > 0
    assert isinstance(got.values[1], str) and got.values[1].startswith("1.3.6.1.4.1.8072")


@pytest.mark.parametrize("kind", KINDS)
async def test_snmpsim_counter64_and_strings(snmpsim: int, kind: str) -> None:
    """Counter64 near 2**64 and an octet string survive both transports intact."""
    tgt = Target("sim", "127.0.0.1", snmpsim, SnmpCredentials.v2c("generic"))
    async with open_transport(tgt, kind) as tr:
        vb = await tr.bulk_walk(f"{IFX}.6")
        vals = await tr.get([f"{IFX}.1.1", f"{IFX}.1.99"])
    assert vb.values == [18446744073709551000]
    assert vals.values == [b"swp1", None]


@pytest.mark.parametrize("kind", KINDS)
async def test_wrong_v3_key_and_dead_agent(snmpd: int, kind: str) -> None:
    """A wrong key is an error, a silent port a timeout — never a hang, never an empty success."""
    tgt = Target("snmpd", "127.0.0.1", snmpd, _v3(auth_key="wrongwrong1"), timeout=0.5, retries=0)
    with pytest.raises(SnmpError):
        async with open_transport(tgt, kind) as tr:
            await tr.get(["1.3.6.1.2.1.1.3.0"])
    dead = Target(
        "dead",
        "127.0.0.1",
        free_port(socket.SOCK_DGRAM),
        SnmpCredentials.v2c("public"),
        timeout=0.3,
        retries=1,
    )
    with pytest.raises(SnmpTimeout):
        async with open_transport(dead, kind) as tr:
            await tr.get(["1.3.6.1.2.1.1.3.0"])
    dead_v3 = Target("dead", "127.0.0.1", dead.port, _v3(), timeout=0.3, retries=1)
    with pytest.raises(SnmpTimeout):  # v3: engine discovery first, still a timeout
        async with open_transport(dead_v3, kind) as tr:
            await tr.get(["1.3.6.1.2.1.1.3.0"])


def test_credentials_repr_hides_secrets() -> None:
    """Secrets never appear in a repr (and so never in a log line)."""
    c = SnmpCredentials.v2c("s3cret-community")
    assert "s3cret" not in repr(c) and "s3cret" not in str(c.model_dump())
    assert c.community_secret() == "s3cret-community"


@pytest.mark.parametrize("module", [gufo_transport, pysnmp_transport], ids=["gufo", "pysnmp"])
def test_every_protocol_name_is_mapped(module: ModuleType) -> None:
    """Each transport maps exactly the names the credentials model accepts: none missing, none extra."""
    assert tuple(module.AUTH) == get_args(AuthProtocol)
    assert tuple(module.PRIV) == get_args(PrivProtocol)


# net-snmp's names for ours: -a / -x of its tools and createUser in snmpd.conf
NETSNMP_AUTH = {
    "md5": "MD5",
    "sha": "SHA",
    "sha224": "SHA-224",
    "sha256": "SHA-256",
    "sha384": "SHA-384",
    "sha512": "SHA-512",
}
NETSNMP_PRIV = {
    "des": "DES",
    "aes": "AES",
    "aes192": "AES-192",
    "aes192c": "AES-192-C",
    "aes256": "AES-256",
    "aes256c": "AES-256-C",
}
COMBOS = list(itertools.product(AUTH_PROTOCOLS, PRIV_PROTOCOLS))


@pytest.fixture(scope="module")
def snmpd_usm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """net-snmp snmpd with one authPriv user per (auth, priv) pair the credentials model accepts."""
    lines = ["view all included .1 80", "rocommunity public 127.0.0.1 -V all"]
    for a, p in COMBOS:
        lines += [
            f"createUser u-{a}-{p} {NETSNMP_AUTH[a]} {V3_AUTH} {NETSNMP_PRIV[p]} {V3_PRIV}",
            f"rouser u-{a}-{p} priv -V all",
        ]
    with running_snmpd(tmp_path_factory.mktemp("snmpd-usm"), lines) as port:
        yield port


async def _uptime(port: int, kind: str, creds: SnmpCredentials) -> str:
    tgt = Target("usm", "127.0.0.1", port, creds, timeout=0.5, retries=0)
    try:
        async with open_transport(tgt, kind) as tr:
            got = await tr.get(["1.3.6.1.2.1.1.3.0"])
    except SnmpError as exc:
        return f"fails: {type(exc).__name__}"
    return "ok" if isinstance(got.values[0], int) and got.values[0] > 0 else f"no value: {got.values}"


@pytest.mark.parametrize("kind", KINDS)
async def test_every_accepted_protocol_works_against_net_snmp(snmpd_usm: int, kind: str) -> None:
    """Every (auth, priv) the credentials model accepts authenticates and decrypts against net-snmp."""
    got = {}
    for a, p in COMBOS:
        got[(a, p)] = await _uptime(snmpd_usm, kind, _v3(user=f"u-{a}-{p}", auth=a, priv=p))
    assert got == {c: "ok" for c in COMBOS}


@pytest.mark.parametrize("kind", KINDS)
async def test_aes_key_extensions_are_not_interchangeable(snmpd_usm: int, kind: str) -> None:
    """With a hash shorter than the AES key, aes256 (Blumenthal) and aes256c (Cisco/Reeder) differ:
    each transport means the same one by each name (a device set up for one fails with the other)."""
    wrong = [
        await _uptime(snmpd_usm, kind, _v3(user=f"u-{a}-{agent}", auth=a, priv=ours))
        for a, agent, ours in (
            ("sha", "aes256", "aes256c"),
            ("sha", "aes256c", "aes256"),
            ("md5", "aes192", "aes192c"),
        )
    ]
    assert all(w.startswith("fails") for w in wrong), wrong
    # a 32-byte SHA-256 key needs no extension: both names give the same AES-256 key
    assert await _uptime(snmpd_usm, kind, _v3(user="u-sha256-aes256c", auth="sha256", priv="aes256")) == "ok"
