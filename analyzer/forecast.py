"""Forecast of every lane's margin at horizon H, vectorized over all lanes (numpy only).

Per lane: ``m(H) = m0 + drift·H - Σ planned steps`` with variance
``(sd_drift·H)² + σ_resid² + (k_thermal·sd_T)² + Σ step variance``, where each planned mating inside
H (a maintenance window) adds a step of its point's cohort with probability p and size
mean μ / sd s: expectation p·μ, variance p·(s² + μ²) - (p·μ)².
P(crossing zero before H) is the larger of P(m(H) < 0) and P(m(0) < 0) (with a linear mean path the
lowest point is at one end); the expected time to crossing is when the mean path reaches zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_SQRT2 = np.sqrt(2.0)


def norm_cdf(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF (Abramowitz-Stegun 7.1.26 erf, |error| < 1.5e-7), vectorized."""
    z = np.abs(x) / _SQRT2
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-z * z)
    return 0.5 * (1.0 + np.sign(x) * erf)


@dataclass(frozen=True, slots=True)
class LaneForecast:
    """Arrays (one entry per lane) of the forecast at one horizon."""

    horizon_days: float
    mean_db: np.ndarray
    lo_db: np.ndarray  # 5 % quantile (90 % prediction interval)
    hi_db: np.ndarray
    sd_db: np.ndarray
    p_cross: np.ndarray
    days_to_cross: np.ndarray  # inf when the mean path never reaches zero


def forecast_lanes(
    horizon_days: float,
    margin_now_db: np.ndarray,
    drift_db_per_day: np.ndarray,
    drift_sd: np.ndarray,
    resid_sigma_db: np.ndarray,
    *,
    thermal_sd_db: np.ndarray | None = None,
    step_mean_db: np.ndarray | None = None,
    step_var_db2: np.ndarray | None = None,
) -> LaneForecast:
    """Margin at ``horizon_days`` with a 90 % prediction interval and the risk of crossing zero."""
    h = float(horizon_days)
    m0 = margin_now_db
    d = np.nan_to_num(drift_db_per_day, nan=0.0)
    sd_d = np.nan_to_num(drift_sd, nan=0.0)
    sig2 = np.nan_to_num(resid_sigma_db, nan=0.0) ** 2
    if thermal_sd_db is not None:
        sig2 = sig2 + np.nan_to_num(thermal_sd_db, nan=0.0) ** 2
    steps = np.zeros_like(m0) if step_mean_db is None else np.nan_to_num(step_mean_db, nan=0.0)
    svar = np.zeros_like(m0) if step_var_db2 is None else np.nan_to_num(step_var_db2, nan=0.0)
    mean = m0 + d * h - steps
    var = (sd_d * h) ** 2 + sig2 + svar
    sd = np.sqrt(np.maximum(var, 1e-12))
    p_end = norm_cdf(-mean / sd)
    p_now = norm_cdf(-m0 / np.sqrt(np.maximum(sig2, 1e-12)))
    p = np.maximum(p_end, p_now)
    p = np.where(np.isfinite(m0), p, np.nan)
    start = m0 - steps
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(d < 0, start / -d, np.inf)
    t = np.where(start <= 0, 0.0, t)
    t = np.where(np.isfinite(m0), t, np.nan)
    return LaneForecast(h, mean, mean - 1.6449 * sd, mean + 1.6449 * sd, sd, p, t)
