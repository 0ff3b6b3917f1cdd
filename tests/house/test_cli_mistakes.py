"""Mistakes a user makes on the command line: two lines on stderr and exit 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXE = Path(sys.executable).with_name("linkmargin")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("frob",), "No such command 'frob'"),
        (("risk", "--history", "x", "--horizon", "soon"), "'soon'"),
        (("query", "cohorts", "--history", "x", "--inventory", "y", "--every", "month"), "'month'"),
        (("inventory", "check", "configs/inventory.example.yaml", "--devcies", "x"), "--devcies"),
        (("risk", "--horizon", "21d"), "--history"),
    ],
)
def test_a_mistake_is_two_lines_and_exit_2(args: tuple[str, ...], says: str) -> None:
    res = _run(*args)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 2 and says in lines[0], res.stderr
    assert lines[1].startswith("Try 'linkmargin")
    assert res.stdout == ""


def test_version() -> None:
    res = _run("--version")
    assert res.returncode == 0
    assert res.stdout.startswith("linkmargin ") and res.stdout.strip().split()[1][0].isdigit()
