"""The bus sink: each batch encoded with :mod:`linkmargin.wire` (per-device sequence numbers) and
published to a :class:`linkmargin.bus.Publisher`: the in-process bus, or
:class:`collector.publisher.MqttPublisher` (with its disk :class:`collector.outbox.Outbox`).
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict

import polars as pl

from linkmargin.bus import Publisher
from linkmargin.wire import SampleBatch, encode_batch, samples_topic

__all__ = ["BusSink"]


class BusSink:
    """Encodes batches with a per-device sequence number and publishes them."""

    def __init__(self, publisher: Publisher, producer: str | None = None) -> None:
        self.publisher = publisher
        # a fresh producer id per process: consumers dedupe by (producer, device, seq)
        self.producer = producer or f"collector-{uuid.uuid4().hex[:12]}"
        # this process's start: a producer with a fixed id restarts at seq 1 under a new epoch
        self.epoch = time.time_ns() // 1000
        self.seq: dict[str, int] = defaultdict(int)

    async def __call__(self, device: str, group: str, frame: pl.DataFrame) -> None:
        """Publish one batch on the device's samples topic (a name that cannot be one raises WireError
        before a sequence number is spent, so consumers see no false gap)."""
        topic = samples_topic(device)
        self.seq[device] += 1
        batch = SampleBatch(
            device=device, seq=self.seq[device], frame=frame, producer=self.producer, epoch=self.epoch
        )
        await self.publisher.publish(topic, encode_batch(batch))
