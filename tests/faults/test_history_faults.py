"""The Parquet history under faults, with real processes: a `linkmargin demo` killed with SIGKILL keeps
all but its last flush_s seconds; a corrupt file among good ones is skipped by `query` and `risk` with
a warning naming it and listed by `history check`; a full disk (a tmpfs) under the history is counted
and polling goes on, and the rows held meanwhile are written once there is room again."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from linkmargin import history
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[2]
FLUSH_S = 5.0  # the default (ParquetSink, collector config)
SLACK_S = 2.5  # scrape spacing, the write itself and a loaded machine


def _demo(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "linkmargin_cli", "demo", "--duration", "300", "--poll", "1",
         "--metrics-port", str(port), "--workdir", str(workdir)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def _metrics(port: int) -> dict[str, float]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return {}
    out = {}
    for m in re.finditer(
        r"^(linkmargin_collector_(?:samples|history_\w+?))(?:_total)? ([0-9.e+]+)$", text, re.M
    ):
        out[m.group(1)] = float(m.group(2))
    return out


@dataclass
class Killed:
    workdir: Path
    scrapes: list[tuple[float, float]]  # (monotonic time, samples handed to the sinks)
    killed_at: float


def _run_and_kill(workdir: Path, after_samples_s: float) -> Killed:
    port = free_port()
    proc = _demo(workdir, port)
    scrapes: list[tuple[float, float]] = []
    try:
        deadline = time.monotonic() + 120
        first = None
        while time.monotonic() < deadline:
            n = _metrics(port).get("linkmargin_collector_samples", 0.0)
            now = time.monotonic()
            if n > 0:
                scrapes.append((now, n))
                first = first or now
                if now - first >= after_samples_s:
                    break
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.25)
        assert first is not None, "the demo never polled"
        proc.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return Killed(workdir, scrapes, killed_at)


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> Killed:
    return _run_and_kill(tmp_path_factory.mktemp("killed") / "demo", after_samples_s=14.0)


@pytest.mark.timeout(240)
def test_kill_9_loses_at_most_the_last_flush_s(killed: Killed) -> None:
    files = history.list_history(killed.workdir / "history")
    assert files.bad == [] and files.rows > 0
    rows = history.read_history(files)
    assert rows is not None and rows.height == files.rows
    assert rows.unique().height == rows.height  # nothing doubled
    # the history holds what the sinks were handed up to some moment; that moment is at most
    # flush_s (plus slack) before the kill: the latest scrape that had no more samples than it
    t_covered = max(t for t, n in killed.scrapes if n <= rows.height)
    lost_s = killed.killed_at - t_covered
    last = killed.scrapes[-1][1]
    rate = last / (killed.scrapes[-1][0] - killed.scrapes[0][0] + 1.0)
    print(f"\nkill -9: {rows.height} rows kept, {last - rows.height:.0f} of {last:.0f} lost "
          f"(~{lost_s:.1f} s of {rate:.0f} rows/s); {len(files.good)} files")  # fmt: skip
    assert rows.height <= last
    assert lost_s <= FLUSH_S + SLACK_S, (lost_s, killed.scrapes)


def _answer(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "linkmargin_cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=180
    )


@pytest.mark.timeout(300)
def test_a_corrupt_file_is_skipped_by_name_and_listed_by_history_check(
    killed: Killed, tmp_path: Path
) -> None:
    good = tmp_path / "good"
    shutil.copytree(killed.workdir / "history", good)
    inv = str(killed.workdir / "inventory.yaml")
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    some = sorted(bad.rglob("part-*.parquet"))[0]
    truncated = some.with_name("part-L0-0000000000000000-truncat.parquet")
    truncated.write_bytes(some.read_bytes()[: some.stat().st_size // 2])
    garbage = some.with_name("part-L0-0000000000000000-garbage.parquet")
    garbage.write_bytes(os.urandom(4096))

    check = _answer(["history", "check", str(bad)])
    assert check.returncode == 2, check.stdout + check.stderr
    listed = sorted(line.split(": ", 1)[0] for line in check.stderr.splitlines() if line.strip())
    assert listed == sorted([str(truncated), str(garbage)])
    assert _answer(["history", "check", str(good)]).returncode == 0

    for cmd in (["query", "cohorts", "--every", "1d", "--format", "json"], ["risk", "--json"]):
        ref = _answer([*cmd, "--history", str(good), "--inventory", inv])
        got = _answer([*cmd, "--history", str(bad), "--inventory", inv])
        assert ref.returncode == 0, ref.stderr
        assert got.returncode == 0 and "Traceback" not in got.stderr, got.stderr
        for f in (truncated, garbage):  # one warning naming each bad file
            assert got.stderr.count(str(f)) == 1, got.stderr
        ref_doc, got_doc = json.loads(ref.stdout), json.loads(got.stdout)
        if isinstance(ref_doc, dict):
            ref_doc.pop("generated_at", None), got_doc.pop("generated_at", None)
        assert got_doc == ref_doc  # the same answer from the good files


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)]).returncode == 0


@pytest.fixture
def full_history(tmp_path: Path) -> Iterator[Path]:
    hist = tmp_path / "demo" / "history"
    if not _mount_tmpfs(hist, "2m"):
        pytest.skip("cannot mount a tmpfs here (not root); the sink's unit test simulates ENOSPC")
    try:
        yield hist
    finally:
        subprocess.run(["umount", "-l", str(hist)], check=False)


@pytest.mark.timeout(240)
def test_a_full_disk_under_the_history_is_counted_and_polling_goes_on(full_history: Path) -> None:
    filler = full_history / "filler"
    with pytest.raises(OSError), open(filler, "wb", buffering=0) as fh:  # fill it to the last byte
        while True:
            fh.write(b"\0" * 4096)
    port = free_port()
    proc = _demo(full_history.parent, port)
    try:
        seen: dict[str, float] = {}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and seen.get("linkmargin_collector_history_write_errors", 0) < 3:
            seen = _metrics(port)
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.5)
        assert seen.get("linkmargin_collector_history_write_errors", 0) >= 3, seen
        assert seen["linkmargin_collector_history_rows"] == 0
        polled = seen["linkmargin_collector_samples"]
        time.sleep(3)
        later = _metrics(port)
        assert later["linkmargin_collector_samples"] > polled  # polling did not stop
        assert later["linkmargin_collector_history_buffered_rows"] > 0  # held for when there is room
        filler.unlink()  # room again: the held rows are written at the next flush
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            after = _metrics(port)
            if after.get("linkmargin_collector_history_rows", 0) >= later["linkmargin_collector_samples"]:
                break
            time.sleep(0.5)
        assert after["linkmargin_collector_history_rows"] >= later["linkmargin_collector_samples"], after
        assert after["linkmargin_collector_history_rows_dropped"] == 0
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert not list(full_history.rglob(".*.tmp"))  # every failed write removed its partial file
    files = history.list_history(full_history)
    assert files.bad == [] and files.rows > 0
    rows = history.read_history(files)
    assert rows is not None and rows.unique().height == rows.height
