"""Counter rate math: wraps (32/64-bit) told apart from resets; no spike at a reboot; flaps.

Works on two consecutive sample batches (previous, current) of the core schema, vectorized:
- a decrease with the agent's sysUpTime going back, or a changed ifCounterDiscontinuityTime, is a
  reset: no rate for that interval (the baseline restarts);
- otherwise a decrease is one wrap at 2**counter_bits, if the implied delta is plausible
  (below ``max_rate`` per second); else it is treated as an unannounced reset.
"""

from __future__ import annotations

import polars as pl

KEYS = ["device", "port", "lane", "metric"]


def rates(prev: pl.DataFrame, cur: pl.DataFrame, max_rate: float = 1e12) -> pl.DataFrame:
    """Per-second rates of counters between two batches: KEYS + rate, wrapped, reset, dt_s.

    ``rate`` is null across a reset (never a spike, never a negative).
    """
    cols = [*KEYS, "ts", "counter", "counter_bits", "uptime_cs"]
    p = prev.filter(pl.col("counter").is_not_null()).select(cols)
    c = cur.filter(pl.col("counter").is_not_null()).select(cols)
    disc_p = _discontinuity(prev)
    disc_c = _discontinuity(cur)
    j = c.join(p, on=KEYS, how="inner", suffix="_p", nulls_equal=True)
    j = j.join(disc_c, on=["device", "port"], how="left").join(
        disc_p.rename({"disc": "disc_p"}), on=["device", "port"], how="left"
    )
    dt = (pl.col("ts") - pl.col("ts_p")).dt.total_microseconds().cast(pl.Float64) / 1e6
    # exact unsigned arithmetic: 2**64 does not survive a float
    top = (
        pl.when(pl.col("counter_bits") == 64)
        .then(pl.lit(2**64 - 1, dtype=pl.UInt64))
        .otherwise(pl.lit(2**32 - 1, dtype=pl.UInt64))
    )
    went_down = pl.col("counter") < pl.col("counter_p")
    rebooted = (pl.col("uptime_cs") < pl.col("uptime_cs_p")).fill_null(False)
    disc_changed = (pl.col("disc") != pl.col("disc_p")).fill_null(False)
    wrap_delta = ((top - pl.col("counter_p")) + pl.col("counter") + 1).cast(pl.Float64)
    plausible_wrap = went_down & (wrap_delta / dt <= max_rate)
    reset = rebooted | disc_changed | (went_down & ~plausible_wrap)
    up_delta = (
        pl.when(went_down).then(None).otherwise(pl.col("counter") - pl.col("counter_p")).cast(pl.Float64)
    )
    delta = pl.when(reset).then(None).when(went_down).then(wrap_delta).otherwise(up_delta)
    return j.select(
        *KEYS,
        (delta / dt).alias("rate"),
        (went_down & ~reset).alias("wrapped"),
        reset.alias("reset"),
        dt.alias("dt_s"),
    )


def _discontinuity(batch: pl.DataFrame) -> pl.DataFrame:
    return (
        batch.filter(pl.col("metric") == "counter_discontinuity_cs")
        .select("device", "port", pl.col("value").alias("disc"))
        .unique(["device", "port"])
    )


def flaps(prev: pl.DataFrame, cur: pl.DataFrame) -> pl.DataFrame:
    """Ports whose ifLastChange moved between polls (at least one oper transition): device, port, flapped."""
    sel = ["device", "port", "value"]
    p = prev.filter(pl.col("metric") == "last_change_cs").select(sel)
    c = cur.filter(pl.col("metric") == "last_change_cs").select(sel)
    j = c.join(p, on=["device", "port"], how="inner", suffix="_p")
    return j.select("device", "port", (pl.col("value") != pl.col("value_p")).alias("flapped"))
