"""Forecast of every lane's margin at horizon H, vectorized over all lanes (numpy only).

Per lane the margin moves by drift·H (its sd grows as sd_drift·H) around the reading noise and the
thermal swing, and loses a step for every loss event before H:

- planned matings inside H (maintenance windows): n of them, each a step with the cohort's
  probability p, so their count is Binomial(n, p);
- unexplained events (contamination, damage) at the cohort's background rate: Poisson.

Steps are rare and large (a 1.5 dB contamination on a link with 0.3 dB left), so P(crossing) is the
mixture over the number of steps of each kind, each a Gaussian around the diffusion, not one
Gaussian with the steps' variance folded in (that would put a 0.3 dB link at 16 % when the truth is
the 3 % chance of a step). With a linear mean path the lowest point is at one end, so P(crossing
before H) is the larger of the mixture at H and P(m(0) < 0). Mean and 90 % interval are the
moments; the expected time to crossing is when the mean path reaches zero.

What the margin *now* is, is itself an estimate, and its error does not average away over the hours:
it is one error for the whole path (it enters P(m(0) < 0) and P(m(H) < 0) alike).
:func:`margin_estimate_sd` gives it from what the margin rests on (the DOM alone, a DOM offset read
off the BER, or the BER itself); without it, a trendless lane whose hourly readings barely move (0.01
dB of scatter) was given P ~ 0.98 for a margin estimated at -0.1 dB that in truth was +0.2 dB. The
hourly scatter is floored at the DOM's quantization (:data:`QUANT_SD_DB`), in the reading noise and in
the slope's standard error that rests on it (:func:`floored_drift_se`, before the cohort shrinkage).
"""

from __future__ import annotations

import math
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
class StepRisk:
    """Per lane: planned matings (count, step probability, size mean / sd) and background events."""

    planned_n: np.ndarray
    planned_p: np.ndarray
    planned_db: np.ndarray
    planned_sd_db: np.ndarray
    background_n: np.ndarray  # expected number of unexplained steps before H
    background_db: np.ndarray
    background_sd_db: np.ndarray

    @classmethod
    def none(cls, n: int) -> StepRisk:
        """No step risk for ``n`` lanes."""
        z = np.zeros(n)
        return cls(z, z, z, z, z, z, z)


@dataclass(frozen=True, slots=True)
class LaneForecast:
    """Arrays (one entry per lane) of the forecast at one horizon."""

    horizon_days: float
    mean_db: np.ndarray
    lo_db: np.ndarray  # 5 % quantile (90 % prediction interval, from the moments)
    hi_db: np.ndarray
    sd_db: np.ndarray
    p_cross: np.ndarray
    days_to_cross: np.ndarray  # inf when the mean path never reaches zero


DOM_SD_DB = 1.1
"""Error (1 sd) of a margin read from the DOM alone against the PMD sensitivity: the MSA's Rx power
accuracy of +-3 dB (SFF-8472, CMIS; taken as a 3-sd bound: 1.0 dB) and the receiver's own
sensitivity, unknown within about +-1 dB of the PMD figure (datasheet typical vs worst case, as a
2-sd bound: 0.5 dB), combined in quadrature. An analyzer assumption from the standards, not a fit."""
BER_SD_DB = 0.1
"""Error (1 sd) of a margin read off the pre-FEC BER close to the FEC limit: counting and the hour-to-hour
wander of the BER (a few tenths of a decade near the limit, where a decade is ~0.3-0.5 dB of OMA)."""
BER_SLOPE_REL = 0.2
"""Relative error of a BER-implied margin: the analyzer inverts a Gaussian-decision curve, while a real
receiver's Q grows more slowly than OMA (signal-dependent noise, RIN, reflections) and meets an error
floor, so the dB per decade is known to about +-20 % (1 sd; an analyzer assumption). The error is this
share of the margin the BER implied: nil at the limit, 0.8 dB at 4 dB."""
QUANT_SD_DB = 0.1 / math.sqrt(12.0)
"""Quantization of a DOM reading at the coarsest resolution agents report (0.1 dB): a uniform error of
+-0.05 dB, sd 0.029 dB. Hourly readings that never move are not a margin known to 0.001 dB."""


def margin_estimate_sd(
    base_db: np.ndarray,
    ber_margin_db: np.ndarray,
    calibrated_db: np.ndarray,
    calibrated: np.ndarray,
    evidence_margin_db: np.ndarray | None = None,
) -> np.ndarray:
    """Per lane: the error (1 sd, dB) of the margin estimate ``base_db``, by what it rests on.

    ``base_db`` is the lower of the DOM margin (corrected by the module's DOM offset where
    ``calibrated``), the BER-implied margin and the counters' evidence; the term that sets it sets
    the error: the counters (evidence of a crossing) and the BER read near the limit know it to
    :data:`BER_SD_DB` plus :data:`BER_SLOPE_REL` of the margin the BER implied; a DOM offset read off the
    BER carries the same error at the margin it corrects; the DOM alone :data:`DOM_SD_DB`.
    """
    b = np.asarray(base_db, dtype=np.float64)
    ber = np.asarray(ber_margin_db, dtype=np.float64)
    cal = np.asarray(calibrated_db, dtype=np.float64)
    ev = np.full_like(b, np.nan) if evidence_margin_db is None else np.asarray(evidence_margin_db, np.float64)
    with np.errstate(invalid="ignore"):
        by_ev = np.isfinite(ev) & (b >= ev - 1e-9)
        by_ber = np.isfinite(ber) & (b >= ber - 1e-9)
    ber_sd = BER_SD_DB + BER_SLOPE_REL * np.abs(np.nan_to_num(ber))
    cal_sd = BER_SD_DB + BER_SLOPE_REL * np.abs(np.nan_to_num(cal))
    sd = np.where(np.asarray(calibrated, dtype=bool), cal_sd, DOM_SD_DB)
    sd = np.where(by_ber, ber_sd, sd)
    return np.where(by_ev, BER_SD_DB, sd)


def with_pending_decline(
    drift: np.ndarray,
    drift_sd: np.ndarray,
    after_days: np.ndarray,
    rate: np.ndarray,
    rate_sd: np.ndarray,
    horizon_days: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Drift and its sd over ``horizon_days`` of lanes whose far laser will start to fall ``after_days``
    from now at ``rate`` dB/day (NaN: no such laser): the constant drift that ends the horizon where the
    fall would, ``rate`` times the share of the horizon after its start (a fall that starts after the
    horizon adds nothing). The margin only falls, so crossing by the horizon is crossing at its end."""
    h = max(float(horizon_days), 1e-9)
    with np.errstate(over="ignore", invalid="ignore"):  # a horizon of hours: shares far beyond 1, clipped
        share = np.clip((h - np.nan_to_num(after_days, nan=np.inf)) / h, 0.0, 1.0)
    falls = share > 0
    d = np.where(falls, np.minimum(np.nan_to_num(drift), -np.nan_to_num(rate) * share), drift)
    sd = np.where(falls, np.maximum(np.nan_to_num(drift_sd), np.nan_to_num(rate_sd) * share), drift_sd)
    return d, sd


def floored_drift_se(
    drift_se: np.ndarray, resid_sigma_db: np.ndarray, floor_db: float = QUANT_SD_DB
) -> np.ndarray:
    """A lane's slope standard error with its scatter floored at ``floor_db``: the error rests on the
    residual scale, so it grows by floor / scale where the scale is below the floor. Applied to the
    lane's own fit, before the shrinkage toward its cohort, so that a few hours of readings that never
    move give the cohort's drift, not a slope known to 0.001 dB/day."""
    r = np.nan_to_num(resid_sigma_db, nan=np.inf)
    return drift_se * np.maximum(1.0, floor_db / np.maximum(r, 1e-12))


def _inv_mills(z: np.ndarray) -> np.ndarray:
    """phi(z) / Phi(z), stable for very negative z (the Mills ratio's asymptotic series below -3)."""
    x = -np.minimum(z, -3.0)
    series = x / (1.0 - 1.0 / x**2 + 3.0 / x**4 - 15.0 / x**6)
    with np.errstate(under="ignore", over="ignore", invalid="ignore", divide="ignore"):
        direct = np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi) / np.maximum(norm_cdf(z), 1e-300)
    return np.where(z < -3.0, series, direct)


def bounded_below(
    margin_db: np.ndarray, sd_db: np.ndarray, lower_db: np.ndarray, lower_sd_db: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A margin estimate N(margin, sd^2) given that the margin is at least a bound known as
    N(lower, lower_sd^2): the mean and sd of the estimate conditioned on margin > bound.

    The pre-FEC BER bounds a lane's margin from below: error floors, signal-dependent noise and
    reflections only add errors to the thermal-noise Gaussian decision the analyzer reads the BER
    through, so a port's BER implies a margin *at most* the true one (up to counting and the curve's
    slope, ``lower_sd``); a port up whose counters saw no error bounds it at the curve's value at the
    counters' detection level. With X = margin, Y = bound independent, conditioning on X - Y > 0 gives
    (z = (m - l) / S, S^2 = sd^2 + lower_sd^2, lam = phi(z) / Phi(z)):
    mean m + sd^2 / S * lam, variance sd^2 - sd^4 / S^2 * lam (lam + z). NaN bounds leave the estimate.
    """
    m, s = np.asarray(margin_db, np.float64), np.asarray(sd_db, np.float64)
    lo, sl = np.asarray(lower_db, np.float64), np.asarray(lower_sd_db, np.float64)
    ok = np.isfinite(m) & np.isfinite(s) & np.isfinite(lo) & np.isfinite(sl) & (s > 0)
    big_s = np.sqrt(np.where(ok, s * s + sl * sl, 1.0))
    z = np.where(ok, (m - lo) / big_s, 0.0)
    lam = _inv_mills(z)
    mean = m + s * s / big_s * lam
    var = s * s - s**4 / big_s**2 * lam * (lam + z)
    return np.where(ok, mean, m), np.where(ok, np.sqrt(np.maximum(var, 1e-12)), s)


MAX_STEPS = 3
"""Step counts of each kind summed over explicitly; the rest of the mass is taken as a crossing."""


def _binom_pmf(k: int, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """P(k of n) for small k, vectorized over lanes (n whole numbers)."""
    c = np.ones_like(n)
    for r in range(k):
        c = c * (n - r)
    with np.errstate(invalid="ignore"):
        pmf = c / math.factorial(k) * p**k * (1.0 - p) ** np.maximum(n - k, 0)
    return np.where(n >= k, pmf, 0.0)


def forecast_lanes(
    horizon_days: float,
    margin_now_db: np.ndarray,
    drift_db_per_day: np.ndarray,
    drift_sd: np.ndarray,
    resid_sigma_db: np.ndarray,
    *,
    thermal_sd_db: np.ndarray | None = None,
    steps: StepRisk | None = None,
    margin_sd_db: np.ndarray | None = None,
    noise_floor_db: float = 0.0,
) -> LaneForecast:
    """Margin at ``horizon_days`` with a 90 % prediction interval and the risk of crossing zero.

    ``margin_sd_db`` is the error of ``margin_now_db`` itself (:func:`margin_estimate_sd`), one error for
    the whole path. ``noise_floor_db`` floors the reading noise ``resid_sigma_db`` (the drift's sd is
    floored the same way before it is shrunk toward its cohort: :func:`floored_drift_se`).
    """
    h = float(horizon_days)
    m0 = margin_now_db
    st = steps or StepRisk.none(m0.size)
    d = np.nan_to_num(drift_db_per_day, nan=0.0)
    sd_d = np.nan_to_num(drift_sd, nan=0.0)
    resid = np.maximum(np.nan_to_num(resid_sigma_db, nan=0.0), noise_floor_db)
    sig2 = resid**2
    if thermal_sd_db is not None:
        sig2 = sig2 + np.nan_to_num(thermal_sd_db, nan=0.0) ** 2
    if margin_sd_db is not None:
        sig2 = sig2 + np.nan_to_num(margin_sd_db, nan=0.0) ** 2
    n_p = np.nan_to_num(st.planned_n).astype(np.float64)
    p_p = np.clip(np.nan_to_num(st.planned_p), 0.0, 1.0)
    mu_p, s_p = np.nan_to_num(st.planned_db), np.nan_to_num(st.planned_sd_db)
    lam = np.maximum(np.nan_to_num(st.background_n), 0.0)
    mu_b, s_b = np.nan_to_num(st.background_db), np.nan_to_num(st.background_sd_db)
    drift_mean = m0 + d * h
    var_diff = (sd_d * h) ** 2 + sig2
    # moments of the step total: Binomial count of planned, Poisson count of background steps
    step_mean = n_p * p_p * mu_p + lam * mu_b
    step_var = n_p * (p_p * (s_p**2 + mu_p**2) - (p_p * mu_p) ** 2) + lam * (s_b**2 + mu_b**2)
    mean = drift_mean - step_mean
    sd = np.sqrt(np.maximum(var_diff + step_var, 1e-12))
    # P(m(H) < 0): mixture over j planned and i background steps
    p_end, mass = np.zeros_like(mean), np.zeros_like(mean)
    n_int = np.rint(n_p)
    for j in range(MAX_STEPS + 1):
        wj = _binom_pmf(j, n_int, p_p)
        if not wj.any():
            continue
        for i in range(MAX_STEPS + 1):
            wi = np.exp(-lam) * lam**i / math.factorial(i)
            w = wj * wi
            m_ji = drift_mean - j * mu_p - i * mu_b
            s_ji = np.sqrt(np.maximum(var_diff + j * s_p**2 + i * s_b**2, 1e-12))
            p_end += w * norm_cdf(-m_ji / s_ji)
            mass += w
    p_end += np.clip(1.0 - mass, 0.0, 1.0)  # more steps than summed: counted as a crossing
    p_now = norm_cdf(-m0 / np.sqrt(np.maximum(sig2, 1e-12)))
    p = np.maximum(p_end, p_now)
    p = np.where(np.isfinite(m0), p, np.nan)
    start = m0 - step_mean
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(d < 0, start / -d, np.inf)
    t = np.where(start <= 0, 0.0, t)
    t = np.where(np.isfinite(m0), t, np.nan)
    return LaneForecast(h, mean, mean - 1.6449 * sd, mean + 1.6449 * sd, sd, p, t)
