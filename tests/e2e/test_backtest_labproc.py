"""The backtest's lab in its own process: the same samples as the in-process lab, and a lab process that
fails or dies ends the backtest with exit 2 and one clear line, never a traceback nor an orphan."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from rich.console import Console
from typer.testing import CliRunner

from lab.physics.sim import FabricSim
from lab.scenario import load_scenario
from linkmargin.history import list_history, read_history
from linkmargin_cli import app
from linkmargin_cli.backtest_run import run_backtest
from linkmargin_cli.harness import gnmi_devices
from linkmargin_cli.labproc import LabProcess

DEMO = Path(__file__).parents[2] / "lab" / "scenarios" / "demo.yaml"


def _run(tmp: Path, name: str, *, in_process: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    fc, _snaps, stats = asyncio.run(
        run_backtest(
            str(DEMO),
            tmp / f"work-{name}",
            horizon_s=86400.0,
            step_s=6 * 3600.0,
            analyze_s=12 * 3600.0,
            transport="gufo",
            console=Console(quiet=True),
            history=tmp / name,
            lab_transport="mixed",
            in_process=in_process,
        )
    )
    assert stats["polls"] == stats["steps"] * 8 * 2  # every switch answered every step
    history = read_history(list_history(tmp / name))
    assert history is not None
    return history, fc


@pytest.mark.timeout(300)
def test_the_lab_process_serves_the_in_process_labs_samples(tmp_path: Path) -> None:
    """Nine steps of 6 h over SNMP and gNMI (a reboot at 12 h among them): the history the collector
    kept and the forecasts are the same, row for row, whichever process the lab runs in.

    Except a gNMI switch's uptime: its server stamps notifications with the wall clock and places the
    boot time where the simulated uptime ends at the render, so the uptime read moves with the wall
    time between the render and the read (lab.gnmi.render), in one process as in two."""
    child, fc_child = _run(tmp_path, "child", in_process=False)
    inproc, fc_inproc = _run(tmp_path, "inproc", in_process=True)
    assert child.height > 9 * 1000 and child["ts"].n_unique() == 9
    gnmi = pl.col("device").is_in(gnmi_devices(list(FabricSim(load_scenario(DEMO)).fleet.dev_names), "mixed"))
    for frame in (child, inproc):
        assert frame.filter(gnmi & pl.col("uptime_cs").is_not_null()).height > 0  # both transports ran
        assert frame.filter(~gnmi).height > 0
    assert_frame_equal(child.filter(~gnmi), inproc.filter(~gnmi), check_row_order=False)

    def wall_free(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.filter(gnmi & (pl.col("metric") != "sys_uptime_cs")).drop("uptime_cs")

    assert_frame_equal(wall_free(child), wall_free(inproc), check_row_order=False)
    assert fc_child.height > 0
    assert_frame_equal(fc_child, fc_inproc)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too; reaped or not, it serves nothing
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"


@pytest.mark.timeout(300)
def test_a_lab_process_that_dies_mid_run_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lab process killed (SIGKILL) after the third step: the backtest says so and exits 2."""
    goto = LabProcess.goto
    pids: list[int] = []

    async def dying(self: LabProcess, t: float) -> None:
        assert self.process.pid is not None
        pids.append(self.process.pid)
        if len(pids) == 4:
            os.kill(self.process.pid, signal.SIGKILL)
        await goto(self, t)

    monkeypatch.setattr(LabProcess, "goto", dying)
    res = CliRunner().invoke(
        app,
        [
            *("backtest", "--scenario", str(DEMO), "--step", "6h", "--analyze-every", "12h", "--json"),
            *("--workdir", str(tmp_path / "work")),
        ],
    )
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert f"the lab process (pid {pids[0]}) was killed by signal 9" in res.output
    assert "Traceback" not in res.output
    assert len(pids) == 4 and not _alive(pids[0])


def test_a_lab_process_that_cannot_start_is_one_line_exit_2(tmp_path: Path) -> None:
    """The lab process cannot write its inventory (the workdir is a file): its own error, exit 2."""
    (tmp_path / "work").write_text("not a directory\n")
    out = subprocess.run(
        [
            *(sys.executable, "-m", "linkmargin_cli", "backtest", "--scenario", "demo", "--json"),
            *("--workdir", str(tmp_path / "work")),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2, out.stderr[-3000:]
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) <= 2 and "Traceback" not in out.stderr, out.stderr
    assert "the lab process failed: FileExistsError" in out.stderr and "work" in out.stderr
