from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from analyzer.backtest import score, score_with_baseline

from .helpers import T0


def _fc(rows: list[tuple[str, float, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "link": [r[0] for r in rows],
            "issued_at": [T0 + timedelta(hours=r[1]) for r in rows],
            "p": [r[2] for r in rows],
        }
    )


def test_scores_known_answer() -> None:
    h = timedelta(days=21)
    truth = pl.DataFrame(
        {
            "link": ["A", "B", "C", "D"],
            "crossed_at": [T0 + timedelta(hours=100), T0 + timedelta(hours=30), None, None],
        }
    )
    fc = _fc(
        [
            ("A", 0, 0.1),
            ("A", 24, 0.7),  # flagged at 24 h, crosses at 100 h: 76 h lead, caught
            ("B", 0, 0.2),
            ("B", 24, 0.9),  # flagged 6 h before crossing: not caught (lead < 48 h)
            ("C", 0, 0.6),
            ("C", 24, 0.1),  # false alarm
            ("D", 0, 0.0),
            ("D", 24, 0.0),
        ]
    )
    s = score(fc, truth, horizon=h)
    assert s["positives"] == 2 and s["caught"] == 1
    assert s["recall"] == pytest.approx(0.5)
    assert s["flagged"] == 3 and s["true_flags"] == 2
    assert s["precision"] == pytest.approx(2 / 3)
    assert s["median_lead_hours"] == pytest.approx(76.0)
    # outcomes: A 1,1; B 1,1; C 0,0; D 0,0
    expect = ((0.1 - 1) ** 2 + (0.7 - 1) ** 2 + (0.2 - 1) ** 2 + (0.9 - 1) ** 2 + 0.6**2 + 0.1**2) / 8
    assert s["brier"] == pytest.approx(expect)


def test_baseline_scored_the_same_way() -> None:
    h = timedelta(days=21)
    truth = pl.DataFrame({"link": ["A", "B"], "crossed_at": [T0 + timedelta(hours=200), None]})
    fc = _fc([("A", 0, 0.9), ("B", 0, 0.05)])
    snaps = pl.DataFrame(
        {
            "link": ["A", "A", "B"],
            "issued_at": [T0, T0 + timedelta(hours=190), T0],
            "warn_margin_db": [1.0, -0.2, 2.0],  # the module warns only 10 h before the loss
        }
    )
    s = score_with_baseline(fc, snaps, truth, horizon=h)
    assert s["recall"] == 1.0 and s["precision"] == 1.0 and s["median_lead_hours"] == pytest.approx(200.0)
    b = s["baseline"]
    assert b["recall"] == 0.0 and b["precision"] == 1.0 and b["median_lead_hours"] is None
