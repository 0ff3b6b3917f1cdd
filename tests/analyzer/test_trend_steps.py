from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from analyzer.spec import LinkSpec
from analyzer.steps import attribute_steps, detect_steps
from analyzer.trend import fit_trends, step_design

from .helpers import T0, one_link_spec


def _synthetic(rng: np.random.Generator, n_lanes: int, n_hours: int, slope: np.ndarray, kth: np.ndarray):
    h = np.arange(n_hours)
    temp = 40 + 4 * np.sin(2 * np.pi * h / 24)[None, :] + rng.normal(0, 0.3, (n_lanes, n_hours))
    y = (
        -3.0
        + slope[:, None] * h[None, :] / 24
        + kth[:, None] * (temp - 40)
        + rng.normal(0, 0.05, (n_lanes, n_hours))
    )
    return y, temp


def test_known_slope_and_thermal_coefficient_recovered() -> None:
    rng = np.random.default_rng(1)
    slope = np.array([0.0, -0.02, -0.1, 0.01])
    kth = np.array([-0.02, 0.0, -0.05, 0.03])
    y, temp = _synthetic(rng, 4, 24 * 14, slope, kth)
    y[1, 50] = 10.0  # an outlier the Huber fit must shrug off
    y[2, 100:110] = np.nan  # a gap
    fit = fit_trends(y, temp)
    lo = fit.drift_db_per_day - 1.96 * fit.drift_se
    hi = fit.drift_db_per_day + 1.96 * fit.drift_se
    assert np.all((lo <= slope) & (slope <= hi)), (fit.drift_db_per_day, fit.drift_se)
    assert np.all(fit.drift_se < 0.005)
    np.testing.assert_allclose(fit.thermal_db_per_c, kth, atol=0.006)
    assert np.all(np.abs(fit.thermal_db_per_c - kth) <= 3 * fit.thermal_se + 1e-3)


def test_step_does_not_masquerade_as_drift() -> None:
    rng = np.random.default_rng(2)
    y, temp = _synthetic(rng, 1, 24 * 10, np.array([0.0]), np.array([-0.03]))
    y[0, 120:] -= 1.2
    steps = detect_steps(y, temp)
    assert steps.height == 1
    assert steps["hour_idx"][0] == 120
    assert abs(steps["size_db"][0] + 1.2) < 0.1
    fit = fit_trends(y, temp, steps=step_design(1, y.shape[1], [(0, 120)]))
    assert abs(fit.drift_db_per_day[0]) < 3 * fit.drift_se[0] + 0.002
    assert abs(fit.step_sizes[0, 0] + 1.2) < 0.05
    naive = fit_trends(y, temp)
    assert naive.drift_db_per_day[0] < -0.1  # without the step the fit would have called it drift


def test_a_lanes_fit_does_not_depend_on_the_other_lanes_steps() -> None:
    """Each lane is fitted with its own step columns: a lane with one step, fitted beside a lane with
    three and a lane with none, gets what it gets alone, and a short lane keeps its degrees of freedom."""
    rng = np.random.default_rng(4)
    y, temp = _synthetic(rng, 4, 48, np.array([-0.2, 0.0, 0.1, 0.0]), np.array([-0.02, 0.0, 0.01, 0.0]))
    y[0, 20:] -= 0.8
    y[1, 10:] -= 0.5
    y[1, 25:] -= 0.5
    y[1, 40:] += 0.4
    y[3, :-7] = np.nan  # 7 hours: 3 columns + 2 < 7, enough without steps, not with three
    pairs = [(0, 20), (1, 10), (1, 25), (1, 40)]
    together = fit_trends(y, temp, steps=step_design(4, 48, pairs), iters=4)
    for li, own in ((0, [(0, 20)]), (2, []), (3, [])):
        alone = fit_trends(
            y[li : li + 1], temp[li : li + 1], steps=step_design(1, 48, own) if own else None, iters=4
        )
        for f in ("drift_db_per_day", "drift_se", "thermal_db_per_c", "level_db", "resid_sigma_db"):
            np.testing.assert_allclose(getattr(together, f)[li], getattr(alone, f)[0], rtol=1e-9, atol=1e-12)
        assert np.all(together.step_sizes[li, len(own) :] == 0.0)
    assert np.isfinite(together.drift_db_per_day[3])
    assert together.step_sizes.shape == (4, 3)
    np.testing.assert_allclose(together.step_sizes[1], [-0.5, -0.5, 0.4], atol=0.1)


def test_step_at_known_event_attributed_and_unexplained_reported() -> None:
    rng = np.random.default_rng(3)
    n_hours = 24 * 8
    y, temp = _synthetic(rng, 2, n_hours, np.array([0.0, 0.0]), np.array([0.0, 0.0]))
    y[:, 60:] -= 0.8  # both lanes: mating of the MMC at hour 59.5
    y[1, 150:] -= 0.6  # lane 2 only: nothing recorded
    base = one_link_spec(lanes=2)
    events = [
        {"point": "P-mmc", "ts": T0 + timedelta(hours=59.5), "kind": "mated"},
        {"point": "P-mtp", "ts": T0 + timedelta(hours=20), "kind": "cleaned"},
    ]
    spec = LinkSpec.build(base.lanes, base.points, events)
    hours = int(T0.timestamp()) // 3600 + np.arange(n_hours)
    steps = detect_steps(y, temp)
    att = attribute_steps(steps, spec, hours).sort("lane", "step_ts")
    assert att.height == 3
    explained = att.filter(pl.col("explained"))
    assert explained["point"].to_list() == ["P-mmc", "P-mmc"]
    assert explained["event_kind"].to_list() == ["mated", "mated"]
    assert explained["family"].to_list() == ["MMC", "MMC"]
    np.testing.assert_allclose(explained["loss_db"].to_numpy(), 0.8, atol=0.1)
    unexplained = att.filter(~pl.col("explained"))
    assert unexplained["lane"].to_list() == [2]
    assert unexplained["step_ts"][0] == T0 + timedelta(hours=150)


def test_a_step_between_readings_two_hours_apart_is_measured_at_full_size() -> None:
    from analyzer.steps import detect_steps

    rng = np.random.default_rng(11)
    y = np.full((3, 96), np.nan)
    for lane in range(3):
        y[lane, ::2] = -1.3 + rng.normal(0, 0.01, 48)  # a device polled every second hour
    y[:, 51:] -= 2.16  # the step lands in an hour without a reading (hour 51)
    steps = detect_steps(y)
    assert steps.height == 3
    np.testing.assert_allclose(steps["size_db"].to_numpy(), -2.16, atol=0.05)
    assert set(steps["hour_idx"].to_list()) == {52}  # the first reading after the change


def test_a_device_polled_every_6_hours_still_shows_its_mating_step() -> None:
    # one reading per 6 h: the windows count readings, so 21 days give 84 readings to scan, and the
    # mating at hour 249 (between the readings at 246 and 252) explains the step
    rng = np.random.default_rng(5)
    n_hours = 24 * 21
    y, temp = _synthetic(rng, 2, n_hours, np.array([0.0, -0.01]), np.array([-0.03, -0.02]))
    y[:, 250:] -= 0.9
    sparse = np.full_like(y, np.nan)
    sparse[:, ::6] = y[:, ::6]
    base = one_link_spec(lanes=2)
    spec = LinkSpec.build(
        base.lanes, base.points, [{"point": "P-mmc", "ts": T0 + timedelta(hours=249), "kind": "mated"}]
    )
    steps = detect_steps(sparse, temp)
    assert steps.height == 2
    assert steps["hour_idx"].to_list() == [252, 252] and steps["prev_hour_idx"].to_list() == [246, 246]
    np.testing.assert_allclose(steps["size_db"].to_numpy(), -0.9, atol=0.1)
    att = attribute_steps(steps, spec, int(T0.timestamp()) // 3600 + np.arange(n_hours))
    assert att["explained"].all() and att["point"].to_list() == ["P-mmc", "P-mmc"]
    # the same readings without the empty hours between them give the same steps: only readings count
    dense = detect_steps(sparse[:, ::6], temp[:, ::6])
    np.testing.assert_allclose(dense["size_db"].to_numpy(), steps["size_db"].to_numpy(), rtol=1e-12)
    assert dense["hour_idx"].to_list() == [42, 42]


def test_a_step_shows_with_half_a_window_of_readings_after_it_and_noise_alone_does_not() -> None:
    """At the demo's pace (a simulated hour every 6 s) a lane has 9 hourly readings when a step 3
    readings ago must already show; 200 noise-only lanes of 6-9 readings must show none."""
    from analyzer.steps import detect_steps

    rng = np.random.default_rng(4)
    y = -3.0 + rng.normal(0, 0.05, (1, 9))
    y[0, 6:] -= 1.0
    st = detect_steps(y)
    assert st.height == 1 and st["hour_idx"][0] == 6 and st["size_db"][0] == pytest.approx(-1.0, abs=0.1)
    noise = -3.0 + rng.normal(0, 0.05, (200, 9))
    noise[:100, 6:] = np.nan  # lanes with only 6 readings
    assert detect_steps(noise).height == 0
