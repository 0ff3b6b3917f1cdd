"""A dead device and a device answering garbage: the others keep their schedule, nothing crashes,
nothing is reported as zero. A reboot (sysUpTime back) triggers re-discovery."""

from __future__ import annotations

import asyncio
import os
import socket
import time

import polars as pl

from collector.poller import DeviceState, poll_group
from collector.scheduler import Breaker, Scheduler
from collector.selfmetrics import SelfMetrics
from collector.transport import SnmpCredentials, Target, VarBinds
from tests.services import free_port


class GarbageAgent(asyncio.DatagramProtocol):
    """Answers every datagram with random bytes."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.t = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.t.sendto(os.urandom(len(data) % 90 + 3), addr)  # type: ignore[attr-defined]


async def test_dead_and_garbage_devices_do_not_delay_others(snmpsim: int) -> None:
    loop = asyncio.get_running_loop()
    gport = free_port(socket.SOCK_DGRAM)
    gtr, _ = await loop.create_datagram_endpoint(GarbageAgent, local_addr=("127.0.0.1", gport))
    seen: dict[str, list[float]] = {}
    frames: list[pl.DataFrame] = []

    async def sink(device: str, group: str, frame: pl.DataFrame) -> None:
        seen.setdefault(device, []).append(time.monotonic())
        frames.append(frame)

    targets = [
        # the live agent's own timeout is generous: a loaded machine slows snmpsim, and what is under
        # test is whether the dead and garbage devices delay it, not how fast snmpsim answers
        Target("alive", "127.0.0.1", snmpsim, SnmpCredentials.v2c("generic"), timeout=2.0, retries=0),
        Target(
            "dead",
            "127.0.0.1",
            free_port(socket.SOCK_DGRAM),
            SnmpCredentials.v2c("x"),
            timeout=0.3,
            retries=1,
        ),
        Target("garbage", "127.0.0.1", gport, SnmpCredentials.v2c("x"), timeout=0.3, retries=0),
    ]
    metrics = SelfMetrics()
    sch = Scheduler(
        targets,
        sink,
        intervals={"counters": 0.5, "dom": 1.0, "discovery": 0},
        jitter=0.0,
        breaker=Breaker(threshold=2, base_cooldown_s=5),
        metrics=metrics,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(sch.run(stop))
    await asyncio.sleep(3.2)
    stop.set()
    await asyncio.wait_for(task, 5)
    gtr.close()
    alive = sch.devices[0]
    # counters every 0.5 s for 3.2 s: 7 ticks; allow one for start-up
    assert alive.polls.get("counters", 0) >= 6, alive.polls
    assert alive.polls.get("dom", 0) >= 3
    assert "dead" not in seen and "garbage" not in seen
    # the breaker opened: the dead device was not hammered every tick
    reg = metrics.registry
    assert (reg.get_sample_value("linkmargin_collector_breaker_skips_total", {"device": "dead"}) or 0) > 0
    assert (reg.get_sample_value("linkmargin_collector_timeouts_total", {"device": "dead"}) or 0) >= 2
    allf = pl.concat(frames)
    assert allf.filter(pl.col("value").is_null() & pl.col("reason").is_null()).height == 0


class ScriptedTransport:
    """A fake agent whose sysUpTime we control (reboot) and whose tables come from snmprec rows."""

    def __init__(self, rows: dict[str, int | bytes | str]) -> None:
        self.rows = rows
        self.uptime = 10_000

    async def __aenter__(self) -> ScriptedTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def get(self, oids: list[str]) -> VarBinds:
        vals = [self.uptime if o == "1.3.6.1.2.1.1.3.0" else self.rows.get(o) for o in oids]
        return VarBinds(list(oids), vals)

    async def bulk_walk(self, root: str, max_repetitions: int | None = None) -> VarBinds:
        keys = sorted(
            (k for k in self.rows if k.startswith(root + ".")), key=lambda k: [int(x) for x in k.split(".")]
        )
        return VarBinds(keys, [self.rows[k] for k in keys])


async def test_reboot_triggers_rediscovery() -> None:
    rows: dict[str, int | bytes | str] = {
        "1.3.6.1.2.1.31.1.1.1.1.1": b"swp1",
        "1.3.6.1.2.1.31.1.1.1.6.1": 5000,
        "1.3.6.1.2.1.2.2.1.8.1": 1,
    }
    tr = ScriptedTransport(rows)
    st = DeviceState(name="d")
    await poll_group(tr, st, "counters", "if-mib")
    assert not st.needs_discovery()
    rows["1.3.6.1.2.1.31.1.1.1.1.1"] = b"swp1-renamed"
    tr.uptime = 50  # agent restarted
    f = await poll_group(tr, st, "counters", "if-mib")
    assert st.discovered_at_uptime == 50
    assert f.filter(pl.col("metric") == "in_octets")["port"].to_list() == ["swp1-renamed"]


def test_garbage_socket_helper_binds_loopback_only() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", free_port(socket.SOCK_DGRAM)))
        assert s.getsockname()[0] == "127.0.0.1"
