"""Cohort priors from the connector catalog: weak, sourced, overruled by the fleet within tens of matings."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from analyzer.analysis import analyze
from analyzer.cohorts import PRIOR_MATINGS, PRIOR_STEPS, cohort_stats, estimate_cohorts
from analyzer.spec import LinkSpec
from analyzer.state import LaneState
from linkmargin.catalog import mating_prior
from linkmargin.samples import conform

from .helpers import T0, one_link_spec

DAYS = 3


def _mtp_link() -> tuple[LinkSpec, pl.DataFrame]:
    """One healthy 4-lane link at +3.4 dB through a single factory MTP point, 3 days of hourly DOM."""
    base = one_link_spec(4)
    spec = LinkSpec.build(
        base.lanes,
        [{"link": "L1", "point": "P-mtp", "position": 1, "family": "MTP", "termination": "factory"}],
        [],
    )
    rng = np.random.default_rng(2)
    h = np.arange(DAYS * 24)
    rows = [
        pl.DataFrame(
            {
                "ts": [T0 + timedelta(hours=float(x) + 0.5) for x in h],
                "device": "dev-b",
                "port": "p1",
                "lane": ln,
                "metric": "rx_power_dbm",
                "value": -10.0 + 3.4 + rng.normal(0, 0.03, h.size),
            }
        )
        for ln in range(1, 5)
    ]
    return spec, conform(pl.concat(rows)).sort("ts")


def test_one_planned_mating_on_a_healthy_mtp_link_without_fleet_history_is_a_small_risk() -> None:
    spec, frame = _mtp_link()
    st = LaneState(spec)
    st.ingest(frame)
    now = T0 + timedelta(days=DAYS)
    planned = pl.DataFrame(
        {"point": ["P-mtp"], "ts": [now + timedelta(days=2)], "kind": ["mated"]},
        schema={"point": pl.String, "ts": pl.Datetime("us", "UTC"), "kind": pl.String},
    )
    with_work = analyze(st, horizons={"21d": 21.0}, planned=planned, now=now)
    without = analyze(st, horizons={"21d": 21.0}, now=now)
    row = with_work.cohorts.table.filter(pl.col("family") == "MTP").row(0, named=True)
    # no fleet history: the catalog's factory figures (P 0.05, 1.0 dB), resting on 0 matings
    assert row["matings"] == 0 and row["p_step"] == pytest.approx(mating_prior("factory").p_step.value)
    assert row["step_db"] == pytest.approx(1.0)
    p_with = with_work.forecasts["21d"]["p_cross"][0]
    p_without = without.forecasts["21d"]["p_cross"][0]
    # a 1.0 +- 0.5 dB step taking 3.4 dB is 4.8 sd away: ~0 (was 0.50). What is left is the margin's
    # own error on the DOM alone (1.1 dB): Phi(-3.4 / 1.1) = 0.1 %, and with the step
    # 0.05 x Phi(-2.4 / sqrt(0.5^2 + 1.1^2)) = 0.1 %: well under 1 %
    assert p_with < 0.01 and p_without < 0.01
    assert with_work.forecasts["21d"]["planned_matings"][0] == 1
    # the planned mating is in the forecast: its mean drops by p x size = 0.05 dB
    drop = without.forecasts["21d"]["forecast_db"][0] - with_work.forecasts["21d"]["forecast_db"][0]
    assert drop == pytest.approx(0.05, abs=0.005)


@pytest.mark.parametrize("n", [0, 10, 40, 200])
def test_fleet_matings_overrule_the_catalog_prior_within_tens_of_matings(n: int) -> None:
    spec = one_link_spec(1)
    k = int(0.4 * n)
    rng = np.random.default_rng(n)
    outcomes = pl.DataFrame(
        {
            "point": "P-mmc",
            "family": "MMC",
            "termination": "field",
            "stepped": [True] * k + [False] * (n - k),
            "loss_db": list(rng.normal(2.0, 0.1, k)) + [None] * (n - k),
        },
        schema={"point": pl.String, "family": pl.String, "termination": pl.String, "stepped": pl.Boolean,
                "loss_db": pl.Float64},
    )  # fmt: skip
    nan = np.full(1, np.nan)
    tbl = estimate_cohorts(cohort_stats(spec, outcomes, nan, nan, nan, nan), spec).table.filter(
        pl.col("family") == "MMC"
    )
    row = tbl.row(0, named=True)
    assert row["matings"] == n
    p0 = mating_prior("field").p_step.value
    assert p0 is not None
    # the posterior mean is the data's rate with the prior worth PRIOR_MATINGS matings
    want = (PRIOR_MATINGS * p0 + k) / (PRIOR_MATINGS + n)
    assert row["p_step"] == pytest.approx(want)
    if n >= 40:  # tens of matings: within 0.03 of the fleet's own 0.4, and the size near its 2.0 dB
        assert abs(row["p_step"] - 0.4) < 0.03
        assert row["step_db"] == pytest.approx(2.0, abs=0.2)
    sizes = outcomes["loss_db"].drop_nulls().to_numpy()
    s0 = mating_prior("field").step_db.value
    assert s0 is not None
    assert row["step_db"] == pytest.approx((PRIOR_STEPS * s0 + sizes.sum()) / (PRIOR_STEPS + sizes.size))
    if n == 0:
        assert row["p_step"] == pytest.approx(p0) and row["p_step"] != 0.5
