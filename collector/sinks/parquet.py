"""Parquet history sink: buffers batches and writes them every ``flush_s`` seconds as small atomic files.

The layout, the atomic write and the compaction are the core's (:mod:`linkmargin.history`); this
sink decides when to write, keeps going when the disk is full (or the object store unreachable), and
compacts after each flush. A ``kill -9`` loses at most the rows of the last ``flush_s`` seconds (plus
the write in flight). ``root`` is a directory or ``s3://bucket/prefix`` (:mod:`linkmargin.s3history`);
on object storage each day is split into device groups (``date=D/group=NN``) and the sink does not
compact (S3 has no lock: one scheduled ``linkmargin history check --compact`` does, docs/DEPLOY.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from linkmargin import history
from linkmargin.samples import conform

log = logging.getLogger(__name__)

LOG_EVERY_S = 60.0


class ParquetSink:
    """Buffers batches; :meth:`run` writes them every ``flush_s`` s, and at ``max_rows`` buffered rows.

    Usage: ``sink = ParquetSink(root, flush_s=5)``; pass ``sink`` as a collector sink and run
    ``await sink.run(stop)`` beside the poller (it flushes a last time when ``stop`` is set).
    A failed write (``ENOSPC``...) is counted in ``write_errors`` and logged once a minute; its rows
    stay buffered for the next flush, up to ``max_buffered_rows`` (the oldest beyond are dropped and
    counted in ``rows_dropped``). Nothing here raises into the poller.
    """

    def __init__(
        self,
        root: str | Path | history.Store,
        *,
        flush_s: float = 5.0,
        max_rows: int = 200_000,
        max_buffered_rows: int = 2_000_000,
        compact_fanout: int | None = None,
        groups: int | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        if flush_s <= 0:
            raise ValueError("flush_s must be > 0")
        self.store = history.open_store(root)
        local = isinstance(self.store, history.LocalStore)
        self.root: str | Path = (
            self.store.path if isinstance(self.store, history.LocalStore) else self.store.root
        )
        self.groups = self.store.default_groups if groups is None else groups
        self.flush_s = flush_s
        self.max_rows = max_rows
        self.max_buffered_rows = max(max_buffered_rows, max_rows)
        self.compact_fanout = (12 if local else 0) if compact_fanout is None else compact_fanout
        self._buf: list[pl.DataFrame] = []
        self._retry: list[tuple[str, pl.DataFrame]] = []  # failed writes: retried under the same key
        self._rows = 0
        self._buf_lock = threading.Lock()  # the event loop appends while a thread flushes
        self._flush_lock = threading.Lock()  # one flush (and compaction) at a time
        self._failing_since: float | None = None
        self._last_log = -LOG_EVERY_S
        self.files_written = 0
        self.rows_written = 0
        self.write_errors = 0
        self.rows_dropped = 0
        self.files_compacted = 0
        self.tmp_cleaned = 0
        try:
            self.tmp_cleaned, _ = history.clean(self.store) if local else (0, 0)
        except OSError as exc:
            self._error("cleaning", exc)
        if registry is not None:
            registry.register(HistoryMetrics(self))

    async def __call__(self, device: str, group: str, frame: pl.DataFrame) -> None:
        """Buffer a batch; flush (in a thread) when ``max_rows`` are buffered and writes succeed."""
        with self._buf_lock:
            self._buf.append(frame)
            self._rows += frame.height
            while self._rows > self.max_buffered_rows and (self._retry or len(self._buf) > 1):
                old = self._retry.pop(0)[1] if self._retry else self._buf.pop(0)
                self._rows -= old.height
                self.rows_dropped += old.height
            full = self._rows >= self.max_rows
        if full and self._failing_since is None:
            await asyncio.to_thread(self.flush)

    async def run(self, stop: asyncio.Event) -> None:
        """Flush every ``flush_s`` seconds until ``stop`` is set, then once more."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.flush_s)
            await asyncio.to_thread(self.flush)
        await asyncio.to_thread(self.flush)  # what arrived while the last one was writing

    @property
    def buffered_rows(self) -> int:
        """Rows waiting for the next flush."""
        return self._rows

    def flush(self) -> list[history.Location]:
        """Write buffered samples (one file per day partition), then compact; returns the files written.

        A kill mid-write leaves only a ``.tmp`` file (removed at the next start), never a half parquet.
        A failed write is retried as it was, under the same key: a PUT the server applied but whose
        answer was lost is overwritten by its retry, not written twice.
        """
        with self._flush_lock:
            with self._buf_lock:
                buf, self._buf, self._rows = self._buf, [], 0
                parts, self._retry = self._retry, []
            if not buf and not parts:
                return []
            out: list[history.Location] = []
            failed: list[tuple[str, pl.DataFrame]] = []
            if buf:
                f = conform(pl.concat(buf, how="vertical_relaxed"))
                f = f.with_columns(
                    pl.col("ts").dt.date().alias("_d"),
                    (history.device_group(f["device"], self.groups) if self.groups else pl.lit(None)).alias(
                        "_g"
                    ),
                )
                for (day, group), part in f.group_by("_d", "_g", maintain_order=True):
                    d = history.partition_key(day, None if group is None else int(group))
                    parts.append((f"{d}/{history.new_name(0)}", part.drop("_d", "_g")))
            for key, part in parts:
                if failed:  # the disk or the store just failed: hold the rest for the next flush too
                    failed.append((key, part))
                    continue
                try:
                    out.append(self.store.write(part, key))
                except Exception as exc:  # ENOSPC, EIO, S3 down, an Arrow error: count it, keep the rows
                    where = self.store.location(key.rpartition("/")[0])
                    self._error(f"writing {part.height} rows under {where}", exc)
                    failed.append((key, part))
                    continue
                self.files_written += 1
                self.rows_written += part.height
            if failed:
                self._failing_since = self._failing_since or time.monotonic()
                with self._buf_lock:  # keep them, oldest first, for the next flush
                    self._retry = failed + self._retry
                    self._rows += sum(x.height for _, x in failed)
            else:
                self._failing_since = None
                if self.compact_fanout:
                    self._compact(
                        [p.rpartition("/")[0] if isinstance(p, str) else str(p.parent) for p in out]
                    )
            return out

    def _compact(self, dirs: list[str]) -> None:
        try:
            self.files_compacted += history.compact(self.store, fanout=self.compact_fanout, only=dirs)
        except Exception as exc:  # the members stay as they are; the next flush tries again
            self._error("compacting", exc)

    def _error(self, what: str, exc: Exception) -> None:
        self.write_errors += 1
        now = time.monotonic()
        if now - self._last_log >= LOG_EVERY_S:
            self._last_log = now
            log.warning(
                "parquet history %s: %s (%d write errors, %d rows dropped so far; retrying every %g s)",
                what,
                exc,
                self.write_errors,
                self.rows_dropped,
                self.flush_s,
            )


class HistoryMetrics(Collector):
    """The sink's counters on /metrics: rows written and dropped, write errors, files, buffer."""

    def __init__(self, sink: ParquetSink) -> None:
        self.sink = sink

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        s = self.sink
        for name, doc, value in (
            ("linkmargin_collector_history_rows", "Rows written to the Parquet history", s.rows_written),
            ("linkmargin_collector_history_files", "Parquet history files written", s.files_written),
            (
                "linkmargin_collector_history_write_errors",
                "Failed history writes (full disk...); their rows stay buffered",
                s.write_errors,
            ),
            (
                "linkmargin_collector_history_rows_dropped",
                "Rows dropped from the history buffer while writes failed",
                s.rows_dropped,
            ),
            (
                "linkmargin_collector_history_files_compacted",
                "History files merged away by compaction",
                s.files_compacted,
            ),
        ):
            yield CounterMetricFamily(name, doc, value=value)
        yield GaugeMetricFamily(
            "linkmargin_collector_history_buffered_rows",
            "Rows waiting for the next history write",
            s.buffered_rows,
        )
