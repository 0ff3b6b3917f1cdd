"""What a pass reads from the state is built once per change: a pass after new samples sees them,
and gives what a state that took every sample at once gives."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from analyzer.analysis import Analysis, analyze
from analyzer.state import LaneState

from . import scenario

HORIZONS = {"21d": 21.0, "7d": 7.0}


def assert_same_analysis(a: Analysis, b: Analysis) -> None:
    assert_frame_equal(a.lanes, b.lanes)
    assert_frame_equal(a.links, b.links)
    assert_frame_equal(a.steps, b.steps)
    assert_frame_equal(a.cohorts.table, b.cohorts.table)
    for h in HORIZONS:
        assert_frame_equal(a.forecasts[h], b.forecasts[h])
        assert_frame_equal(a.lane_forecasts[h], b.lane_forecasts[h])


def test_a_pass_after_new_samples_sees_them() -> None:
    spec, frame = scenario.build()
    frame = frame.sort("ts")
    cut = frame["ts"].min() + (frame["ts"].max() - frame["ts"].min()) / 2  # type: ignore[operator]
    st = LaneState(spec)
    st.ingest(frame.filter(pl.col("ts") < cut))
    first = analyze(st, horizons=HORIZONS)
    hours_before = st.hourly().height
    assert analyze(st, horizons=HORIZONS).lanes.equals(first.lanes)  # nothing new: the same pass
    st.ingest(frame.filter(pl.col("ts") >= cut))
    assert st.hourly().height > hours_before
    later = analyze(st, horizons=HORIZONS)
    whole = LaneState(spec)
    whole.ingest(frame)
    assert_same_analysis(later, analyze(whole, horizons=HORIZONS))
    # the second half moved the fits: a stale read would have kept the first half's answer
    assert not later.lanes["history_hours"].equals(first.lanes["history_hours"])
