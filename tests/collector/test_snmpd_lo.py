"""ifHCInOctets of `lo` read by the collector agrees with /proc/net/dev across a poll interval."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from collector.poller import DeviceState, poll_group
from collector.transport import SnmpCredentials, Target, open_transport


def proc_lo_rx_bytes() -> int:
    for line in Path("/proc/net/dev").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name.strip() == "lo":
            return int(rest.split()[0])
    raise AssertionError("no lo in /proc/net/dev")


CACHE_S = 3.5


@pytest.mark.parametrize("kind", ["gufo", "pysnmp"])
async def test_lo_octets_agree_with_proc(snmpd: int, kind: str) -> None:
    tgt = Target("host", "127.0.0.1", snmpd, SnmpCredentials.v2c("public"))
    state = DeviceState(name="host")
    async with open_transport(tgt, kind) as tr:
        a0 = proc_lo_rx_bytes()
        f0 = await poll_group(tr, state, "counters", "if-mib")
        a0b = proc_lo_rx_bytes()
        # push known traffic through lo between the two polls
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for _ in range(200):
                s.sendto(b"x" * 1000, ("127.0.0.1", 9))
        b0 = proc_lo_rx_bytes()
        await asyncio.sleep(CACHE_S)  # snmpd caches interface stats for a few seconds
        f1 = await poll_group(tr, state, "counters", "if-mib")
        b0b = proc_lo_rx_bytes()

    def lo_octets(f):  # type: ignore[no-untyped-def]
        row = f.filter((f["port"] == "lo") & (f["metric"] == "in_octets"))
        assert row.height == 1 and row["counter_bits"][0] == 64
        return int(row["counter"][0])

    c0, c1 = lo_octets(f0), lo_octets(f1)
    # the agent (its cache may be a few seconds old) is never ahead of the kernel, and after its
    # cache expired it has seen everything the kernel had counted before the sleep
    assert c0 <= a0b
    assert b0 <= c1 <= b0b
    assert a0 > 0
    assert c1 - c0 >= 200 * 1000  # our datagrams are in the delta
