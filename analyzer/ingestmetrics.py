"""What the analyzer's ingestion refused and whether it is receiving: counts, rate-limited logs, /metrics.

- ``linkmargin_analyzer_batches_total``: sample batches accepted (after dedupe);
- ``linkmargin_analyzer_rejected_batches_total{reason}``: whole batches refused — ``decode``,
  ``version``, ``schema``, ``device_mismatch``, ``duplicate``, ``stale_seq``, ``internal``, and
  ``other_shard`` (a sharded analyzer: a device with no port of this shard's links; not logged);
- ``linkmargin_analyzer_rejected_samples_total{reason}``: rows refused — ``non_finite``,
  ``future``, ``too_old``, ``unknown_device``, ``ingest_error``, ``other_shard`` (rows of another
  shard's ports);
- ``linkmargin_analyzer_producer_rejected_samples_total{producer, reason}``: the same per producer
  (the ``max_producers`` most recently active only, so forged ids cannot grow it);
- ``linkmargin_analyzer_producers``: (producer, epoch, device) streams tracked for dedupe;
- ``linkmargin_analyzer_ingest_up``: 1 while the subscription is live, else 0.

Every refusal is logged at most once per reason per ``log_every_s`` (with how many were not logged
since), so a flood of bad payloads cannot flood the log.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from typing import Final

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger("analyzer.ingest")

MAX_PRODUCERS: Final = 1_000


class IngestStats:
    """Counts of accepted and refused batches and rows, by reason and (bounded) by producer."""

    def __init__(
        self,
        *,
        log_every_s: float = 60.0,
        max_producers: int = MAX_PRODUCERS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.batches = 0
        self.samples = 0
        self.rejected_batches: Counter[str] = Counter()
        self.rejected_samples: Counter[str] = Counter()
        self.by_producer: OrderedDict[str, Counter[str]] = OrderedDict()
        self.max_producers = max_producers
        self.log_every_s = log_every_s
        self._monotonic = monotonic
        self._logged: dict[str, tuple[float, int]] = {}  # reason -> (last logged at, suppressed since)

    def reject_batch(self, reason: str, detail: str) -> None:
        """Count a refused batch and log it (rate-limited)."""
        self.rejected_batches[reason] += 1
        self._log(reason, f"sample batch rejected ({reason}): {detail}")

    def reject_samples(self, producer: str, counts: dict[str, int]) -> None:
        """Count refused rows of one producer's batch, by reason, and log them (rate-limited)."""
        if not counts:
            return
        self.rejected_samples.update(counts)
        mine = self.by_producer.pop(producer, None) or Counter()
        mine.update(counts)
        self.by_producer[producer] = mine  # most recent last
        while len(self.by_producer) > self.max_producers:
            self.by_producer.popitem(last=False)
        for reason, n in counts.items():
            self._log(reason, f"{n} samples from producer {producer[:80]!r} rejected ({reason})")

    def _log(self, reason: str, message: str) -> None:
        now = self._monotonic()
        last, suppressed = self._logged.get(reason, (-float("inf"), 0))
        if now - last < self.log_every_s:
            self._logged[reason] = (last, suppressed + 1)
            return
        more = f" (and {suppressed} more like it in the last {self.log_every_s:.0f} s)" if suppressed else ""
        log.warning("%s%s", message, more)
        self._logged[reason] = (now, 0)


class IngestCollector(Collector):
    """Exposes an :class:`IngestStats` (plus the state's own refusals) and a readiness gauge."""

    def __init__(
        self,
        stats: IngestStats,
        *,
        state_rejected: Callable[[], Counter[str]] = Counter,
        streams: Callable[[], int] = lambda: 0,
        up: Callable[[], bool] = lambda: True,
    ) -> None:
        self.stats = stats
        self._state_rejected = state_rejected
        self._streams = streams
        self._up = up

    def collect(self) -> Iterator[Metric]:
        """Yield the ingest counters and gauges."""
        st = self.stats
        yield CounterMetricFamily(
            "linkmargin_analyzer_batches", "Sample batches accepted after dedupe", st.batches
        )
        batches = CounterMetricFamily(
            "linkmargin_analyzer_rejected_batches", "Sample batches refused, by reason", labels=["reason"]
        )
        for reason, n in sorted(st.rejected_batches.items()):
            batches.add_metric([reason], n)
        yield batches
        samples = CounterMetricFamily(
            "linkmargin_analyzer_rejected_samples", "Sample rows refused, by reason", labels=["reason"]
        )
        for reason, n in sorted((st.rejected_samples + self._state_rejected()).items()):
            samples.add_metric([reason], n)
        yield samples
        per = CounterMetricFamily(
            "linkmargin_analyzer_producer_rejected_samples",
            "Sample rows refused, by producer (the most recently active) and reason",
            labels=["producer", "reason"],
        )
        for producer, counts in list(st.by_producer.items()):
            for reason, n in sorted(counts.items()):
                per.add_metric([producer, reason], n)
        yield per
        yield GaugeMetricFamily(
            "linkmargin_analyzer_producers", "Producer streams tracked for dedupe", self._streams()
        )
        yield GaugeMetricFamily(
            "linkmargin_analyzer_ingest_up", "1 while sample ingestion is live", 1.0 if self._up() else 0.0
        )
