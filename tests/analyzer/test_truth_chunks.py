"""The backtest's truth read a chunk of samples at a time is the truth read in one go."""

from __future__ import annotations

import pytest
from polars.testing import assert_frame_equal

from lab.physics.sim import FabricSim
from lab.scenario import load_scenario
from lab.truth import run_truth
from linkmargin_cli import backtest_run
from linkmargin_cli.backtest_run import truth_crossings, truth_from_lanes


@pytest.mark.parametrize("chunk", [1, 5, 24, 1000])
def test_truth_in_chunks_is_the_truth_in_one_go(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """The demo's two days at 1 h (49 samples): chunks of 1, 5 (a last one short), 24 and all of them."""
    sc = load_scenario("demo")
    whole = truth_from_lanes(run_truth(FabricSim(sc), step_s=3600.0)).sort("link")
    monkeypatch.setattr(backtest_run, "TRUTH_CHUNK_SAMPLES", chunk)
    sim = FabricSim(sc)
    chunked = truth_crossings(sim, step_s=3600.0).sort("link")
    assert sim.t == sc.duration_s
    assert whole.height == 24 and whole["crossed_at"].null_count() < whole.height  # some links crossed
    assert_frame_equal(chunked, whole)
