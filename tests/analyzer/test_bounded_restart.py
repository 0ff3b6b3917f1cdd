"""The analyzer's passes as the daemon runs them (:class:`linkmargin_cli.passes.Passes`: bounded by
default, checkpointed after every pass): a restart from the checkpoint halfway through a 21-day fleet
gives the same forecast as an analyzer that never restarted (tolerances of test_bounded_pass.py), the
state keeps only the window and a day, a checkpoint kept for other lanes is not reused, and a
device's counter reset survives the checkpoint."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from analyzer import checkpoint
from analyzer.analysis import Analysis, analyze
from analyzer.bounded import WINDOW_HOURS
from analyzer.evidence import counter_resets
from analyzer.spec import LinkSpec
from analyzer.state import LaneState
from linkmargin_cli.passes import SLACK_HOURS, Passes
from tests.services import free_port

from . import scenario
from .fleet import Fleet, make_fleet
from .helpers import one_link_spec, samples
from .test_bounded_pass import assert_close

H = {"21d": 21.0}
RESTART_DAY = 11


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return make_fleet(days=21)


def _day(f: Fleet, d: int) -> pl.DataFrame:
    t0 = f.samples["ts"].min()
    return f.samples.filter(
        (pl.col("ts") >= t0 + timedelta(days=d - 1)) & (pl.col("ts") < t0 + timedelta(days=d))
    )


def _daemon(f: Fleet, days: range, ckpt: Path, *, restored: bool) -> tuple[LaneState, Passes, Analysis]:
    """What `linkmargin analyze --checkpoint` does: restore (when asked), then a pass and a checkpoint
    after each day's samples."""
    st, passes = LaneState(f.spec), Passes(f.spec)
    if restored:
        assert checkpoint.load(st, ckpt)
        assert passes.restore(ckpt).startswith("bounded state restored")
    an = None
    for d in days:
        st.ingest(_day(f, d))
        an = passes.run(st, horizons=H, planned=None, now=None)
        passes.save(st, ckpt)
    assert an is not None
    return st, passes, an


def test_a_restart_from_the_checkpoint_gives_the_same_forecast(fleet: Fleet, tmp_path: Path) -> None:
    _, _, never = _daemon(fleet, range(1, 22), tmp_path / "never", restored=False)
    _daemon(fleet, range(1, RESTART_DAY), tmp_path / "ckpt", restored=False)
    st, passes, after = _daemon(fleet, range(RESTART_DAY, 22), tmp_path / "ckpt", restored=True)
    # the state holds the window and a day only; the trend still rests on all 21 days
    assert st.history_hours == WINDOW_HOURS + SLACK_HOURS
    lo, hi = st.hour_range() or (0, 0)
    assert hi - lo <= WINDOW_HOURS + SLACK_HOURS  # the hours since now less history_hours
    assert int(after.lanes["history_hours"].max()) > 20 * 24  # type: ignore[arg-type]
    assert passes.bounded is not None and passes.bounded.rx.n_old.max() > 0
    assert_close(after, never)
    full = LaneState(fleet.spec)
    full.ingest(fleet.samples)
    assert_close(after, analyze(full, horizons=H))  # and both agree with the full recomputation
    fa, fn = after.forecasts["21d"].sort("link"), never.forecasts["21d"].sort("link")
    assert (fa["p_cross"] - fn["p_cross"]).abs().max() < 1e-6  # type: ignore[operator]


def test_the_full_pass_keeps_the_history_and_no_bounded_state(fleet: Fleet, tmp_path: Path) -> None:
    st, passes = LaneState(fleet.spec), Passes(fleet.spec, full=True)
    st.ingest(fleet.samples)
    passes.run(st, horizons=H, planned=None, now=None)
    passes.save(st, tmp_path)
    assert st.history_hours == 24 * 60 and passes.bounded is None
    assert checkpoint.load_bounded(tmp_path) is None
    bounded = Passes(fleet.spec)
    assert "no bounded state" in bounded.restore(tmp_path)  # the first pass scans what was restored


def test_a_checkpoint_for_other_lanes_is_not_reused(fleet: Fleet, tmp_path: Path) -> None:
    _daemon(fleet, range(1, 4), tmp_path, restored=False)
    lanes = fleet.spec.lanes
    shuffled = LinkSpec(lanes=lanes.reverse(), points=fleet.spec.points, events=fleet.spec.events)
    passes = Passes(shuffled)
    fresh = passes.bounded
    assert "lanes changed" in passes.restore(tmp_path) and passes.bounded is fresh
    same = Passes(fleet.spec)
    assert same.restore(tmp_path).startswith("bounded state restored") and same.bounded is not None
    assert same.bounded.last_hour is not None


def _ctr(t_s: float, value: int, up_cs: int) -> dict[str, object]:
    return {
        "t": t_s / 3600,
        "device": "dev-b",
        "port": "p1",
        "metric": "fec_corrected_cw",
        "counter": value,
        "counter_bits": 64,
        "uptime_cs": up_cs,
        "value": float(value),
    }


def test_a_counter_reset_survives_the_checkpoint(tmp_path: Path) -> None:
    spec = one_link_spec(lanes=4)
    st = LaneState(spec)
    for i in range(8):  # polls every 15 min, then the agent reboots: sysUpTime and the counter go back
        st.ingest(samples([_ctr(i * 900.0, 1000 + 2000 * i, 1_000_000 + 90_000 * i)]))
    st.ingest(samples([_ctr(8 * 900.0, 50, 30_000)]))
    assert st.resets.height == 1
    checkpoint.save(st, tmp_path)
    back = LaneState(spec)
    assert checkpoint.load(back, tmp_path)
    assert back.resets.equals(st.resets)
    assert counter_resets(back.resets, back.hourly())["text"].to_list() == (
        counter_resets(st.resets, st.hourly())["text"].to_list()
    )
    # a checkpoint written before resets were kept still loads, with none
    gen = tmp_path / (tmp_path / checkpoint.CURRENT).read_text().strip()
    (gen / "resets.parquet").unlink()
    old = LaneState(spec)
    assert checkpoint.load(old, tmp_path) and old.resets.is_empty()
    np.testing.assert_equal(old.hour_range(), st.hour_range())


def _analyze_cli(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("linkmargin")
    return subprocess.run(
        [str(exe), "analyze", "--spec", str(tmp_path / "spec"), "--history", str(tmp_path / "hist"),
         "--checkpoint", str(tmp_path / "ckpt"), "--metrics-port", str(free_port()), "--every", "0.5",
         "--duration", "2", "--horizon", "21d", *extra],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_analyze_command_checkpoints_and_restores_its_bounded_state(tmp_path: Path) -> None:
    spec, frame = scenario.build(scenario.recent_t0())
    spec.write_dir(str(tmp_path / "spec"))
    (tmp_path / "hist").mkdir()
    frame.write_parquet(tmp_path / "hist" / "s.parquet")
    first = _analyze_cli(tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "rebuilt state from" in first.stdout
    gen = tmp_path / "ckpt" / (tmp_path / "ckpt" / checkpoint.CURRENT).read_text().strip()
    assert (gen / "bounded" / "rx_lanes.parquet").exists() and (gen / "resets.parquet").exists()
    again = _analyze_cli(tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "bounded state restored" in again.stdout and "rebuilt state" not in again.stdout
    ps = checkpoint.load_bounded(tmp_path / "ckpt")
    assert ps is not None and ps.lanes_key == Passes(spec).key
    full = _analyze_cli(tmp_path, "--full-pass")  # the full pass keeps no bounded state
    assert full.returncode == 0, full.stderr[-2000:]
    assert "full pass" in full.stdout and checkpoint.load_bounded(tmp_path / "ckpt") is None
