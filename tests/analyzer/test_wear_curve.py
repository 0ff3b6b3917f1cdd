"""The wear curve: P(step per mating) against the point's mating count relative to its rated cycles.

The synthetic truth here is a logistic in log(count / rated), a shape neither the analyzer (bins) nor
the lab (a Weibull-like damage curve, lab.physics.wear) uses. The lab-based recovery is a bench
(bench/wear_curve.py, results in bench/results/wear.md).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from analyzer.advice import advise
from analyzer.analysis import analyze, planned_step_risk
from analyzer.fleetstats import merge_stats
from analyzer.spec import LinkSpec
from analyzer.state import LaneState
from analyzer.wear import hazard_at, point_counts, wear_curve, wear_recovery, wear_stats

from . import scenario

RATED = {"MMC-field": 50.0, "MTP": 500.0}
TERM = {"MMC-field": "field", "MTP": "factory"}


def true_p(count: np.ndarray, family: str) -> np.ndarray:
    """The test's own wear curve: 3 % fresh (MTP) or 12 % (MMC), rising to 70 % far past the rating."""
    x = np.maximum(count, 0.5) / RATED[family]
    p0 = 0.12 if family == "MMC-field" else 0.03
    return p0 + (0.7 - p0) / (1.0 + np.exp(-3.0 * np.log(x / 1.2)))


def outcomes(seed: int = 3, per_family: int = 6000) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for fam in RATED:
        count = rng.integers(0, 260, per_family)
        stepped = rng.random(per_family) < true_p(count.astype(float), fam)
        loss = np.where(stepped, rng.lognormal(np.log(1.0 + count / RATED[fam]), 0.3), np.nan)
        frames.append(
            pl.DataFrame(
                {
                    "family": fam,
                    "termination": TERM[fam],
                    "matings_at": count,
                    "rated_matings": RATED[fam],
                    "stepped": stepped,
                    "loss_db": pl.Series(loss, dtype=pl.Float64).fill_nan(None),
                }
            )
        )
    return pl.concat(frames)


def test_stats_are_mergeable_sufficient_statistics() -> None:
    out = outcomes()
    whole = wear_stats(out)
    parts = [wear_stats(out[i::3]) for i in range(3)]  # three "shards" of the same matings
    merged = merge_stats(parts)
    assert merged.select("family", "termination", "wear_bin", "matings", "steps").equals(
        whole.select("family", "termination", "wear_bin", "matings", "steps")
    )
    for c in ("x_sum", "count_sum", "loss_sum", "loss_sq_sum"):
        assert np.allclose(merged[c].to_numpy(), whole[c].to_numpy())
    a, b = wear_curve(merged), wear_curve(whole)
    assert np.allclose(a["p_step"].to_numpy(), b["p_step"].to_numpy())
    assert np.allclose(a["step_db"].to_numpy(), b["step_db"].to_numpy())
    assert int(whole["matings"].sum()) == out.height


@pytest.mark.parametrize("family", ["MMC-field", "MTP"])
def test_the_hazard_at_10_50_and_200_matings_is_recovered_inside_its_interval(family: str) -> None:
    curve = wear_curve(wear_stats(outcomes()))
    counts = np.array([10, 50, 200])
    truth = pl.DataFrame(
        {
            "family": family,
            "termination": TERM[family],
            "matings": counts,
            "rated_matings": RATED[family],
            "p_step": true_p(counts.astype(float), family),
        }
    )
    rec = wear_recovery(curve, truth)
    print(rec)
    assert rec["inside"].all()
    assert ((rec["hi"] - rec["lo"]) < 0.25).all()  # an interval that says something
    if family == "MMC-field":  # a field MMC at 200 matings is worn out; at 10 it is not
        assert rec["lo"][2] > rec["hi"][0]


def test_interpolation_between_bins_and_flat_beyond_them() -> None:
    curve = wear_curve(wear_stats(outcomes()))
    mmc = curve.filter((pl.col("family") == "MMC-field") & (pl.col("matings") >= 3)).sort("x_mean")
    pts = pl.DataFrame(
        {
            "family": "MMC-field",
            "termination": "field",
            "matings_at": [0, 10_000],
            "rated_matings": 50.0,
        }
    )
    got = hazard_at(curve, pts)["p_step"].to_list()
    assert got[0] == pytest.approx(mmc["p_step"][0])
    assert got[1] == pytest.approx(mmc["p_step"][-1])
    unknown = hazard_at(curve, pts.with_columns(pl.lit("LC").alias("family")))
    assert unknown["p_step"].is_null().all()  # no curve for the cohort: the caller uses the cohort table


def test_counts_follow_the_core_definition_and_the_clock() -> None:
    spec, _ = scenario.build()
    t = spec.events["ts"][0]
    pts = spec.points.with_columns(
        pl.when(pl.col("point") == "L-dirty-mmc").then(46).otherwise(0).alias("matings_before_records")
    )
    spec2 = LinkSpec.build(spec.lanes, pts, spec.events.drop("matings"))
    before = point_counts(spec2.points, spec2.events, t - timedelta(hours=1))
    after = point_counts(spec2.points, spec2.events, None)
    n = dict(zip(after["point"], after["matings"], strict=True))
    assert n["L-dirty-mmc"] == 47 and n["L-ok-mmc"] == 0
    assert dict(zip(before["point"], before["matings"], strict=True))["L-dirty-mmc"] == 46


@pytest.fixture(scope="module")
def worn_analysis():
    """scenario.build's dirty mating, at a field MMC recorded with 46 matings before it."""
    spec, frame = scenario.build()
    pts = spec.points.with_columns(
        pl.when(pl.col("point") == "L-dirty-mmc").then(46).otherwise(0).alias("matings_before_records")
    )
    spec = LinkSpec.build(spec.lanes, pts, spec.events.drop("matings"))
    st = LaneState(spec)
    st.ingest(frame)
    return analyze(st, horizons={"21d": 21.0})


def test_a_step_at_a_worn_field_mmc_advises_replacing_it_with_its_count(worn_analysis) -> None:
    adv = {r["link"]: r for r in advise(worn_analysis, "21d", min_probability=0.0).iter_rows(named=True)}
    a = adv["L-dirty"]
    assert a["cause"] == "worn_point"
    assert a["point"] == "L-dirty-mmc"
    assert a["action"] == "replace field MMC L-dirty-mmc (mated 47 times, rated about 50)"
    # a fresh point with the same step would be cleaned, not replaced
    assert "L-ok" not in adv or adv["L-ok"]["cause"] != "worn_point"


def test_a_planned_mating_uses_the_hazard_at_the_points_count(worn_analysis) -> None:
    an = worn_analysis
    # give the fleet a wear curve for its field MMCs (the synthetic one above, as the fleet's stats)
    mmc = outcomes().filter(pl.col("family") == "MMC-field").with_columns(pl.lit("MMC").alias("family"))
    an2 = replace(an, wear=wear_curve(wear_stats(mmc)))
    an2.point_wear = an.point_wear
    ts = an.steps["step_ts"].max() + timedelta(days=1)
    plan = pl.DataFrame(
        {"point": ["L-dirty-mmc", "L-ok-mmc"], "ts": [ts, ts], "kind": ["mated", "mated"]}
    ).with_columns(pl.col("ts").dt.cast_time_unit("us"))
    risk = dict(planned_step_risk(an2, plan, None, 21.0).select("link", "p_step").iter_rows())
    worn, fresh = risk["L-dirty"], risk["L-ok"]
    assert worn == pytest.approx(float(true_p(np.array([47.0]), "MMC-field")[0]), abs=0.06)
    assert fresh == pytest.approx(float(true_p(np.array([0.0]), "MMC-field")[0]), abs=0.05)
    assert worn > 2 * fresh


def test_query_cohorts_wear_shows_the_curve_with_matings_per_bin(tmp_path) -> None:
    import json

    from typer.testing import CliRunner

    from linkmargin_cli import app

    from .test_planned_work import STEPS_DB, write_history, write_inventory

    inv = write_inventory(tmp_path / "inv.yaml")
    write_history(inv, tmp_path / "hist")
    res = CliRunner().invoke(
        app,
        [
            "query",
            "cohorts",
            "--history",
            str(tmp_path / "hist"),
            "--inventory",
            str(inv),
            "--wear",
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    rows = rows["rows"] if isinstance(rows, dict) else rows
    mmc = [r for r in rows if r["family"] == "MMC-field"]
    # six field MMCs mated once each (their first recorded mating: count 0 of a rated 50), four stepped
    assert len(mmc) == 1 and mmc[0]["count_per_rated"] == "0.0-0.05"
    assert mmc[0]["matings"] == len(STEPS_DB)
    assert mmc[0]["steps"] == sum(1 for v in STEPS_DB.values() if v > 0)
    assert mmc[0]["p_step_lo"] < mmc[0]["p_step"] < mmc[0]["p_step_hi"]


def test_a_link_at_risk_with_a_point_past_its_rated_cycles_is_told_to_replace_it(tmp_path) -> None:
    """Through the inventory: L-target (0.6 dB left) has a field MMC recorded with 48 matings before
    records; with no step or trend to go by, the worn point is the advice, with its count."""
    import json

    from typer.testing import CliRunner

    from linkmargin_cli import app

    from .test_planned_work import write_history, write_inventory

    inv = write_inventory(tmp_path / "inv.yaml")
    text = inv.read_text()
    old = "{id: L-target-mmc, type: MMC, termination: field}"
    assert old in text
    inv.write_text(
        text.replace(old, "{id: L-target-mmc, type: MMC, termination: field, matings_before_records: 48}")
    )
    write_history(inv, tmp_path / "hist")
    hist = str(tmp_path / "hist")
    res = CliRunner().invoke(
        app, ["risk", "--inventory", str(inv), "--history", hist, "--horizon", "21d", "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    by = {r["link"]: r for r in json.loads(res.stdout)["links"]}
    assert by["L-target"]["cause"] == "worn_point"
    assert by["L-target"]["action"] == "replace field MMC L-target-mmc (mated 48 times, rated about 50)"
    assert by["L-outside"]["cause"] != "worn_point"  # the same link with a fresh MMC


def _mmc(counts: list[int], losses: list[float | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "family": "MMC-field",
            "termination": "field",
            "matings_at": counts,
            "rated_matings": 50.0,
            "stepped": [x is not None for x in losses],
            "loss_db": pl.Series(losses, dtype=pl.Float64),
        }
    )


def test_a_thin_bin_leans_on_its_cohort_not_on_the_catalog() -> None:
    """Forty matings at 40-49 (x 0.8-1.0) left 3 dB steps on half of them; two matings at 20 (bin
    0.35-0.5) left one 3 dB step. The thin bin's prior is its cohort's other bins (p ~0.5, 3 dB), not the
    catalog's field figure (0.15, 1 dB): its size and P sit near the cohort's, by hand below."""
    from analyzer.cohorts import PRIOR_MATINGS, PRIOR_STEPS
    from linkmargin.catalog import mating_prior

    worn = [40 + k % 10 for k in range(40)]
    data = _mmc([*worn, 20, 20], [3.0 if k % 2 else None for k in range(40)] + [3.0, None])
    curve = wear_curve(wear_stats(data))
    thin = curve.filter(pl.col("matings") == 2).row(0, named=True)
    pr = mating_prior("field")
    p0, s0 = float(pr.p_step.value or 0.0), float(pr.step_db.value or 0.0)
    p_other = (PRIOR_MATINGS * p0 + 20) / (PRIOR_MATINGS + 40)  # the 40 worn matings, 20 steps
    s_other = (PRIOR_STEPS * s0 + 20 * 3.0) / (PRIOR_STEPS + 20)
    assert thin["p_step"] == pytest.approx((PRIOR_MATINGS * p_other + 1) / (PRIOR_MATINGS + 2))
    assert thin["step_db"] == pytest.approx((PRIOR_STEPS * s_other + 3.0) / (PRIOR_STEPS + 1))
    # the catalog alone as the prior: (2 x 1 dB + 3 dB) / 3 = 1.7 dB
    assert thin["step_db"] > 2.5 > (PRIOR_STEPS * s0 + 3.0) / (PRIOR_STEPS + 1) + 0.5
    # a cohort whose matings all sit in one bin reads there what the cohort table reads
    both = wear_curve(wear_stats(_mmc([40] * 40, [3.0 if k % 2 else None for k in range(40)])))
    (row,) = both.rows(named=True)
    assert row["p_step"] == pytest.approx((PRIOR_MATINGS * p0 + 20) / (PRIOR_MATINGS + 40))
    assert row["step_db"] == pytest.approx((PRIOR_STEPS * s0 + 60.0) / (PRIOR_STEPS + 20))
