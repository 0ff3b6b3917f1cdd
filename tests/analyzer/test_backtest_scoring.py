"""Scoring rules on hand-made frames whose right answers are counted by hand."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from analyzer.backtest import cohort_recovery, score

T0 = datetime(2026, 11, 1, tzinfo=UTC)
D = timedelta(days=1)
END = T0 + 21 * D


def _forecasts(flags: Mapping[str, float | None], links: list[str]) -> pl.DataFrame:
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


def test_without_last_below_the_link_is_taken_to_stay_below() -> None:
    truth = _truth([("dirty", 8, 20, True)]).drop("last_below_at", "sudden")
    s = score(_forecasts({"dirty": 9}, ["dirty"]), truth, horizon=21 * D, min_lead_hours=48, end=END)
    assert s["true_flags"] == 1 and "recall_foreseeable" not in s
    assert s["forecasts_below_at_issue"] == 20 - 8 + 1  # days 8..20


def _spans(link: str, spans: list[tuple[int, int]]) -> dict[str, Any]:
    return {
        "link": link,
        "crossed_at": T0 + spans[0][0] * D if spans else None,
        "last_below_at": T0 + spans[-1][1] * D if spans else None,
        "below": [{"below_from": T0 + a * D, "below_to": T0 + b * D} for a, b in spans],
    }


def test_a_link_down_from_the_start_is_an_outcome_not_a_false_flag() -> None:
    """The old rule dropped the forecasts issued after a link's first time below zero: a link already
    down at the first forecast and staying down had none scored, and its correct P = 1 flag counted
    as false once the link left the truth. The outcome is now the product's claim: below zero at some
    time in (issued_at, until]."""
    links = ["down", "quiet"]
    fc = pl.DataFrame(
        [
            {"link": lk, "issued_at": T0 + day * D, "until": END, "p": 1.0 if lk == "down" else 0.0}
            for day in range(1, 21)
            for lk in links
        ]
    )
    truth = pl.DataFrame([_spans("down", [(0, 21)]), _spans("quiet", [])])
    s = score(fc, truth, horizon=21 * D, min_lead_hours=48, end=END)
    assert s["flagged"] == 1 and s["true_flags"] == 1 and s["precision"] == 1.0
    assert s["forecasts_scored"] == 40 and s["brier"] == 0.0  # 20 at P = 1 on 1, 20 at P = 0 on 0
    assert s["positives"] == 0  # down before the first forecast: no crossing to foresee
    assert s["forecasts_below_at_issue"] == 20 and s["flags_below_at_issue"] == 1


def test_spans_below_zero_set_outcomes_and_crossings() -> None:
    """ "gap": below on days 0-4 (from the start), back above, below again on days 12-14. Its P is 0.9
    on days 1-4 (while below) and 0.05 after. The old rule saw one crossing at day 0 (none to recall)
    and left every forecast out; now: a crossing at day 12, not caught (the only flags were on the
    earlier span, not a warning of this one); forecasts on days 1-11 see the link below (outcome 1),
    days 14-20 do not (day 14's window starts after the last hour below).
    "late": crosses on day 10, flagged on day 9 (24 h ahead: not caught), recovers on day 11; its
    forecast on day 11 does not see it below, the one on day 10 (window (10, 21]) does."""
    fc = pl.DataFrame(
        [
            {"link": "gap", "issued_at": T0 + day * D, "until": END, "p": 0.9 if day <= 4 else 0.05}
            for day in range(1, 21)
        ]
        + [
            {"link": "late", "issued_at": T0 + day * D, "until": END, "p": 0.9 if day == 9 else 0.05}
            for day in range(1, 21)
        ]
    )
    truth = pl.DataFrame([_spans("gap", [(0, 4), (12, 14)]), _spans("late", [(10, 11)])])
    s = score(fc, truth, horizon=21 * D, min_lead_hours=48, end=END)
    cross = {c["link"]: c for c in s["crossings"]}
    assert s["positives"] == 2 and s["caught"] == 0
    assert cross["gap"]["crossed_at"] == T0 + 12 * D and cross["gap"]["flagged_at"] is None
    assert cross["late"]["lead_hours"] == 24.0
    assert s["flagged"] == 2 and s["true_flags"] == 2  # gap flagged while below, late ahead of its span
    assert s["flags_below_at_issue"] == 1  # gap's flag, a late alarm
    assert s["forecasts_below_at_issue"] == 4 + 3 + 2  # gap on days 1-4 and 12-14, late on days 10-11
    # gap: days 1-4 at 0.9 on 1, days 5-13 at 0.05 on 1, days 14-20 at 0.05 on 0;
    # late: days 1-8 and 10 at 0.05 on 1, day 9 at 0.9 on 1, days 11-20 at 0.05 on 0
    brier = (4 * 0.1**2 + 9 * 0.95**2 + 7 * 0.05**2 + 9 * 0.95**2 + 0.1**2 + 10 * 0.05**2) / 40
    assert s["forecasts_scored"] == 40 and math.isclose(s["brier"], brier)


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
    # climatology: a is below zero on days 10-20, so its forecasts of days 1-19 see it below (day 20's
    # window starts after its last hour below): 19 of the 4 * 20 forecasts -> 19 / 80 (the old rule
    # left a's forecasts after day 10 out: 9 / 69)
    clim = climatology_baseline(fc, truth, horizon=21 * D)
    assert clim["p"].unique().to_list() == [19 / 80]
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
    brier_clim = (19 * (1 - 19 / 80) ** 2 + 61 * (19 / 80) ** 2) / 80
    assert math.isclose(out["climatology"]["brier"], brier_clim)
    ours = (2 * 0.95**2 + 17 * 0.1**2 + 0.9**2 + 60 * 0.05**2) / 80
    assert math.isclose(out["brier"], ours)
    assert math.isclose(out["brier_skill"], 1 - ours / brier_clim)
    # reliability: bin 0 holds the 62 forecasts at 0.05 (2 saw a below zero), bin 9 the 18 at 0.9 (17 did)
    rel = {r["p_lo"]: r for r in reliability(fc, truth, horizon=21 * D, end=END)}
    assert rel[0.0]["n"] == 62 and math.isclose(rel[0.0]["observed"], 2 / 62)
    assert rel[0.9]["n"] == 18 and math.isclose(rel[0.9]["observed"], 17 / 18)
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


def test_truth_spans_from_the_lane_truth() -> None:
    """Hourly lane truth, two lanes: the link is below zero when any lane is (hours 2-3 on lane 1, hour 3
    on lane 2, then hours 6-7 on lane 2); a NaN margin (no light read) is not below."""
    from analyzer.backtest import below_spans
    from linkmargin_cli.backtest_run import truth_from_lanes

    h = timedelta(hours=1)
    m1 = [1.0, 0.5, -0.1, -0.2, 0.3, 0.4, 0.4, 0.4, float("nan")]
    m2 = [1.0, 1.0, 1.0, -0.5, 1.0, 1.0, -0.1, -0.1, 1.0]
    lanes = pl.DataFrame(
        {
            "t": [T0 + k * h for k in range(9)] * 2,
            "link_id": ["x"] * 18,
            "lane": [1] * 9 + [2] * 9,
            "margin_db": m1 + m2,
        }
    ).vstack(pl.DataFrame({"t": [T0], "link_id": ["ok"], "lane": [1], "margin_db": [2.0]}))
    truth = truth_from_lanes(lanes).sort("link")
    assert truth["link"].to_list() == ["ok", "x"]
    assert truth["crossed_at"].to_list() == [None, T0 + 2 * h]
    assert truth["last_below_at"].to_list() == [None, T0 + 7 * h]
    sp = below_spans(truth)
    assert sp.rows() == [("x", T0 + 2 * h, T0 + 3 * h), ("x", T0 + 6 * h, T0 + 7 * h)]


def test_planned_work_lists_each_window_once() -> None:
    """One announced window on A, whose work stepped it across 2 h later. The forecasts hold the same
    pass twice and the truth the same link twice (joins that once repeated rows): still one row, one
    crossing caused; and a link that crossed earlier and recovered before the forecast is scored."""
    from analyzer.backtest import planned_work_scores

    h = timedelta(hours=1)
    ts = T0 + 3 * D + 30 * 60 * timedelta(seconds=1)
    rows = [
        {"link": lk, "issued_at": T0 + k * 6 * h, "until": END, "p": 0.02, "p_no_work": 0.01}
        for k in range(1, 20)
        for lk in ("A", "B")
    ]
    fc = pl.DataFrame(rows + rows[-4:])
    planned = pl.DataFrame(
        {
            "window": ["w1", "w2"],
            "link": ["A", "B"],
            "point": ["a1", "b1"],
            "ts": [ts, ts],
            "kind": ["mated"] * 2,
        }
    )
    a = _spans("A", [(3, 4)]) | {"below": [{"below_from": T0 + 3 * D + 2 * h, "below_to": T0 + 4 * D}]}
    a["crossed_at"] = T0 + 3 * D + 2 * h
    b = _spans("B", [(1, 2)])  # below on days 1-2, up again before the work
    truth = pl.DataFrame([a | {"cause": "mate"}, a | {"cause": "mate"}, b | {"cause": "contaminate"}])
    out = planned_work_scores(fc, truth, planned, lead_hours=48.0)
    assert out["windows"] == 2 and out["caused"] == 1
    (row,) = out["crossings"]
    assert row["link"] == "A" and row["crossed_at"] == T0 + 3 * D + 2 * h and row["p"] == 0.02
