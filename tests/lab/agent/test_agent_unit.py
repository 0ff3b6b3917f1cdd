"""Known-answer tests for BER, RFC 3414 key localization, MibView lookups and .snmprec I/O."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.agent import (
    Counter32,
    Counter64,
    DeviceEndpoint,
    Integer,
    MibView,
    ObjectIdentifier,
    OctetString,
    TimeTicks,
    V3User,
    ber,
    read_snmprec,
    write_snmprec,
)
from lab.agent.usm import localize_key, password_to_key
from tests.lab.agent.helpers import ThreadedAgent, netsnmp, parse_netsnmp, sample_view
from tests.services import free_port


@pytest.mark.parametrize(
    ("value", "hexed"),
    [
        (Integer(0), "020100"),
        (Integer(127), "02017f"),
        (Integer(128), "02020080"),
        (Integer(-1), "0201ff"),
        (Integer(-129), "0202ff7f"),
        (Integer(-(2**31)), "020480000000"),
        (Counter32(2**32 - 1), "410500ffffffff"),
        (Counter64(2**64 - 1), "460900ffffffffffffffff"),
        (TimeTicks(0), "430100"),
        (OctetString(b"\xff\x00"), "0402ff00"),
        (ObjectIdentifier("1.3.6.1.4.1.16384.127.128"), "060b2b060104018180007f8100"),
    ],
)
def test_ber_known_encodings(value: object, hexed: str) -> None:
    assert value.encode().hex() == hexed  # type: ignore[attr-defined]


def test_oid_roundtrip_big_arcs() -> None:
    oid = (1, 3, 6, 1, 4, 1, 30065, 2**32 - 1, 0, 16383, 16384)
    c = ber.oid_content(oid)
    assert ber.dec_oid(c, 0, len(c)) == oid
    assert ber.dec_oid(bytes.fromhex("8837"), 0, 2) == (2, 999)  # RFC example: 2.999


def test_value_ranges_enforced() -> None:
    with pytest.raises(ValueError):
        Integer(2**31)
    with pytest.raises(ValueError):
        Counter32(-1)
    with pytest.raises(ValueError):
        Counter64(2**64)


def test_rfc3414_sha_key_localization() -> None:
    """RFC 3414 A.3.2: password "maplesyrup", engine ID 00..02."""
    ku = password_to_key("maplesyrup", "sha1")
    assert ku.hex() == "9fb5cc0381497b3793528939ff788d5d79145211"
    kul = localize_key(ku, bytes.fromhex("000000000000000000000002"), "sha1")
    assert kul.hex() == "6695febc9288e36282235fc7151f128497b38f3f"


def test_mibview_sorted_lookup_and_bulk_budget() -> None:
    v = MibView(
        [((1, 3, 6, 1, 2, 1, 1, 3, 0), TimeTicks(5)), ((1, 3, 6, 1, 2, 1, 1, 1, 0), OctetString("x"))]
    )
    assert [o for o, _ in v] == [(1, 3, 6, 1, 2, 1, 1, 1, 0), (1, 3, 6, 1, 2, 1, 1, 3, 0)]
    assert v.get((1, 3, 6, 1, 2, 1, 1, 3, 0)) == TimeTicks(5)
    assert v.get((1, 3, 6, 1, 2, 1, 1, 2, 0)) is None
    assert v.next_index((1, 3, 6, 1, 2, 1, 1, 1, 0)) == 1
    assert v.next_index((1, 3)) == 0
    big = sample_view(rows=200)
    full, n = big.run(0, 10_000, 10**9)
    assert n == len(big)
    part, m = big.run(0, 10_000, 1000)
    assert 0 < m < n and len(part) <= 1000 and full.startswith(part)
    with pytest.raises(ValueError):
        MibView([((1, 3, 1), Integer(1)), ((1, 3, 1), Integer(2))])


def test_updated_replaces_and_adds() -> None:
    v = sample_view(rows=3)
    key = (1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 1)
    v2 = v.updated({key: Counter32(5)})
    assert v.get(key) == Counter32(2**32 - 1) and v2.get(key) == Counter32(5)
    assert len(v2) == len(v)
    v3 = v.updated([((1, 3, 6, 1, 2, 1, 1, 4, 0), OctetString("ops"))])
    assert len(v3) == len(v) + 1 and v3.get((1, 3, 6, 1, 2, 1, 1, 4, 0)) == OctetString("ops")


def test_snmprec_roundtrip(tmp_path: Path) -> None:
    v = sample_view()
    p = write_snmprec(v, tmp_path / "sw.snmprec")
    lines = p.read_text().splitlines()
    assert lines[0] == "1.3.6.1.2.1.1.1.0|4x|" + "lab switch \u00e9 \u2603".encode().hex()
    assert "1.3.6.1.2.1.31.1.1.1.6.1|70|18446744073709543696" in lines
    assert list(read_snmprec(p)) == list(v)


def test_snmpsim_serves_identical_walk(tmp_path: Path) -> None:
    """The same view written as .snmprec and served by snmpsim answers the same walk as the lab agent."""
    v = sample_view(rows=20)
    data = tmp_path / "data"
    write_snmprec(v, data / "fabric.snmprec")
    sim = Path(sys.executable).parent / "snmpsim-command-responder"  # the dev extra installs it
    port = free_port(socket.SOCK_DGRAM)
    env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
    proc = subprocess.Popen(
        [
            str(sim),
            f"--data-dir={data}",
            f"--cache-dir={tmp_path / 'cache'}",
            f"--agent-udpv4-endpoint=127.0.0.1:{port}",
            "--logging-method=null",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    lab = ThreadedAgent({"sw": DeviceEndpoint(port=0, view=lambda: v, community="fabric")})
    try:
        deadline = time.monotonic() + 20
        sim_out = ""
        while time.monotonic() < deadline:
            r = netsnmp(
                "snmpbulkwalk", "-v2c", "-c", "fabric", "-Cr10", f"127.0.0.1:{port}", "1.3.6.1", check=False
            )
            if r.returncode == 0 and r.stdout:
                sim_out = r.stdout
                break
            time.sleep(0.2)
        lab_out = netsnmp(
            "snmpbulkwalk", "-v2c", "-c", "fabric", "-Cr10", f"127.0.0.1:{lab.port('sw')}", "1.3.6.1"
        )
        assert sim_out, "snmpsim did not answer"
        assert parse_netsnmp(lab_out.stdout)[:-1] == list(v)
        assert parse_netsnmp(sim_out)[: len(v)] == parse_netsnmp(lab_out.stdout)[: len(v)]
    finally:
        lab.stop()
        proc.terminate()
        proc.wait(10)


def test_v3user_from_env_keeps_secrets_out_of_repr() -> None:
    env = {"X_AUTH_PASSWORD": "auth-secret-1", "X_PRIV_PASSWORD": "priv-secret-1"}
    u = V3User.from_env("ops", prefix="X", env=env)
    assert (u.name, u.auth_password, u.priv_password) == ("ops", "auth-secret-1", "priv-secret-1")
    assert "secret" not in repr(u)
    with pytest.raises(ValueError, match="X_AUTH_PASSWORD"):
        V3User.from_env("ops", prefix="X", env={})
    with pytest.raises(ValueError):
        V3User("ops", "short")
