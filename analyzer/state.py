"""Per-lane analyzer state, updated in vectorized micro-batches of Samples.

Every batch is handled with a few polars group-bys and numpy array operations — never one Python
object per sample. The state keeps:

- the latest reading of every (device, port, lane, metric);
- the previous raw value of every counter (and its port's last ifCounterDiscontinuityTime), so the
  next batch yields rates; wraps and resets are told apart by :func:`linkmargin.counters.counter_deltas`;
- hourly aggregates (sum, count, min, max) per (device, port, lane, metric) over a bounded window,
  which the trend, step and cohort estimators read as dense (lanes x hours) matrices.

**Time.** With a ``clock`` (the live analyzer's wall clock, or the lab's simulated one) the state
keys on that clock, never on the samples: rows stamped more than ``future_skew_s`` ahead of it or
older than the window are rejected (counted in ``rejected`` by reason) and "now" — which hours are
closed, what is trimmed — is the clock's. Without a clock (replaying a history) the data's newest
hour is now. Non-finite readings and rows of devices the spec does not know are rejected too, so
forged names cannot grow the state. A late batch merges into the hours it belongs to; the latest
reading of a key is the one with the newest timestamp, whatever order batches arrive in.

Counters become a derived ``pre_fec_ber`` reading: the share of codewords corrected (corrected
codewords per second x codeword bits / the bit rate the counter covers) inverted through
P(corrected) = 1 - (1 - p_symbol)^n with one errored bit per errored symbol
(:func:`linkmargin.budget.ber_from_corrected_fraction`). A lane whose spec lacks the FEC code gets
the one-bit-per-corrected-codeword lower bound (docs/ARCHITECTURE.md "Optical conventions"), which
agrees far from the limit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Final

import numpy as np
import polars as pl

from analyzer.spec import LinkSpec
from linkmargin import history
from linkmargin.budget import ber_from_corrected_fraction
from linkmargin.counters import DEFAULT_MAX_RATE, counter_deltas
from linkmargin.samples import SAMPLE_SCHEMA, Metric, conform

KEY: Final = ("device", "port", "lane", "metric")
GAUGES: Final = (
    Metric.RX_POWER_DBM,
    Metric.TX_POWER_DBM,
    Metric.TX_BIAS_MA,
    Metric.TEMPERATURE_C,
    Metric.LASER_TEMPERATURE_C,
    Metric.PRE_FEC_BER,
    Metric.THR_RX_POWER_DBM_LOW_WARN,
    Metric.THR_RX_POWER_DBM_LOW_ALARM,
    Metric.OPER_STATUS,
    Metric.ADMIN_STATUS,
)
BER_COUNTERS: Final = (Metric.FEC_CORRECTED_CW,)
EVIDENCE_COUNTERS: Final = (
    Metric.FEC_UNCORRECTED_CW,
    Metric.PCS_BIT_ERRORS,
    Metric.FCS_ERRORS,
    Metric.PHY_STATE_CHANGES,
    Metric.LAST_CHANGE_CS,
)
"""Counters kept as increments per poll (their hourly ``sum`` is the count in the hour): errors no
FEC corrected, and the port's oper-status transitions. ``last_change_cs`` (ifLastChange) is not a
counter but moves only when the port changes state, so its increment is read as "moved" (1)."""
_COUNTED: Final = (*BER_COUNTERS, *EVIDENCE_COUNTERS)
_CTR_METRICS: Final = (*_COUNTED, Metric.COUNTER_DISCONTINUITY_CS)
UP: Final = 1.0  # IF-MIB ifOperStatus / ifAdminStatus up(1)
_KEY_SCHEMA: Final = {
    "device": pl.Categorical(),
    "port": pl.Categorical(),
    "lane": pl.Int8(),
    "metric": SAMPLE_SCHEMA["metric"],
}
_AGG_SCHEMA: Final = pl.Schema(
    {
        "device": pl.Categorical(),
        "port": pl.Categorical(),
        "lane": pl.Int8(),
        "metric": SAMPLE_SCHEMA["metric"],
        "hour": pl.Int64(),
        "sum": pl.Float64(),
        "n": pl.UInt32(),
        "min": pl.Float64(),
        "max": pl.Float64(),
    }
)
_CTR_COLS: Final = ("device", "port", "lane", "metric", "ts", "counter", "counter_bits", "uptime_cs")
_DISC_SCHEMA: Final = pl.Schema(
    {
        "device": SAMPLE_SCHEMA["device"],
        "port": SAMPLE_SCHEMA["port"],
        "ts": SAMPLE_SCHEMA["ts"],
        "disc": pl.Float64(),
    }
)


_RESET_SCHEMA: Final = pl.Schema(
    {
        "device": pl.String(),
        "ts": SAMPLE_SCHEMA["ts"],  # the poll that saw the reset
        "at": SAMPLE_SCHEMA["ts"],  # when it happened: the boot time for a reboot, else the poll
        "counters": pl.UInt32(),
        "ports": pl.UInt32(),
        "rebooted": pl.Boolean(),
    }
)


def _sum_hours(frame: pl.DataFrame) -> pl.DataFrame:
    """Hourly aggregates with one row per (key, hour): partial aggregates of an hour added up."""
    return frame.group_by(*KEY, "hour").agg(
        pl.col("sum").sum(), pl.col("n").sum(), pl.col("min").min(), pl.col("max").max()
    )


class LaneState:
    """Streaming per-lane state of the fleet described by a :class:`LinkSpec`."""

    def __init__(
        self,
        spec: LinkSpec,
        *,
        history_hours: int = 24 * 60,
        clock: Callable[[], datetime] | None = None,
        future_skew_s: float = 300.0,
    ):
        self.spec = spec
        self.history_hours = history_hours
        self.clock = clock
        self.future_skew_s = future_skew_s
        self.samples_seen = 0
        self.rejected: Counter[str] = Counter()  # rows the state itself refused, by reason
        self._devices = (
            pl.concat([spec.lanes["device"].cast(pl.String), spec.lanes["far_device"].cast(pl.String)])
            .unique()
            .implode()
        )
        self._latest = pl.DataFrame(schema={**_KEY_SCHEMA, "ts": SAMPLE_SCHEMA["ts"], "value": pl.Float64()})
        self._ctr = pl.DataFrame(schema={**{k: SAMPLE_SCHEMA[k] for k in _CTR_COLS}, "disc": pl.Float64()})
        self._disc = pl.DataFrame(schema=_DISC_SCHEMA)
        self._open = pl.DataFrame(schema=_AGG_SCHEMA)
        self._closed: list[pl.DataFrame] = []
        # hourly rows of these metrics before this hour are dropped (what a bounded pass took over)
        self._released: tuple[tuple[str, ...], int] | None = None
        self._lane_index: dict[bool, pl.DataFrame] = {}
        # what a pass reads, built once and dropped whenever the hours change (_merge_hours)
        self._hourly_cache: pl.DataFrame | None = None
        self._by_metric: dict[str, pl.DataFrame] | None = None
        self._max_hour: int | None = None
        self._pending: list[pl.DataFrame] = []
        self._pending_rows = 0
        self.consolidate_rows = 2_000_000
        ports = spec.lanes.group_by("device", "port").agg(
            pl.col("port_rate_bps").first(),
            pl.col("lane_rate_bps").first(),
            pl.col("fec_n_symbols").first().cast(pl.Float64),
            pl.col("fec_symbol_bits").first().cast(pl.Float64),
            pl.lit(True).alias("in_spec"),
        )
        self._rates = ports
        # counter resets seen, per device and poll: what a reboot or a cleared counter looks like
        self.resets = pl.DataFrame(schema=_RESET_SCHEMA)

    # ---------------------------------------------------------------- ingest
    def window(self) -> tuple[datetime, datetime] | None:
        """Oldest and newest sample time the state admits now; None without a clock (replay)."""
        if self.clock is None:
            return None
        now = self.clock()
        lo = datetime.fromtimestamp(self._window_lo_hour(now) * 3600, tz=now.tzinfo)
        return lo, now + timedelta(seconds=self.future_skew_s)

    def _window_lo_hour(self, now: datetime) -> int:
        return int(now.timestamp() // 3600) - self.history_hours

    def admit(self, batch: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
        """The rows of ``batch`` the state would take, and the count of the others by reason.

        ``non_finite`` (a +-inf or NaN value), ``future`` (beyond the clock plus the skew) and
        ``too_old`` (before the window) — the last two only with a clock.
        """
        value = pl.col("value")
        rules: dict[str, pl.Expr] = {"non_finite": value.is_not_null() & ~value.is_finite()}
        win = self.window()
        if win is not None:
            rules["future"] = pl.col("ts") > win[1]
            rules["too_old"] = pl.col("ts") < win[0]
        flags = batch.select(**{k: e.fill_null(False) for k, e in rules.items()})
        counts = {k: int(flags[k].sum()) for k in rules}
        if not any(counts.values()):
            return batch, {}
        bad = pl.any_horizontal(flags)
        return batch.filter(~bad), {k: n for k, n in counts.items() if n}

    def ingest(self, batch: pl.DataFrame) -> None:
        """Fold one batch of samples (``SAMPLE_SCHEMA``) into the state; refused rows are counted."""
        if batch.schema != SAMPLE_SCHEMA:
            batch = conform(batch)
        self.samples_seen += batch.height
        batch, refused = self.admit(batch)
        self.rejected.update(refused)
        known = batch["device"].is_in(self._devices)
        if not known.all():
            self.rejected["unknown_device"] += int((~known).sum())
            batch = batch.filter(known)
        gauges = batch.filter(
            pl.col("metric").is_in([m.value for m in GAUGES]) & pl.col("value").is_not_null()
        )
        derived = self._counter_rates(batch.filter(pl.col("metric").is_in([m.value for m in _CTR_METRICS])))
        readings = pl.concat(
            [gauges.select(*KEY, "ts", "value"), derived.select(*KEY, "ts", "value")], how="vertical"
        )
        if readings.height == 0:
            return
        # Raw readings wait in a list; every ``consolidate_rows`` rows (or on read) one group-by
        # folds them into the kept state. device/port become Categorical there: grouping on their
        # integer codes is several times faster than on strings.
        self._pending.append(readings.with_columns(pl.col("device", "port").cast(pl.Categorical)))
        self._pending_rows += readings.height
        if self._pending_rows >= self.consolidate_rows:
            self._consolidate()

    def _consolidate(self) -> None:
        """Merge pending readings into the latest table and the open hours."""
        if not self._pending:
            return
        pend = pl.concat(self._pending, how="vertical")
        self._pending, self._pending_rows = [], 0
        if not pend["ts"].is_sorted():
            pend = pend.sort("ts")
        agg = (
            pend.with_columns((pl.col("ts").dt.epoch("s") // 3600).alias("hour"))
            .group_by(*KEY, "hour")
            .agg(
                pl.col("value").sum().alias("sum"),
                pl.len().cast(pl.UInt32).alias("n"),
                pl.col("value").min().alias("min"),
                pl.col("value").max().alias("max"),
                pl.col("ts").last().alias("ts_last"),
                pl.col("value").last().alias("last"),
            )
        )
        newest = agg.select(*KEY, pl.col("ts_last").alias("ts"), pl.col("last").alias("value"))
        self._latest = (
            pl.concat([self._latest, newest], how="vertical")
            .sort("ts")
            .group_by(*KEY)
            .agg(pl.col("ts").last(), pl.col("value").last())
        )
        self._merge_hours(agg.select(_AGG_SCHEMA.names()))

    def _merge_hours(self, agg: pl.DataFrame) -> None:
        """Fold hourly aggregates in: open hours merge, hours already closed merge into the closed ones.

        "Now" is the clock's hour when there is a clock (a sample can never move it), else the newest
        hour seen. Hours two behind now are closed: late samples within the hour still merge cheaply.
        """
        self._hourly_cache = self._by_metric = None
        closed_cut = None if self._max_hour is None else self._max_hour - 1
        merged = _sum_hours(pl.concat([self._open, agg], how="vertical"))
        if self.clock is not None:
            self._max_hour = int(self.clock().timestamp() // 3600)
        else:
            hmax = int(merged["hour"].max())  # type: ignore[arg-type]
            self._max_hour = hmax if self._max_hour is None else max(self._max_hour, hmax)
        cut = self._max_hour - 1
        closed = merged.filter(pl.col("hour") < cut).select(_AGG_SCHEMA.names())
        self._open = merged.filter(pl.col("hour") >= cut).select(_AGG_SCHEMA.names())
        if closed.height:
            late = closed_cut is not None and bool((closed["hour"] < closed_cut).any())
            self._closed.append(closed)
            if late:  # an out-of-order batch: add it to its hours, never a second row for an hour
                self._closed = [_sum_hours(pl.concat(self._closed)).select(_AGG_SCHEMA.names())]
            elif len(self._closed) > 64:
                self._closed = [pl.concat(self._closed)]
            self._trim()

    def bound_history(self, hours: int) -> None:
        """Keep (and admit) no more than the last ``hours`` hours from now on; drops older ones now."""
        self.history_hours = hours
        if self._max_hour is not None and self._closed:
            self._trim()
            self._hourly_cache = self._by_metric = None

    def release(self, metrics: Iterable[Metric], before: int) -> None:
        """Drop the hourly aggregates of ``metrics`` before hour ``before``, now and from now on (late
        samples for those hours too): a bounded pass (:class:`analyzer.bounded.PassState`) keeps them
        in its own rings, so the state needs only the hours it has not handed over yet. The latest
        readings and every other metric's hours are kept as ``history_hours`` says."""
        self._released = (tuple(m.value for m in metrics), int(before))
        if self._closed:
            self._trim()
            self._hourly_cache = self._by_metric = None

    def _trim(self) -> None:
        if self._max_hour is None:
            return
        keep = pl.col("hour") >= self._max_hour - self.history_hours
        if self._released is not None:
            names, before = self._released
            keep = keep & ((pl.col("hour") >= before) | ~pl.col("metric").is_in(names))
        self._closed = [f.filter(keep) for f in self._closed]

    def _with_discontinuity(self, ctr: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
        """Each counter row with its port's ifCounterDiscontinuityTime as of its timestamp (NaN: unknown)."""
        disc = rows.filter(
            (pl.col("metric") == Metric.COUNTER_DISCONTINUITY_CS.value) & pl.col("value").is_not_null()
        ).select("device", "port", "ts", pl.col("value").alias("disc"))
        if disc.height == 0 and self._disc.height == 0:
            return ctr.with_columns(pl.lit(np.nan).alias("disc"))
        known = pl.concat([self._disc, disc], how="vertical").sort("ts")
        self._disc = known.group_by("device", "port").agg(pl.all().last()).select(_DISC_SCHEMA.names())
        return (
            ctr.sort("ts")
            .join_asof(known, on="ts", by=["device", "port"], strategy="backward", check_sortedness=False)
            .with_columns(pl.col("disc").fill_null(np.nan))
        )

    def _counter_rates(self, rows: pl.DataFrame) -> pl.DataFrame:
        """Turn raw counter readings into pre-FEC BER readings; keep each counter's last raw value."""
        # ifLastChange travels as a TimeTicks value: give it a 32-bit counter so a reboot (sysUpTime
        # back) is told from a move by the one counter-delta rule
        lc = pl.col("metric") == Metric.LAST_CHANGE_CS.value
        rows = rows.with_columns(
            pl.when(lc & pl.col("counter").is_null() & (pl.col("value") >= 0))
            .then(pl.col("value").cast(pl.UInt64, strict=False))
            .otherwise(pl.col("counter"))
            .alias("counter"),
            pl.when(lc)
            .then(pl.lit(32, dtype=pl.UInt8))
            .otherwise(pl.col("counter_bits"))
            .alias("counter_bits"),
        )
        ctr = rows.filter(
            pl.col("metric").is_in([m.value for m in _COUNTED]) & pl.col("counter").is_not_null()
        ).select(_CTR_COLS)
        if ctr.height == 0:
            self._with_discontinuity(ctr, rows)  # still remember the ports' discontinuity times
            return pl.DataFrame(
                schema={
                    **{k: SAMPLE_SCHEMA[k] for k in KEY},
                    "ts": SAMPLE_SCHEMA["ts"],
                    "value": pl.Float64(),
                }
            )
        ctr = self._with_discontinuity(ctr, rows)
        both = pl.concat([self._ctr, ctr], how="vertical").sort(*KEY, "ts", nulls_last=True)
        same = np.ones(both.height, dtype=bool)
        same[0] = False
        for k in KEY:
            col = both[k]
            eq = (col.shift(1) == col) | (col.shift(1).is_null() & col.is_null())
            same &= eq.fill_null(False).to_numpy()
        idx = np.nonzero(same)[0]
        cur = both[idx].join(self._rates, on=["device", "port"], how="left", maintain_order="left")
        is_fec = (
            cur["metric"].is_in([Metric.FEC_CORRECTED_CW.value, Metric.FEC_UNCORRECTED_CW.value]).to_numpy()
        )
        # corrected codewords cannot outrun the codewords the line carries: a wrap implying more is a reset
        line_bps = np.where(
            cur["lane"].is_null().to_numpy(), cur["port_rate_bps"].to_numpy(), cur["lane_rate_bps"].to_numpy()
        )
        with np.errstate(invalid="ignore"):
            max_cw = 1.1 * line_bps / (cur["fec_n_symbols"].to_numpy() * cur["fec_symbol_bits"].to_numpy())
        cnt = both["counter"].to_numpy()
        up = both["uptime_cs"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        ts_s = both["ts"].dt.epoch("us").to_numpy() / 1e6
        disc = both["disc"].to_numpy()
        d = counter_deltas(
            cnt[idx - 1],
            cnt[idx],
            both["counter_bits"].fill_null(64).to_numpy()[idx],
            ts_s[idx - 1],
            ts_s[idx],
            prev_uptime_cs=up[idx - 1],
            cur_uptime_cs=up[idx],
            prev_disc=disc[idx - 1],
            cur_disc=disc[idx],
            max_rate=np.where(is_fec & np.isfinite(max_cw), max_cw, DEFAULT_MAX_RATE),
        )
        if d.reset.any():
            self._note_resets(cur, d.reset, up[idx - 1], up[idx])
        self._ctr = both.group_by(*KEY[:3], "metric").agg(pl.all().last()).select(*_CTR_COLS, "disc")
        keep = d.valid & cur["in_spec"].fill_null(False).to_numpy()
        ber_rows = cur["metric"].is_in([m.value for m in BER_COUNTERS]).to_numpy()
        counted = self._increments(cur, d.delta, keep & ~ber_rows)
        keep &= ber_rows
        rated = (
            cur.filter(pl.Series(keep))
            .select(*KEY, "ts", "port_rate_bps", "lane_rate_bps", "fec_n_symbols", "fec_symbol_bits")
            .with_columns(pl.Series("rate", d.rate[keep]))
            .with_columns(
                (
                    pl.col("rate")
                    / pl.when(pl.col("lane").is_null())
                    .then(pl.col("port_rate_bps"))
                    .otherwise(pl.col("lane_rate_bps"))
                ).alias("per_bit")
            )
        )
        n, m = rated["fec_n_symbols"].to_numpy(), rated["fec_symbol_bits"].to_numpy()
        per_bit = rated["per_bit"].to_numpy()
        ber = np.where(np.isfinite(n * m), ber_from_corrected_fraction(per_bit * n * m, n, m), per_bit)
        rated = rated.with_columns(
            pl.Series("value", ber, dtype=pl.Float64),
            pl.lit(Metric.PRE_FEC_BER.value).cast(SAMPLE_SCHEMA["metric"]).alias("metric"),
        )
        return pl.concat([rated.select(*KEY, "ts", "value"), counted], how="vertical")

    def _note_resets(self, cur: pl.DataFrame, reset: np.ndarray, prev_up: np.ndarray, up: np.ndarray) -> None:
        """Keep the counter resets of this batch: per device and poll, how many counters on how many
        ports, and whether the agent's sysUpTime went back (a reboot, dated by its new uptime)."""
        r = (
            cur.select("device", "port", "ts")
            .with_columns(pl.Series("up", up).fill_nan(None), pl.Series("back", up < prev_up))
            .filter(pl.Series(reset))
        )
        new = r.group_by("device", "ts").agg(
            pl.len().cast(pl.UInt32).alias("counters"),
            pl.col("port").n_unique().cast(pl.UInt32).alias("ports"),
            pl.col("back").any().alias("rebooted"),
            (pl.col("ts") - pl.duration(milliseconds=(pl.col("up") * 10).cast(pl.Int64)))
            .min()
            .alias("boot_ts"),
        )
        new = new.with_columns(
            pl.when(pl.col("rebooted")).then(pl.col("boot_ts")).otherwise(pl.col("ts")).alias("at")
        ).select(_RESET_SCHEMA.names())
        # one row per reset event (a reboot seen by several polls is one), the last 8 per device
        self.resets = (
            pl.concat([self.resets, new.cast(dict(_RESET_SCHEMA))], how="vertical")  # type: ignore[arg-type]
            .sort("ts")
            .group_by("device", pl.col("at").dt.truncate("1m").alias("_m"), maintain_order=True)
            .agg(
                pl.col("ts").first(),
                pl.col("at").first(),
                pl.col("counters").sum(),
                pl.col("ports").max(),
                pl.col("rebooted").any(),
            )
            .drop("_m")
            .group_by("device", maintain_order=True)
            .tail(8)
            .select(_RESET_SCHEMA.names())
        )

    @staticmethod
    def _increments(cur: pl.DataFrame, delta: np.ndarray, keep: np.ndarray) -> pl.DataFrame:
        """Evidence counters as their increment since the previous poll (ifLastChange: 1 if it moved)."""
        inc = cur.select(*KEY, "ts").with_columns(pl.Series("value", delta, dtype=pl.Float64))
        inc = inc.filter(pl.Series(keep))
        return inc.with_columns(
            pl.when(pl.col("metric") == Metric.LAST_CHANGE_CS.value)
            .then((pl.col("value") > 0).cast(pl.Float64))
            .otherwise(pl.col("value"))
            .alias("value")
        )

    def rebuild(
        self,
        history_dir: str,
        *,
        chunk_rows: int = 2_000_000,
        keep: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    ) -> int:
        """Rebuild the state from a directory of sample Parquet files (any depth); returns samples read.

        ``keep`` selects the rows to fold in (an analyzer shard's: :class:`analyzer.sharding.RowFilter`).
        """
        files = history.list_history(history_dir)
        read = history.read_history(files)
        self.history_files_skipped = len(files.bad)  # unreadable files, each warned about by name
        if read is None:
            return 0
        frame = conform(read).sort("ts")
        if keep is not None:
            frame = keep(frame)
        for off in range(0, frame.height, chunk_rows):
            self.ingest(frame.slice(off, chunk_rows))
        return frame.height

    # ---------------------------------------------------------------- checkpoint
    def tables(self) -> tuple[dict[str, pl.DataFrame], dict[str, object]]:
        """Everything the state holds, as frames and scalars (what :mod:`analyzer.checkpoint` writes)."""
        self._consolidate()
        hours = pl.concat([*self._closed], how="vertical") if self._closed else self._open.clear()
        frames = {"latest": self._latest, "ctr": self._ctr, "disc": self._disc, "open": self._open}
        frames["closed"] = hours
        frames["resets"] = self.resets
        scalars: dict[str, object] = {
            "max_hour": self._max_hour,
            "samples_seen": self.samples_seen,
            "rejected": dict(self.rejected),
        }
        return frames, scalars

    def restore(self, frames: dict[str, pl.DataFrame], scalars: dict[str, object]) -> None:
        """Take the state :meth:`tables` gave (cast to this state's schemas); drops anything held."""
        self._pending, self._pending_rows = [], 0
        self._latest = frames["latest"].cast(dict(self._latest.schema))  # type: ignore[arg-type]
        self._ctr = frames["ctr"].cast(dict(self._ctr.schema))  # type: ignore[arg-type]
        self._disc = frames["disc"].cast(dict(_DISC_SCHEMA))  # type: ignore[arg-type]
        self._open = frames["open"].cast(dict(_AGG_SCHEMA))  # type: ignore[arg-type]
        closed = frames["closed"].cast(dict(_AGG_SCHEMA))  # type: ignore[arg-type]
        self._closed = [closed] if closed.height else []
        resets = frames.get("resets")  # a checkpoint from before resets were kept has none
        self.resets = (
            pl.DataFrame(schema=_RESET_SCHEMA) if resets is None else resets.cast(dict(_RESET_SCHEMA))  # type: ignore[arg-type]
        )
        self._hourly_cache = self._by_metric = None
        mh = scalars.get("max_hour")
        self._max_hour = None if mh is None else int(mh)  # type: ignore[call-overload]
        self.samples_seen = int(scalars.get("samples_seen", 0))  # type: ignore[call-overload]
        self.rejected = Counter({str(k): int(v) for k, v in dict(scalars.get("rejected", {})).items()})  # type: ignore[call-overload]

    def ingest_many(self, batches: Iterable[pl.DataFrame]) -> None:
        """Ingest several batches in order."""
        for b in batches:
            self.ingest(b)

    # ---------------------------------------------------------------- read
    @property
    def latest(self) -> pl.DataFrame:
        """Latest reading per (device, port, lane, metric)."""
        self._consolidate()
        return self._latest.with_columns(pl.col("device", "port").cast(pl.String))

    def hourly(self) -> pl.DataFrame:
        """All hourly aggregates kept (closed and open hours) with a ``mean`` column.

        Built once and kept until the hours change: a pass reads it many times."""
        self._consolidate()
        if self._hourly_cache is None:
            frames = [*self._closed, self._open]
            self._hourly_cache = pl.concat(frames, how="vertical").with_columns(
                pl.col("device", "port").cast(pl.String), (pl.col("sum") / pl.col("n")).alias("mean")
            )
        return self._hourly_cache

    def _hourly_of(self, metric: Metric) -> pl.DataFrame:
        """The hourly means of one metric (device, port, lane, hour, mean), split once per change."""
        h = self.hourly()
        if self._by_metric is None:
            parts = h.select("metric", "device", "port", "lane", "hour", "mean").partition_by(
                "metric", as_dict=True, include_key=False
            )
            self._by_metric = {str(k[0]): v for k, v in parts.items()}
        empty = pl.DataFrame(schema={c: h.schema[c] for c in ("device", "port", "lane", "hour", "mean")})
        return self._by_metric.get(metric.value, empty)

    def hour_range(self) -> tuple[int, int] | None:
        """First and last hour (epoch hours) present in the history, or None when empty."""
        self._consolidate()
        parts = [f["hour"] for f in (*self._closed, self._open) if f.height]
        if not parts:
            return None
        return min(int(h.min()) for h in parts), max(int(h.max()) for h in parts)  # type: ignore[arg-type]

    def matrices(
        self, reads: Iterable[tuple[Metric, bool, bool]], hours: tuple[int, int]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Several :meth:`matrix` reads ((metric, far_end, module) each) over the hours ``hours``, from
        those hours' rows alone (the kept history is not concatenated): what a bounded pass hands over."""
        self._consolidate()
        h0, h1 = hours
        grid = np.arange(h0, h1 + 1, dtype=np.int64)
        in_span = pl.col("hour").is_between(h0, h1)
        span = pl.concat([f.filter(in_span) for f in (*self._closed, self._open)], how="vertical")
        span = span.select(
            "metric",
            pl.col("device", "port").cast(pl.String),
            "lane",
            "hour",
            (pl.col("sum") / pl.col("n")).alias("mean"),
        )
        by = span.partition_by("metric", as_dict=True, include_key=False)
        parts = {str(k[0]): v for k, v in by.items()}
        empty = span.clear().drop("metric")
        out = [self._fill(parts.get(m.value, empty), grid, far_end=far, module=mod) for m, far, mod in reads]
        return grid, out

    def matrix(
        self,
        metric: Metric,
        *,
        far_end: bool = False,
        module: bool = False,
        hours: tuple[int, int] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Hourly means of ``metric`` as a dense (lanes x hours) matrix in spec lane order (NaN = none).

        ``far_end`` reads the far end's transmitter (its ``far_lane``); ``module`` reads the
        module-level value (lane null) and broadcasts it to every lane of the port.
        """
        rng = hours or self.hour_range()
        if rng is None:
            return np.zeros(0, dtype=np.int64), np.full((self.spec.lanes.height, 0), np.nan)
        h0, h1 = rng
        grid = np.arange(h0, h1 + 1, dtype=np.int64)
        h = self._hourly_of(metric).filter(pl.col("hour").is_between(h0, h1))
        return grid, self._fill(h, grid, far_end=far_end, module=module)

    def _fill(self, h: pl.DataFrame, grid: np.ndarray, *, far_end: bool, module: bool) -> np.ndarray:
        """Hourly means (device, port, lane, hour, mean) of one metric as lanes x ``grid`` (NaN: none)."""
        out = np.full((self.spec.lanes.height, grid.size), np.nan)
        idx = self._lane_index.get(far_end)
        if idx is None:
            dev, port, lane = ("far_device", "far_port", "far_lane") if far_end else KEY[:3]
            idx = self.spec.lanes.select(
                pl.col(dev).alias("device"), pl.col(port).alias("port"), pl.col(lane).alias("lane")
            ).with_row_index("li")
            self._lane_index[far_end] = idx
        if module:
            h = h.filter(pl.col("lane").is_null()).drop("lane")
            j = idx.join(h, on=["device", "port"], how="inner")
        else:
            j = idx.join(h, on=["device", "port", "lane"], how="inner")
        out[j["li"].to_numpy(), j["hour"].to_numpy() - grid[0]] = j["mean"].to_numpy()
        return out

    def evidence(self, window_hours: int) -> pl.DataFrame:
        """Per spec lane, what the receiving port's counters and state say over the last ``window_hours``.

        Columns: ``uncorrectable_cw``, ``post_fec_errors`` (PCS bit errors after FEC), ``fcs_errors``,
        ``flaps`` (oper-status transitions: ifLastChange moves or PHY state changes / 2, whichever is
        more), ``down_hours`` (hours the port was seen oper-down while admin-up), ``counter_hours``
        (hours with an uncorrectable-codeword reading: the exposure). Hours in which the port was
        administratively down (and the hour after) count no flap: planned work is not a fault.
        """
        lanes = self.spec.lanes.select("device", "port").with_row_index("li")
        cols = ("uncorrectable_cw", "post_fec_errors", "fcs_errors", "flaps", "down_hours", "counter_hours")
        rng = self.hour_range()
        if rng is None:
            return lanes.with_columns(*(pl.lit(0.0).alias(c) for c in cols)).drop("device", "port")
        lo = rng[1] - window_hours + 1
        h = self.hourly().filter(pl.col("hour") >= lo - 1)
        state = (
            h.filter(pl.col("metric").is_in([Metric.OPER_STATUS.value, Metric.ADMIN_STATUS.value]))
            .filter(pl.col("lane").is_null())
            .with_columns(pl.col("metric").cast(pl.String))
            .pivot(on="metric", index=["device", "port", "hour"], values="max", aggregate_function="max")
        )
        for m in (Metric.OPER_STATUS.value, Metric.ADMIN_STATUS.value):
            if m not in state.columns:
                state = state.with_columns(pl.lit(None, dtype=pl.Float64).alias(m))
        admin_down = state.filter(pl.col(Metric.ADMIN_STATUS.value) > UP).select("device", "port", "hour")
        # a port taken down by hand takes its link down: its peer's oper-down is planned too
        peers = self.spec.lanes.select("device", "port", "far_device", "far_port").unique()
        admin_down = pl.concat(
            [
                admin_down,
                admin_down.join(peers, on=["device", "port"], how="inner").select(
                    pl.col("far_device").alias("device"), pl.col("far_port").alias("port"), "hour"
                ),
            ],
            how="vertical",
        )
        # the hour after an admin-down hour too: the port's return to service moves ifLastChange
        planned = (
            pl.concat([admin_down, admin_down.with_columns(pl.col("hour") + 1)], how="vertical")
            .unique()
            .with_columns(pl.lit(True).alias("planned"))
        )
        down = (
            state.filter(pl.col("hour") >= lo)
            .join(planned, on=["device", "port", "hour"], how="left")
            .filter((pl.col(Metric.OPER_STATUS.value) > UP) & pl.col("planned").is_null())
            .group_by("device", "port")
            .agg(pl.len().cast(pl.Float64).alias("down_hours"))
        )
        ctr = (
            h.filter(pl.col("hour") >= lo, pl.col("metric").is_in([m.value for m in EVIDENCE_COUNTERS]))
            .join(planned, on=["device", "port", "hour"], how="left")
            .filter(pl.col("planned").is_null() | (pl.col("metric") != Metric.LAST_CHANGE_CS.value))
            .with_columns(pl.col("metric").cast(pl.String))
        )
        # a port-level counter where there is one, else the sum of its lanes' counters
        per_port = (
            ctr.group_by("device", "port", "metric")
            .agg(
                pl.col("sum").filter(pl.col("lane").is_null()).sum().alias("port_sum"),
                pl.col("lane").is_null().any().alias("has_port"),
                pl.col("sum").filter(pl.col("lane").is_not_null()).sum().alias("lane_sum"),
                pl.col("hour").n_unique().cast(pl.Float64).alias("hours"),
            )
            .with_columns(
                pl.when(pl.col("has_port")).then(pl.col("port_sum")).otherwise(pl.col("lane_sum")).alias("n")
            )
        )
        wide = per_port.pivot(on="metric", index=["device", "port"], values="n", aggregate_function="sum")
        exposure = per_port.filter(pl.col("metric") == Metric.FEC_UNCORRECTED_CW.value).select(
            "device", "port", pl.col("hours").alias("counter_hours")
        )
        for m in EVIDENCE_COUNTERS:
            if m.value not in wide.columns:
                wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(m.value))
        wide = wide.select(
            "device",
            "port",
            pl.col(Metric.FEC_UNCORRECTED_CW.value).alias("uncorrectable_cw"),
            pl.col(Metric.PCS_BIT_ERRORS.value).alias("post_fec_errors"),
            pl.col(Metric.FCS_ERRORS.value).alias("fcs_errors"),
            pl.max_horizontal(
                pl.col(Metric.LAST_CHANGE_CS.value), (pl.col(Metric.PHY_STATE_CHANGES.value) / 2).ceil()
            ).alias("flaps"),
        )
        return (
            lanes.join(wide, on=["device", "port"], how="left", maintain_order="left")
            .join(down, on=["device", "port"], how="left", maintain_order="left")
            .join(exposure, on=["device", "port"], how="left", maintain_order="left")
            .sort("li")
            .select(*(pl.col(c).cast(pl.Float64).fill_null(0.0) for c in cols))
        )

    def lane_latest(self) -> pl.DataFrame:
        """Spec lanes with their latest Rx, far-end Tx, BER, temperature and module low-warn threshold."""
        lat = self.latest
        lanes = self.spec.lanes.with_row_index("li")

        def pick(metric: Metric, name: str, far: bool = False, module: bool = False) -> pl.DataFrame:
            f = lat.filter(pl.col("metric") == metric.value)
            keys = ["device", "port"] if module else ["device", "port", "lane"]
            f = f.filter(pl.col("lane").is_null()) if module else f
            f = f.select(
                *keys, pl.col("value").alias(name), *([pl.col("ts").alias("ts")] if name == "rx_dbm" else [])
            )
            if far:
                f = f.rename({"device": "far_device", "port": "far_port", "lane": "far_lane"})
                keys = ["far_device", "far_port", "far_lane"]
            return (
                lanes.select("li", *keys).join(f, on=keys, how="inner").select("li", *f.columns[len(keys) :])
            )

        out = lanes
        for part in (
            pick(Metric.RX_POWER_DBM, "rx_dbm"),
            pick(Metric.TX_POWER_DBM, "far_tx_dbm", far=True),
            pick(Metric.PRE_FEC_BER, "ber_lane"),
            pick(Metric.PRE_FEC_BER, "ber_port", module=True),
            pick(Metric.TEMPERATURE_C, "temp_c", module=True),
            pick(Metric.THR_RX_POWER_DBM_LOW_WARN, "thr_lane", module=False),
            pick(Metric.THR_RX_POWER_DBM_LOW_WARN, "thr_port", module=True),
        ):
            out = out.join(part, on="li", how="left")
        return out.with_columns(
            pl.coalesce("ber_lane", "ber_port").alias("ber"),
            pl.coalesce("thr_lane", "thr_port", "low_warn_dbm").alias("low_warn_used_dbm"),
        ).drop("ber_lane", "ber_port", "thr_lane", "thr_port")
