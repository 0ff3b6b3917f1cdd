"""Scoring rules on hand-made frames whose right answers are counted by hand."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

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


def test_planned_work_scores_take_the_last_p_before_the_work() -> None:
    """Four planned windows: A's work stepped the link across (cause mate, 5 h after the window opened),
    B's did not, C crossed 4 days after its work (another cause: not the work's), D was below zero
    before the forecast (left out). Forecasts twice a day; the P before the work is the last one issued
    before the window opens."""
    from analyzer.backtest import planned_work_scores

    h = timedelta(hours=1)
    p_of = {"A": (0.2, 0.6), "B": (0.1, 0.3), "C": (0.0, 0.05), "D": (0.9, 0.95)}
    rows = []
    for k in range(1, 40):
        at = T0 + k * 12 * h
        for link, (p0, p1) in p_of.items():
            # P rises from p0 to p1 at day 5 (when the plan comes inside... any change will do)
            rows.append(
                {"link": link, "issued_at": at, "until": END, "p": p1 if at >= T0 + 5 * D else p0,
                 "p_no_work": p0}
            )  # fmt: skip
    fc = pl.DataFrame(rows)
    ts = T0 + 6 * D + 3 * h  # the window opens between the 12:00 and the 00:00 forecasts
    planned = pl.DataFrame(
        {
            "window": ["w1", "w1", "w2", "w3", "w4"],
            "link": ["A", "A", "B", "C", "D"],
            "point": ["a1", "a2", "b1", "c1", "d1"],
            "ts": [ts, ts + h, ts, ts, ts],
            "kind": ["mated"] * 5,
        }
    )
    truth = pl.DataFrame(
        {
            "link": ["A", "B", "C", "D"],
            "crossed_at": [ts + 5 * h, None, ts + 4 * D, T0 + 1 * D],
            "cause": ["mate", None, "drift", "bend"],
        }
    )
    out = planned_work_scores(fc, truth, planned, lead_hours=48.0)
    assert out["windows"] == 3 and out["caused"] == 1  # D left out: below zero before the forecast
    (row,) = out["crossings"]
    assert row["link"] == "A" and row["matings"] == 2 and row["ts"] == ts
    assert row["issued_at"] == T0 + 6 * D and row["p"] == 0.6 and row["p_no_work"] == 0.2
    # Brier over A (0.6 vs 1), B (0.3 vs 0), C (0.05 vs 0); without the plan 0.2, 0.1, 0.0
    assert out["brier"] == pytest.approx((0.4**2 + 0.3**2 + 0.05**2) / 3)
    assert out["brier_no_work"] == pytest.approx((0.8**2 + 0.1**2) / 3)
    bins = {(round(r["p_lo"], 1), r["n"], r["observed"]) for r in out["reliability"]}
    assert bins == {(0.0, 1, 0.0), (0.3, 1, 0.0), (0.6, 1, 1.0)}
    assert planned_work_scores(fc, truth, planned.clear())["windows"] == 0
