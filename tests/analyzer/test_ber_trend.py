"""Where a lane's margin rests on its BER, the margin's slope is the BER margin's slope.

Six 4-lane 400G (KP4) links, 8 days of hourly DOM Rx, module temperature and per-lane pre-FEC BER
(generated with the core's Gaussian-decision curve: the test is about the analyzer's logic):

- ``L-decline``: true margin 0.8 dB falling 0.035 dB/day; its module's DOM reads 1.0 dB high and
  drifts up 0.02 dB/day (an offset that moves with age), so the DOM shows only -0.015 dB/day;
- ``L-flat1`` .. ``L-flat5``: true margin 1.2-1.6 dB, flat; the cohort they make is flat.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from analyzer.analysis import BER_TREND_HOURS, ber_hours, ber_margin_trend
from analyzer.bounded import PassState
from analyzer.spec import LinkSpec
from analyzer.state import LaneState
from linkmargin.budget import ber_at_margin_db
from linkmargin.samples import Metric
from linkmargin_cli.passes import Passes

from .helpers import analyzed, daily_passes, kp4_fleet

DAYS = 8
SENS = -7.0
LIMIT = 2.4e-4
LINKS = ("L-decline", "L-flat1", "L-flat2", "L-flat3", "L-flat4", "L-flat5")


def _lane(i: int, link: str, ln: int, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    days = h / 24.0
    if link == "L-decline":
        true_margin = 0.8 + 0.02 * ln - 0.035 * days
        return true_margin + 1.0 + 0.02 * days, ber_at_margin_db(true_margin, LIMIT)
    true_margin = np.full(h.size, 1.2 + 0.1 * i - 0.2 + 0.02 * ln)
    return true_margin, ber_at_margin_db(true_margin, LIMIT)


def _fleet() -> tuple[LinkSpec, pl.DataFrame]:
    return kp4_fleet(LINKS, _lane, days=DAYS, seed=7, sens=SENS, limit=LIMIT)


@pytest.fixture(scope="module")
def analysis():
    return analyzed(*_fleet(), DAYS)


def test_a_decline_the_dom_hides_is_read_off_the_ber(analysis) -> None:
    lanes = analysis.lanes.filter(pl.col("link") == "L-decline")
    # the DOM's own slope is -0.035 + 0.02 = -0.015 dB/day; the BER margin's is the truth's
    assert lanes["drift_db_per_day"].mean() == pytest.approx(-0.015, abs=0.004)
    assert lanes["ber_drift_db_per_day"].to_numpy() == pytest.approx(-0.035, abs=0.004)
    # shrunk toward a flat cohort by at most one of its own standard errors (a few 0.001 dB/day)
    assert lanes["drift_shrunk"].max() < -0.028
    # at day 8 the true margin is 0.8 + 0.02 - 0.28 = 0.54 dB on lane 1: 21 days at -0.035 dB/day more
    # take it to -0.2 dB, so the forecast says it crosses
    fc = analysis.forecasts["21d"].filter(pl.col("link") == "L-decline")
    assert fc["p_cross"][0] > 0.5
    # the flat links' BER slopes are flat and nothing is forecast to cross there
    flat = analysis.lanes.filter(pl.col("link") != "L-decline")
    assert flat["drift_shrunk"].abs().max() < 0.01
    others = analysis.forecasts["21d"].filter(pl.col("link") != "L-decline")
    assert others["p_cross"].max() < 0.2


def test_fitting_only_the_lanes_that_rest_on_the_ber_gives_their_answers_unchanged() -> None:
    """The pass fits the BER trend of the lanes whose margin rests on the BER only (at 500k lanes the
    others' step design alone would be gigabytes): their fits equal those of fitting every lane, the
    others are not fittable, and a lane without a day of informative BER is never fitted."""
    spec, frame = _fleet()
    st = LaneState(spec)
    st.ingest(frame)
    hours, rx = st.matrix(Metric.RX_POWER_DBM)
    _, temp = st.matrix(Metric.TEMPERATURE_C, module=True, hours=(int(hours[0]), int(hours[-1])))
    n = rx.shape[0]
    pairs = [(3, 40), (5, 100), (9, 7), (9, 120)]
    every = ber_margin_trend(st, hours, rx, temp, pairs)
    assert (every.n_hours >= BER_TREND_HOURS).all()
    pick = np.zeros(n, dtype=bool)
    pick[[0, 3, 9, 17]] = True
    some = ber_margin_trend(st, hours, rx, temp, pairs, lanes=pick)
    for f in ("drift_db_per_day", "drift_se", "thermal_db_per_c", "level_db", "resid_sigma_db", "n_hours"):
        got, want = getattr(some, f), getattr(every, f)
        np.testing.assert_allclose(got[pick], want[pick], rtol=1e-9, err_msg=f)
    assert np.isnan(some.drift_db_per_day[~pick]).all() and (some.n_hours[~pick] == 0).all()
    np.testing.assert_allclose(some.step_sizes[pick], every.step_sizes[pick][:, : some.step_sizes.shape[1]])
    # a lane's BER informative for less than a day: not fitted, even when asked for
    short, dist = ber_hours(st, hours, rx)
    short = short.copy()
    short[0, 20:] = np.nan
    none = ber_margin_trend(st, hours, rx, temp, pairs, lanes=pick, ber_dist=(short, dist))
    assert none.n_hours[0] == 0 and none.n_hours[3] >= BER_TREND_HOURS


def test_a_bounded_pass_keeps_the_ber_trend_across_its_window(analysis) -> None:
    """Passes once a day with the bounded state (a 7-day window, the state trimmed and released after
    each): on day 8 the BER margin's trend rests on hours folded out of the window too, and reads what
    the full recomputation reads; the checkpointed state gives the same trend after a restart."""
    an, passes = daily_passes(*_fleet(), DAYS)
    assert isinstance(passes, Passes) and passes.bounded is not None
    assert passes.bounded.ber_margin.n_old.max() > 0  # hours folded out of the ring
    got = an.lanes.filter(pl.col("link") == "L-decline")["ber_drift_db_per_day"].to_numpy()
    want = analysis.lanes.filter(pl.col("link") == "L-decline")["ber_drift_db_per_day"].to_numpy()
    assert got == pytest.approx(want, abs=0.002)
    fc = an.forecasts["21d"].filter(pl.col("link") == "L-decline")
    assert fc["p_cross"][0] > 0.5
    # the BER-margin trend reads the Rx trend's temperature ring, held once (and once in the checkpoint)
    frames, scalars = passes.bounded.tables()
    assert "temp" in frames["rx_lanes"].columns and "temp" not in frames["ber_margin_lanes"].columns
    restored = PassState.from_tables(frames, scalars)
    assert restored.ber_margin.temp is restored.rx.temp
    a, b = restored.ber_margin.fit(), passes.bounded.ber_margin.fit()
    np.testing.assert_allclose(a.drift_db_per_day, b.drift_db_per_day, rtol=1e-9, equal_nan=True)
