"""Laser aging from bias against its own temperature baseline: known rises, known thermal swings."""

from __future__ import annotations

import numpy as np

from analyzer.forecast import with_pending_decline
from analyzer.laser import (
    AGING_RISE,
    CLIMB_PER_DAY,
    EOL_RISE,
    FAILING_DECLINE_DB_PER_DAY,
    bias_climb,
    bias_rise,
    decline_prior,
    failing,
    headroom_days,
    relative_bias,
)


def _fleet(hours: int = 24 * 6, lanes: int = 40, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(hours)
    # module temperature: daily swing of +-5 C around a per-lane mean, plus reading noise
    temp = 45 + rng.normal(0, 3, (lanes, 1)) + 5 * np.sin(2 * np.pi * t / 24)[None, :]
    temp = temp + rng.normal(0, 0.2, temp.shape)
    base = rng.uniform(6, 12, (lanes, 1))  # bias differs by lot and device
    bias = base * (1 + 0.006 * (temp - 45)) + rng.normal(0, 0.02, temp.shape)
    return bias, temp


def test_thermal_swing_alone_is_not_aging() -> None:
    bias, temp = _fleet()
    rise = bias_rise(relative_bias(bias, temp))
    assert np.all(np.abs(rise) < 0.02)  # the temperature fit takes the swing out
    assert np.all(rise < AGING_RISE)


def test_known_rise_is_recovered() -> None:
    bias, temp = _fleet()
    rises = np.linspace(0.0, 0.6, bias.shape[0])
    bias[:, -6:] *= 1 + rises[:, None]  # the last 6 h run at a known fraction above baseline
    got = bias_rise(relative_bias(bias, temp))
    np.testing.assert_allclose(got, rises, atol=0.02)
    clear = np.abs(rises - AGING_RISE) > 0.02  # away from the threshold the verdict is right
    assert np.array_equal((got >= AGING_RISE)[clear], (rises >= AGING_RISE)[clear])


def test_a_rise_that_began_inside_the_history_is_measured_against_the_young_laser() -> None:
    bias, temp = _fleet(hours=50)
    # from hour 2 the bias climbs to +50 % over a day, then holds (an APC loop covering an aging laser)
    ramp = 1 + 0.5 * np.clip((np.arange(50) - 2) / 24.0, 0.0, 1.0)
    got = bias_rise(relative_bias(bias * ramp[None, :], temp))
    assert np.all(got > 0.4) and np.all(got < 0.6)


def test_without_temperature_a_hot_afternoon_is_not_a_rise_of_aging_size() -> None:
    bias, _ = _fleet()
    rise = bias_rise(relative_bias(bias, None))
    assert np.all(np.abs(rise) < 0.05)


def test_too_little_history_or_no_bias_is_unknown() -> None:
    bias, temp = _fleet(hours=16)
    assert np.isnan(bias_rise(relative_bias(bias, temp))).all()  # 10 h of baseline before the recent window
    bias, temp = _fleet()
    bias[3] = np.nan
    bias[4] = 0.0  # a dark laser reports 0 mA
    rise = bias_rise(relative_bias(bias, temp))
    assert np.isnan(rise[3]) and np.isnan(rise[4])
    assert np.isfinite(np.delete(rise, [3, 4])).all()


def test_climb_is_the_known_rate_and_flags_a_laser_before_it_is_far_up() -> None:
    bias, temp = _fleet(hours=60)
    # the last 9 h climb at 50 %/day: +19 % now, under AGING_RISE, but no thermal swing does that
    ramp = 1 + 0.5 * np.clip((np.arange(60) - 51) / 24.0, 0.0, None)
    bias[:20] *= ramp[None, :]
    rel = relative_bias(bias, temp, recent_hours=9)
    climb = bias_climb(rel, hours=9)
    rise = bias_rise(rel, hours=3)
    np.testing.assert_allclose(climb[:20], 0.5, atol=0.05)
    assert np.all(np.abs(climb[20:]) < CLIMB_PER_DAY / 2)
    assert np.all(rise[:20] < AGING_RISE)
    assert failing(rise, climb).tolist() == [True] * 20 + [False] * 20


def test_decline_prior_is_the_fleets_own_once_it_has_seen_enough() -> None:
    drift = np.array([-0.8, -0.6, -0.7, -0.01, 0.0])
    falling = np.array([True, True, False, False, False])
    assert decline_prior(drift, falling) == (FAILING_DECLINE_DB_PER_DAY, FAILING_DECLINE_DB_PER_DAY / 2)
    falling[2] = True
    rate, sd = decline_prior(drift, falling)
    assert rate == 0.7 and 0 < sd < 0.7


def test_one_reading_per_4_hours_still_takes_the_temperature_out() -> None:
    """Polled once every 4 h, the hourly matrix has three empty hours between readings, so hour-to-hour
    changes are all NaN and the temperature slope was 0: bias at 1.2 %/C through a daily swing of +-5 C
    and a +4 C warm-up (the training load starting again) read as a 5-6 % rise, where the failing call
    needs 5 % with a climb of 0.1/day (training-21d at 4 h called 64 lasers failing at one pass, at
    rises of 0.050-0.055). From the changes between consecutive readings the swing is taken out, and a
    laser really climbing 12 %/day is still called."""
    rng = np.random.default_rng(5)
    lanes, hours = 40, 24 * 6
    t = np.arange(hours)
    load = np.where(t >= hours - 18, 4.0, 0.0)  # the load comes back 18 h before the pass
    temp = 45 + rng.normal(0, 2, (lanes, 1)) + 5 * np.sin(2 * np.pi * t / 24)[None, :] + load[None, :]
    bias = rng.uniform(6, 12, (lanes, 1)) * (1 + 0.012 * (temp - 45)) + rng.normal(0, 0.01, temp.shape)
    bias[-1] *= 1 + 0.12 * np.clip((t - (hours - 48)) / 24.0, 0.0, None)  # one laser climbing 12 %/day
    sparse = np.full(bias.shape, np.nan)
    sparse[:, ::4] = bias[:, ::4]
    temp_sparse = np.where(np.isfinite(sparse), temp, np.nan)
    rel = relative_bias(sparse, temp_sparse)
    called = failing(bias_rise(rel), bias_climb(rel))
    assert not called[:-1].any()
    assert np.abs(bias_rise(rel)[:-1]).max() < 0.04
    assert called[-1]


def test_headroom_is_the_linear_time_to_the_end_of_life_rise() -> None:
    rise = np.array([0.2, 0.2, 0.2, 0.55, np.nan, 0.3])
    climb = np.array([0.03, 0.0, -0.01, 0.0, 0.05, np.nan])
    got = headroom_days(rise, climb)
    np.testing.assert_allclose(got[0], (EOL_RISE - 0.2) / 0.03)  # 10 days at +3 %/day
    assert np.isinf(got[1]) and np.isinf(got[2]) and np.isinf(got[5])  # not climbing: no date
    assert got[3] == 0.0  # past it: falling may start now
    np.testing.assert_allclose(got[4], EOL_RISE / 0.05)  # no rise known: from the baseline


def test_a_fall_that_starts_inside_the_horizon_counts_for_the_share_after_it() -> None:
    drift = np.array([-0.01, -0.01, -0.01, -0.5, -0.01])
    sd = np.full(5, 0.005)
    after = np.array([0.0, 10.0, 30.0, 0.0, np.nan])
    rate, rate_sd = np.full(5, 0.3), np.full(5, 0.15)
    d, s = with_pending_decline(drift, sd, after, rate, rate_sd, 20.0)
    np.testing.assert_allclose(d, [-0.3, -0.15, -0.01, -0.5, -0.01])  # ends the horizon where the fall would
    np.testing.assert_allclose(s, [0.15, 0.075, 0.005, 0.15, 0.005])
    # the same lane at a 10-day horizon: the fall has not begun by its end
    d10, _ = with_pending_decline(drift, sd, after, rate, rate_sd, 10.0)
    assert d10[1] == -0.01
