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
import polars as pl

HUBER_K = 1.345
LANE_CHUNK = 8_192
"""Lanes a per-lane estimator works on at once, so its lanes x hours temporaries stay bounded (~11 MB
each over a week of hours) however many lanes the fleet has; the answers do not depend on it. The
estimators are chains of elementwise passes, bound by memory traffic: at 8k lanes a chunk's
temporaries mostly stay in the processor's last-level cache, and the pass ran 1.5-2.5x faster than at
64k (timed on 131k lanes: ``relative_bias``, ``fit_trends`` and ``detect_steps``)."""


def group_chunks(group: np.ndarray, chunk: int | None = None) -> list[np.ndarray]:
    """Lane indexes in chunks of whole groups (e.g. a port's lanes), at most ``chunk`` (default
    :data:`LANE_CHUNK`) lanes each, except a group larger than that, which is a chunk of its own: for
    estimators that work per group (one that splits itself into these chunks must not split a single
    chunk again)."""
    step = chunk or LANE_CHUNK
    order = np.argsort(group, kind="stable")
    g = np.asarray(group)[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if g.size else np.zeros(0, dtype=np.int64)
    cuts, prev = [0], 0
    for s in [*starts[1:].tolist(), g.size]:  # s: where the next group starts (or the end)
        if s - cuts[-1] > step and prev > cuts[-1]:  # this group would overfill it: cut before it
            cuts.append(prev)
        prev = s
    return [order[a:b] for a, b in zip(cuts, [*cuts[1:], g.size], strict=True) if b > a]


def lane_chunks(n_lanes: int, chunk: int | None = None) -> list[slice]:
    """Consecutive slices of at most ``chunk`` (default :data:`LANE_CHUNK`) lanes covering ``n_lanes``."""
    step = chunk or LANE_CHUNK
    return [slice(s, min(s + step, n_lanes)) for s in range(0, n_lanes, step)]


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

    def placed(self, rows: np.ndarray, n_lanes: int) -> TrendFit:
        """This fit of some lanes (``rows``: their indexes, in order) as a fit of ``n_lanes``: the
        others not fittable (NaN, no hours, no steps)."""

        def put(a: np.ndarray, fill: float) -> np.ndarray:
            out = np.full((n_lanes, *a.shape[1:]), fill, dtype=a.dtype)
            out[rows] = a
            return out

        return TrendFit(
            *(
                put(a, 0 if a.dtype.kind in "iu" else np.nan)
                for a in (getattr(self, f) for f in self.__slots__)
            )
        )

    @staticmethod
    def merged(parts: list[tuple[np.ndarray, TrendFit]], n_lanes: int, n_steps: int) -> TrendFit:
        """One fit of ``n_lanes`` from fits of disjoint sets of lanes (their indexes, the fit), each
        with as many step columns as it needed: ``n_steps`` in all, 0 where a part had fewer."""
        out: dict[str, np.ndarray] = {}
        for f in TrendFit.__slots__:
            a0 = getattr(parts[0][1], f)
            shape = (n_lanes, n_steps) if f == "step_sizes" else (n_lanes,)
            out[f] = np.zeros(shape, dtype=a0.dtype)
            for rows, fit in parts:
                a = getattr(fit, f)
                if f == "step_sizes":
                    out[f][rows, : a.shape[1]] = a
                else:
                    out[f][rows] = a
        return TrendFit(**out)


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

    ``y`` and ``temp`` are (lanes x hours) hourly means with NaN for missing hours; ``steps`` (lanes x
    hours x K, :func:`step_design`) the step columns. Each lane is fitted with the step columns it
    uses (up to its last non-zero one), so its degrees of freedom do not depend on the other lanes'.
    """
    if steps is not None and steps.shape[2]:
        nz = np.any(steps != 0, axis=1)  # (lanes, K): the columns each lane uses
        own = np.where(nz.any(axis=1), steps.shape[2] - np.argmax(nz[:, ::-1], axis=1), 0)
        counts = np.unique(own)
        if counts.size > 1 or counts[0] != steps.shape[2]:
            groups: list[tuple[np.ndarray, TrendFit]] = []
            for k in counts.tolist():
                rows = np.flatnonzero(own == k)
                sub = None if k == 0 else steps[rows, :, :k]
                t_rows = None if temp is None else temp[rows]
                groups.append((rows, fit_trends(y[rows], t_rows, steps=sub, iters=iters, ridge=ridge)))
            return TrendFit.merged(groups, y.shape[0], steps.shape[2])
    if y.shape[0] > LANE_CHUNK:  # lane by lane independent: in chunks, for memory
        parts = [
            fit_trends(
                y[sl],
                None if temp is None else temp[sl],
                steps=None if steps is None else steps[sl],
                iters=iters,
                ridge=ridge,
            )
            for sl in lane_chunks(y.shape[0])
        ]
        return TrendFit(*(np.concatenate([getattr(p, f) for p in parts]) for f in TrendFit.__slots__))
    n_lanes, n_hours = y.shape
    t_days = np.arange(n_hours, dtype=np.float64) / 24.0
    valid = np.isfinite(y)
    n = valid.sum(axis=1)
    if temp is None:
        tc = np.zeros((1, n_hours))  # no temperature: a zero column (its sums are skipped)
    else:
        with np.errstate(invalid="ignore"), _quiet():
            tmean = np.nanmean(np.where(valid, temp, np.nan), axis=1, keepdims=True)
        tc = np.where(np.isfinite(temp) & np.isfinite(tmean), temp - np.nan_to_num(tmean), 0.0)
    # the design's columns: constant and time shared by every lane, the temperature and the steps
    # lane by lane (the slope and its error do not depend on where time is centred)
    xs = [np.ones((1, n_hours)), t_days[None, :], tc]
    if steps is not None and steps.shape[2]:
        xs.extend(np.moveaxis(steps, 2, 0))
    p = len(xs)
    yz = np.where(valid, y, 0.0)
    w = valid.astype(np.float64)
    eye = np.eye(p) * ridge
    beta = np.zeros((n_lanes, p))
    scale = np.ones(n_lanes)
    for _ in range(iters):
        a, b = normal_equations(xs, w, yz)
        beta = np.linalg.solve(a + eye, b[:, :, None])[:, :, 0]
        r = yz - predict(xs, beta)
        scale = robust_scale(r, valid)
        ar = np.abs(r) / (HUBER_K * scale[:, None])
        w = np.where(valid, np.minimum(1.0, 1.0 / np.maximum(ar, 1e-12)), 0.0)
    cov = np.linalg.inv(normal_equations(xs, w, yz)[0] + eye)
    r = yz - predict(xs, beta)
    rho = _lag1(np.where(valid, r, np.nan))
    infl = np.sqrt((1 + rho) / (1 - rho))
    dof_ok = n > p + 2
    se = np.sqrt(np.maximum(np.diagonal(cov, axis1=1, axis2=2), 0.0)) * scale[:, None] * infl[:, None]
    thermal_ok = np.abs(tc).sum(axis=1) > 0
    last = np.where(valid.any(axis=1), n_hours - 1 - np.argmax(valid[:, ::-1], axis=1), 0)
    level = beta[:, 0] + beta[:, 1] * t_days[last]
    for k in range(3, p):
        level = level + beta[:, k] * xs[k][np.arange(n_lanes), last]
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
    return nanquantile_last(a, 0.5)


def nanquantile_last(a: np.ndarray, q: float) -> np.ndarray:
    """The ``q`` quantile over the last axis ignoring NaN, as ``np.nanquantile`` gives it (linear
    interpolation between order statistics; NaN where all are NaN), from one sort (NaN sort last)
    instead of numpy's row-by-row loop."""
    srt = np.sort(a, axis=-1)
    n = np.isfinite(a).sum(axis=-1)
    if srt.shape[-1] == 0:
        return np.full(n.shape, np.nan)
    p = q * np.maximum(n - 1, 0)
    j0 = np.floor(p).astype(np.int64)
    j1 = np.minimum(j0 + 1, np.maximum(n - 1, 0))
    lo = np.take_along_axis(srt, j0[..., None], axis=-1)[..., 0].astype(np.float64)
    hi = np.take_along_axis(srt, j1[..., None], axis=-1)[..., 0].astype(np.float64)
    with np.errstate(invalid="ignore"):  # rows with no finite value: answered NaN by the where
        return np.where(n > 0, lo + (hi - lo) * (p - j0), np.nan)


def sliding_nanmedian(a: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """The median ignoring NaN of every ``window`` consecutive columns of ``a`` (lanes x hours), and
    how many finite values each had: what :func:`nanmedian_last` gives over
    ``sliding_window_view(a, window, axis=1)``, bit for bit, without sorting each tiny window. The
    ``window`` shifted columns are sorted elementwise by an odd-even transposition network (NaN as
    +inf, so they sort last, as in :func:`nanquantile_last`), then each median is read at the ranks
    its count gives."""
    m = a.shape[1] - window + 1
    if m <= 0 or window <= 0:
        return np.full((a.shape[0], max(m, 0)), np.nan), np.zeros((a.shape[0], max(m, 0)), np.int64)
    s = [np.where(np.isnan(a[:, i : i + m]), np.inf, a[:, i : i + m]) for i in range(window)]
    n = np.zeros(s[0].shape, dtype=np.int64)
    for x in s:
        n += np.isfinite(x)
    tmp = np.empty_like(s[0])
    for r in range(window):
        for i in range(r % 2, window - 1, 2):
            np.minimum(s[i], s[i + 1], out=tmp)
            np.maximum(s[i], s[i + 1], out=s[i + 1])
            s[i], tmp = tmp, s[i]
    out = np.full(s[0].shape, np.nan)
    with np.errstate(invalid="ignore"):
        for c in range(1, window + 1):
            j0, j1 = (c - 1) // 2, c // 2
            lo, hi = s[j0], s[j1]
            out = np.where(n == c, lo + (hi - lo) * (0.5 * (c - 1) - j0), out)
    return out, n


def robust_scale(r: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Each row's residual scale for the Huber weights: 1.4826 x the median absolute deviation of its
    valid residuals (1e-9 where there is none). Taken in float32 (1e-7 relative: far below any weight
    it sets), because numpy sorts float32 rows several times faster than float64 ones."""
    rv = np.where(valid, r, np.nan).astype(np.float32)
    med = nanmedian_last(rv).astype(np.float32)
    scale = 1.4826 * nanmedian_last(np.abs(rv - med[:, None]))
    return np.where(np.isfinite(scale) & (scale > 1e-9), scale, 1e-9)


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
    t = None if temp is None or not temp.size else temp[:, off:]
    # the step columns only for the lanes with a step inside (a dense lanes x hours x steps design of
    # every lane would be 1.5 GB at 500k lanes)
    stepped = np.unique(np.array([li for li, _ in inside], dtype=np.int64))
    plain = np.setdiff1d(np.arange(n_lanes), stepped)
    at = {int(li): j for j, li in enumerate(stepped.tolist())}
    parts = [(plain, fit_trends(y[plain, off:], None if t is None else t[plain], iters=4))]
    if stepped.size:
        design = step_design(stepped.size, hours, [(at[li], hi) for li, hi in inside])
        t_s = None if t is None else t[stepped]
        parts.append((stepped, fit_trends(y[stepped, off:], t_s, steps=design, iters=4)))
    rec = TrendFit.merged(parts, n_lanes, max(p[1].step_sizes.shape[1] for p in parts))
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


def shift_left(a: np.ndarray, shift: int, fill: float | bool | int, *, rows: int = 65_536) -> None:
    """Move the columns (last axis) of ``a`` left by ``shift`` in place, ``fill`` in the vacated ones;
    a block of rows at a time, so the overlap buffer numpy needs stays small."""
    n = a.shape[-1]
    if n == 0 or shift <= 0:
        return
    if shift >= n:
        a[...] = fill
        return
    if a.ndim == 1:
        a[:-shift] = a[shift:].copy()
        a[-shift:] = fill
        return
    for r in range(0, a.shape[0], rows):
        blk = a[r : r + rows]
        blk[:, :-shift] = blk[:, shift:]
        blk[:, -shift:] = fill


def normal_equations(xs: list[np.ndarray], w: np.ndarray, yz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """X'WX (lanes x p x p) and X'Wy (lanes x p) from the design columns: the first two (constant
    and time) shared by every lane, so their sums are one matrix product each; the others lane by
    lane, one elementwise product per pair (few columns over many lanes: memory-bound, so every
    pass over a lanes x hours array counts)."""
    p = len(xs)
    t = xs[1][0]
    a = np.empty((w.shape[0], p, p))
    s0 = w @ np.stack([np.ones_like(t), t, t * t], axis=1)  # sum w, sum w t, sum w t^2
    a[:, 0, 0], a[:, 0, 1], a[:, 1, 1] = s0[:, 0], s0[:, 1], s0[:, 2]
    a[:, 1, 0] = a[:, 0, 1]
    wy = w * yz
    b = np.empty((w.shape[0], p))
    b[:, :2] = wy @ np.stack([np.ones_like(t), t], axis=1)
    own = xs[2:]
    zero = [x.shape[0] == 1 and not x.any() for x in own]
    wx = [x if z else w * x for x, z in zip(own, zero, strict=True)]
    for i, (wxi, xi) in enumerate(zip(wx, own, strict=True)):
        k = i + 2
        if zero[i]:  # a column of zeros: nothing to sum
            a[:, k, :] = a[:, :, k] = 0.0
            b[:, k] = 0.0
            continue
        a[:, k, 0] = a[:, 0, k] = wxi.sum(axis=1)
        a[:, k, 1] = a[:, 1, k] = wxi @ t
        for j in range(i, len(own)):
            if zero[j]:
                continue
            a[:, k, j + 2] = a[:, j + 2, k] = (wxi * own[j]).sum(axis=1) if j != i else (wxi * xi).sum(axis=1)
        b[:, k] = (wy * xi).sum(axis=1)
    return a, b


def predict(xs: list[np.ndarray], beta: np.ndarray) -> np.ndarray:
    out = beta[:, 0:1] * xs[0]
    for i in range(1, len(xs)):
        if i >= 2 and xs[i].shape[0] == 1 and not xs[i].any():
            continue  # a column of zeros
        out = out + beta[:, i : i + 1] * xs[i]
    return out


def _stored(a: np.ndarray) -> np.ndarray:
    """An array as a checkpoint column holds it (Arrow has no float16 that polars reads: float32)."""
    return a.astype(np.float32) if a.dtype == np.float16 else a


class BoundedTrend:
    """The trend fit of :func:`fit_trends` at a cost that does not grow with history.

    The last ``window`` hours of every lane are kept in a ring (lanes x window: Rx, temperature and
    each hour's last Huber weight), in time order with the newest hour in the last column (a push
    shifts the columns in place: a window of the ring is a view, never a copy, for the other
    estimators of a pass); an hour leaving the ring is folded into per-lane sufficient
    statistics (X'WX and X'Wy of the design, with the weight it had in the last fit) and never read
    again. A fit runs IRLS over the ring alone, with the folded hours' statistics added as they stand,
    warm-started from the previous fit: O(lanes x window) per pass, whatever the history.

    The answers differ from :func:`fit_trends` on the whole history in three ways, all confined to
    the hours before the ring: their Huber weights are frozen (not re-weighted by later scale
    estimates), the robust residual scale and the lag-1 inflation of the interval come from the ring's
    residuals, and the thermal term is centred on the running mean temperature. ``tests/analyzer/
    test_bounded_trend.py`` states the tolerance against the full fit. Steps are registered by
    absolute hour (:meth:`add_steps`) while inside the ring (a detector sees a step a few readings
    after it); one older than the ring is placed at the ring's first hour.
    """

    def __init__(
        self, n_lanes: int, window: int = 168, *, kmax: int = 8, ridge: float = 1e-6, thermal: bool = True
    ) -> None:
        self.n_lanes, self.window, self.kmax, self.ridge = n_lanes, window, kmax, ridge
        self.thermal = thermal  # False: no temperature is ever pushed, none is kept (the column is 0)
        p = 3 + kmax
        self.a_old = np.zeros((n_lanes, p, p))
        self.b_old = np.zeros((n_lanes, p))
        self.n_old = np.zeros(n_lanes, dtype=np.int64)
        self.temp_sum = np.zeros(n_lanes)  # over every hour with a reading (ring and folded)
        self.temp_n = np.zeros(n_lanes, dtype=np.int64)
        self.temp_sq = np.zeros(n_lanes)
        self.y = np.full((n_lanes, window), np.nan, dtype=np.float32)  # the ring, oldest first
        self._temp = np.full((n_lanes, window if thermal else 0), np.nan, dtype=np.float32)
        self._temp_of: BoundedTrend | None = None  # the trend whose temperature ring this one reads
        # each ring hour's Huber weight in the last fit: in [0, 1], kept to float16's 1/2048 (what
        # it changes in a folded hour's statistics is far below the fit's own error; 168 MB less per
        # trend at 500k lanes than float32)
        self.w = np.ones((n_lanes, window), dtype=np.float16)
        self.hours = np.full(window, -1, dtype=np.int64)  # absolute hour of each ring column (-1: empty)
        self.fitted = np.zeros(window, dtype=bool)  # the column's weights come from a fit
        self.origin: int | None = None  # absolute hour of t = 0
        self.steps = np.full((n_lanes, kmax), np.iinfo(np.int64).max, dtype=np.int64)
        self.given = self.steps.copy()  # each step's hour as handed over (before placing it in the ring)
        self.n_steps = np.zeros(n_lanes, dtype=np.int64)
        self.beta = np.zeros((n_lanes, p))

    _LANE_ARRAYS: tuple[str, ...] = (
        *("a_old", "b_old", "n_old", "temp_sum", "temp_sq", "temp_n"),
        *("y", "temp", "w", "steps", "given", "n_steps", "beta"),
    )
    _RING_ARRAYS: tuple[str, ...] = ("y", "temp", "w")

    def table(self) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, int | None]]:
        """The whole state as frames (per lane; per ring column) and scalars, for a checkpoint."""
        lanes = pl.DataFrame(
            [
                pl.Series(k, _stored(a.reshape(self.n_lanes, -1) if a.ndim > 1 else a))
                for k in self._LANE_ARRAYS
                for a in (getattr(self, "_temp" if k == "temp" else k),)  # a shared ring: its owner's
                if a.size or not a.ndim > 1
            ]
        )
        ring = pl.DataFrame({"hours": self.hours, "fitted": self.fitted})
        sc = {"window": self.window, "kmax": self.kmax, "origin": self.origin, "thermal": int(self.thermal)}
        return lanes, ring, sc

    @classmethod
    def from_table(
        cls, lanes: pl.DataFrame, ring: pl.DataFrame, scalars: dict[str, int | None], ridge: float = 1e-6
    ) -> BoundedTrend:
        """The state :meth:`table` wrote."""
        window, kmax = int(scalars["window"] or 0), int(scalars["kmax"] or 0)
        thermal = bool(scalars.get("thermal", 1))
        bt = cls(lanes.height, window, kmax=kmax, ridge=ridge, thermal=thermal)
        hours = ring["hours"].to_numpy().astype(np.int64)
        # each kept hour to its column, newest last (a state written before the ring was kept in time
        # order has its columns at hour % window)
        have = np.nonzero(hours >= 0)[0]
        pos = window - 1 - (hours[have].max() - hours[have]) if have.size else have
        for k in cls._LANE_ARRAYS:
            want = getattr(bt, k)
            if k not in lanes.columns:  # e.g. the temperature ring of a trend without one
                continue
            got = lanes[k].to_numpy().astype(want.dtype)
            if k in cls._RING_ARRAYS:
                if want.shape[1]:
                    want[:, pos] = got.reshape(lanes.height, -1)[:, have]
            else:
                setattr(bt, k, got.reshape(want.shape))
        bt.hours[pos] = hours[have]
        bt.fitted[pos] = ring["fitted"].to_numpy().astype(bool)[have]
        bt.origin = None if scalars["origin"] is None else int(scalars["origin"])
        return bt

    @property
    def temp(self) -> np.ndarray:
        """The ring's module temperatures (lanes x window; none without a thermal term)."""
        return self._temp if self._temp_of is None else self._temp_of.temp

    def share_temperature(self, owner: BoundedTrend) -> None:
        """Read the temperature ring of ``owner`` (a trend of the same lanes, handed the same hours)
        instead of keeping one: the same readings, held once. This trend must be handed each hour before
        ``owner`` is (it folds and replaces hours by the temperatures the ring holds until then), and is
        then written by ``owner`` alone."""
        if owner.temp.shape != (self.n_lanes, self.window) or not self.thermal:
            raise ValueError("a shared temperature ring needs a thermal trend of the same lanes and window")
        self._temp_of, self._temp = owner, np.empty((self.n_lanes, 0), dtype=np.float32)

    @property
    def n_hours(self) -> np.ndarray:
        """Hours with a reading per lane, folded and in the ring."""
        return self.n_old + np.isfinite(self.y).sum(axis=1)

    def add_steps(self, lanes: np.ndarray, hours: np.ndarray) -> None:
        """Register steps (lane index, absolute hour of the first reading after the change); a lane's
        first ``kmax`` steps get a column, as in :func:`step_design`. Known (lane, hour) pairs are
        ignored, so the detector's answer can be handed over on every pass."""
        first = int(self.hours[self.hours >= 0].min()) if (self.hours >= 0).any() else 0
        for li, h in zip(np.asarray(lanes, dtype=np.int64), np.asarray(hours, dtype=np.int64), strict=True):
            k = int(self.n_steps[li])
            if k >= self.kmax or (self.given[li, :k] == h).any():  # known by the hour it was given
                continue
            self.given[li, k] = h
            self.steps[li, k] = max(int(h), first)
            self.n_steps[li] = k + 1

    def push(
        self, hours: np.ndarray, y: np.ndarray, temp: np.ndarray | None = None, *, iters: int = 3
    ) -> None:
        """Append hours (ascending absolute hour indexes; lanes x hours of Rx and temperature); an hour
        still in the ring is replaced (the newest hour may have been handed over while open).
        Hours that fall out of the window are folded into the sufficient statistics with their weights
        in the last fit (a fit of ``iters`` IRLS iterations runs first if one of them was never fitted:
        a long history goes in window by window; a pass per hour or so never needs the extra fit)."""
        hours = np.asarray(hours, dtype=np.int64)
        if self.origin is None and hours.size:
            self.origin = int(hours[0])
        for s in range(0, hours.size, self.window):
            sl = slice(s, s + self.window)
            t = None if temp is None or not self.thermal else np.asarray(temp[:, sl])
            self._push_chunk(hours[sl], np.asarray(y[:, sl]), t, iters)

    @property
    def newest(self) -> int | None:
        """The newest hour in the ring (its last column), None while empty."""
        return int(self.hours[-1]) if self.hours[-1] >= 0 else None

    def columns(self, hours: np.ndarray) -> np.ndarray:
        """The ring columns of ``hours`` (at most a window before the newest)."""
        return self.window - 1 - ((self.newest or 0) - np.asarray(hours, dtype=np.int64))

    def _push_chunk(self, hours: np.ndarray, y: np.ndarray, temp: np.ndarray | None, iters: int) -> None:
        newest = self.newest
        ref = int(hours[-1]) if newest is None else max(newest, int(hours[-1]))
        leaving = np.nonzero((self.hours >= 0) & (self.hours <= ref - self.window))[0]
        if leaving.size:
            if not self.fitted[leaving].all():
                self.fit(iters=iters)  # the leaving hours' weights as the data up to now gives them
            self._fold(leaving)
        if newest is not None and ref > newest:  # the columns move left; the leaving ones drop out
            shift = ref - newest
            for a, fill in ((self.y, np.nan), (self._temp, np.nan), (self.w, 1.0)):
                shift_left(a, shift, fill)
            shift_left(self.hours, shift, -1)
            shift_left(self.fitted, shift, False)
        elif newest is None:
            self.hours[-1] = ref  # the ring's reference: the columns below are placed against it
        keep = hours > ref - self.window
        hours, y = hours[keep], y[:, keep]
        cols = self.window - 1 - (ref - hours)
        again = self.hours[cols] == hours  # an hour handed over before (it was still open): replaced
        if self.thermal and again.any():
            t_old = self.temp[:, cols[again]].astype(np.float64)
            ok_old = np.isfinite(t_old) & np.isfinite(self.y[:, cols[again]])
            tz_old = np.where(ok_old, t_old, 0.0)
            self.temp_sum -= tz_old.sum(axis=1)
            self.temp_sq -= (tz_old * tz_old).sum(axis=1)
            self.temp_n -= ok_old.sum(axis=1)
        self.y[:, cols] = y
        self.w[:, cols] = 1.0
        self.hours[cols] = hours
        self.fitted[cols] = False
        if self.thermal:
            temp = np.full(y.shape, np.nan) if temp is None else temp[:, keep]
            if self._temp_of is None:
                self._temp[:, cols] = temp
            t_ok = np.isfinite(temp) & np.isfinite(y)
            tz = np.where(t_ok, temp, 0.0)
            self.temp_sum += tz.sum(axis=1)
            self.temp_sq += (tz * tz).sum(axis=1)
            self.temp_n += t_ok.sum(axis=1)

    def _tmean(self, idx: np.ndarray) -> np.ndarray:
        n = self.temp_n[idx]
        return np.divide(self.temp_sum[idx], n, out=np.zeros(idx.size), where=n > 0)

    def _design(
        self, idx: np.ndarray, cols: np.ndarray, p: int
    ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """(the p design columns, each lanes x hours (broadcast), y with 0 where missing, valid) for
        ring columns ``cols`` of lanes ``idx``."""
        y = self.y[np.ix_(idx, cols)].astype(np.float64)
        valid = np.isfinite(y)
        tm = self._tmean(idx)[:, None]
        hrs = self.hours[cols]
        t_days = ((hrs - (self.origin or 0)) / 24.0)[None, :]
        if self.thermal:
            temp = self.temp[np.ix_(idx, cols)].astype(np.float64)
            tcol = np.where(np.isfinite(temp), temp, tm)
        else:
            tcol = np.zeros((1, hrs.size))  # no temperature: a zero column (its sums are skipped)
        xs = [np.ones((1, hrs.size)), t_days, tcol]
        for k in range(p - 3):
            xs.append((hrs[None, :] >= self.steps[idx, k][:, None]).astype(np.float64))
        return xs, np.where(valid, y, 0.0), valid

    def _fold(self, cols: np.ndarray) -> None:
        for idx, p in self._groups():
            xs, yz, valid = self._design(idx, cols, p)
            w = np.where(valid, self.w[np.ix_(idx, cols)], 0.0)
            a, b = normal_equations(xs, w, yz)
            self.a_old[idx, :p, :p] += a
            self.b_old[idx, :p] += b
            self.n_old[idx] += valid.sum(axis=1)

    def _groups(self, chunk: int = LANE_CHUNK) -> Iterator[tuple[np.ndarray, int]]:
        """Lanes by their number of steps (the design's width), in chunks that bound the temporaries."""
        for k in np.unique(self.n_steps):
            lanes = np.nonzero(self.n_steps == k)[0]
            for s in range(0, lanes.size, chunk):
                yield lanes[s : s + chunk], 3 + int(k)

    def fit(self, *, iters: int = 3) -> TrendFit:
        """IRLS (Huber) over the ring with the folded statistics, warm-started; every lane at once."""
        n_lanes = self.n_lanes
        out = {
            k: np.full(n_lanes, np.nan)
            for k in ("drift", "drift_se", "thermal", "thermal_se", "level", "sigma")
        }
        step_sizes = np.zeros((n_lanes, self.kmax))
        cols = np.arange(self.window)
        chrono = np.argsort(np.where(self.hours < 0, np.iinfo(np.int64).min, self.hours), kind="stable")
        n_hours = self.n_hours
        for idx, p in self._groups():
            xs, yz, valid = self._design(idx, cols, p)
            a0 = self.a_old[idx, :p, :p] + np.eye(p) * self.ridge
            b0 = self.b_old[idx, :p]
            w = np.where(valid, self.w[idx], 0.0)
            beta = self.beta[idx, :p]
            scale = np.ones(idx.size)
            for _ in range(max(iters, 1)):
                a, b = normal_equations(xs, w, yz)
                beta = np.linalg.solve(a0 + a, (b0 + b)[:, :, None])[:, :, 0]
                r = yz - predict(xs, beta)
                scale = robust_scale(r, valid)
                ar = np.abs(r) / (HUBER_K * scale[:, None])
                w = np.where(valid, np.minimum(1.0, 1.0 / np.maximum(ar, 1e-12)), 0.0)
            self.w[idx] = np.where(valid, w, 1.0)
            self.beta[idx, :p] = beta
            cov = np.linalg.inv(a0 + normal_equations(xs, w, yz)[0])
            rho = _lag1(np.where(valid, r, np.nan)[:, chrono])
            infl = np.sqrt((1 + rho) / (1 - rho))
            se = np.sqrt(np.maximum(np.diagonal(cov, axis1=1, axis2=2), 0.0)) * (scale * infl)[:, None]
            ok = n_hours[idx] > p + 2
            n_t = np.maximum(self.temp_n[idx], 1)
            t_var = self.temp_sq[idx] / n_t - (self.temp_sum[idx] / n_t) ** 2
            thermal_ok = ok & (self.temp_n[idx] > 0) & (t_var > 1e-12)
            last = np.where(valid, self.hours[None, :], -1).max(axis=1)
            level = (
                beta[:, 0] + beta[:, 1] * (last - (self.origin or 0)) / 24.0 + beta[:, 2] * self._tmean(idx)
            )
            if p > 3:
                level = level + (beta[:, 3:] * (last[:, None] >= self.steps[idx, : p - 3])).sum(axis=1)
            nan = np.nan
            out["drift"][idx] = np.where(ok, beta[:, 1], nan)
            out["drift_se"][idx] = np.where(ok, se[:, 1], nan)
            out["thermal"][idx] = np.where(thermal_ok, beta[:, 2], nan)
            out["thermal_se"][idx] = np.where(thermal_ok, se[:, 2], nan)
            out["level"][idx] = np.where(ok & (last >= 0), level, nan)
            out["sigma"][idx] = np.where(ok, scale, nan)
            step_sizes[idx, : p - 3] = beta[:, 3:]
        self.fitted[self.hours >= 0] = True
        fin = np.isfinite(self.y)
        last_all = np.where(
            fin.any(axis=1), self.hours[self.window - 1 - np.argmax(fin[:, ::-1], axis=1)], -1
        )
        del fin
        return TrendFit(
            drift_db_per_day=out["drift"],
            drift_se=out["drift_se"],
            thermal_db_per_c=out["thermal"],
            thermal_se=out["thermal_se"],
            level_db=out["level"],
            resid_sigma_db=out["sigma"],
            n_hours=n_hours,
            step_sizes=step_sizes,
            last_hour=last_all,
        )
