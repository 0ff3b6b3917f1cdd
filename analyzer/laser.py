"""Laser aging from the transmitter's bias current, against each laser's own temperature baseline.

A laser's APC loop raises the bias current to hold its output as it ages, so rising bias at steady
output is the usual aging indicator; fixed bias thresholds misfire because bias differs by lot, by
device and with temperature, so each laser is compared with its own temperature-dependent baseline
(optics-facts.md, "Laser aging" [V]). Per lane: the bias' temperature slope is fitted on its own
history and taken out; the rise is the recent corrected bias over the laser's corrected baseline,
minus one.
"""

from __future__ import annotations

import numpy as np

from analyzer.trend import _quiet

AGING_RISE = 0.2
"""Bias this far above its own baseline marks an aging laser. Bias moves ~±5 % with the daily
thermal swing after the temperature fit; the often-quoted end-of-life criterion is +50 %
(optics-facts.md, [M]), so +20 % flags a laser well before it, without flagging the swing."""


def bias_rise(
    bias: np.ndarray,
    temp: np.ndarray | None = None,
    *,
    recent_hours: int = 6,
    min_baseline_hours: int = 12,
    baseline_quantile: float = 0.1,
) -> np.ndarray:
    """Relative rise of each lane's recent bias over its temperature-corrected baseline (NaN: unknown).

    ``bias`` and ``temp`` are (lanes x hours) hourly means (NaN where missing); ``temp`` is the
    transmitting module's temperature. The baseline is a low quantile of the corrected history
    before the last ``recent_hours``: aging only ever raises bias, so the laser's young level is
    its low end, and a rise that started inside the history does not lift its own baseline.
    """
    n_lanes, n_hours = bias.shape
    out = np.full(n_lanes, np.nan)
    cut = n_hours - recent_hours
    if cut < min_baseline_hours:
        return out
    b = np.where(np.isfinite(bias) & (bias > 0), bias, np.nan)  # a dark laser reports 0 mA
    t = temp if temp is not None and temp.shape == bias.shape else np.full_like(bias, np.nan)
    with _quiet():
        # the temperature slope from hour-to-hour changes: a slow rise (aging itself) adds only a
        # constant to the changes, so it does not leak into the slope as it would in a level fit
        d_b, d_t = np.diff(b[:, :cut], axis=1), np.diff(t[:, :cut], axis=1)
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
        base = np.nanquantile(corrected[:, :cut], baseline_quantile, axis=1)
        recent = np.nanmean(corrected[:, cut:], axis=1)
    enough = np.isfinite(b[:, :cut]).sum(axis=1) >= min_baseline_hours
    good = enough & np.isfinite(recent) & np.isfinite(base) & (base > 0)
    out[good] = recent[good] / base[good] - 1.0
    return out
