"""The drawn margin path of the pre-flight report ends where the forecast's P comes from.

A lane whose far laser is failing but not falling yet: its margin drifts at its own -0.01 dB/day until
the bias has used its headroom (5 days), then falls at 0.3 dB/day. The forecast takes that fall
(analyzer.forecast.with_pending_decline); the report's path must too, not the flat drift alone.
"""

from __future__ import annotations

import numpy as np
import pytest

from analyzer.report import margin_path

LANE = {
    "forecast_base_db": 2.0,
    "drift_shrunk": -0.01,
    "drift_shrunk_sd": 0.002,
    "resid_sigma_db": 0.05,
    "decline_after_days": 5.0,
    "decline_db_per_day": 0.3,
    "decline_sd": 0.1,
}


def test_the_path_of_a_failing_laser_falls_once_its_headroom_is_used() -> None:
    mean, sd = margin_path(LANE, np.array([0.0, 3.0, 10.0, 21.0]))
    assert mean[0] == pytest.approx(2.0)
    assert mean[1] == pytest.approx(2.0 - 0.03)  # before the fall: the lane's own drift
    assert mean[2] == pytest.approx(2.0 - 0.3 * 5)  # five days of fall by day 10
    assert mean[3] == pytest.approx(2.0 - 0.3 * 16)
    assert sd[2] == pytest.approx(np.hypot(0.1 * 0.5 * 10, 0.05))  # the fall's spread, its share of the days


def test_a_lane_without_a_pending_fall_drifts() -> None:
    lane = LANE | {"decline_after_days": None, "decline_db_per_day": None, "decline_sd": None}
    mean, sd = margin_path(lane, np.array([10.0]))
    assert mean[0] == pytest.approx(2.0 - 0.1)
    assert sd[0] == pytest.approx(np.hypot(0.02, 0.05))
