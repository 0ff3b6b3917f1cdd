"""Laser aging from the transmitter's bias current, against each laser's own temperature baseline.

A laser's APC loop raises the bias current to hold its output as it ages, so rising bias at steady
output is the usual aging indicator; fixed bias thresholds misfire because bias differs by lot, by
device and with temperature, so each laser is compared with its own temperature-dependent baseline
(optics-facts.md, "Laser aging" [V]). Per lane: bias = a + b·T fitted on the history before the
last ``guard_hours``, predicted at the recent temperature; the rise is recent bias over that
prediction, minus one.
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
    recent_hours: int = 12,
    guard_hours: int = 48,
    min_baseline_hours: int = 24,
) -> np.ndarray:
    """Relative rise of each lane's recent bias over its temperature-corrected baseline (NaN: unknown).

    ``bias`` and ``temp`` are (lanes x hours) hourly means (NaN where missing); ``temp`` is the
    transmitting module's temperature.
    """
    n_lanes, n_hours = bias.shape
    out = np.full(n_lanes, np.nan)
    cut = n_hours - guard_hours
    if cut < min_baseline_hours or n_hours < recent_hours:
        return out
    base_b, rec_b = bias[:, :cut], bias[:, -recent_hours:]
    if temp is None or temp.shape != bias.shape:
        temp = np.full_like(bias, np.nan)
    base_t, rec_t = temp[:, :cut], temp[:, -recent_hours:]
    ok = np.isfinite(base_b) & (base_b > 0)
    with _quiet():
        mb = np.nanmean(np.where(ok, base_b, np.nan), axis=1)
        both = ok & np.isfinite(base_t)
        mt = np.nanmean(np.where(both, base_t, np.nan), axis=1)
        dt = np.where(both, base_t - mt[:, None], 0.0)
        db = np.where(both, base_b - mb[:, None], 0.0)
        var_t = (dt * dt).sum(axis=1)
        # below ~0.5 °C of spread the slope is noise: use the plain mean as the baseline
        slope = np.where(var_t > 0.25 * np.maximum(both.sum(axis=1), 1), (dt * db).sum(axis=1) / var_t, 0.0)
        rec_mean_t = np.nanmean(rec_t, axis=1)
        shift = np.where(np.isfinite(rec_mean_t) & np.isfinite(mt), rec_mean_t - mt, 0.0)
        predicted = mb + slope * shift
        recent = np.nanmean(np.where(rec_b > 0, rec_b, np.nan), axis=1)
    enough = ok.sum(axis=1) >= min_baseline_hours
    good = enough & np.isfinite(recent) & np.isfinite(predicted) & (predicted > 0)
    out[good] = recent[good] / predicted[good] - 1.0
    return out
