"""Stream consumer: sample batches from the bus (in-process or MQTT) into a :class:`LaneState`.

Batches are decoded from the wire bytes and deduplicated by (device, seq) — QoS 1 may redeliver —
then folded into the state in micro-batches: messages are accumulated up to ``max_rows`` or
``max_delay`` seconds and ingested with one call, so the per-message cost stays small.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Final

import polars as pl

from analyzer.state import LaneState
from linkmargin.bus import Message
from linkmargin.wire import WireError, decode_batch

SHARED_GROUP: Final = "linkmargin-analyzers"


def shared_subscription(topic_filter: str, group: str = SHARED_GROUP) -> str:
    """MQTT 5 shared-subscription filter, so several analyzers split the devices between them."""
    return f"$share/{group}/{topic_filter}"


class BatchConsumer:
    """Feeds decoded sample batches into a state; counts what it dropped and why."""

    def __init__(
        self, state: LaneState, *, max_rows: int = 200_000, max_delay: float = 1.0, dedupe: int = 100_000
    ):
        self.state = state
        self.max_rows = max_rows
        self.max_delay = max_delay
        self._seen: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._dedupe = dedupe
        self._pending: list[pl.DataFrame] = []
        self._rows = 0
        self._since = time.monotonic()
        self.batches = 0
        self.duplicates = 0
        self.malformed = 0

    def offer(self, payload: bytes) -> None:
        """Take one wire payload; ingests when the pending micro-batch is full or old enough."""
        try:
            batch = decode_batch(payload)
        except WireError:
            self.malformed += 1
            return
        key = (batch.device, batch.seq)
        if key in self._seen:
            self.duplicates += 1
            return
        self._seen[key] = None
        if len(self._seen) > self._dedupe:
            self._seen.popitem(last=False)
        self.batches += 1
        self._pending.append(batch.frame)
        self._rows += batch.frame.height
        if self._rows >= self.max_rows or time.monotonic() - self._since >= self.max_delay:
            self.flush()

    def flush(self) -> None:
        """Ingest whatever is pending."""
        if self._pending:
            self.state.ingest(pl.concat(self._pending, how="vertical"))
        self._pending, self._rows, self._since = [], 0, time.monotonic()

    async def run(self, messages: AsyncIterator[Message]) -> None:
        """Consume until the iterator ends (bus closed), flushing at the end."""
        async for msg in messages:
            self.offer(msg.payload)
        self.flush()
