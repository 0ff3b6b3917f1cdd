"""A recent slope (a laser starting to fail) overrides a diluted whole-history drift; a step does not."""

from __future__ import annotations

import numpy as np

from analyzer.trend import recent_onset


def _lanes() -> tuple[np.ndarray, list[tuple[int, int]]]:
    rng = np.random.default_rng(3)
    hours = 10 * 24
    t = np.arange(hours) / 24.0
    noise = rng.normal(0, 0.03, (3, hours))
    flat = np.full(hours, 3.0)
    failing = np.where(t < 8, 3.0, 3.0 - 1.0 * (t - 8))  # 1 dB/day over the last 2 days
    stepped = np.where(np.arange(hours) < hours - 10, 3.0, 1.0)  # a 2 dB step 10 h ago
    return np.stack([flat, failing, stepped]) + noise, [(2, hours - 10)]


def test_onset_found_only_where_the_recent_slope_is_real() -> None:
    y, steps = _lanes()
    whole = np.array([0.0, -0.1, -0.2])  # what a whole-history fit would say (diluted)
    sd = np.full(3, 0.01)
    drift, drift_sd, onset = recent_onset(y, None, steps, whole, sd)
    assert onset.tolist() == [False, True, False]
    assert abs(drift[1] + 1.0) < 0.1
    assert drift[0] == 0.0 and drift[2] == -0.2  # unchanged where there is no onset
    assert drift_sd[1] < 0.1


def test_short_history_is_left_alone() -> None:
    y, _ = _lanes()
    whole, sd = np.zeros(3), np.full(3, 0.01)
    drift, _, onset = recent_onset(y[:, :24], None, [], whole, sd)
    assert not onset.any() and (drift == whole).all()


def test_a_day_of_decline_in_less_than_two_days_of_history_is_found() -> None:
    # the demo's failing laser: 16 h of flat readings, then a day falling at 0.8 dB/day
    rng = np.random.default_rng(5)
    t = np.arange(40) / 24.0
    fall = np.where(t < 16 / 24, 3.0, 3.0 - 0.8 * (t - 16 / 24))
    y = np.stack([np.full(40, 3.0), fall]) + rng.normal(0, 0.03, (2, 40))
    whole, sd = np.array([0.0, -0.4]), np.full(2, 0.05)
    _, _, without = recent_onset(y, None, [], whole, sd)
    assert not without.any()  # two days of history: a lane needs the aging laser's evidence
    drift, _, onset = recent_onset(y, None, [], whole, sd, evidence=np.array([True, True]))
    assert onset.tolist() == [False, True]
    assert abs(drift[1] + 0.8) < 0.1


def test_an_aging_laser_needs_less_evidence_from_the_slope() -> None:
    rng = np.random.default_rng(8)
    t = np.arange(96) / 24.0
    slow = np.where(t < 2, 3.0, 3.0 - 0.07 * (t - 2))  # within 2-4 standard errors of flat
    row = slow + rng.normal(0, 0.1, 96)
    y = np.stack([row, row])  # the same readings; only the bias evidence differs
    whole, sd = np.zeros(2), np.full(2, 0.02)
    _, _, plain = recent_onset(y, None, [], whole, sd, z=4.0)
    _, _, with_bias = recent_onset(y, None, [], whole, sd, evidence=np.array([False, True]))
    assert plain.tolist() == [False, False]
    assert with_bias.tolist() == [False, True]
