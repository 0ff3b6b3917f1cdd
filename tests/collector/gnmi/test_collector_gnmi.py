"""A Collector with a gNMI target: its batches reach the same sinks (Prometheus /metrics) as SNMP's."""

from __future__ import annotations

import asyncio

from prometheus_client import generate_latest

from collector.daemon import Collector
from collector.gnmi.client import GnmiTarget
from lab.fabric import LabFabric
from lab.gnmi.server import LabGnmiServer
from lab.scenario import load_scenario
from linkmargin.bus import InProcessBus
from tests.services import wait_until


async def test_gnmi_batches_flow_to_the_collector_sinks() -> None:
    f = LabFabric(load_scenario("demo"), speed=0.0, start_s=6 * 3600, refresh_s=0.0, clock=lambda: 1000.0)
    dev = f.devices[0]
    srv = LabGnmiServer(f, dev)
    port = await srv.start()
    bus = InProcessBus()
    col = Collector(
        [],
        publisher=bus,
        intervals={"dom": 0.3, "counters": 0.3},
        gnmi_targets=[GnmiTarget(dev, "127.0.0.1", port)],
    )
    stop = asyncio.Event()
    task = asyncio.create_task(col.run(stop))

    def text() -> str:
        return generate_latest(col.registry).decode()

    await wait_until(
        lambda: f'device="{dev}"' in text() and "rx_power_dbm" in text(), 20, "gNMI samples on /metrics"
    )
    stop.set()
    await task
    await srv.stop()
    assert 'linkmargin_collector_gnmi_stream_up{device="' + dev + '"} 0.0' in text()
    assert col.bus is not None
