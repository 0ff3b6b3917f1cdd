"""Mosquitto (started here) is killed and restarted while the collector publishes: every batch is
received exactly once after dedupe by (producer, device, seq), in order per device — counted."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import polars as pl
import pytest

from collector.outbox import Outbox
from collector.publisher import MqttPublisher
from collector.selfmetrics import SelfMetrics
from collector.sinks.bus import BusSink
from linkmargin.mqtt import MqttSettings
from linkmargin.samples import conform
from linkmargin.wire import SAMPLES_WILDCARD, decode_batch
from tests.services import Mosquitto, mosquitto, wait_until


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with mosquitto(tmp_path / "broker", persistence=True) as b:  # the subscriber's session survives a kill
        yield b


def frame(device: str, i: int) -> pl.DataFrame:
    return conform(
        pl.DataFrame(
            {
                "ts": [datetime.now(UTC)],
                "device": [device],
                "port": ["e1"],
                "metric": ["rx_power_dbm"],
                "value": [-float(i) / 100],
            }
        )
    )


async def test_broker_outage_loses_nothing(broker: Mosquitto, tmp_path: Path) -> None:
    received: list[tuple[str, str, int]] = []
    sub_ready = asyncio.Event()
    stop = asyncio.Event()

    async def subscriber() -> None:
        while not stop.is_set():
            try:
                async with aiomqtt.Client(
                    "127.0.0.1", port=broker.port, identifier="lm-test-sub", clean_session=False
                ) as c:
                    await c.subscribe(SAMPLES_WILDCARD, qos=1)
                    sub_ready.set()
                    async for msg in c.messages:
                        b = decode_batch(bytes(msg.payload))  # type: ignore[arg-type]
                        received.append((b.producer, b.device, b.seq))
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)

    sub = asyncio.create_task(subscriber())
    await asyncio.wait_for(sub_ready.wait(), 10)
    pub = MqttPublisher(MqttSettings(port=broker.port), tmp_path / "outbox", reconnect_s=0.1)
    metrics = SelfMetrics()
    metrics.watch_bus(pub)

    def gauge(name: str) -> float | None:
        return metrics.registry.get_sample_value(f"linkmargin_collector_{name}")

    assert gauge("bus_up") == 0.0  # not started yet
    pub_stop = asyncio.Event()
    sender = asyncio.create_task(pub.run(pub_stop))
    sink = BusSink(pub)
    devices = ["leaf1", "leaf2", "spine1"]
    n = 60
    for i in range(n):
        for d in devices:
            await sink(d, "dom", frame(d, i))
        if i == 5:
            await wait_until(lambda: gauge("bus_up") == 1.0, 10, "bus_up 1")
        if i == 15:
            broker.kill()  # SIGKILL mid-stream
        if i == 34:  # the outage shows on /metrics: bus down, batches waiting
            await wait_until(lambda: gauge("bus_up") == 0.0, 10, "bus_up 0")
            assert (gauge("outbox_batches") or 0) > 0
        if i == 35:
            broker.restart()  # same port
        await asyncio.sleep(0.03)
    await wait_until(lambda: gauge("outbox_batches") == 0.0 and gauge("bus_up") == 1.0, 20, "outbox empty")
    pub_stop.set()
    await asyncio.wait_for(sender, 30)
    end = time.monotonic() + 20
    while time.monotonic() < end and len({r for r in received}) < n * len(devices):
        await asyncio.sleep(0.1)
    stop.set()
    sub.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sub
    unique = list(dict.fromkeys(received))  # dedupe by (producer, device, seq), keep first arrival order
    assert len(pub.outbox) == 0 and pub.outbox.dropped == 0
    assert len(unique) == n * len(devices), f"got {len(unique)} of {n * len(devices)}"
    for d in devices:
        seqs = [s for _, dev, s in unique if dev == d]
        assert seqs == list(range(1, n + 1)), d  # all, in order
    assert pub.connects >= 2  # it really reconnected
    print(f"sent {n * len(devices)}, received {len(received)} ({len(received) - len(unique)} duplicates)")


def test_outbox_bound_drops_oldest_and_counts(tmp_path: Path) -> None:
    ob = Outbox(tmp_path, max_messages=3)
    for i in range(5):
        ob.append("t", str(i).encode())
    assert len(ob) == 3 and ob.dropped == 2
    assert ob.peek() == ("t", b"2")
    again = Outbox(tmp_path, max_messages=3)  # survives a restart, same order
    assert again.peek() == ("t", b"2") and len(again) == 3


def test_a_lost_session_is_not_reported_as_a_refused_login() -> None:
    """paho's rc 4 on a publish is NO_CONN (the broker went away), not CONNACK 4 (bad credentials)."""
    from aiomqtt.exceptions import MqttCodeError, MqttConnectError

    s = MqttSettings(port=1883)
    lost = s.explain(MqttCodeError(4, "Could not publish message"))
    assert "refused" not in lost and "username" not in lost
    assert "refused the connection" in s.explain(MqttConnectError(5))
