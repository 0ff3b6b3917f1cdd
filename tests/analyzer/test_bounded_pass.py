"""A pass with the bounded estimators (:mod:`analyzer.bounded`: a 7-day window, the rest folded) against
the full recomputation over the whole history, on a 21-day fleet with matings and steps.

Stated tolerance: the same steps, attributed to the same points; cohort step probabilities equal,
cohort drifts within 1e-4 dB/day; per-lane drift within 0.5 of the full fit's standard error (median
0.1; the folded hours keep the Huber weights they had when they left the window, and the residual
scale comes from the window), shrunk drift within 0.001 dB/day; crossing probabilities within 0.02
and forecast margins within 0.01 dB per link. Both when the history is scanned at the first pass (a
restart) and when it arrives day by day.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from analyzer.analysis import Analysis, analyze
from analyzer.bounded import PassState
from analyzer.state import LaneState

from .fleet import make_fleet

H = {"21d": 21.0}


@pytest.fixture(scope="module")
def fleet_and_full():
    f = make_fleet(days=21)
    st = LaneState(f.spec)
    st.ingest(f.samples)
    return f, st, analyze(st, horizons=H)


def assert_close(b: Analysis, full: Analysis) -> None:
    key = ["li", "hour_idx", "point"]
    assert b.steps.select(key).sort(key).equals(full.steps.select(key).sort(key))
    assert b.steps["explained"].sum() == full.steps["explained"].sum() > 0
    ct, ft = b.cohorts.table.sort("family"), full.cohorts.table.sort("family")
    assert ct["p_step"].to_list() == ft["p_step"].to_list()
    assert (ct["drift_db_per_day"] - ft["drift_db_per_day"]).abs().max() < 1e-4  # type: ignore[operator]
    d = (b.lanes["drift_shrunk"] - full.lanes["drift_shrunk"]).abs()
    assert d.max() < 0.001  # type: ignore[operator]
    z = (
        (b.lanes["drift_db_per_day"] - full.lanes["drift_db_per_day"]).abs() / full.lanes["drift_se"]
    ).to_numpy()
    assert np.nanmax(z) < 0.5 and float(np.nanmedian(z)) < 0.1
    bf, ff = b.forecasts["21d"].sort("link"), full.forecasts["21d"].sort("link")
    assert (bf["p_cross"] - ff["p_cross"]).abs().max() < 0.02  # type: ignore[operator]
    assert (bf["forecast_db"] - ff["forecast_db"]).abs().max() < 0.01  # type: ignore[operator]


def test_bounded_pass_after_a_restart_scan(fleet_and_full) -> None:
    f, st, full = fleet_and_full
    ps = PassState(f.spec.lanes.height)
    first = analyze(st, horizons=H, bounded=ps)  # 21 days of history, a 7-day window: one scan
    assert_close(first, full)
    assert ps.rx.n_old.max() > 0 and (ps.rx.hours >= 0).sum() == 168
    # one trend column per step found (a step older than the ring is not added again as it moves on)
    found = first.steps.group_by("li").len()
    assert (ps.rx.n_steps[found["li"].to_numpy()] == found["len"].to_numpy()).all()
    assert ps.rx.n_steps.sum() == first.steps.height
    again = analyze(st, horizons=H, bounded=ps)  # nothing new: the same answer (IRLS goes on converging)
    assert (again.lanes["drift_shrunk"] - first.lanes["drift_shrunk"]).abs().max() < 1e-4  # type: ignore[operator]


def test_bounded_pass_day_by_day(fleet_and_full) -> None:
    f, _, full = fleet_and_full
    st = LaneState(f.spec)
    ps = PassState(f.spec.lanes.height)
    t0 = f.samples["ts"].min()
    an = None
    for d in range(1, 22):
        day = (pl.col("ts") >= t0 + timedelta(days=d - 1)) & (pl.col("ts") < t0 + timedelta(days=d))
        st.ingest(f.samples.filter(day))
        an = analyze(st, horizons=H, bounded=ps)
    assert an is not None
    assert_close(an, full)


def test_bounded_state_survives_a_checkpoint(fleet_and_full, tmp_path) -> None:
    """Restart from the checkpoint: the folded statistics come back, the next pass is the same."""
    from analyzer import checkpoint

    f, st, _ = fleet_and_full
    ps = PassState(f.spec.lanes.height)
    before = analyze(st, horizons=H, bounded=ps)
    checkpoint.save(st, tmp_path, bounded=ps)
    st2 = LaneState(f.spec)
    assert checkpoint.load(st2, tmp_path)
    ps2 = checkpoint.load_bounded(tmp_path)
    assert ps2 is not None and ps2.rx.n_old.sum() == ps.rx.n_old.sum() > 0
    np.testing.assert_array_equal(ps2.rx.a_old, ps.rx.a_old)
    after = analyze(st2, horizons=H, bounded=ps2)
    again = analyze(st, horizons=H, bounded=ps)
    assert (after.lanes["drift_shrunk"] - again.lanes["drift_shrunk"]).abs().max() < 1e-12  # type: ignore[operator]
    assert after.steps.select("li", "hour_idx").equals(before.steps.select("li", "hour_idx"))
    assert checkpoint.load_bounded(tmp_path / "none") is None
