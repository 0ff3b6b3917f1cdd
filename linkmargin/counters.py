"""Counter deltas between two polls: wraps (32/64-bit) told apart from resets, vectorized.

One implementation for every part that turns SNMP counters into rates. For each (previous,
current) pair of one counter:

- a decrease with the agent's sysUpTime going back, or a changed ifCounterDiscontinuityTime, is a
  reset: no delta for that interval (the baseline restarts; never a spike, never a negative);
- otherwise a decrease is one wrap at 2**counter_bits, if the implied delta is plausible for the
  elapsed time (at most ``max_rate`` per second); else it is an unannounced reset;
- the interval is the agent's own clock (sysUpTime) where it moved forward, else the receive
  timestamps; a pair with no positive interval has no delta.

:func:`counter_deltas` works on numpy arrays (one element per pair); :func:`rates` pairs two sample
batches of the core schema and calls it. :func:`flaps` is the port's other between-poll change:
ifLastChange moving.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = ["DEFAULT_MAX_RATE", "CounterDeltas", "counter_deltas", "flaps", "rates"]

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

DEFAULT_MAX_RATE: Final = 1e12
"""Per-second increments no counter reaches (octets of 8 Tb/s): a wrap implying more is a reset."""
_U32: Final = np.uint64(0xFFFFFFFF)
KEYS: Final = ["device", "port", "lane", "metric"]


@dataclass(frozen=True, slots=True)
class CounterDeltas:
    """Per pair: the increment (NaN where not valid), the interval, and what happened."""

    delta: F64
    dt_s: F64
    valid: B  # a usable delta: no reset and a positive interval
    wrapped: B  # the counter wrapped once (and the delta counts across the wrap)
    reset: B  # agent reboot, announced discontinuity, or a decrease no wrap explains

    @property
    def rate(self) -> F64:
        """Increments per second; NaN where the pair has no valid delta."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.valid, self.delta / self.dt_s, np.nan)


def _f64(x: npt.ArrayLike | None, n: int) -> F64:
    return np.full(n, np.nan) if x is None else np.asarray(x, dtype=np.float64)


def counter_deltas(
    prev: npt.ArrayLike,
    cur: npt.ArrayLike,
    bits: npt.ArrayLike,
    prev_ts_s: npt.ArrayLike,
    cur_ts_s: npt.ArrayLike,
    *,
    prev_uptime_cs: npt.ArrayLike | None = None,
    cur_uptime_cs: npt.ArrayLike | None = None,
    prev_disc: npt.ArrayLike | None = None,
    cur_disc: npt.ArrayLike | None = None,
    max_rate: npt.ArrayLike = DEFAULT_MAX_RATE,
) -> CounterDeltas:
    """Increments of counters between two polls, element-wise (see the module docstring for the rules).

    ``prev``/``cur`` are the raw unsigned values, ``bits`` 32 or 64, timestamps in seconds;
    uptimes (centiseconds) and discontinuity times may be NaN or omitted where unknown.
    """
    p = np.asarray(prev).astype(np.uint64)
    c = np.asarray(cur).astype(np.uint64)
    n = p.shape[0]
    is32 = np.asarray(bits) == 32
    raw = c - p  # uint64 arithmetic wraps modulo 2**64: exactly a 64-bit counter's own wrap
    delta = np.where(is32, raw & _U32, raw).astype(np.float64)
    went_down = c < p
    up_p, up_c = _f64(prev_uptime_cs, n), _f64(cur_uptime_cs, n)
    dt_up = (up_c - up_p) / 100.0
    dt_ts = np.asarray(cur_ts_s, dtype=np.float64) - np.asarray(prev_ts_s, dtype=np.float64)
    # sysUpTime is the agent's own clock: prefer it over our receive timestamps for the interval
    dt = np.where(np.isfinite(dt_up) & (dt_up > 0), dt_up, dt_ts)
    with np.errstate(invalid="ignore", divide="ignore"):
        rebooted = up_c < up_p  # False where either is NaN
        disc_p, disc_c = _f64(prev_disc, n), _f64(cur_disc, n)
        disc_changed = (disc_c != disc_p) & np.isfinite(disc_c) & np.isfinite(disc_p)
        plausible_wrap = went_down & (delta <= np.asarray(max_rate, dtype=np.float64) * np.maximum(dt, 0.0))
    reset = rebooted | disc_changed | (went_down & ~plausible_wrap)
    valid = ~reset & (dt > 0)
    return CounterDeltas(
        delta=np.where(valid, delta, np.nan), dt_s=dt, valid=valid, wrapped=went_down & ~reset, reset=reset
    )


def rates(prev: pl.DataFrame, cur: pl.DataFrame, max_rate: float = DEFAULT_MAX_RATE) -> pl.DataFrame:
    """Per-second rates of counters between two sample batches: KEYS + rate, wrapped, reset, dt_s.

    ``rate`` is null across a reset (never a spike, never a negative).
    """
    cols = [*KEYS, "ts", "counter", "counter_bits", "uptime_cs"]
    p = prev.filter(pl.col("counter").is_not_null()).select(cols)
    c = cur.filter(pl.col("counter").is_not_null()).select(cols)
    j = c.join(p, on=KEYS, how="inner", suffix="_p", nulls_equal=True)
    j = j.join(_discontinuity(cur), on=["device", "port"], how="left").join(
        _discontinuity(prev).rename({"disc": "disc_p"}), on=["device", "port"], how="left"
    )

    def arr(col: str) -> F64:
        return j[col].cast(pl.Float64).fill_null(np.nan).to_numpy()

    d = counter_deltas(
        j["counter_p"].to_numpy(),
        j["counter"].to_numpy(),
        j["counter_bits"].fill_null(64).to_numpy(),
        j["ts_p"].dt.epoch("us").to_numpy() / 1e6,
        j["ts"].dt.epoch("us").to_numpy() / 1e6,
        prev_uptime_cs=arr("uptime_cs_p"),
        cur_uptime_cs=arr("uptime_cs"),
        prev_disc=arr("disc_p"),
        cur_disc=arr("disc"),
        max_rate=max_rate,
    )
    return j.select(*KEYS).with_columns(
        pl.Series("rate", d.rate).fill_nan(None),
        pl.Series("wrapped", d.wrapped),
        pl.Series("reset", d.reset),
        pl.Series("dt_s", d.dt_s),
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
