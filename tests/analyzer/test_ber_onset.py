"""Where a lane's margin rests on its BER, a recent fall of the BER margin replaces the slope of its
whole history, as a recent fall of Rx does (:func:`analyzer.trend.recent_onset`).

Five 4-lane 400G (KP4) links, 8 days of hourly DOM Rx (0.1 dB steps), module temperature and per-lane
pre-FEC BER from the core's Gaussian-decision curve (the test is about the analyzer's logic):

- ``L-refl``: Rx flat, its DOM 1.5 dB above the margin the BER implies; the BER margin holds 1.6 dB for
  five days, then falls 0.15 dB/day (a reflection penalty growing with thermal cycles);
- ``L-flat1`` .. ``L-flat4``: true margin 1.2-1.5 dB, flat, the BER following.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from analyzer.analysis import Analysis
from analyzer.spec import LinkSpec
from linkmargin.budget import ber_at_margin_db

from .helpers import analyzed, daily_passes, kp4_fleet

DAYS = 8
SENS = -7.0
LIMIT = 2.4e-4
LINKS = ("L-refl", "L-flat1", "L-flat2", "L-flat3", "L-flat4")


def _lane(i: int, link: str, ln: int, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if link == "L-refl":
        ber_m = 1.6 + 0.02 * ln - 0.15 * np.clip(h / 24.0 - 5.0, 0.0, None)
        return np.full(h.size, 3.1 + 0.02 * ln), ber_at_margin_db(ber_m, LIMIT)
    dom = np.full(h.size, 1.1 + 0.1 * i + 0.02 * ln)
    return dom, ber_at_margin_db(dom, LIMIT)


def _fleet() -> tuple[LinkSpec, pl.DataFrame]:
    return kp4_fleet(LINKS, _lane, days=DAYS, seed=5, sens=SENS, limit=LIMIT, ber_noise=0.01)


def _check(an: Analysis) -> None:
    refl = an.lanes.filter(pl.col("link") == "L-refl")
    assert refl["recent_onset"].all()
    # the last 48 h fall at 0.15 dB/day; the whole history's slope is a third of that
    assert refl["drift_shrunk"].to_numpy() == pytest.approx(-0.15, abs=0.03)
    assert (refl["ber_drift_db_per_day"].to_numpy() > -0.1).all()
    # ~1.15 dB left, falling 0.15 dB/day: it crosses within the 21 days
    assert an.forecasts["21d"].filter(pl.col("link") == "L-refl")["p_cross"][0] > 0.9
    flat = an.lanes.filter(pl.col("link") != "L-refl")
    assert not flat["recent_onset"].any()
    assert an.forecasts["21d"].filter(pl.col("link") != "L-refl")["p_cross"].max() < 0.2


def test_a_recent_fall_of_the_ber_margin_is_the_slope_in_the_full_pass() -> None:
    _check(analyzed(*_fleet(), DAYS))


def test_a_recent_fall_of_the_ber_margin_is_the_slope_in_the_bounded_pass() -> None:
    _check(daily_passes(*_fleet(), DAYS)[0])


def test_the_ber_onset_in_chunks_of_lanes_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = analyzed(*_fleet(), DAYS).lanes
    monkeypatch.setattr("analyzer.trend.LANE_CHUNK", 3)  # chunks that split a port's lanes
    chunked = analyzed(*_fleet(), DAYS).lanes
    for c in ("drift_shrunk", "drift_shrunk_sd"):  # the same up to the order of sums in the fits
        got, want = chunked[c].to_numpy(), whole[c].to_numpy()
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=c)
    assert chunked["recent_onset"].to_list() == whole["recent_onset"].to_list()
    assert whole["recent_onset"].sum() == 4  # the four lanes of L-refl, in two chunks of 3
