"""Both transports through the same tests, against real snmpd (v2c + v3 authPriv) and snmpsim."""

from __future__ import annotations

import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from collector.transport import Credentials, SnmpError, SnmpTimeout, Target, open_transport
from tests.collector.conftest import V3_AUTH, V3_PRIV, V3_USER
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


def _v3(auth: str = V3_AUTH) -> Credentials:
    d = Path(tempfile.mkdtemp())
    (d / "a").write_text(auth + "\n")
    (d / "p").write_text(V3_PRIV + "\n")
    return Credentials(version="3", user=V3_USER, auth_key_file=str(d / "a"), priv_key_file=str(d / "p"))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("v3", [False, True], ids=["v2c", "v3authPriv"])
async def test_walk_matches_net_snmp(snmpd: int, kind: str, v3: bool) -> None:
    """The walked ifName column has exactly the OIDs net-snmp's own snmpbulkwalk sees."""
    creds = _v3() if v3 else Credentials(community="public")
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
    tgt = Target("sim", "127.0.0.1", snmpsim, Credentials(community="generic"))
    async with open_transport(tgt, kind) as tr:
        vb = await tr.bulk_walk(f"{IFX}.6")
        vals = await tr.get([f"{IFX}.1.1", f"{IFX}.1.99"])
    assert vb.values == [18446744073709551000]
    assert vals.values == [b"swp1", None]


@pytest.mark.parametrize("kind", KINDS)
async def test_wrong_v3_key_and_dead_agent(snmpd: int, kind: str) -> None:
    """A wrong key is an error, a silent port a timeout — never a hang, never an empty success."""
    tgt = Target("snmpd", "127.0.0.1", snmpd, _v3(auth="wrongwrong1"), timeout=0.5, retries=0)
    with pytest.raises(SnmpError):
        async with open_transport(tgt, kind) as tr:
            await tr.get(["1.3.6.1.2.1.1.3.0"])
    dead = Target(
        "dead",
        "127.0.0.1",
        free_port(socket.SOCK_DGRAM),
        Credentials(community="public"),
        timeout=0.3,
        retries=1,
    )
    with pytest.raises(SnmpTimeout):
        async with open_transport(dead, kind) as tr:
            await tr.get(["1.3.6.1.2.1.1.3.0"])


def test_credentials_repr_hides_secrets() -> None:
    """Secrets never appear in a repr (and so never in a log line)."""
    c = Credentials(community="s3cret-community")
    assert "s3cret" not in repr(c)
