from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from analyzer.analysis import analyze, planned_step_risk
from analyzer.cohorts import random_effects, shrink_drift
from analyzer.forecast import LaneForecast, StepRisk, forecast_lanes, norm_cdf
from analyzer.state import LaneState

from .fleet import TRUTH, make_fleet


@pytest.fixture(scope="module")
def fleet_analysis():
    fleet = make_fleet()
    st = LaneState(fleet.spec)
    n = fleet.samples.height
    for off in range(0, n, n // 24 + 1):  # stream it in 24 micro-batches
        st.ingest(fleet.samples.slice(off, n // 24 + 1))
    return fleet, analyze(st, horizons={"21d": 21.0})


def test_cohorts_recover_true_step_probability_size_and_drift(fleet_analysis) -> None:
    _, an = fleet_analysis
    tbl = an.cohorts.table
    for (fam, term), tr in TRUTH.items():
        row = tbl.filter((pl.col("family") == fam) & (pl.col("termination") == term)).row(0, named=True)
        assert row["p_step_lo"] <= tr["p"] <= row["p_step_hi"], row
        assert row["step_db_lo"] <= tr["size"] <= row["step_db_hi"], row
        assert row["drift_lo"] <= tr["drift"] <= row["drift_hi"], row
        assert row["thermal_lo"] <= -0.02 <= row["thermal_hi"], row
    mmc = tbl.filter(pl.col("family") == "MMC").row(0, named=True)
    mtp = tbl.filter(pl.col("family") == "MTP-16").row(0, named=True)
    assert mmc["p_step_lo"] > mtp["p_step_hi"]  # the field MMC really is the riskier cohort
    # every injected step sits at a recorded mating: (almost) nothing may be left unexplained
    fleet_row = tbl.filter(pl.col("family") == "*").row(0, named=True)
    assert fleet_row["unexplained_steps"] <= 2
    assert fleet_row["unexplained_per_day"] < 0.01


def test_planned_matings_of_two_cohorts_make_one_binomial_with_mixed_sizes(fleet_analysis) -> None:
    fleet, an = fleet_analysis
    pts = an.cohorts.points
    link = pts["link"][0]
    mine = pts.filter(pl.col("link") == link).sort("family")
    assert mine["family"].n_unique() == 2  # one factory MTP and one field MMC point
    now = fleet.samples["ts"].max()
    planned = pl.DataFrame(
        {
            "point": mine["point"],
            "ts": [now + timedelta(days=2)] * mine.height,
            "kind": ["mated"] * mine.height,
        }
    )
    got = planned_step_risk(an, planned, now, 7.0).row(0, named=True)
    tbl = an.cohorts.table
    rows = [tbl.filter(pl.col("family") == f).row(0, named=True) for f in mine["family"]]
    p = [r["p_step"] for r in rows]
    mu = [r["step_db"] for r in rows]
    e2 = [r["step_db_sd"] ** 2 + r["step_db"] ** 2 for r in rows]
    m1 = (p[0] * mu[0] + p[1] * mu[1]) / (p[0] + p[1])
    m2 = (p[0] * e2[0] + p[1] * e2[1]) / (p[0] + p[1])
    assert got["planned"] == 2 and got["p_step"] == pytest.approx((p[0] + p[1]) / 2)
    assert got["step_db"] == pytest.approx(m1) and got["step_sd_db"] == pytest.approx(math.sqrt(m2 - m1**2))
    # a mating after the horizon does not count
    assert planned_step_risk(an, planned, now, 1.0).height == 0


def test_fleet_drift_and_forecast_columns(fleet_analysis) -> None:
    fleet, an = fleet_analysis
    lanes = an.lanes.sort("li")
    err = lanes["drift_shrunk"].to_numpy() - fleet.drift
    assert np.median(np.abs(err)) < 0.005
    fc = an.forecasts["21d"]
    assert fc.height == 80
    assert fc["p_cross"].is_between(0, 1).all()
    assert (fc["forecast_lo_db"] <= fc["forecast_db"]).all()


def test_forecast_known_answer() -> None:
    fc = forecast_lanes(
        21.0,
        np.array([3.0, 3.0, -1.0]),
        np.array([-0.1, 0.05, 0.0]),
        np.array([0.01, 0.0, 0.0]),
        np.array([0.2, 0.2, 0.2]),
    )
    sd0 = math.sqrt((0.01 * 21) ** 2 + 0.2**2)
    assert fc.mean_db[0] == pytest.approx(0.9)
    assert fc.sd_db[0] == pytest.approx(sd0)
    assert fc.p_cross[0] == pytest.approx(0.5 * math.erfc(0.9 / sd0 / math.sqrt(2)), abs=1e-6)
    assert fc.days_to_cross[0] == pytest.approx(30.0)
    assert math.isinf(fc.days_to_cross[1]) and fc.p_cross[1] < 1e-6
    assert fc.days_to_cross[2] == 0.0 and fc.p_cross[2] > 0.99


def _stable_lane(margin_db: float, days: float, **steps: float) -> LaneForecast:
    """One lane with no drift and 0.01 dB of reading noise, carrying the given step risk."""
    fields = {f: np.zeros(1) for f in StepRisk.__dataclass_fields__}
    risk = StepRisk(**{**fields, **{k: np.array([v]) for k, v in steps.items()}})
    return forecast_lanes(days, np.array([margin_db]), np.zeros(1), np.zeros(1), np.full(1, 0.01), steps=risk)


def test_planned_mating_is_a_binomial_step() -> None:
    # one planned mating, p = 0.5, 1 dB +- 0: mean 0.5 dB, variance 0.25; a link with 0.8 dB crosses
    # exactly when the step happens
    fc = _stable_lane(0.8, 1.0, planned_n=1, planned_p=0.5, planned_db=1.0)
    assert fc.mean_db[0] == pytest.approx(0.3) and fc.sd_db[0] == pytest.approx(math.sqrt(0.25 + 1e-4))
    assert fc.p_cross[0] == pytest.approx(0.5, abs=1e-6)
    # two planned matings at p = 0.3 on a link that survives one 1 dB step but not two: P = 0.09
    assert _stable_lane(1.5, 1.0, planned_n=2, planned_p=0.3, planned_db=1.0).p_cross[0] == pytest.approx(
        0.09, abs=1e-6
    )


def test_rare_large_background_step_is_a_poisson_mixture() -> None:
    # 0.3 dB left, unexplained 1.5 dB steps expected 0.03 times before H: the link crosses when one
    # comes, P = 1 - exp(-0.03) = 2.96 % (one Gaussian with the steps' variance would say ~16 %)
    fc = _stable_lane(0.3, 14.0, background_n=0.03, background_db=1.5)
    assert fc.p_cross[0] == pytest.approx(1 - math.exp(-0.03), abs=1e-4)
    assert fc.mean_db[0] == pytest.approx(0.3 - 0.045)


def test_norm_cdf_and_shrinkage() -> None:
    x = np.linspace(-6, 6, 121)
    ref = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    np.testing.assert_allclose(norm_cdf(x), ref, atol=2e-7)
    # a lane with no history inherits the cohort; a precise one keeps its own fit
    mean, sd = shrink_drift(
        np.array([np.nan, -0.5, -0.5]),
        np.array([np.nan, 0.001, 1.0]),
        np.array([-0.03] * 3),
        np.array([0.01] * 3),
        np.array([0.0] * 3),
    )
    assert mean[0] == pytest.approx(-0.03) and sd[0] == pytest.approx(0.01)
    assert mean[1] == pytest.approx(-0.5, abs=0.01)
    assert mean[2] == pytest.approx(-0.03, abs=0.001)
    mu, se, tau2 = random_effects(np.array([1.0, 1.0, 1.0]), np.array([0.1, 0.1, 0.1]))
    assert mu == pytest.approx(1.0) and tau2 == 0.0 and se == pytest.approx(0.1 / math.sqrt(3))


def test_no_step_in_hundreds_of_matings_still_has_an_upper_bound() -> None:
    from analyzer.cohorts import cohort_stats, estimate_cohorts
    from analyzer.spec import LinkSpec

    lanes = [
        {"link": f"L{i}", "device": f"d{i}", "port": "E1", "lane": 1, "direction": "rx", "far_device": "x",
         "far_port": f"E{i}", "sensitivity_dbm": -8.0, "fec_limit_ber": 2.4e-4, "lane_rate_bps": 5.3e10}
        for i in range(3)
    ]  # fmt: skip
    points = [{"link": f"L{i}", "point": f"P{i}", "position": 0, "family": "MTP", "termination": "factory"}
              for i in range(3)]  # fmt: skip
    outcomes = pl.DataFrame(
        {"point": "P0", "family": "MTP", "termination": "factory", "stepped": [False] * 240, "loss_db": None},
        schema_overrides={"loss_db": pl.Float64},
    )
    nan = np.full(3, np.nan)
    spec = LinkSpec.build(lanes, points)
    model = estimate_cohorts(cohort_stats(spec, outcomes, nan, nan, nan, nan), spec)
    mtp = model.table.filter(pl.col("family") == "MTP").row(0, named=True)
    # 0 of 240: the rule of three puts the 95 % upper bound near 3/240 = 0.0125
    assert mtp["p_step_lo"] < 1e-3 and 0.005 < mtp["p_step_hi"] < 0.02


def test_limited_translation_keeps_a_sharply_measured_decline() -> None:
    """A flat cohort (tau 0.002 dB/day) and a lane measured at -0.035 +- 0.003 dB/day: the Gaussian
    posterior is (-0.035 / 9e-6) / (1 / 9e-6 + 1 / 4e-6) = -0.01077 (sd 0.00166), a third of what the
    lane shows; limited to one own se it is -0.032 with the lane's own sd 0.003. A noisy lane
    (-0.035 +- 0.05) is shrunk as before: its posterior (-5.6e-5) is inside [-0.085, 0.015]."""
    args = (np.array([0.0]), np.array([0.002]), np.array([0.0]))
    mean, sd = shrink_drift(np.array([-0.035]), np.array([0.003]), *args)
    assert mean[0] == pytest.approx(-0.035 / 9e-6 / (1 / 9e-6 + 1 / 4e-6), rel=1e-9)
    assert sd[0] == pytest.approx((1 / 9e-6 + 1 / 4e-6) ** -0.5, rel=1e-9)
    mean, sd = shrink_drift(np.array([-0.035]), np.array([0.003]), *args, max_shift_se=1.0)
    assert mean[0] == pytest.approx(-0.032) and sd[0] == pytest.approx(0.003)
    noisy, noisy_sd = shrink_drift(np.array([-0.035]), np.array([0.05]), *args, max_shift_se=1.0)
    assert noisy[0] == pytest.approx(-0.035 / 0.0025 / (1 / 0.0025 + 1 / 4e-6), rel=1e-9)
    assert noisy_sd[0] == pytest.approx((1 / 0.0025 + 1 / 4e-6) ** -0.5, rel=1e-9)
    # a lane without its own fit keeps the cohort's predictive: nothing to limit
    mean, sd = shrink_drift(np.array([np.nan]), np.array([np.nan]), *args, max_shift_se=1.0)
    assert mean[0] == 0.0 and sd[0] == pytest.approx(0.01)
