"""A state checkpointed and reloaded gives the same analysis as the original, and goes on ingesting."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from analyzer import checkpoint
from analyzer.analysis import analyze
from analyzer.state import LaneState

from . import scenario
from .test_pass_state import HORIZONS, assert_same_analysis


def test_reloaded_state_gives_the_same_analysis(tmp_path: Path) -> None:
    spec, frame = scenario.build()
    frame = frame.sort("ts")
    cut = frame["ts"].min() + (frame["ts"].max() - frame["ts"].min()) * 0.7  # type: ignore[operator]
    first, rest = frame.filter(pl.col("ts") < cut), frame.filter(pl.col("ts") >= cut)
    st = LaneState(spec)
    st.ingest(first)
    checkpoint.save(st, tmp_path)
    checkpoint.save(st, tmp_path)  # a second generation replaces the first
    assert len(list(tmp_path.glob("state-*"))) == 1
    back = LaneState(spec)
    assert checkpoint.load(back, tmp_path)
    assert back.samples_seen == st.samples_seen
    assert_same_analysis(analyze(back, horizons=HORIZONS), analyze(st, horizons=HORIZONS))
    # counters and open hours survive: the rest of the data gives what one uninterrupted state gives
    st.ingest(rest)
    back.ingest(rest)
    assert_same_analysis(analyze(back, horizons=HORIZONS), analyze(st, horizons=HORIZONS))


def test_no_checkpoint_and_a_broken_one(tmp_path: Path) -> None:
    spec, _ = scenario.build()
    assert not checkpoint.load(LaneState(spec), tmp_path)
    (tmp_path / checkpoint.CURRENT).write_text("state-9")
    with pytest.raises(checkpoint.CheckpointError, match="state-9"):
        checkpoint.load(LaneState(spec), tmp_path)
