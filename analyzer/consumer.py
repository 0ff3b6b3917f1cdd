"""Stream consumer: sample batches from the bus (in-process or MQTT) into a :class:`LaneState`.

Batches are decoded from the wire bytes (:func:`linkmargin.wire.decode_batch`, the trust boundary),
checked against the topic they came on, deduplicated by (producer, epoch, device, seq) — QoS 1 may
redeliver — and their rows admitted by the state's clock (:meth:`LaneState.admit`); then folded into
the state in micro-batches: messages are accumulated up to ``max_rows`` or ``max_delay`` seconds and
ingested with one call, so the per-message cost stays small.

:meth:`BatchConsumer.offer` never raises: whatever the payload, it is accepted or refused and the
refusal counted by reason in :class:`analyzer.ingestmetrics.IngestStats`.

Dedupe keeps, per stream, the highest seq seen and a bitmask of the ``seq_window`` seqs below it
(a redelivery is always recent), so memory per stream is fixed; streams are kept in LRU order, at
most ``max_streams`` and none idle longer than ``stream_ttl_s``. A restarted producer sends a new
epoch and so starts a new stream; one from before epochs (epoch 0) that starts over far below its
old seq is taken as restarted rather than as a flood of duplicates.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Final

import polars as pl

from analyzer.ingestmetrics import IngestStats
from analyzer.sharding import RowFilter
from analyzer.state import LaneState
from linkmargin.bus import Message
from linkmargin.wire import WireError, decode_batch, samples_topic

SHARED_GROUP: Final = "linkmargin-analyzers"

log = logging.getLogger(__name__)


def shared_subscription(topic_filter: str, group: str = SHARED_GROUP) -> str:
    """MQTT 5 shared-subscription filter. Not what the analyzer subscribes with: it would scatter a
    device's batches over analyzers at random; analyzers split the links instead (analyzer.sharding)."""
    return f"$share/{group}/{topic_filter}"


@dataclass(slots=True)
class _Stream:
    hi: int  # highest seq seen
    mask: int  # bit i set: seq hi - i seen
    seen_at: float


class SeqDedupe:
    """Seen (producer, epoch, device, seq), bounded per stream and in the number of streams."""

    def __init__(
        self,
        *,
        seq_window: int = 4096,
        max_streams: int = 10_000,
        stream_ttl_s: float = 6 * 3600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seq_window = seq_window
        self.max_streams = max_streams
        self.stream_ttl_s = stream_ttl_s
        self._monotonic = monotonic
        self._streams: OrderedDict[tuple[str, int, str], _Stream] = OrderedDict()
        self._full = (1 << seq_window) - 1

    def __len__(self) -> int:
        return len(self._streams)

    def check(self, producer: str, epoch: int, device: str, seq: int) -> str | None:
        """Record the batch; None when it is new, else why it is refused (``duplicate``, ``stale_seq``)."""
        now = self._monotonic()
        key = (producer, epoch, device)
        st = self._streams.pop(key, None)
        verdict: str | None = None
        if st is None or (epoch == 0 and seq <= st.hi - self.seq_window):
            st = _Stream(hi=seq, mask=1, seen_at=now)  # new stream, or a pre-epoch producer restarted
        elif seq > st.hi:
            st.mask = ((st.mask << min(seq - st.hi, self.seq_window)) | 1) & self._full
            st.hi = seq
        elif seq <= st.hi - self.seq_window:
            verdict = "stale_seq"
        elif (st.mask >> (st.hi - seq)) & 1:
            verdict = "duplicate"
        else:
            st.mask |= 1 << (st.hi - seq)
        st.seen_at = now
        self._streams[key] = st  # most recently seen last
        self._prune(now)
        return verdict

    def _prune(self, now: float) -> None:
        while len(self._streams) > self.max_streams:
            self._streams.popitem(last=False)
        while self._streams:
            oldest = next(iter(self._streams.values()))
            if now - oldest.seen_at <= self.stream_ttl_s:
                break
            self._streams.popitem(last=False)


class BatchConsumer:
    """Feeds decoded sample batches into a state; counts what it refused and why (``stats``)."""

    def __init__(
        self,
        state: LaneState,
        *,
        max_rows: int = 200_000,
        max_delay: float = 1.0,
        dedupe: SeqDedupe | None = None,
        stats: IngestStats | None = None,
        shard: RowFilter | None = None,
    ):
        self.state = state
        self.shard = shard  # analyze --shard: keep only this shard's ports (analyzer.sharding)
        self.max_rows = max_rows
        self.max_delay = max_delay
        self.dedupe = dedupe or SeqDedupe()
        self.stats = stats or IngestStats()
        self._pending: list[pl.DataFrame] = []
        self._rows = 0
        self._since = time.monotonic()

    @property
    def batches(self) -> int:
        """Batches accepted."""
        return self.stats.batches

    @property
    def duplicates(self) -> int:
        """Batches refused as already seen."""
        return self.stats.rejected_batches["duplicate"]

    @property
    def malformed(self) -> int:
        """Batches refused as not a valid batch (decode, version, schema, device mismatch)."""
        bad = self.stats.rejected_batches
        return sum(bad[r] for r in ("decode", "version", "schema", "device_mismatch"))

    def offer(self, payload: bytes, topic: str | None = None) -> None:
        """Take one wire payload (from ``topic``, when known); never raises.

        Ingests when the pending micro-batch is full or old enough.
        """
        try:
            self._offer(payload, topic)
        except Exception as exc:  # the loop must outlive any payload: count, log, go on
            self.stats.reject_batch("internal", f"{type(exc).__name__}: {exc}")
            log.debug("offer failed", exc_info=True)

    def _offer(self, payload: bytes, topic: str | None) -> None:
        if self.shard is not None and topic is not None and not self.shard.wants(topic.rpartition("/")[2]):
            self.stats.rejected_batches["other_shard"] += 1  # expected in a sharded fleet: not logged
            return
        try:
            batch = decode_batch(payload)
        except WireError as exc:
            self.stats.reject_batch(exc.reason, f"{str(exc)[:200]} (topic {topic})")
            return
        if topic is not None and topic != samples_topic(batch.device):
            self.stats.reject_batch(
                "device_mismatch", f"batch of {batch.device!r} published on {topic[:200]!r}"
            )
            return
        why = self.dedupe.check(batch.producer, batch.epoch, batch.device, batch.seq)
        if why is not None:
            self.stats.reject_batch(why, f"{batch.producer}/{batch.device} seq {batch.seq}")
            return
        frame = batch.frame
        if self.shard is not None:
            frame, theirs = self.shard.keep(frame)
            if theirs:
                self.stats.rejected_samples["other_shard"] += theirs
        frame, refused = self.state.admit(frame)
        self.stats.reject_samples(batch.producer, refused)
        self.stats.batches += 1
        self.stats.samples += frame.height
        if frame.height:
            self._pending.append(frame)
            self._rows += frame.height
        if self._rows >= self.max_rows or time.monotonic() - self._since >= self.max_delay:
            self.flush()

    def flush(self) -> None:
        """Ingest whatever is pending; a failure drops the pending rows (counted), never the loop."""
        pending, rows = self._pending, self._rows
        self._pending, self._rows, self._since = [], 0, time.monotonic()
        if not pending:
            return
        try:
            self.state.ingest(pl.concat(pending, how="vertical"))
        except Exception as exc:  # the state refusing a batch must not stop ingestion
            self.stats.reject_samples("", {"ingest_error": rows})
            log.error("ingesting %d samples failed: %s: %s", rows, type(exc).__name__, exc, exc_info=True)

    async def run(self, messages: AsyncIterator[Message]) -> None:
        """Consume until the iterator ends (bus closed), flushing at the end."""
        async for msg in messages:
            self.offer(msg.payload, msg.topic)
        self.flush()
