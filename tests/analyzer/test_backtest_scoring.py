"""Scoring rules on hand-made frames whose right answers are counted by hand."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import polars as pl

from analyzer.backtest import cohort_recovery, score

T0 = datetime(2026, 11, 1, tzinfo=UTC)
D = timedelta(days=1)
END = T0 + 21 * D


def _forecasts(flags: dict[str, float | None], links: list[str]) -> pl.DataFrame:
    """One forecast per link per day; a link in ``flags`` gets p = 0.9 from that day on."""
    rows = []
    for day in range(1, 21):
        for link in links:
            at = flags.get(link)
            p = 0.9 if at is not None and day >= at else 0.05
            rows.append({"link": link, "issued_at": T0 + day * D, "p": p, "until": END})
    return pl.DataFrame(rows)


def _truth(rows: list[tuple[str, int | None, int | None, bool | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "link": link,
                "crossed_at": None if c is None else T0 + c * D,
                "last_below_at": None if last is None else T0 + last * D,
                "sudden": sudden,
            }
            for link, c, last, sudden in rows
        ],
        schema={
            "link": pl.Utf8,
            "crossed_at": pl.Datetime("us", "UTC"),
            "last_below_at": pl.Datetime("us", "UTC"),
            "sudden": pl.Boolean,
        },
    )


def test_recall_splits_sudden_from_foreseeable_and_late_alarms_are_not_false() -> None:
    links = ["laser", "drift", "dirty", "quiet", "noisy", "cleaned"]
    truth = _truth(
        [
            ("laser", 10, 20, False),  # flagged day 6: 4 days ahead, caught
            ("drift", 15, 20, False),  # flagged day 14: 1 day ahead, too late for 48 h
            ("dirty", 8, 20, True),  # sudden: flagged day 9, after it crossed, still below
            ("quiet", None, None, None),
            ("noisy", None, None, None),  # flagged, never crosses: a false alarm
            ("cleaned", 3, 4, True),  # crossed, cleaned on day 4; flagged day 7: false alarm
        ]
    )
    flags = {"laser": 6, "drift": 14, "dirty": 9, "noisy": 5, "cleaned": 7}
    s = score(_forecasts(flags, links), truth, horizon=21 * D, min_lead_hours=48, end=END)
    assert s["positives"] == 4 and s["positives_sudden"] == 2 and s["positives_foreseeable"] == 2
    assert s["caught"] == 1
    assert s["recall"] == 1 / 4
    assert s["recall_foreseeable"] == 1 / 2
    assert s["flagged"] == 5
    assert s["true_flags"] == 3  # laser, drift, dirty (below zero when flagged)
    assert {f["link"] for f in s["false_flags"]} == {"noisy", "cleaned"}
    assert s["median_lead_hours"] == 96.0


def test_without_last_below_a_flag_after_the_crossing_counts_against_precision() -> None:
    truth = _truth([("dirty", 8, 20, True)]).drop("last_below_at", "sudden")
    s = score(_forecasts({"dirty": 9}, ["dirty"]), truth, horizon=21 * D, min_lead_hours=48, end=END)
    assert s["true_flags"] == 0 and "recall_foreseeable" not in s


def test_cohort_coverage_is_judged_on_the_intervals() -> None:
    cohorts = pl.DataFrame(
        {
            "family": ["*", "MTP", "MMC-field"],
            "termination": ["*", "factory", "field"],
            "matings": [100, 80, 20],
            "steps": [6, 2, 4],
            "p_step": [0.06, 0.03, 0.2],
            "p_step_lo": [0.02, 0.005, 0.08],
            "p_step_hi": [0.12, 0.08, 0.4],
            "step_db": [1.5, 1.0, 2.0],
            "step_db_lo": [1.0, 0.6, 1.2],
            "step_db_hi": [2.0, 1.1, 2.8],
        }
    )
    truth = pl.DataFrame(
        {
            "family": ["MTP", "MMC-field", "LC"],
            "termination": ["factory", "field", "factory"],
            "p_step": [0.03, 0.5, 0.04],
            "step_db": [1.2, 2.0, 1.2],
        }
    )
    r = {row["family"]: row for row in cohort_recovery(cohorts, truth).to_dicts()}
    assert r["MTP"]["p_covered"] is True and r["MTP"]["step_covered"] is False  # 1.2 > 1.1
    assert r["MMC-field"]["p_covered"] is False and r["MMC-field"]["step_covered"] is True  # 0.5 > 0.4
    assert r["LC"]["matings"] is None  # a cohort the analyzer never saw is listed, not dropped
    assert r["LC"]["p_covered"] is None and r["LC"]["step_covered"] is None
    assert not math.isnan(r["MTP"]["true_step_db"])


def test_baselines_skill_and_reliability_counted_by_hand() -> None:
    from analyzer.backtest import (
        climatology_baseline,
        predict_linear_baseline,
        reliability,
        score_with_baseline,
    )

    links = ["a", "b", "c", "d"]
    truth = _truth(
        [("a", 10, 20, False), ("b", None, None, None), ("c", None, None, None), ("d", None, None, None)]
    )
    fc = _forecasts({"a": 3}, links)  # a: 0.05 on days 1-2 then 0.9; others 0.05
    # climatology: a's 9 forecasts before day 10 are positives out of 9 + 3 * 20 scored -> 9 / 69
    clim = climatology_baseline(fc, truth, horizon=21 * D)
    assert clim["p"].unique().to_list() == [9 / 69]
    # the Prometheus rule fires where predict_linear is below the limit; nulls never fire
    snaps = fc.select("link", "issued_at", "until").with_columns(
        pl.when(pl.col("link") == "b").then(-1.0).when(pl.col("link") == "c").then(None).otherwise(2.0)
        .alias("pl_alarm_db"),
        pl.lit(1.0).alias("pl_sens_db"),
        pl.lit(3.0).alias("warn_margin_db"),
    )  # fmt: skip
    pl_fc = predict_linear_baseline(snaps)
    assert pl_fc.filter(pl.col("p") == 1)["link"].unique().to_list() == ["b"]
    out = score_with_baseline(fc, snaps, truth, horizon=21 * D, end=END)
    assert out["predict_linear"]["flagged"] == 1 and out["predict_linear"]["precision"] == 0.0
    assert out["predict_linear_sens"]["flagged"] == 0
    assert out["climatology"]["brier_skill"] == 0.0
    brier_clim = (9 * (1 - 9 / 69) ** 2 + 60 * (9 / 69) ** 2) / 69
    assert math.isclose(out["climatology"]["brier"], brier_clim)
    ours = (2 * 0.95**2 + 7 * 0.1**2 + 60 * 0.05**2) / 69
    assert math.isclose(out["brier"], ours)
    assert math.isclose(out["brier_skill"], 1 - ours / brier_clim)
    # reliability: bin 0 holds the 62 forecasts at 0.05 (2 crossed), bin 9 the 7 at 0.9 (all crossed)
    rel = {r["p_lo"]: r for r in reliability(fc, truth, horizon=21 * D, end=END)}
    assert rel[0.0]["n"] == 62 and math.isclose(rel[0.0]["observed"], 2 / 62)
    assert rel[0.9]["n"] == 7 and rel[0.9]["observed"] == 1.0
    assert out["reliability"] == list(rel.values())
