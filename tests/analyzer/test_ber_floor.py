"""A port whose BER stays put while its power falls is at its error floor: the BER sets neither its
DOM offset, nor its margin, nor the margin's slope.

Five 4-lane 400G (KP4) links, 8 days of hourly DOM Rx (0.1 dB steps), module temperature and per-lane
pre-FEC BER (the test is about the analyzer's logic, so the BER comes from the core's curve):

- ``L-floor``: true margin 4.0 dB falling 0.1 dB/day, DOM exact; its receiver's BER is an error floor
  that implies ~1.5 dB whatever the power (the backtest's far links with a failing laser);
- ``L-ok1`` .. ``L-ok4``: true margin 1.1-1.7 dB with a +-0.15 dB daily swing, flat; their BER follows
  the power, and the modules of L-ok1 and L-ok3 read 0.5 dB high (an offset the BER must still correct).
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
LINKS = ("L-floor", "L-ok1", "L-ok2", "L-ok3", "L-ok4")


def _lane(i: int, link: str, ln: int, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    swing = 0.15 * np.sin(2 * np.pi * h / 24)
    if link == "L-floor":
        true = 4.0 + 0.05 * ln - 0.1 * h / 24.0 + swing
        return true, np.full(h.size, float(ber_at_margin_db(np.array(1.5), LIMIT)))
    true = 1.1 + 0.15 * i + 0.02 * ln + swing
    return true + (0.5 if i in (2, 4) else 0.0), ber_at_margin_db(true, LIMIT)


def _fleet() -> tuple[LinkSpec, pl.DataFrame]:
    # an hour's counts are millions of corrected codewords: 0.3 % scatter
    return kp4_fleet(LINKS, _lane, days=DAYS, seed=23, sens=SENS, limit=LIMIT, ber_noise=0.003)


def _check(an: Analysis) -> None:
    floor = an.lanes.filter(pl.col("link") == "L-floor")
    assert floor["ber_at_floor"].all()
    assert floor["rx_offset_db"].is_null().all()  # the floor is no meter error
    # the margin rests on the DOM: 4.0 + 0.05 ln - 0.8 at day 8, not the floor's 1.5 dB
    assert floor["forecast_base_db"].to_numpy() == pytest.approx(3.2 + 0.05 * np.arange(1, 5), abs=0.15)
    assert floor["drift_shrunk"].to_numpy() == pytest.approx(-0.1, abs=0.02)  # the DOM's slope
    # 3.25 dB falling 0.1 dB/day for 21 days: 1.15 dB left, nothing to flag (from the floor: -0.6 dB)
    assert an.forecasts["21d"].filter(pl.col("link") == "L-floor")["p_cross"][0] < 0.3
    ok = an.lanes.filter(pl.col("link") != "L-floor")
    assert not ok["ber_at_floor"].any()
    high = ok.filter(pl.col("device").is_in(["leaf2", "leaf4"]))  # L-ok1, L-ok3: DOM 0.5 dB high
    assert high["rx_offset_db"].to_numpy() == pytest.approx(0.5, abs=0.1)


def test_a_ber_at_its_floor_sets_nothing_in_the_full_pass() -> None:
    _check(analyzed(*_fleet(), DAYS))


def test_a_ber_at_its_floor_sets_nothing_in_the_bounded_pass() -> None:
    _check(daily_passes(*_fleet(), DAYS)[0])
