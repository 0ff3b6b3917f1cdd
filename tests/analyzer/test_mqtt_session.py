"""The analyzer's MQTT session outlives a restart: batches published while it is away wait at a real
Mosquitto and arrive when it is back (and, with a clean start, they do not: the test can fail)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import polars as pl
import pytest

from analyzer.consumer import BatchConsumer
from analyzer.mqtt import MqttSubscriber
from analyzer.spec import LinkSpec
from analyzer.state import LaneState
from linkmargin.mqtt import MqttSettings
from linkmargin.samples import conform
from linkmargin.wire import SampleBatch, encode_batch
from tests.services import mosquitto, wait_until


def _batch(seq: int) -> SampleBatch:
    frame = conform(
        pl.DataFrame(
            {
                "ts": [datetime(2026, 1, 1, 0, seq, tzinfo=UTC)],
                "device": ["leaf1"],
                "port": ["Ethernet1"],
                "lane": [1],
                "metric": ["rx_power_dbm"],
                "value": [-3.0],
            }
        )
    )
    return SampleBatch("leaf1", seq, frame)


async def _session(settings: MqttSettings, consumer: BatchConsumer, expiry: int, until: int) -> None:
    """Run one analyzer session until the consumer holds ``until`` batches, then stop it."""
    stop = asyncio.Event()
    sub = MqttSubscriber(
        settings, consumer, identifier="analyzer-a", session_expiry_s=expiry, reconnect_s=0.1
    )
    task = asyncio.create_task(sub.run(stop))
    await asyncio.wait_for(sub.subscribed.wait(), 5)
    try:
        await wait_until(lambda: consumer.batches >= until, 5)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


@pytest.mark.parametrize(("expiry", "kept"), [(600, True), (0, False)])
async def test_batches_published_while_the_analyzer_is_away_arrive_after_restart(
    tmp_path: Path, expiry: int, kept: bool
) -> None:
    with mosquitto(tmp_path / "broker") as broker:
        settings = MqttSettings(port=broker.port)
        consumer = BatchConsumer(LaneState(LinkSpec.build([])), max_delay=0.0)
        async with aiomqtt.Client("127.0.0.1", port=broker.port, identifier="collector") as pub:
            # first run: subscribed, receives batch 0, then stops (a restart, a deploy)
            first = asyncio.create_task(_session(settings, consumer, expiry, until=1))
            await asyncio.sleep(0.5)
            await pub.publish(_batch(0).topic, encode_batch(_batch(0)), qos=1)
            await first
            # while nobody is connected, the collector goes on publishing
            for seq in range(1, 6):
                await pub.publish(_batch(seq).topic, encode_batch(_batch(seq)), qos=1)
            await asyncio.sleep(0.3)
            second = asyncio.create_task(_session(settings, consumer, expiry, until=6))
            if kept:
                await second
                assert consumer.batches == 6 and consumer.duplicates == 0
            else:
                with pytest.raises(TimeoutError):
                    await second
                assert consumer.batches == 1  # a clean start lost the five
