"""The pre-FEC BER is the port's: a loss step on some of its lanes is a step of every lane's BER margin.

An RS-FEC codeword is striped over all of a port's lanes, so the corrected-codeword counters (and the
BER read off them) belong to the port, and the analyzer gives every lane the port's BER. Five 8-lane
800G (KP4) links, 8 days of hourly DOM Rx, module temperature and the *port's* pre-FEC BER only
(generated with the core's Gaussian-decision curve: the test is about the analyzer's logic):

- ``L-step``: lanes 1-4 at 1.5 dB of true margin until a 1.2 dB contamination on day 4 (0.3 dB after,
  flat), lanes 5-8 at 3.0 dB throughout; the port's BER (the mean of its lanes') steps up with lanes
  1-4, while lanes 5-8 see no Rx step of their own;
- ``L-flat1`` .. ``L-flat4``: every lane 1.2-1.5 dB, flat; the cohort they make is flat.

Fitted with only its own Rx steps, a lane of 5-8 reads the port's BER step as a decline of about
0.2 dB/day and the link is forecast to cross at P ~ 1 (the false flag of leaf02-Ethernet3_1 on
development seed 105); with the port's steps it is flat.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from analyzer.calibration import port_wide_steps
from analyzer.spec import LinkSpec
from linkmargin.budget import ber_at_margin_db

from .helpers import analyzed, daily_passes, kp4_fleet

DAYS = 8
STEP_H = 4 * 24
SENS = -7.0
LIMIT = 2.4e-4
LINKS = ("L-step", "L-flat1", "L-flat2", "L-flat3", "L-flat4")


def _lane(i: int, link: str, ln: int, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if link == "L-step":
        true_margin = np.where((ln <= 4) & (h >= STEP_H), 0.3, 1.5 if ln <= 4 else 3.0)
    else:
        true_margin = np.full(h.size, 1.2 + 0.05 * i + 0.02 * ln)
    return true_margin, ber_at_margin_db(true_margin, LIMIT)


def _fleet() -> tuple[LinkSpec, pl.DataFrame]:
    # 800G: one FEC counter for the port's eight lanes
    return kp4_fleet(
        LINKS, _lane, days=DAYS, seed=11, lanes=8, rate_bps=106.25e9, sens=SENS, limit=LIMIT, port_ber=True
    )


def test_each_step_is_given_to_every_lane_of_its_port_once() -> None:
    port = np.array([0, 0, 0, 1, 1, 2])
    # a step on lanes 0 and 1 at hour 40 (one contamination), one on lane 3 at 7 and 12
    li, hour = port_wide_steps(np.array([1, 0, 3, 3]), np.array([40, 40, 12, 7]), port)
    assert list(zip(li.tolist(), hour.tolist(), strict=True)) == [
        (0, 40), (1, 40), (2, 40), (3, 7), (3, 12), (4, 7), (4, 12)
    ]  # fmt: skip
    li, hour = port_wide_steps(np.array([], dtype=np.int64), np.array([], dtype=np.int64), port)
    assert li.size == 0 and hour.size == 0


def _check(an) -> None:  # type: ignore[no-untyped-def]
    lanes = an.lanes.filter(pl.col("link") == "L-step").sort("lane")
    clean = lanes.filter(pl.col("lane") > 4)
    # their margin rests on the port's BER (well under their DOM's 3 dB) and its slope is flat
    assert (clean["ber_margin_db"] < 1.5).all()
    assert clean["ber_drift_db_per_day"].abs().max() < 0.02
    assert clean["drift_shrunk"].abs().max() < 0.02
    # the link holds 0.3 dB, flat, to the end: not a crossing forecast
    fc = an.forecasts["21d"].filter(pl.col("link") == "L-step")
    assert fc["p_cross"][0] < 0.2


def test_a_step_on_some_lanes_is_not_a_decline_of_the_others_full_pass() -> None:
    _check(analyzed(*_fleet(), DAYS))


def test_a_step_on_some_lanes_is_not_a_decline_of_the_others_bounded_pass() -> None:
    _check(daily_passes(*_fleet(), DAYS)[0])


@pytest.mark.parametrize("lane", [5, 8])
def test_the_clean_lanes_see_no_rx_step_of_their_own(lane: int) -> None:
    """The premise: the step is in the port's BER only, not in these lanes' Rx."""
    an = analyzed(*_fleet(), DAYS)
    steps = an.steps
    li = an.lanes.with_row_index("i").filter((pl.col("link") == "L-step") & (pl.col("lane") == lane))["i"][0]
    assert steps.filter(pl.col("li") == li).height == 0
    stepped = an.lanes.with_row_index("i").filter((pl.col("link") == "L-step") & (pl.col("lane") <= 4))["i"]
    assert steps.filter(pl.col("li").is_in(stepped.implode())).height >= 1
