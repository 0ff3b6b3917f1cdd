"""The estimators' state carried from pass to pass, so a pass reads a fixed window of recent hours.

:func:`analyzer.analysis.analyze` given a :class:`PassState` reads from the
:class:`~analyzer.state.LaneState` only the hours since the last pass (its hourly aggregates of those
hours), hands them to the bounded estimators and their columnar rings (lanes x window, float32, in time
order), reads the window off the rings (views: no joins, no long frames) and fits from their state.
The state then needs to keep only the hours not handed over yet of the metrics the rings hold
(:meth:`PassState.keep_from`, :data:`RELEASED`; :meth:`LaneState.release`):

- Rx trend (with thermal term and the steps), far-end Tx and bias trends: :class:`~analyzer.trend.
  BoundedTrend` (a ring of the window plus folded sufficient statistics);
- steps: :class:`~analyzer.steps.StepLog` (detected over the window, kept with their absolute hour,
  so attribution and the cohorts' mating outcomes see every step since the first hour);
- everything else in the pass already reads a recent window (calibration 72 h, recent onset 48 h,
  evidence 24 h) or reads the window: the temperature spread comes from the window, and the far-end
  laser's bias baseline from the window plus the laser's first ``FIRST_HOURS`` hourly readings, kept
  here (so a laser aging over more than the window is still judged against its young level).

Cost per pass: O(lanes x window), whatever the history.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from analyzer.calibration import OffsetCache, informative_ber_margin, port_wide_steps, receiving_ports
from analyzer.state import LaneState
from analyzer.steps import StepLog
from analyzer.trend import BoundedTrend, TrendFit, shift_left
from linkmargin.samples import Metric

WINDOW_HOURS = 168
REREAD_HOURS = 2
"""Hours handed over again at the next pass: the newest (maybe still open at this pass) and the one
before it (late samples merge there); older hours are in the rings and :meth:`PassState.keep_from`
tells the state it may drop them."""
FIRST_HOURS = 24
"""Hourly bias readings (and the module temperature with them) kept per lane from the laser's first
hours: the young level its baseline (:func:`analyzer.laser.relative_bias`) rests on once they left the
window, as they do in the full pass's history."""
FIRST_KEEP_HOURS = 24 * 60
"""First readings older than this are dropped and taken again from the hours that follow: the full
pass's history is as long (the state's default ``history_hours``), and a module swapped for one whose
laser runs higher is not judged against the old laser's readings for longer than the full pass would."""
TRENDS = ("rx", "tx", "bias", "ber_margin")
LANE_IDENTITY = ("link", "device", "port", "lane", "direction", "far_device", "far_port")

# what a pass reads from the state's hourly aggregates, as (metric, far_end, module) reads
_RX = (Metric.RX_POWER_DBM, False, False)
_TEMP = (Metric.TEMPERATURE_C, False, True)
_TX = (Metric.TX_POWER_DBM, True, False)
_BIAS = (Metric.TX_BIAS_MA, True, False)
_FAR_TEMP = (Metric.TEMPERATURE_C, True, True)
BER_READS: tuple[tuple[Metric, bool, bool], ...] = (
    (Metric.PRE_FEC_BER, False, False),
    (Metric.PRE_FEC_BER, False, True),
)
DISTURBED: tuple[tuple[Metric, bool, float], ...] = (
    (Metric.FEC_UNCORRECTED_CW, True, 0.0),
    (Metric.FEC_UNCORRECTED_CW, False, 0.0),
    (Metric.LAST_CHANGE_CS, True, 0.0),
    (Metric.OPER_STATUS, True, 1.0),
)
"""Hours the counters rule out for the BER-based estimators: the receiving port counted uncorrectable
codewords (port or lane), its ifLastChange moved, or it was not up: (metric, module, above)."""
READS = (_RX, _TEMP, _TX, _BIAS, _FAR_TEMP, *BER_READS, *((m, False, mod) for m, mod, _ in DISTURBED))
RELEASED = (
    Metric.RX_POWER_DBM,
    Metric.TX_POWER_DBM,
    Metric.TX_BIAS_MA,
    Metric.TEMPERATURE_C,
    Metric.LASER_TEMPERATURE_C,
    Metric.THR_RX_POWER_DBM_LOW_WARN,
    Metric.THR_RX_POWER_DBM_LOW_ALARM,
)
"""Metrics whose hourly aggregates the state may drop once handed over (:meth:`LaneState.release`):
the pass reads the first four from its rings, nothing reads the others' hours (their latest reading
is kept). The BER and the counters stay: the counter evidence and the devices' resets read their hours."""


def ber_and_disturbed(mats: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The hourly pre-FEC BER per lane (the port's where the lane has none) and the hours the counters
    rule out, from the matrices of :data:`BER_READS` then :data:`DISTURBED` in that order."""
    lane_ber, port_ber, *dist = mats
    disturbed = np.zeros(lane_ber.shape, dtype=bool)
    for mat, (_, _, above) in zip(dist, DISTURBED, strict=True):
        disturbed |= np.nan_to_num(mat, nan=0.0) > above
    return np.where(np.isfinite(lane_ber), lane_ber, port_ber), disturbed


def lanes_key(lanes: pl.DataFrame) -> str:
    """A digest of the spec's lanes in order: a :class:`PassState` holds them by position, so a state
    kept for other lanes (or the same lanes in another order) must not be reused."""
    return hashlib.sha256(lanes.select(LANE_IDENTITY).write_csv().encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Window:
    """What one pass reads: the window's hour grid and matrices (views of the rings: read, never
    written), the fits, and the steps (in window indexes for the estimators that read the window, and
    in full-history indexes with their grid for attribution and the cohorts)."""

    hours: np.ndarray
    rx: np.ndarray
    temp: np.ndarray
    tx: np.ndarray
    bias: np.ndarray
    far_temp: np.ndarray
    ber: np.ndarray  # pre-FEC BER per lane and hour (the port's where the lane has none)
    disturbed: np.ndarray  # hours the counters rule out (:data:`DISTURBED`)
    steps: pl.DataFrame  # li, hour_idx, prev_hour_idx, size_db: steps inside the window
    all_steps: pl.DataFrame  # the same columns over ``grid``
    grid: np.ndarray  # every hour since the first one the pass state saw
    fit: TrendFit
    tx_fit: TrendFit
    bias_fit: TrendFit
    ber_fit: TrendFit  # the trend of the margin the informative BER hours imply (analysis.ber_margin_trend)
    first_bias: np.ndarray  # lanes x FIRST_HOURS: the laser's first readings, NaN while inside the window
    first_temp: np.ndarray
    offsets: OffsetCache  # the DOM offsets of the hours that no longer change (analyzer.calibration)


class PassState:
    """Bounded estimators for the lanes of one spec (lane order = spec order).

    The window's hourly aggregates live here, in lanes x window columnar rings in time order (newest
    last): Rx and module temperature in the Rx trend's ring, the far end's Tx and bias in theirs, the
    far module's temperature, the pre-FEC BER and the counters' disturbed hours in :attr:`rings`. A
    pass hands over only the hours since the last one (:data:`REREAD_HOURS` again), read from those
    hours' rows of the state, and the pass's matrices are views of the rings.
    """

    def __init__(self, n_lanes: int, window: int = WINDOW_HOURS, *, lanes_key: str = "") -> None:
        self.window = window
        self.lanes_key = lanes_key  # :func:`lanes_key` of the spec's lanes ("": not told)
        self.rx = BoundedTrend(n_lanes, window)
        self.tx = BoundedTrend(n_lanes, window, kmax=1, thermal=False)
        self.bias = BoundedTrend(n_lanes, window, kmax=1, thermal=False)
        # the margin each informative BER hour implies, with the Rx trend's steps and temperature
        self.ber_margin = BoundedTrend(n_lanes, window)
        self.ber_margin.share_temperature(self.rx)  # the same module temperatures: held once
        self.rings = {
            "far_temp": np.full((n_lanes, window), np.nan, dtype=np.float32),
            "ber": np.full((n_lanes, window), np.nan, dtype=np.float32),
            "disturbed": np.zeros((n_lanes, window), dtype=bool),
        }
        self.steps = StepLog()
        self.first_hour: int | None = None
        self.last_hour: int | None = None  # the newest hour handed over (it may have been open)
        self.first_bias = np.full((n_lanes, FIRST_HOURS), np.nan, dtype=np.float32)
        self.first_temp = np.full((n_lanes, FIRST_HOURS), np.nan, dtype=np.float32)
        self.first_n = np.zeros(n_lanes, dtype=np.int64)
        self.first_last = np.full(n_lanes, -1, dtype=np.int64)  # hour of the newest first reading kept
        self.first_upto: int | None = None  # closed hours up to this one were looked at for them
        self.offsets = OffsetCache()
        self.ports: np.ndarray | None = None  # each lane's receiving port (set from the spec at a pass)

    def keep_from(self) -> int | None:
        """The oldest hour the next pass reads from the state (None: it reads whatever is there)."""
        return None if self.last_hour is None else self.last_hour - REREAD_HOURS + 1

    def advance(self, state: LaneState) -> Window | None:
        """Hand over the hours since the last pass, read the window off the rings, fit; None without
        history."""
        rng = state.hour_range()
        if rng is None:
            return None
        if self.ports is None or self.ports.size != state.spec.lanes.height:
            self.ports = receiving_ports(state.spec.lanes)
        hi = rng[1]
        if self.first_hour is None:
            self.first_hour = rng[0]
            lo0 = max(rng[0], hi - self.window + 1)
            if rng[0] < lo0:  # a state with more history than the window: one scan through it
                self._catch_up(state, rng[0], lo0 - 1)
        lo = max(self.first_hour, hi - self.window + 1)
        start = lo if self.last_hour is None else max(lo, min(self.last_hour - REREAD_HOURS + 1, hi))
        self._take(state, start, hi)
        hours, w = self._window(lo, hi)
        self._keep_first(hours, w["bias"], w["far_temp"], hi)
        self.last_hour = hi
        # a step keeps the column it got when first seen
        self.register_steps(self.steps.update(hours, w["rx"], w["temp"], new_from=start))
        log = self.steps.steps
        # Tx and bias: one IRLS iteration from the last pass's weights (only their drift is read)
        fit, tx_fit, bias_fit = self.rx.fit(), self.tx.fit(iters=1), self.bias.fit(iters=1)
        ber_fit = self.ber_margin.fit()
        self.offsets.final_before = self.keep_from()
        in_window = log.filter(pl.col("hour") >= lo)
        first = self.first_hour
        before = (self.first_last < lo)[:, None]  # first readings inside the window are read there
        return Window(
            hours=hours,
            rx=w["rx"],
            temp=w["temp"],
            tx=w["tx"],
            bias=w["bias"],
            far_temp=w["far_temp"],
            ber=w["ber"],
            disturbed=w["disturbed"],
            steps=_indexed(in_window, lo),
            all_steps=_indexed(log, first),
            grid=np.arange(first, hi + 1, dtype=np.int64),
            fit=fit,
            tx_fit=tx_fit,
            bias_fit=bias_fit,
            ber_fit=ber_fit,
            first_bias=np.where(before, self.first_bias, np.nan),
            first_temp=np.where(before, self.first_temp, np.nan),
            offsets=self.offsets,
        )

    def register_steps(self, found: pl.DataFrame) -> None:
        """Give the steps a detector found (``li``, ``hour``) a column in the trends that fit them."""
        li, hour = found["li"].to_numpy(), found["hour"].to_numpy()
        self.rx.add_steps(li, hour)
        # the BER is the port's: a step on any of its lanes is a step of every lane's BER margin
        if self.ports is not None:
            li, hour = port_wide_steps(li, hour, self.ports)
        self.ber_margin.add_steps(li, hour)

    def _take(self, state: LaneState, start: int, end: int) -> None:
        """Hand hours ``start``..``end`` of the state over to the trends and the rings."""
        limit = state.spec.lanes["fec_limit_ber"].fill_null(np.nan).to_numpy()
        self.hand_over(*state.matrices(READS, (start, end)), ber_limit=limit)

    def hand_over(self, hours: np.ndarray, mats: list[np.ndarray], *, ber_limit: np.ndarray) -> None:
        """Hand hours over as lanes x hours matrices, one per :data:`READS` entry in that order (what
        :meth:`LaneState.matrices` gives for them; a benchmark builds them directly); ``ber_limit``:
        each lane's FEC limit (pre-FEC BER)."""
        rx, temp, tx, bias, far_temp, *ber_reads = mats
        ber, disturbed = ber_and_disturbed(ber_reads)
        margin = informative_ber_margin(ber, disturbed, ber_limit[:, None])
        for s in range(0, len(hours), self.window):  # a window at a time: the trends move together
            sl = slice(s, s + self.window)
            newest = self.rx.newest
            # the BER-margin trend reads the Rx trend's temperature ring, as it stands before the hours
            self.ber_margin.push(hours[sl], margin[:, sl], temp[:, sl])
            self.rx.push(hours[sl], rx[:, sl], temp[:, sl])
            self.tx.push(hours[sl], tx[:, sl])
            self.bias.push(hours[sl], bias[:, sl])
            shift = 0 if newest is None else (self.rx.newest or 0) - newest
            cols = self.rx.columns(hours[sl])
            ok = cols >= 0
            for ring, new in zip(self.rings.values(), (far_temp, ber, disturbed), strict=True):
                shift_left(ring, shift, False if ring.dtype == bool else np.nan)
                ring[:, cols[ok]] = new[:, sl][:, ok]

    def _window(self, lo: int, hi: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The hours lo..hi (the newest in the rings) and each ring's columns for them: views."""
        n = hi - lo + 1
        sl = slice(self.window - n, self.window)
        views = {
            "rx": self.rx.y[:, sl],
            "temp": self.rx.temp[:, sl],
            "tx": self.tx.y[:, sl],
            "bias": self.bias.y[:, sl],
            **{k: v[:, sl] for k, v in self.rings.items()},
        }
        return np.arange(lo, hi + 1, dtype=np.int64), views

    def _keep_first(self, hours: np.ndarray, bias: np.ndarray, temp: np.ndarray, hi: int) -> None:
        """Keep each laser's first ``FIRST_HOURS`` hourly bias readings from the closed hours (before
        ``hi``) not looked at yet."""
        cols = hours < hi
        if self.first_upto is not None:
            cols &= hours > self.first_upto
        if not cols.any():
            return
        stale = (self.first_last >= 0) & (self.first_last < hi - FIRST_KEEP_HOURS)
        if stale.any():
            self.first_bias[stale] = self.first_temp[stale] = np.nan
            self.first_n[stale], self.first_last[stale] = 0, -1
        b, t, hrs = bias[:, cols], temp[:, cols], hours[cols]
        ok = np.isfinite(b) & (b > 0)  # a dark laser reports 0 mA
        pos = self.first_n[:, None] + np.cumsum(ok, axis=1) - 1
        r, c = np.nonzero(ok & (pos < FIRST_HOURS))
        self.first_bias[r, pos[r, c]] = b[r, c]
        self.first_temp[r, pos[r, c]] = t[r, c]
        np.maximum.at(self.first_last, r, hrs[c])
        self.first_n = np.minimum(self.first_n + ok.sum(axis=1), FIRST_HOURS)
        self.first_upto = int(hrs.max())

    def tables(self) -> tuple[dict[str, pl.DataFrame], dict[str, object]]:
        """The whole state as frames and scalars (for :mod:`analyzer.checkpoint`)."""
        frames: dict[str, pl.DataFrame] = {
            "steps": self.steps.steps,
            "laser_first": pl.DataFrame(
                [
                    pl.Series("bias", self.first_bias),
                    pl.Series("temp", self.first_temp),
                    pl.Series("n", self.first_n),
                    pl.Series("last", self.first_last),
                ]
            ),
            "rings": pl.DataFrame([pl.Series(k, v) for k, v in self.rings.items()]),
        }
        scalars: dict[str, object] = {
            "window": self.window,
            "lanes_key": self.lanes_key,
            "first_hour": self.first_hour,
            "last_hour": self.last_hour,
            "step_first_hour": self.steps.first_hour,
            "first_upto": self.first_upto,
        }
        for name in TRENDS:
            lanes, ring, sc = getattr(self, name).table()
            frames[f"{name}_lanes"], frames[f"{name}_ring"] = lanes, ring
            scalars[name] = sc
        return frames, scalars

    @classmethod
    def from_tables(cls, frames: dict[str, pl.DataFrame], scalars: dict[str, Any]) -> PassState:
        """The state :meth:`tables` wrote."""
        key = str(scalars.get("lanes_key", ""))
        ps = cls(frames["rx_lanes"].height, int(scalars["window"]), lanes_key=key)
        for name in TRENDS:
            if f"{name}_lanes" not in frames:  # a state written before this trend was kept: it starts now
                continue
            setattr(
                ps,
                name,
                BoundedTrend.from_table(frames[f"{name}_lanes"], frames[f"{name}_ring"], scalars[name]),
            )
        ps.ber_margin.share_temperature(ps.rx)
        rings = frames.get("rings")  # none in a state written before these rings were kept: NaN
        if rings is not None:
            for k, v in ps.rings.items():
                v[...] = rings[k].to_numpy().astype(v.dtype).reshape(v.shape)
        ps.steps.steps = frames["steps"]
        ps.steps.first_hour = scalars["step_first_hour"]
        ps.first_hour, ps.last_hour = scalars["first_hour"], scalars["last_hour"]
        lf = frames.get("laser_first")  # none in a state written before first readings were kept
        if lf is not None:
            ps.first_bias = lf["bias"].to_numpy().astype(np.float32).reshape(ps.first_bias.shape)
            ps.first_temp = lf["temp"].to_numpy().astype(np.float32).reshape(ps.first_temp.shape)
            ps.first_n = lf["n"].to_numpy().astype(np.int64)
            ps.first_last = lf["last"].to_numpy().astype(np.int64)
            ps.first_upto = scalars.get("first_upto")
        return ps

    def _catch_up(self, state: LaneState, h0: int, h1: int) -> None:
        """Hand over hours h0..h1 a half window at a time, steps detected over the window ending there
        (so every hour boundary is judged once with a window's context on both sides)."""
        stride = max(self.window // 2, 1)
        for end in range(min(h0 + stride - 1, h1), h1 + stride, stride):
            end = min(end, h1)
            start = self.last_hour + 1 if self.last_hour is not None else h0
            self._take(state, start, end)
            hours, w = self._window(max(h0, end - self.window + 1), end)
            self._keep_first(hours, w["bias"], w["far_temp"], end + 1)
            self.register_steps(self.steps.update(hours, w["rx"], w["temp"], new_from=start))
            self.last_hour = end
            if end >= h1:
                break


def _indexed(log: pl.DataFrame, origin: int) -> pl.DataFrame:
    return log.select(
        "li",
        (pl.col("hour") - origin).clip(0).alias("hour_idx"),
        (pl.col("prev_hour") - origin).clip(0).alias("prev_hour_idx"),
        "size_db",
    )
