"""An analyzer killed with SIGKILL and started again with ``--history DIR`` rebuilds its state from the
Parquet history and serves the same lanes on /metrics as before the kill: the same series, the same
margins. The history is a real one, written by `linkmargin demo` (lab agents, collector, sinks)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from linkmargin import history
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[2]
# what a pass computes from the state alone (forecast families also move with the wall clock)
COMPARED = (
    "linkmargin_margin_db",
    "linkmargin_warn_margin_db",
    "linkmargin_ber_margin_db",
    "linkmargin_ber_margin_decades",
    "linkmargin_link_margin_db",
    "linkmargin_dom_rx_offset_db",
    "linkmargin_excess_loss_db",
)
LANE_FAMILIES = ("linkmargin_margin_db", "linkmargin_risk_probability", "linkmargin_margin_forecast_db")
SERIES = re.compile(r"^(linkmargin_\w+)(\{[^}]*\})? (\S+)$", re.M)


def _scrape(port: int) -> dict[tuple[str, str], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=3) as r:
        text = r.read().decode()
    return {(m[1], m[2] or ""): float(m[3]) for m in SERIES.finditer(text)}


@pytest.fixture(scope="module")
def demo_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("analyzer-restart") / "demo"
    p = subprocess.run(
        [sys.executable, "-m", "linkmargin_cli", "demo", "--duration", "20", "--poll", "1",
         "--metrics-port", "0", "--workdir", str(work)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr[-2000:]
    return work


def _analyzer(work: Path, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "linkmargin_cli", "analyze", "--inventory", str(work / "inventory.yaml"),
         "--history", str(work / "history"), "--metrics-port", str(port), "--every", "1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _served(proc: subprocess.Popen[str], port: int) -> dict[tuple[str, str], float]:
    """/metrics once a pass has been exported (margins present) and two scrapes agree on the series."""
    deadline = time.monotonic() + 120
    last: dict[tuple[str, str], float] = {}
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            got = _scrape(port)
        except OSError:
            time.sleep(0.5)
            continue
        if any(k[0] == "linkmargin_margin_db" for k in got) and set(got) == set(last):
            return got
        last = got
        time.sleep(1.0)
    raise AssertionError(f"no analysis pass on /metrics within 120 s: {sorted(last)[:5]}")


@pytest.mark.timeout(420)
def test_killed_analyzer_rebuilds_the_same_lanes_from_history(demo_history: Path) -> None:
    files = history.list_history(demo_history / "history")
    assert files.bad == [] and files.rows > 0
    runs: list[dict[tuple[str, str], float]] = []
    for _ in range(2):
        port = free_port()
        proc = _analyzer(demo_history, port)
        try:
            runs.append(_served(proc, port))
        finally:
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(10) == -signal.SIGKILL
    before, after = runs
    # every sample of the history is in the state, both times
    assert before[("linkmargin_analyzer_samples_total", "")] == files.rows
    assert after[("linkmargin_analyzer_samples_total", "")] == files.rows
    for fam in LANE_FAMILIES:  # the same lanes
        lanes_before = {labels for name, labels in before if name == fam}
        lanes_after = {labels for name, labels in after if name == fam}
        assert lanes_before and lanes_after == lanes_before, fam
    for fam in COMPARED:  # the same values
        keys = [k for k in before if k[0] == fam]
        assert keys, fam
        for k in keys:
            assert after[k] == pytest.approx(before[k], abs=1e-6, nan_ok=True), k
    n_margin = sum(1 for k in before if k[0] == "linkmargin_margin_db")
    print(f"\nrestart: {files.rows} samples rebuilt, {n_margin} lane margins identical after kill -9")
