"""`linkmargin backtest` prints wear recovery beside cohort recovery: the analysis' wear curve read at 10,
50 and 200 matings against the lab's true hazard there (lab.truth.cohorts.wear_truth)."""

from __future__ import annotations

import numpy as np
import polars as pl

from analyzer.wear import wear_curve, wear_stats
from lab.physics.sim import FabricSim
from lab.scenario import load_scenario
from lab.truth.cohorts import wear_truth
from linkmargin_cli.backtest_run import wear_scores


def _curve_from(truth: pl.DataFrame, family: str, n: int = 4000) -> pl.DataFrame:
    """A wear curve estimated from matings at each of the truth's counts that stepped in the truth's share
    (exactly: this checks what the backtest reads and reports, not the estimator's sampling)."""
    t = truth.filter(pl.col("family") == family).sort("matings")
    frames = []
    for r in t.iter_rows(named=True):
        stepped = np.arange(n) < round(r["p_step"] * n)
        frames.append(
            pl.DataFrame(
                {
                    "family": family,
                    "termination": r["termination"],
                    "matings_at": np.full(n, r["matings"]),
                    "rated_matings": r["rated_matings"],
                    "stepped": stepped,
                    "loss_db": np.where(stepped, r["step_db"], 0.0),
                }
            )
        )
    return wear_curve(wear_stats(pl.concat(frames)))


def test_wear_scores_read_the_curve_at_the_truths_counts() -> None:
    sim = FabricSim(load_scenario("demo"))
    truth = wear_truth(sim)
    assert truth["rated_matings"].min() > 0
    rows = wear_scores(_curve_from(truth, "MMC-field"), sim)
    assert len(rows) == truth.height  # every cohort of the lab at 10, 50 and 200 matings
    mmc = [r for r in rows if r["family"] == "MMC-field"]
    assert [r["matings"] for r in mmc] == [10, 50, 200]
    assert all(r["bin_matings"] >= 4000 and r["lo"] <= r["estimate"] <= r["hi"] for r in mmc)
    assert all(r["inside"] for r in mmc)  # 4000 matings at the true share: the interval covers it
    t = truth.filter(pl.col("family") == "MMC-field").sort("matings")["p_step"].to_list()
    assert [r["true"] for r in mmc] == t
    # a cohort the curve has no matings for is reported without an estimate, never as covered
    mtp = [r for r in rows if r["family"] == "MTP"]
    assert mtp and all(r["estimate"] is None and not r["inside"] for r in mtp)


def test_a_wrong_curve_is_caught_and_no_curve_gives_no_rows() -> None:
    sim = FabricSim(load_scenario("demo"))
    truth = wear_truth(sim)
    # the MMC hazard at 200 matings read off a curve drawn at a tenth of the truth: outside its interval
    wrong = truth.with_columns(pl.col("p_step") / 10)
    rows = wear_scores(_curve_from(wrong, "MMC-field"), sim)
    assert not any(r["inside"] for r in rows if r["family"] == "MMC-field")
    assert wear_scores(None, sim) == [] and wear_scores(pl.DataFrame(), sim) == []
