"""Each maintenance window's own forecast and its judge: "does tonight's re-patch take this link down".

The fleet of :mod:`tests.analyzer.test_planned_work` (field MMC links, four of six history matings left
a loss step, two links with 0.6 dB left). ``L-target`` is re-mated in a window that opens three hours
after the pass, ``L-outside`` in one that opens three days after it. With windows of the next day
forecast, only L-target gets a window forecast: P that it is below zero by 48 h after its window
opens, with that window's mating and without it. The mixture is worked by hand as in
test_planned_work (one mating: a step with the cohort's probability p, of the cohort's size):

    P_work = (1 - p) * P_none + p * Phi((mu - m) / sqrt(s^2 + e^2))

The judge (:func:`analyzer.backtest.window_scores`) is checked on forecasts made up here: the last
pass before each window opens, its outcome over (issued, work_until], Brier by hand.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from analyzer.analysis import add_forecast, analyze
from analyzer.backtest import WORK_AFTER_HOURS, forecast_pass, window_scores
from analyzer.forecast import DOM_SD_DB
from analyzer.state import LaneState
from linkmargin.inventory import load_inventory
from linkmargin_cli.wiring import planned_from_inventory, spec_from_inventory

from .test_planned_work import END, write_history, write_inventory

NOW = END + timedelta(hours=1)
TONIGHT = NOW + timedelta(hours=3)
LATER = NOW + timedelta(days=3)


def _window(wid: str, start: datetime, point: str) -> str:
    return (
        f"  - {{id: {wid}, start: '{start.isoformat()}', end: '{(start + timedelta(hours=4)).isoformat()}',\n"
        f"     points: [{point}], actions: [clean, mate]}}\n"
    )


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[LaneState, pl.DataFrame]:
    d = tmp_path_factory.mktemp("window")
    maintenance = (
        "maintenance:\n"
        + _window("tonight", TONIGHT, "L-target-mmc")
        + _window("later", LATER, "L-outside-mmc")
    )
    inv = load_inventory(write_inventory(d / "inv.yaml", maintenance))
    write_history(d / "inv.yaml", d / "hist")
    state = LaneState(spec_from_inventory(inv), clock=lambda: NOW)
    state.ingest(pl.read_parquet(d / "hist" / "part-0.parquet"))
    return state, planned_from_inventory(inv)


@pytest.fixture(scope="module")
def passed(fleet):
    state, planned = fleet
    fp = forecast_pass(state, NOW, NOW + timedelta(days=21), 21 * 86400.0, planned)
    assert fp is not None
    return fp


def test_a_forecast_of_some_links_is_theirs_in_the_whole_fleets(fleet) -> None:
    """The window forecasts are made for the window's links only: each lane's forecast is its own."""
    state, planned = fleet
    an = analyze(state, now=NOW)
    add_forecast(an, "all", 2.0, planned=planned, now=NOW)
    add_forecast(an, "some", 2.0, planned=planned, now=NOW, links=pl.Series(["L-target", "L-h1"]))
    some = an.lane_forecasts["some"]
    assert set(some["link"]) == {"L-target", "L-h1"}
    whole = an.lane_forecasts["all"].filter(pl.col("link").is_in(["L-target", "L-h1"]))
    assert some.sort("li").equals(whole.sort("li"))


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def test_a_window_opening_soon_gets_its_own_forecast(passed) -> None:
    fc = {r["link"]: r for r in passed.forecasts.to_dicts()}
    t = fc["L-target"]
    assert t["work_window"] == "tonight"
    assert t["work_until"] == TONIGHT + timedelta(hours=WORK_AFTER_HOURS)
    cohort = passed.cohorts.filter((pl.col("family") == "MMC-field") & (pl.col("termination") == "field"))
    p, mu, s = cohort.select("p_step", "step_db", "step_db_sd").row(0)
    m = 0.6  # the link's margin (DOM alone: its error is DOM_SD_DB)
    expected = (1 - p) * t["p_work_none"] + p * _phi((mu - m) / math.hypot(s, DOM_SD_DB))
    print(f"cohort p={p:.3f} mu={mu:.2f} s={s:.2f}; P_none={t['p_work_none']:.4f} P_work={t['p_work']:.4f}")
    assert t["p_work"] == pytest.approx(expected, abs=0.02)
    assert t["p_work"] - t["p_work_none"] > 0.5 * p
    # the window's forecast covers two days, the run's forecast three weeks: less time to drift
    assert t["p_work_none"] <= t["p_no_work"] + 1e-9


def test_links_whose_window_is_not_soon_or_none_get_no_window_forecast(passed) -> None:
    fc = {r["link"]: r for r in passed.forecasts.to_dicts()}
    assert fc["L-outside"]["work_window"] is None  # its window opens in three days
    assert fc["L-outside"]["planned"] == 1  # but the run's forecast holds it
    others = [r for k, r in fc.items() if k not in ("L-target", "L-outside")]
    assert others and all(r["work_window"] is None and r["p_work"] is None for r in others)


T0 = datetime(2026, 5, 1, tzinfo=UTC)
H = timedelta(hours=1)


def test_each_window_is_judged_by_the_last_pass_before_it_over_its_own_span() -> None:
    """Windows w1 (A, B) and w2 (C) open at hour 20; passes at hours 6, 12, 18 forecast them until hour
    68. A's link went below zero at hour 30 (inside), B's at hour 80 (after its span: outcome 0), C was
    below zero at the pass (left out). Each pair takes the hour-18 pass."""
    ts = T0 + 20 * H
    until = ts + 48 * H
    rows = []
    for k, (pa, pb, pc) in zip((6, 12, 18), ((0.1, 0.1, 0.5), (0.2, 0.1, 0.5), (0.7, 0.2, 0.5)), strict=True):
        for link, p, w in (("A", pa, "w1"), ("B", pb, "w1"), ("C", pc, "w2")):
            rows.append(
                {"link": link, "issued_at": T0 + k * H, "work_window": w, "p_work": p, "p_work_none": p / 2,
                 "work_until": until}
            )  # fmt: skip
    rows.append(  # a pass after the window opened is not a forecast of it
        {"link": "A", "issued_at": T0 + 24 * H, "work_window": None, "p_work": None, "p_work_none": None,
         "work_until": None}
    )  # fmt: skip
    fc = pl.DataFrame(rows, schema_overrides={"work_until": pl.Datetime("us", "UTC")})
    truth = pl.DataFrame(
        {
            "link": ["A", "B", "C"],
            "crossed_at": [T0 + 30 * H, T0 + 80 * H, T0 + 2 * H],
            "last_below_at": [T0 + 40 * H, T0 + 90 * H, T0 + 100 * H],
        }
    )
    work = pl.DataFrame(
        {"window": ["w1", "w1", "w2"], "link": ["A", "B", "C"], "ts": [ts] * 3, "matings": [1, 1, 1]}
    )
    out = window_scores(fc, truth, work)
    assert out["pairs"] == 2 and out["below"] == 1
    assert out["brier"] == pytest.approx(((0.7 - 1) ** 2 + 0.2**2) / 2)
    assert out["brier_no_work"] == pytest.approx(((0.35 - 1) ** 2 + 0.1**2) / 2)
    bins = {(round(r["p_lo"], 1), r["n"], r["observed"]) for r in out["reliability"]}
    assert bins == {(0.2, 1, 0.0), (0.7, 1, 1.0)}
    # forecasts without the window columns (an older run): no judge, no error
    assert window_scores(fc.drop("p_work"), truth, work)["pairs"] == 0
