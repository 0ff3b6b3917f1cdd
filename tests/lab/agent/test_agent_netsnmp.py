"""net-snmp's own clients (snmpget/snmpwalk/snmpbulkwalk) against the lab agent, v2c and v3 authPriv."""

from __future__ import annotations

import socket

import pytest

from lab.agent import Counter64, DeviceEndpoint, Integer, MibView, OctetString, V3User
from tests.lab.agent.helpers import (
    SHA256_USER,
    SHA_USER,
    ThreadedAgent,
    netsnmp,
    parse_netsnmp,
    sample_view,
    v3_args,
)

END = "No more variables left in this MIB View (It is past the end of the MIB tree)"


def _walk_matches(view: MibView, out: str) -> None:
    rows = parse_netsnmp(out)
    # Walking the whole tree ends on endOfMibView, which net-snmp prints for the last OID.
    assert rows[-1][1] == END
    assert rows[:-1] == list(view)


@pytest.mark.parametrize("tool", ["snmpwalk", "snmpbulkwalk"])
def test_v2c_walk_exact(agent: ThreadedAgent, view: MibView, tool: str) -> None:
    extra = ["-Cr7"] if tool == "snmpbulkwalk" else []
    out = netsnmp(tool, "-v2c", "-c", "public", *extra, f"127.0.0.1:{agent.port('sw-sha')}", "1.3.6.1")
    _walk_matches(view, out.stdout)


@pytest.mark.parametrize(("device", "user"), [("sw-sha", SHA_USER), ("sw-sha256", SHA256_USER)])
@pytest.mark.parametrize("tool", ["snmpwalk", "snmpbulkwalk"])
def test_v3_authpriv_walk_exact(
    agent: ThreadedAgent, view: MibView, tool: str, device: str, user: V3User
) -> None:
    out = netsnmp(tool, *v3_args(user, agent.port(device)), "1.3.6.1")
    _walk_matches(view, out.stdout)


def test_edge_values_decode_exactly(agent: ThreadedAgent) -> None:
    out = netsnmp(
        "snmpget",
        "-v2c",
        "-c",
        "public",
        f"127.0.0.1:{agent.port('sw-sha')}",
        "1.3.6.1.2.1.31.1.1.1.6.1",
        "1.3.6.1.2.1.99.1.1.1.4.1001",
        "1.3.6.1.2.1.1.1.0",
    )
    got = dict(parse_netsnmp(out.stdout))
    assert got[(1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1)] == Counter64(2**64 - 1 - 7919)
    assert got[(1, 3, 6, 1, 2, 1, 99, 1, 1, 1, 4, 1001)] == Integer(-(2**31) + 1)
    assert got[(1, 3, 6, 1, 2, 1, 1, 1, 0)] == OctetString("lab switch é ☃".encode())


def test_get_missing_reports_nosuch(agent: ThreadedAgent) -> None:
    port = agent.port("sw-sha")
    out = netsnmp(
        "snmpget", "-v2c", "-c", "public", f"127.0.0.1:{port}", "1.3.6.1.2.1.1.5.1", "1.3.6.1.2.1.7.0"
    )
    assert "1.3.6.1.2.1.1.5.1 = No Such Instance" in out.stdout
    assert "1.3.6.1.2.1.7.0 = No Such Object" in out.stdout


def test_wrong_community_gets_no_answer(agent: ThreadedAgent) -> None:
    port = agent.port("sw-sha256")  # its community is "c0mm"
    before = agent.server.stats("sw-sha256").bad_community
    out = netsnmp(
        "snmpget",
        "-v2c",
        "-c",
        "public",
        "-t",
        "0.3",
        "-r",
        "0",
        f"127.0.0.1:{port}",
        "1.3.6.1.2.1.1.5.0",
        check=False,
    )
    assert out.returncode != 0 and "Timeout" in out.stderr
    assert agent.server.stats("sw-sha256").bad_community == before + 1
    ok = netsnmp("snmpget", "-v2c", "-c", "c0mm", f"127.0.0.1:{port}", "1.3.6.1.2.1.1.5.0")
    assert parse_netsnmp(ok.stdout) == [((1, 3, 6, 1, 2, 1, 1, 5, 0), OctetString("leaf-1"))]


def test_wrong_auth_password_gets_wrong_digest_report(agent: ThreadedAgent) -> None:
    bad = V3User(SHA_USER.name, "not-the-password", SHA_USER.priv_password)
    before = agent.server.stats("sw-sha").wrong_digests
    out = netsnmp("snmpget", *v3_args(bad, agent.port("sw-sha")), "1.3.6.1.2.1.1.5.0", check=False)
    assert out.returncode != 0
    assert "Authentication failure" in out.stderr
    assert agent.server.stats("sw-sha").wrong_digests > before


def test_unknown_user_is_reported(agent: ThreadedAgent) -> None:
    stranger = V3User("nobody", SHA_USER.auth_password, SHA_USER.priv_password)
    out = netsnmp("snmpget", *v3_args(stranger, agent.port("sw-sha")), "1.3.6.1.2.1.1.5.0", check=False)
    assert out.returncode != 0 and "Unknown user name" in out.stderr
    assert agent.server.stats("sw-sha").unknown_user_names >= 1


def test_not_in_time_window_then_resync(agent: ThreadedAgent) -> None:
    """A client with stale boots/time (-Z) gets a notInTimeWindow report, resyncs and succeeds."""
    port = agent.port("sw-sha")
    engine_id = agent.server.engine_id("sw-sha").hex()
    before = agent.server.stats("sw-sha").not_in_time_windows
    args = v3_args(SHA_USER, port)
    out = netsnmp("snmpget", "-e", engine_id, "-Z", "7,9999", *args, "1.3.6.1.2.1.1.5.0")
    assert parse_netsnmp(out.stdout) == [((1, 3, 6, 1, 2, 1, 1, 5, 0), OctetString("leaf-1"))]
    assert agent.server.stats("sw-sha").not_in_time_windows == before + 1


def test_reboot_bumps_engine_boots(agent: ThreadedAgent) -> None:
    boots, _ = agent.server.engine_boots_time("sw-sha256")
    agent.run(agent.server.reboot, "sw-sha256")
    boots2, etime2 = agent.server.engine_boots_time("sw-sha256")
    assert (boots2, etime2) == (boots + 1, 0)
    out = netsnmp("snmpget", *v3_args(SHA256_USER, agent.port("sw-sha256")), "1.3.6.1.2.1.1.5.0")
    assert parse_netsnmp(out.stdout) == [((1, 3, 6, 1, 2, 1, 1, 5, 0), OctetString("leaf-1"))]


def test_garbage_is_ignored(agent: ThreadedAgent) -> None:
    port = agent.port("sw-sha")
    good_v2c = bytes.fromhex(
        "302602010104067075626c6963a01902045a1b2c3d020100020100300b300906052b06010201 0500".replace(" ", "")
    )
    junk = [
        b"",
        b"\x00",
        b"\x30",
        b"\x30\x84\xff\xff\xff\xff",
        b"\x30\x03\x02\x01\x09",  # unknown version
        bytes(range(256)),
        good_v2c[:-3],  # truncated
        good_v2c[:10] + b"\xff" * 20,
        b"\x30\x0a\x02\x01\x03\x30\x05\x02\x01\x01\x04\x00",  # v3 header cut short
    ]
    before = agent.server.stats("sw-sha").garbage
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for j in junk:
            s.sendto(j, ("127.0.0.1", port))
        s.settimeout(2)
        s.sendto(good_v2c, ("127.0.0.1", port))  # GET 1.3.6.1.2.1 -> noSuchObject, but an answer
        data, _ = s.recvfrom(65535)
    assert data[0] == 0x30 and b"\xa2" in data
    assert agent.server.stats("sw-sha").garbage >= before + 6
    out = netsnmp("snmpget", "-v2c", "-c", "public", f"127.0.0.1:{port}", "1.3.6.1.2.1.1.5.0")
    assert "leaf-1" not in out.stdout  # -Ox prints hex
    assert parse_netsnmp(out.stdout) == [((1, 3, 6, 1, 2, 1, 1, 5, 0), OctetString("leaf-1"))]


def test_bulkget_nonrepeaters_and_interleaved_repeaters(agent: ThreadedAgent, view: MibView) -> None:
    """snmpbulkget -Cn1 -Cr3 A B C: next(A), then B and C successors interleaved, C running off the end."""
    entries = list(view)
    oids = [o for o, _ in entries]
    a, b, c = oids[3], oids[10], oids[-2]
    out = netsnmp(
        "snmpbulkget",
        "-v2c",
        "-c",
        "public",
        "-Cn1",
        "-Cr3",
        f"127.0.0.1:{agent.port('sw-sha')}",
        *(".".join(map(str, o)) for o in (a, b, c)),
    )
    got = parse_netsnmp(out.stdout)
    expect: list[tuple[tuple[int, ...], object]] = [entries[4]]
    expect += [entries[11], entries[-1], entries[12], (oids[-1], END), entries[13], (oids[-1], END)]
    assert got == expect


def test_huge_bulk_is_cut_to_one_datagram() -> None:
    """max-repetitions 5000 over a 4000-entry view: a UDP-sized prefix of the view, no tooBig."""
    big = sample_view(rows=400)
    agent = ThreadedAgent({"big": DeviceEndpoint(port=0, view=lambda: big)})
    try:
        target = f"127.0.0.1:{agent.port('big')}"
        out = netsnmp("snmpbulkget", "-v2c", "-c", "public", "-Cr5000", target, "1.3.6.1")
        rows = parse_netsnmp(out.stdout)
        assert 1000 < len(rows) < len(big)
        assert rows == list(big)[: len(rows)]
    finally:
        agent.stop()
