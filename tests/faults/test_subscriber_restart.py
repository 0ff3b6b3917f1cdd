"""A subscriber task hit by an unexpected error is restarted (readiness false meanwhile), against a
real Mosquitto; without the supervision the task would die and ingestion stop for good."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiomqtt
import pytest

from analyzer.consumer import BatchConsumer
from analyzer.mqtt import MqttSubscriber
from analyzer.spec import LinkSpec
from analyzer.state import LaneState
from linkmargin.mqtt import MqttSettings
from linkmargin.wire import SampleBatch, encode_batch
from tests.analyzer.helpers import T0
from tests.faults.test_ingest_mqtt import _rows
from tests.services import mosquitto, wait_until


class _Flaky(BatchConsumer):
    """Raises on its first payload, as a bug in the consumer path would."""

    def __init__(self) -> None:
        super().__init__(LaneState(LinkSpec.build([])), max_delay=0.0)
        self.failed = False

    def offer(self, payload: bytes, topic: str | None = None) -> None:
        if not self.failed:
            self.failed = True
            raise RuntimeError("bug in the consumer")
        super().offer(payload, topic)


async def test_a_dead_subscription_is_restarted_and_readiness_drops_meanwhile(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with mosquitto(tmp_path / "broker") as broker:
        consumer = _Flaky()
        sub = MqttSubscriber(
            MqttSettings(port=broker.port), consumer, identifier="flaky", reconnect_s=0.2, session_expiry_s=0
        )
        stop = asyncio.Event()
        ready: list[bool] = []

        async def watch() -> None:
            while not stop.is_set():
                ready.append(sub.subscribed.is_set())
                await asyncio.sleep(0.01)

        task = asyncio.create_task(sub.run(stop))
        watcher = asyncio.create_task(watch())
        await asyncio.wait_for(sub.subscribed.wait(), 5)
        async with aiomqtt.Client("127.0.0.1", port=broker.port, identifier="pub") as pub:
            batch = SampleBatch("leaf1", 1, _rows("leaf1", [-3.0], [T0]), "c1", epoch=1)
            await pub.publish(batch.topic, encode_batch(batch), qos=1)  # kills the first subscription
            await wait_until(lambda: sub.restarts == 1 and sub.subscribed.is_set(), 5, "restarted")
            for seq in (2, 3):
                batch = SampleBatch("leaf1", seq, _rows("leaf1", [-3.0], [T0]), "c1", epoch=1)
                await pub.publish(batch.topic, encode_batch(batch), qos=1)
            await wait_until(lambda: consumer.batches == 2, 5, "ingestion after the restart")
        stop.set()
        await asyncio.wait_for(task, 5)
        await watcher
        assert sub.restarts == 1 and sub.connects == 2
        first_up = ready.index(True)
        assert False in ready[first_up:]  # not ready while the subscription was down
        logged = [r for r in caplog.records if "bug in the consumer" in r.getMessage()]
        assert len(logged) == 1 and logged[0].exc_info is not None  # once, with its traceback
