"""Fleet-wide cohorts from sharded analyzers: the cohort statistics each shard publishes, and their merge.

Each analyzer shard owns a disjoint set of links (:mod:`analyzer.sharding`), so the sufficient
statistics of its cohorts (:func:`analyzer.cohorts.cohort_stats`: counts and sums) add up with the
other shards' to what one analyzer of the whole fleet would have computed. A shard publishes its
own after every pass, retained, on :func:`linkmargin.wire.cohort_stats_topic` (Arrow IPC, with the
shard, its epoch and the time in the schema metadata), takes every other shard's from the retained
topics, and estimates its cohorts from the merge (:func:`merge_stats`).

The merge knows no statistic by name: it sums every float column grouped by all the other columns
(the keys), so a statistic or a key added to :func:`~analyzer.cohorts.cohort_stats` merges without
a change here.

:meth:`StatsBoard.offer` never raises: a payload is taken or refused, counted by outcome —
``accepted``, ``decode`` (not a stats payload), ``other_fleet`` (a shard of a different shard
count), ``own`` (our own shard number: our retained copy from before a restart, or a twin),
``stale`` (older than the one held for that shard, or than ``max_age_s``), ``cleared`` (an empty
retained message).
"""

from __future__ import annotations

import io
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final

import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from linkmargin.shards import MAX_SHARDS, Shard

log = logging.getLogger(__name__)

VERSION: Final = 1
MAX_ROWS: Final = 1_000_000
_META = b"linkmargin.cohort_stats"


def merge_stats(frames: Iterable[pl.DataFrame | None]) -> pl.DataFrame:
    """Sum the float columns of the frames grouped by all their other columns (sorted by the keys).

    Frames may differ in columns: a column one lacks is null (a key) or 0 (a statistic) there.
    """
    parts = [f for f in frames if f is not None and f.width]
    if not parts:
        return pl.DataFrame()
    both = pl.concat(parts, how="diagonal_relaxed")
    stats = [c for c, t in both.schema.items() if t.is_float()]
    keys = [c for c in both.columns if c not in stats]
    both = both.with_columns(pl.col(stats).fill_null(0.0))
    if not keys:
        return both.select(pl.col(stats).sum())
    return both.group_by(keys).agg(pl.col(stats).sum()).sort(keys, nulls_last=True).select(both.columns)


TABLE: Final = "table"
"""The key column telling the published tables apart (``cohort``: :func:`analyzer.cohorts.cohort_stats`,
``wear``: :func:`analyzer.wear.wear_stats`); a payload without it is all ``cohort``."""


def bundle(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Several statistics tables in one frame, told apart by the :data:`TABLE` key (shards publish it)."""
    parts = [f.with_columns(pl.lit(name).alias(TABLE)) for name, f in tables.items() if f.width]
    return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()


def unbundle(frame: pl.DataFrame | None, name: str, columns: list[str]) -> pl.DataFrame | None:
    """The rows of table ``name`` in a :func:`bundle` (or in an older payload that holds only
    ``cohort``), with the columns that table has; None if it has none."""
    if frame is None or frame.height == 0:
        return None
    if TABLE not in frame.columns:
        return frame if name == "cohort" else None
    part = frame.filter(pl.col(TABLE) == name)
    return part.select([c for c in columns if c in part.columns]) if part.height else None


class StatsMeta(BaseModel):
    """Who published a stats payload and when (the Arrow schema metadata, JSON)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    v: int
    index: int = Field(ge=1, le=MAX_SHARDS)
    of: int = Field(ge=1, le=MAX_SHARDS)
    epoch: int = Field(ge=0, lt=2**63)  # the publishing analyzer's start, µs since 1970
    at: float  # publication time, s since 1970


@dataclass(frozen=True, slots=True)
class ShardStats:
    meta: StatsMeta
    frame: pl.DataFrame


class StatsError(ValueError):
    """A payload that is not a cohort-stats message we read."""


def encode_stats(frame: pl.DataFrame, shard: Shard, *, epoch: int, at: float) -> bytes:
    """One shard's statistics as Arrow IPC bytes, who and when in the schema metadata."""
    meta = StatsMeta(v=VERSION, index=shard.index, of=shard.of, epoch=epoch, at=at)
    table = frame.to_arrow()
    table = table.replace_schema_metadata({_META: meta.model_dump_json().encode()})
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def decode_stats(payload: bytes) -> ShardStats:
    """The inverse of :func:`encode_stats`; raises :class:`StatsError` for anything else."""
    try:
        table = ipc.open_stream(pa.BufferReader(payload)).read_all()
        raw = (table.schema.metadata or {}).get(_META)
        if raw is None:
            raise StatsError("no cohort-stats metadata")
        meta = StatsMeta.model_validate_json(raw)
    except (pa.ArrowException, ValidationError, ValueError) as exc:
        raise StatsError(f"not a cohort-stats payload: {str(exc)[:200]}") from exc
    if meta.v != VERSION:
        raise StatsError(f"cohort-stats version {meta.v}, this analyzer reads {VERSION}")
    if table.num_rows > MAX_ROWS:
        raise StatsError(f"{table.num_rows} rows, more than {MAX_ROWS}")
    frame = pl.from_arrow(table.replace_schema_metadata(None))
    if not isinstance(frame, pl.DataFrame) or not any(t.is_float() for t in frame.dtypes):
        raise StatsError("no statistic (float) column")
    return ShardStats(meta, frame)


class StatsBoard:
    """The newest fresh statistics of every other shard of ``shard.of``, from the retained topics."""

    def __init__(
        self, shard: Shard, *, max_age_s: float = 600.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.shard = shard
        self.max_age_s = max_age_s
        self._clock = clock
        self._held: dict[int, ShardStats] = {}
        self.outcomes: Counter[str] = Counter()
        self.merged_shards = 1  # shards the last estimate rested on (this one included)
        self.merged_lanes = 0  # lanes the last estimate rested on, fleet-wide (see estimated)
        self._logged: set[str] = set()

    def offer(self, payload: bytes, topic: str = "") -> None:
        """Take one payload from ``topic``; never raises (refusals counted in ``outcomes``)."""
        try:
            self.outcomes[self._offer(payload)] += 1
        except Exception as exc:  # the subscription must outlive any payload
            self.outcomes["internal"] += 1
            log.debug("cohort stats on %s: %s", topic, exc, exc_info=True)

    def _offer(self, payload: bytes) -> str:
        if not payload:
            return "cleared"
        try:
            got = decode_stats(payload)
        except StatsError as exc:
            if "decode" not in self._logged:
                self._logged.add("decode")
                log.warning("cohort stats refused: %s", exc)
            return "decode"
        m = got.meta
        if m.of != self.shard.of:
            if "other_fleet" not in self._logged:
                self._logged.add("other_fleet")
                log.warning(
                    "cohort stats of shard %d/%d ignored: this analyzer is %s", m.index, m.of, self.shard
                )
            return "other_fleet"
        if m.index == self.shard.index:
            return "own"
        held = self._held.get(m.index)
        if (held is not None and held.meta.at >= m.at) or self._clock() - m.at > self.max_age_s:
            return "stale"
        self._held[m.index] = got
        return "accepted"

    def fresh(self) -> dict[int, ShardStats]:
        """The other shards' statistics no older than ``max_age_s`` (older ones are forgotten)."""
        now = self._clock()
        for i in [i for i, s in self._held.items() if now - s.meta.at > self.max_age_s]:
            del self._held[i]
            self.outcomes["expired"] += 1
        return dict(self._held)

    def peers(self) -> pl.DataFrame | None:
        """The fresh peers' statistics merged (None when there are none); records how many shards."""
        fresh = self.fresh()
        self.merged_shards = 1 + len(fresh)
        return merge_stats(s.frame for s in fresh.values()) if fresh else None

    def estimated(self, table: pl.DataFrame) -> None:
        """Note the cohort table estimated from the last merge (its fleet row's lanes)."""
        fleet = table.filter(pl.col("family") == "*")
        self.merged_lanes = int(fleet["lanes"].sum()) if "lanes" in fleet.columns else 0


class ShardCollector(Collector):
    """``/metrics`` of a sharded analyzer: which shard it is and the cohort-stats exchange."""

    def __init__(self, board: StatsBoard) -> None:
        self.board = board

    def collect(self) -> Iterator[Metric]:
        """Yield the shard info, the exchange counters and the peers' ages."""
        b = self.board
        info = GaugeMetricFamily(
            "linkmargin_analyzer_shard_info",
            "This analyzer analyzes shard `shard` of `of` of the inventory's links (value 1)",
            labels=["shard", "of"],
        )
        info.add_metric([str(b.shard.index), str(b.shard.of)], 1.0)
        yield info
        got = CounterMetricFamily(
            "linkmargin_analyzer_cohort_stats_received",
            "Cohort-statistics payloads from the analyzer shards, by outcome",
            labels=["outcome"],
        )
        for outcome, n in sorted(b.outcomes.items()):
            got.add_metric([outcome], n)
        yield got
        yield GaugeMetricFamily(
            "linkmargin_analyzer_cohort_stats_shards",
            "Analyzer shards whose cohort statistics the last cohort estimate merged (this one included)",
            b.merged_shards,
        )
        yield GaugeMetricFamily(
            "linkmargin_analyzer_cohort_stats_lanes",
            "Lanes the last cohort estimate rested on, all merged shards together",
            b.merged_lanes,
        )
        age = GaugeMetricFamily(
            "linkmargin_analyzer_cohort_stats_age_seconds",
            "Age of the newest cohort statistics held from each other shard",
            labels=["shard"],
        )
        now = b._clock()
        for i, s in sorted(b._held.items()):
            age.add_metric([str(i)], max(now - s.meta.at, 0.0))
        yield age
