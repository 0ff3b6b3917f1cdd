"""Robust degradation rate per lane, fitted jointly with the thermal swing and known steps.

Model per lane on hourly means: ``y(t) = level + drift·t + k·(T(t) - mean T) + Σ s_j·[t >= t_j] + e``
with T the module temperature, fitted for all lanes at once (batched normal equations over a
(lanes x hours x params) design) by Huber IRLS. Steps come from :mod:`analyzer.steps`; without
them a step would masquerade as drift. The slope interval uses the robust residual scale inflated
by the residuals' lag-1 autocorrelation (effective sample size), so hourly noise that wanders
does not buy a falsely narrow interval.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

HUBER_K = 1.345


@dataclass(frozen=True, slots=True)
class TrendFit:
    """Per-lane fit results; every array has one entry per lane (NaN when not fittable)."""

    drift_db_per_day: np.ndarray
    drift_se: np.ndarray
    thermal_db_per_c: np.ndarray
    thermal_se: np.ndarray
    level_db: np.ndarray  # fitted value at the last hour (thermal term at mean temperature)
    resid_sigma_db: np.ndarray
    n_hours: np.ndarray
    step_sizes: np.ndarray  # (lanes x K) fitted sizes of the supplied steps
    last_hour: np.ndarray  # index of the last hour with data


def step_design(n_lanes: int, n_hours: int, steps: list[tuple[int, int]], kmax: int = 8) -> np.ndarray:
    """Indicator columns (lanes x hours x K) for steps given as (lane index, hour index of the change)."""
    counts = np.bincount(np.array([li for li, _ in steps], dtype=np.int64), minlength=n_lanes)
    kmax = int(min(kmax, counts.max() if counts.size else 0))  # only as many columns as needed
    out = np.zeros((n_lanes, n_hours, kmax))
    used = np.zeros(n_lanes, dtype=np.int64)
    hrs = np.arange(n_hours)
    for li, hi in steps:
        k = used[li]
        if k >= kmax:
            continue
        out[li, :, k] = hrs >= hi
        used[li] += 1
    return out


def fit_trends(
    y: np.ndarray,
    temp: np.ndarray | None,
    *,
    steps: np.ndarray | None = None,
    iters: int = 10,
    ridge: float = 1e-6,
) -> TrendFit:
    """Fit drift (dB/day), thermal coefficient (dB/°C) and step sizes for every lane at once.

    ``y`` and ``temp`` are (lanes x hours) hourly means with NaN for missing hours.
    """
    n_lanes, n_hours = y.shape
    t_days = np.arange(n_hours, dtype=np.float64) / 24.0
    valid = np.isfinite(y)
    n = valid.sum(axis=1)
    if temp is None:
        temp = np.full_like(y, np.nan)
    with np.errstate(invalid="ignore"), _quiet():
        tmean = np.nanmean(np.where(valid, temp, np.nan), axis=1, keepdims=True)
    tc = np.where(np.isfinite(temp) & np.isfinite(tmean), temp - np.nan_to_num(tmean), 0.0)
    tc_days = t_days[None, :] - _wmean(np.broadcast_to(t_days, y.shape), valid)[:, None]
    cols = [np.ones_like(y), tc_days, tc]
    if steps is not None and steps.shape[2]:
        cols.extend(np.moveaxis(steps, 2, 0))
    x = np.stack(cols, axis=2)  # (L, H, p)
    p = x.shape[2]
    yz = np.where(valid, y, 0.0)
    w = valid.astype(np.float64)
    eye = np.eye(p) * ridge
    beta = np.zeros((n_lanes, p))
    scale = np.ones(n_lanes)
    for _ in range(iters):
        xtw = (x * w[:, :, None]).transpose(0, 2, 1)  # (L, p, H): batched matmul beats einsum here
        a = xtw @ x + eye
        b = xtw @ yz[:, :, None]
        beta = np.linalg.solve(a, b)[:, :, 0]
        r = yz - (x @ beta[:, :, None])[:, :, 0]
        med = nanmedian_last(np.where(valid, r, np.nan))[:, None]
        scale = 1.4826 * nanmedian_last(np.where(valid, np.abs(r - med), np.nan))
        scale = np.where(np.isfinite(scale) & (scale > 1e-9), scale, 1e-9)
        ar = np.abs(r) / (HUBER_K * scale[:, None])
        w = np.where(valid, np.minimum(1.0, 1.0 / np.maximum(ar, 1e-12)), 0.0)
    a = (x * w[:, :, None]).transpose(0, 2, 1) @ x + eye
    cov = np.linalg.inv(a)
    r = yz - (x @ beta[:, :, None])[:, :, 0]
    rho = _lag1(np.where(valid, r, np.nan))
    infl = np.sqrt((1 + rho) / (1 - rho))
    dof_ok = n > p + 2
    se = np.sqrt(np.maximum(np.diagonal(cov, axis1=1, axis2=2), 0.0)) * scale[:, None] * infl[:, None]
    thermal_ok = np.abs(tc).sum(axis=1) > 0
    last = np.where(valid.any(axis=1), n_hours - 1 - np.argmax(valid[:, ::-1], axis=1), 0)
    level = beta[:, 0] + beta[:, 1] * tc_days[np.arange(n_lanes), last]
    if p > 3:
        level = level + np.einsum("lk,lk->l", beta[:, 3:], x[np.arange(n_lanes), last, 3:])
    nan = np.full(n_lanes, np.nan)
    return TrendFit(
        drift_db_per_day=np.where(dof_ok, beta[:, 1], nan),
        drift_se=np.where(dof_ok, se[:, 1], nan),
        thermal_db_per_c=np.where(dof_ok & thermal_ok, beta[:, 2], nan),
        thermal_se=np.where(dof_ok & thermal_ok, se[:, 2], nan),
        level_db=np.where(dof_ok, level, nan),
        resid_sigma_db=np.where(dof_ok, scale, nan),
        n_hours=n,
        step_sizes=beta[:, 3:],
        last_hour=last,
    )


def module_thermal(thermal: np.ndarray, module_index: np.ndarray) -> np.ndarray:
    """Per-module thermal coefficient (median over the module's lanes), broadcast back to lanes."""
    out = np.full_like(thermal, np.nan)
    for m in np.unique(module_index):
        sel = module_index == m
        vals = thermal[sel]
        if np.isfinite(vals).any():
            out[sel] = np.nanmedian(vals)
    return out


def nanmedian_last(a: np.ndarray) -> np.ndarray:
    """Median over the last axis ignoring NaN (NaN where all are NaN); sort-based, much faster
    than ``np.nanmedian`` on arrays with NaN."""
    srt = np.sort(a, axis=-1)  # NaN sort last
    n = np.isfinite(a).sum(axis=-1)
    lo = np.take_along_axis(srt, np.maximum((n - 1) // 2, 0)[..., None], axis=-1)[..., 0]
    hi = np.take_along_axis(srt, np.maximum(n // 2, 0)[..., None], axis=-1)[..., 0]
    hi = np.where(n % 2 == 1, lo, hi)
    return np.where(n > 0, 0.5 * (lo + hi), np.nan)


def _wmean(a: np.ndarray, mask: np.ndarray) -> np.ndarray:
    cnt = np.maximum(mask.sum(axis=1), 1)
    return np.where(mask, a, 0.0).sum(axis=1) / cnt


def _lag1(r: np.ndarray) -> np.ndarray:
    """Lag-1 autocorrelation of each row (NaN-aware), clipped to [0, 0.9]."""
    a, b = r[:, :-1], r[:, 1:]
    ok = np.isfinite(a) & np.isfinite(b)
    a0, b0 = np.where(ok, a, 0.0), np.where(ok, b, 0.0)
    num = (a0 * b0).sum(axis=1)
    den = np.sqrt((a0 * a0).sum(axis=1) * (b0 * b0).sum(axis=1))
    rho = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return np.clip(rho, 0.0, 0.9)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence numpy's all-NaN slice warnings (an empty lane is a normal state here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


RECENT_HOURS = 48


def recent_onset(
    y: np.ndarray,
    temp: np.ndarray | None,
    steps: list[tuple[int, int]],
    drift: np.ndarray,
    drift_sd: np.ndarray,
    *,
    hours: int = RECENT_HOURS,
    min_rate: float = 0.05,
    min_change_db: float = 0.3,
    z: float = 4.0,
    evidence: np.ndarray | None = None,
    z_evidence: float = 2.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Replace a lane's drift by its recent slope where the last ``hours`` fall much faster.

    A laser starting to fail or a gel point starting to creep shows as a slope in the last days that
    the whole-history fit (and its shrinkage toward the cohort) dilutes. Steps inside the window are
    fitted apart, so a contamination step is not mistaken for a slope. Lanes where ``evidence`` is true
    have an independent reason to decline (the far-end laser is aging): they need only
    ``z_evidence`` standard errors, and with less history than the window, its second half will do.
    Returns (drift, sd, onset).
    """
    n_lanes, n_hours = y.shape
    onset = np.zeros(n_lanes, dtype=bool)
    eligible = np.ones(n_lanes, dtype=bool)
    if n_hours < hours:
        # a shorter window mistakes a day's thermal and load swing for a slope: only lanes with
        # independent evidence get one
        hours = n_hours // 2
        eligible = np.zeros(n_lanes, dtype=bool) if evidence is None else evidence.astype(bool)
    if hours < 12 or not eligible.any():
        return drift, drift_sd, onset
    off = n_hours - hours
    inside = [(li, hi - off) for li, hi in steps if hi > off]
    design = step_design(n_lanes, hours, inside)
    t = None if temp is None or not temp.size else temp[:, off:]
    rec = fit_trends(y[:, off:], t, steps=design, iters=4)
    r, se = rec.drift_db_per_day, rec.drift_se
    ev = np.zeros(n_lanes, dtype=bool) if evidence is None else evidence.astype(bool)
    zz = np.where(ev, z_evidence, z)
    # the decline across the window must be one the DOM can resolve: three steps of the coarsest
    # resolution agents report (0.1 dB) without other evidence; the standard error of a slope
    # through quantized readings is too optimistic to stand alone
    resolvable = -r * hours / 24.0 >= np.where(ev, min_change_db / 3.0, min_change_db)
    with np.errstate(invalid="ignore"):
        onset = (
            eligible & np.isfinite(r) & np.isfinite(se) & (r < -min_rate) & resolvable & (r + zz * se < drift)
        )
    return np.where(onset, r, drift), np.where(onset, se, drift_sd), onset
