"""`risk` (and the other report commands) in every format, as a user runs them: a subprocess whose
stdout is a file, never a terminal."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from .test_planned_work import WINDOW, write_history, write_inventory

EXE = Path(sys.executable).with_name("linkmargin")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("fleet")
    inv = write_inventory(d / "inv.yaml", WINDOW)
    write_history(inv, d / "hist")
    return inv, d / "hist"


def _run(*args: str, out: Path | None = None) -> subprocess.CompletedProcess[str]:
    if out is None:
        return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=120)
    with out.open("w") as fh:  # `linkmargin ... > out.txt`
        return subprocess.run([str(EXE), *args], stdout=fh, stderr=subprocess.PIPE, text=True, timeout=120)


def test_risk_in_every_format(fleet: tuple[Path, Path], tmp_path: Path) -> None:
    inv, hist = fleet
    base = ["risk", "--inventory", str(inv), "--history", str(hist), "--horizon", "21d"]
    res = _run(*base, out=tmp_path / "out.txt")
    assert res.returncode == 0, res.stderr
    text = (tmp_path / "out.txt").read_text()
    assert "…" not in text and "L-target" in text and "P no work" in text and "P planned" in text
    target_row = next(line for line in text.splitlines() if "L-target" in line)
    assert "L-outside" not in target_row
    doc = json.loads(_run(*base, "--format", "json").stdout)
    assert doc["horizon"] == "21d" and {r["link"] for r in doc["links"]} >= {"L-target", "L-outside"}
    assert json.loads(_run(*base, "--json").stdout)["links"] == doc["links"]  # --json: --format json
    rows = list(csv.DictReader(io.StringIO(_run(*base, "--format", "csv").stdout)))
    assert {"p_cross", "p_cross_without_plan"} <= set(rows[0])
    assert [r["link"] for r in rows] == [r["link"] for r in doc["links"]]
    md = _run(*base, "--format", "markdown").stdout.splitlines()
    header = next(line for line in md if line.startswith("| rank |"))
    assert "| p_cross | p_cross_without_plan |" in header
    assert sum(1 for line in md if line.startswith("| ") and "L-" in line) == len(doc["links"])
    png = tmp_path / "r.png"
    assert _run(*base, "--png", str(png), "--format", "csv").returncode == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_format_and_unknown_links_are_errors(fleet: tuple[Path, Path], tmp_path: Path) -> None:
    inv, hist = fleet
    base = ["risk", "--inventory", str(inv), "--history", str(hist)]
    res = _run(*base, "--format", "xml")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 2 and "'xml'" in res.stderr
    job = tmp_path / "job.txt"
    job.write_text("L-target\nL-nope\nL-h1\nL-gone\n")
    res = _run(*base, "--links", str(job))
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.strip().splitlines() == [f"{job}: unknown link id(s): L-nope, L-gone"]
    job.write_text("L-target\nL-h1\n")
    res = _run(*base, "--links", str(job), "--format", "csv")
    assert res.returncode == 0 and sorted(r["link"] for r in csv.DictReader(io.StringIO(res.stdout))) == [
        "L-h1",
        "L-target",
    ]


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
def test_every_report_command_takes_every_format(fleet: tuple[Path, Path], fmt: str) -> None:
    inv, hist = fleet
    for args in (
        ["query", "cohorts", "--history", str(hist), "--inventory", str(inv), "--every", "1w"],
        ["query", "trending", "--history", str(hist), "--inventory", str(inv)],
        [
            "query",
            "sql",
            "SELECT link, count(*) AS n FROM margins GROUP BY link",
            "--history",
            str(hist),
            "--inventory",
            str(inv),
        ],
        ["inventory", "show", str(inv)],
    ):
        res = _run(*args, "--format", fmt)
        assert res.returncode == 0, (args, res.stderr)
        assert "…" not in res.stdout
        if fmt == "json":
            json.loads(res.stdout)
        elif fmt == "csv":
            assert len(list(csv.reader(io.StringIO(res.stdout)))) >= 1
        elif fmt == "markdown":
            assert any(
                line.startswith("| ---") or line.startswith("| --") for line in res.stdout.splitlines()
            )
    res = _run("inventory", "show", str(inv), "--format", "yaml")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 2


def test_risk_carries_each_links_worn_point_reflection_and_the_wear_curve(fleet: tuple[Path, Path]) -> None:
    inv, hist = fleet
    base = ["risk", "--inventory", str(inv), "--history", str(hist), "--horizon", "21d"]
    doc = json.loads(_run(*base, "--format", "json").stdout)
    target = next(r for r in doc["links"] if r["link"] == "L-target")
    # the link's most worn point: its end face's count now, its type's rated cycles, the hazard there
    assert target["wear_point"].startswith("L-target-")
    assert target["wear_matings"] >= 0 and target["wear_rated_matings"] > 0
    assert 0 <= target["wear_p_step_lo"] <= target["wear_p_step"] <= target["wear_p_step_hi"] <= 1
    assert all(r["ber_beyond_rx"] is False for r in doc["links"])  # Rx and nothing else: no reflection
    curve = doc["wear"]
    assert curve and {"family", "termination", "x_lo", "x_hi", "p_step", "p_step_lo", "p_step_hi"} <= set(
        curve[0]
    )
    assert all(c["p_step_lo"] <= c["p_step"] <= c["p_step_hi"] for c in curve)
    rows = list(csv.DictReader(io.StringIO(_run(*base, "--format", "csv").stdout)))
    wanted = {"wear_point", "wear_matings", "wear_rated_matings", "wear_p_step", "ber_beyond_rx"}
    assert wanted <= set(rows[0])
    by = {r["link"]: r for r in rows}
    assert by["L-target"]["wear_point"] == target["wear_point"]
    md = _run(*base, "--format", "markdown").stdout
    assert "| wear_point |" in md and target["wear_point"] in md
