"""Laser aging from the transmitter's bias current, against each laser's own temperature baseline.

A laser's APC loop raises the bias current to hold its output as it ages, so rising bias at steady
output is the usual aging indicator; fixed bias thresholds misfire because bias differs by lot, by
device and with temperature, so each laser is compared with its own temperature-dependent baseline
(as laser-aging characterization practice recommends). Per lane: the bias' temperature slope is
fitted on its own history and taken out; the rise is the recent corrected bias over the laser's
corrected baseline, minus one.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from analyzer.trend import LANE_CHUNK, _quiet, lane_chunks, nanquantile_last

AGING_RISE = 0.2
"""Bias this far above its own baseline marks an aging laser. Bias moves ~±5 % with the daily
thermal swing after the temperature fit; the often-quoted end-of-life criterion is +50 %
(an estimate, not checked against GR-468), so +20 % flags a laser well before it, without
flagging the swing."""


CLIMB_PER_DAY = 0.1
"""Bias climbing this fast (fraction of its baseline per day) marks a failing laser even before it
is far above its baseline: aging moves bias by percents over months, not ten percent in a day."""


def relative_bias(
    bias: np.ndarray,
    temp: np.ndarray | None = None,
    *,
    recent_hours: int = 6,
    min_baseline_hours: int = 24,
    baseline_quantile: float = 0.1,
    first: tuple[np.ndarray, np.ndarray] | None = None,
    chain_from: int = 0,
) -> np.ndarray:
    """Each hour's bias relative to the laser's temperature-corrected baseline, minus one (lanes x hours).

    ``bias`` and ``temp`` are (lanes x hours) hourly means (NaN where missing); ``temp`` is the
    transmitting module's temperature. The baseline is a low quantile of the corrected history
    before the last ``recent_hours``: aging only ever raises bias, so the laser's young level is
    its low end, and a rise that started inside the history does not lift its own baseline. Rows
    with less than ``min_baseline_hours`` of baseline are all NaN. ``first`` (bias, temperature: lanes x
    k, NaN where none) are the laser's first readings from before ``bias`` began, kept by a bounded
    pass: they join the baseline (and the temperature slope), not the result. The temperature slope
    rests on the changes between consecutive readings (at most :data:`MAX_CHANGE_GAP_HOURS` apart),
    however sparse the polling; ``chain_from``: no change is taken across this column (the gap between
    the first readings and the window).
    """
    if bias.shape[0] > LANE_CHUNK:  # lane by lane independent: in chunks, for memory
        same = temp is not None and temp.shape == bias.shape
        whole = np.empty(bias.shape)
        for sl in lane_chunks(bias.shape[0]):
            whole[sl] = relative_bias(
                bias[sl],
                temp[sl] if same and temp is not None else None,
                recent_hours=recent_hours,
                min_baseline_hours=min_baseline_hours,
                baseline_quantile=baseline_quantile,
                first=None if first is None else (first[0][sl], first[1][sl]),
            )
        return whole
    if first is not None and first[0].shape[1]:
        gap = np.full((bias.shape[0], 1), np.nan)  # no hour-to-hour change across the gap
        t_now = temp if temp is not None and temp.shape == bias.shape else np.full_like(bias, np.nan)
        k = first[0].shape[1] + 1
        rel = relative_bias(
            np.hstack([first[0], gap, bias]),
            np.hstack([first[1], gap, t_now]),
            recent_hours=recent_hours,
            min_baseline_hours=min_baseline_hours,
            baseline_quantile=baseline_quantile,
            chain_from=k,
        )
        return rel[:, k:]
    n_hours = bias.shape[1]
    out = np.full(bias.shape, np.nan)
    cut = n_hours - recent_hours
    if cut < min_baseline_hours:
        return out
    b = np.where(np.isfinite(bias) & (bias > 0), bias, np.nan)  # a dark laser reports 0 mA
    t = temp if temp is not None and temp.shape == bias.shape else np.full_like(bias, np.nan)
    with _quiet():
        # the temperature slope from hour-to-hour changes: a slow rise (aging itself) adds only a
        # constant to the changes, so it does not leak into the slope as it would in a level fit
        d_b, d_t = reading_changes(b[:, :cut], t[:, :cut], chain_from=chain_from)
        both = np.isfinite(d_b) & np.isfinite(d_t)
        cnt = np.maximum(both.sum(axis=1), 1)
        mdb = np.where(both, d_b, 0.0).sum(axis=1) / cnt
        mdt = np.where(both, d_t, 0.0).sum(axis=1) / cnt
        x = np.where(both, d_t - mdt[:, None], 0.0)
        y = np.where(both, d_b - mdb[:, None], 0.0)
        var_t = (x * x).sum(axis=1)
        # changes under ~0.3 °C per hour on average carry no slope: no temperature correction then
        slope = np.where(var_t > 0.1 * cnt, (x * y).sum(axis=1) / np.maximum(var_t, 1e-12), 0.0)
        mt = np.nanmean(t[:, :cut], axis=1)
        corrected = b - slope[:, None] * np.nan_to_num(t - mt[:, None])
        base = nanquantile_last(corrected[:, :cut], baseline_quantile)
    good = (np.isfinite(b[:, :cut]).sum(axis=1) >= min_baseline_hours) & np.isfinite(base) & (base > 0)
    out[good] = corrected[good] / base[good, None] - 1.0
    return out


MAX_CHANGE_GAP_HOURS: Final = 12
"""Readings further apart than this give no bias-temperature change: across a longer gap (an outage,
a restart) the laser's own aging adds more than a constant to the change."""


def reading_changes(
    bias: np.ndarray, temp: np.ndarray, *, chain_from: int = 0, max_gap: int = MAX_CHANGE_GAP_HOURS
) -> tuple[np.ndarray, np.ndarray]:
    """Per lane, the changes of bias and temperature from each reading to the one before it (lanes x
    hours, at the later reading's column; NaN elsewhere), over the hours that have both: with one
    reading per 4 h, the hour-to-hour differences of the hourly matrix are all NaN. No change is taken
    across column ``chain_from`` or over more than ``max_gap`` hours."""
    n_lanes, n_hours = bias.shape
    ok = np.isfinite(bias) & np.isfinite(temp)
    col = np.arange(n_hours)
    last = np.maximum.accumulate(np.where(ok, col[None, :], -1), axis=1)
    prev = np.full((n_lanes, n_hours), -1, dtype=np.int64)
    prev[:, 1:] = last[:, :-1]
    use = ok & (prev >= 0) & (col[None, :] - prev <= max_gap)
    if 0 < chain_from < n_hours:
        use &= ~((prev < chain_from) & (col[None, :] >= chain_from))
    rows = np.broadcast_to(np.arange(n_lanes)[:, None], prev.shape)
    pb = bias[rows, np.maximum(prev, 0)]
    pt = temp[rows, np.maximum(prev, 0)]
    return np.where(use, bias - pb, np.nan), np.where(use, temp - pt, np.nan)


def bias_rise(rel: np.ndarray, *, hours: int = 6) -> np.ndarray:
    """Mean of :func:`relative_bias` over the last ``hours``: how far above its baseline a laser runs."""
    if rel.shape[1] == 0:
        return np.full(rel.shape[0], np.nan)
    with _quiet():
        return np.nanmean(rel[:, -hours:], axis=1)


def bias_climb(rel: np.ndarray, *, hours: int = 12) -> np.ndarray:
    """Least-squares slope (fraction of baseline per day) of :func:`relative_bias` over the last ``hours``."""
    n_lanes, n_hours = rel.shape
    if n_hours < 3:
        return np.full(n_lanes, np.nan)
    r = rel[:, -hours:]
    ok = np.isfinite(r)
    t = np.broadcast_to(np.arange(r.shape[1], dtype=np.float64) / 24.0, r.shape)
    cnt = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mt = np.where(ok, t, 0.0).sum(axis=1) / cnt
        mr = np.where(ok, r, 0.0).sum(axis=1) / cnt
        dt = np.where(ok, t - mt[:, None], 0.0)
        sxx = (dt * dt).sum(axis=1)
        slope = (dt * np.where(ok, r - mr[:, None], 0.0)).sum(axis=1) / sxx
    return np.where((cnt >= 3) & (sxx > 0), slope, np.nan)


FAILING_DECLINE_DB_PER_DAY = 0.3
"""Assumed output decline of a failing laser once its bias has used its headroom (:func:`headroom_days`),
until the fleet shows its own (a modelling assumption: a laser past its APC headroom loses output over
days; the quoted end-of-life criteria of -1 to -2 dB are estimates, not checked against GR-468)."""


EOL_RISE: Final = 0.5
"""Bias rise over its baseline at which a laser under automatic power control has used its headroom and
its output starts to fall: the often-quoted end-of-life criterion of +50 % operating current (an
estimate, not checked against GR-468)."""


def headroom_days(rise: np.ndarray, climb: np.ndarray) -> np.ndarray:
    """Days until a laser's bias reaches :data:`EOL_RISE` at its present climb (fraction of its baseline
    per day), extrapolated linearly, as a gradual failure's time to failure is: the characteristic
    extrapolated to where it leaves its specification
    (https://www.timbercon.com/resources/glossary/time-to-failure/). 0 at or past it; inf where the bias
    is not climbing (nothing says when the output will start to fall)."""
    r, c = np.nan_to_num(rise, nan=0.0), np.nan_to_num(climb, nan=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (EOL_RISE - r) / c
    return np.where(r >= EOL_RISE, 0.0, np.where(c > 0, t, np.inf))


def failing(rise: np.ndarray, climb: np.ndarray) -> np.ndarray:
    """Lanes whose far-end laser is failing: well above its baseline, or climbing fast off it."""
    r, c = np.nan_to_num(rise, nan=0.0), np.nan_to_num(climb, nan=0.0)
    return (r >= AGING_RISE) | ((c >= CLIMB_PER_DAY) & (r >= AGING_RISE / 4))


def decline_prior(
    drift: np.ndarray, falling: np.ndarray, *, default: float = FAILING_DECLINE_DB_PER_DAY, min_lanes: int = 3
) -> tuple[float, float]:
    """Decline (dB/day, positive) and its spread expected of a failing laser, learned from the fleet.

    ``falling`` marks lanes with a failing laser whose output already falls (a recent onset);
    their median slope is the fleet's own figure once ``min_lanes`` of them exist.
    """
    d = -drift[falling & np.isfinite(drift) & (drift < 0)]
    if d.size < min_lanes:
        return default, default / 2
    med = float(np.median(d))
    return med, max(float(np.median(np.abs(d - med))) * 1.4826, med / 4)


MAX_BIAS_TEMPCO: Final = 0.025
"""The most a healthy laser's bias rises per °C (fraction of its bias) under APC at constant output:
threshold current grows as exp(T/T0), and T0 of 40 K or more (typical of data-center DFB and VCSEL
lasers; an estimate, not a datasheet figure) keeps that under 2.5 %/°C. A rise beyond this times the
module's warming is not temperature."""

EARLY_RISE: Final = 0.1
"""Bias this far (fraction) above the laser's first readings, beyond what its warming can explain
and beyond the fleet's common move, marks a failing laser before a full baseline exists: aging moves
bias by percents over months, not ten percent in hours."""


def early_rise(
    bias: np.ndarray,
    temp: np.ndarray | None,
    *,
    first_hours: int = 2,
    recent_hours: int = 2,
    max_tempco: float = MAX_BIAS_TEMPCO,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per lane: bias rise over the laser's first readings that temperature cannot explain, its climb,
    and whether it came gradually.

    For a laser with too little history for :func:`relative_bias` (a day), judged against its own
    first ``first_hours`` hourly means: the recent bias (mean of the last ``recent_hours``) over that
    baseline, minus one, less ``max_tempco`` times the module's warming since (a cooling module is not
    credited), less the fleet's common move (the median over lanes, where positive). The climb is
    :func:`bias_climb` of the bias over its first readings (fraction per day, for the words). Gradual:
    no two hours carry half the rise, as they do when a module is swapped for one that runs higher.
    NaN (and not gradual) where the laser has no first readings apart from its recent ones, or no
    temperature to bound the rise with.
    """
    n_lanes, n_hours = bias.shape
    nan = np.full(n_lanes, np.nan)
    if n_hours < first_hours + recent_hours:
        return nan, nan.copy(), np.zeros(n_lanes, dtype=bool)
    same = temp is not None and temp.shape == bias.shape
    parts = [
        _early_parts(
            bias[sl], temp[sl] if same and temp is not None else None, first_hours, recent_hours, max_tempco
        )
        for sl in lane_chunks(n_lanes)
    ]
    rise, climb, gradual = (np.concatenate([p[i] for p in parts]) for i in range(3))
    with _quiet():
        common = np.nanmedian(rise) if np.isfinite(rise).any() else 0.0
    return rise - max(float(common), 0.0), climb, gradual


def _early_parts(
    bias: np.ndarray, temp: np.ndarray | None, first_hours: int, recent_hours: int, max_tempco: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`early_rise` of some lanes before the fleet's common move is taken out."""
    n_hours = bias.shape[1]
    b = np.where(np.isfinite(bias) & (bias > 0), bias, np.nan)  # a dark laser reports 0 mA
    t = temp if temp is not None and temp.shape == bias.shape else np.full_like(bias, np.nan)
    seen = np.cumsum(np.isfinite(b), axis=1)
    first = np.isfinite(b) & (seen <= first_hours)
    first[:, n_hours - recent_hours :] = False  # the baseline lies before the recent window
    with _quiet():
        base_b = np.nanmean(np.where(first, b, np.nan), axis=1)
        base_t = np.nanmean(np.where(first & np.isfinite(b), t, np.nan), axis=1)
        now_b = np.nanmean(b[:, -recent_hours:], axis=1)
        now_t = np.nanmean(np.where(np.isfinite(b[:, -recent_hours:]), t[:, -recent_hours:], np.nan), axis=1)
        ok = (first.sum(axis=1) >= first_hours) & (base_b > 0)
        rise = now_b / base_b - 1.0 - max_tempco * np.maximum(now_t - base_t, 0.0)
        rise = np.where(ok, rise, np.nan)
        ratio = b / base_b[:, None]
        climb = bias_climb(ratio - 1.0, hours=6)
        jump = np.nanmax(np.abs(ratio[:, 2:] - ratio[:, :-2]), axis=1)
    gradual = ok & np.isfinite(jump) & (jump <= 0.5 * (now_b / base_b - 1.0))
    return rise, np.where(ok, climb, np.nan), gradual


def failing_early(rise: np.ndarray, gradual: np.ndarray) -> np.ndarray:
    """Lanes whose far-end laser fails within its first hours: well above its first readings beyond
    temperature and the fleet (:func:`early_rise`), reached gradually (not a swapped module)."""
    return (np.nan_to_num(rise, nan=0.0) >= EARLY_RISE) & gradual
