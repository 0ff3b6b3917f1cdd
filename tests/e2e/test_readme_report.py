"""The README's pre-flight report, followed as a user: the demo, then `risk` in every format, each
command exactly as the README's "The pre-flight report, from the demo" block shows it (run in a
fresh directory, so `var/demo` is the test's)."""

from __future__ import annotations

import csv
import io
import json
import shlex
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def readme_block(heading: str) -> list[str]:
    """The commands of the first code block after ``heading`` in the README."""
    text = (ROOT / "README.md").read_text()
    after = text.split(heading, 1)[1]
    block = after.split("```", 2)[1]
    return [line for line in block.splitlines() if line.startswith("linkmargin ")]


def run_as_user(line: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """One README line: the linkmargin of this venv, its own redirect of stdout to a file."""
    args = shlex.split(line)
    out = None
    if ">" in args:
        i = args.index(">")
        out, args = cwd / args[i + 1], args[:i]
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(cwd)}
    if out is None:
        res = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)
        (cwd / "stdout.txt").write_text(res.stdout)
        return res
    with out.open("w") as fh:
        return subprocess.run(
            args, cwd=cwd, stdout=fh, stderr=subprocess.PIPE, text=True, timeout=300, env=env
        )


@pytest.mark.timeout(600)
def test_readme_demo_then_risk_in_every_format(tmp_path: Path) -> None:
    lines = readme_block("### The pre-flight report, from the demo")
    assert lines[0].startswith("linkmargin demo ") and len(lines) == 6
    demo = run_as_user(lines[0], tmp_path)
    assert demo.returncode == 0, demo.stderr[-2000:]
    work = tmp_path / "var" / "demo"
    assert (work / "inventory.yaml").is_file() and any((work / "history").rglob("*.parquet"))

    table = run_as_user(lines[1], tmp_path)
    assert table.returncode == 0, table.stderr
    text = table.stdout
    assert "Pre-flight risk at 21d" in text and "…" not in text  # written to a pipe: whole cells
    for line in lines[2:]:
        res = run_as_user(line, tmp_path)
        assert res.returncode == 0, (line, res.stderr)
    doc = json.loads((tmp_path / "risk.json").read_text())
    rows = list(csv.DictReader(io.StringIO((tmp_path / "risk.csv").read_text())))
    md = (tmp_path / "risk.md").read_text()
    assert (tmp_path / "risk.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ranked = [r["link"] for r in doc["links"]]
    assert [r["link"] for r in rows] == ranked and len(ranked) >= 20
    assert all(f"| {link} |" in md for link in ranked) and "…" not in md
    assert all(link in text for link in ranked)
    assert {"p_cross", "p_cross_without_plan"} <= set(rows[0])
    assert any(c["family"] == "*" for c in doc["cohorts"])

    # The faults the scenario injected, from the lab's ground truth (a user's `lab truth`).
    truth = tmp_path / "truth"
    made = subprocess.run(
        [str(BIN / "linkmargin"), "lab", "truth", "--scenario", "demo", "--out", str(truth)],
        capture_output=True,
        timeout=300,
    )
    assert made.returncode == 0
    faults = pl.read_parquet(truth / "events.parquet").filter(
        pl.col("kind").is_in(["contaminate", "bend", "failing_laser"])
    )
    by_link = {r["link"]: r for r in doc["links"]}
    faulty = set(faults["link_id"].to_list())
    healthy = [r for r in doc["links"] if r["link"] not in faulty]
    # What is robust after a minute (10 simulated hours; the contamination came at 6 h, 2 dB on two
    # lanes) whatever the estimators' tuning: the contaminated link ranks among the top 3 and above
    # the median healthy link. Which cause and action the advice gives is the advice's business; only
    # if it names a connection point or an optic for a fault must that be the injected one. The bend
    # (at 10 h) and the reboot (12 h) come after this run's end and are not asserted.
    dirty = faults.filter(pl.col("kind") == "contaminate").row(0, named=True)
    row = by_link[dirty["link_id"]]
    assert row["rank"] <= 3, row
    assert row["rank"] < sorted(r["rank"] for r in healthy)[len(healthy) // 2]
    if row["cause"] and "optic" not in row["cause"] and row["point"]:
        assert row["point"] == dirty["point_id"], row
        assert dirty["point_id"] in text
    laser = faults.filter(pl.col("kind") == "failing_laser").row(0, named=True)
    lrow = by_link[laser["link_id"]]
    if lrow["cause"] and "optic" in lrow["cause"]:
        assert laser["port"] in (lrow["action"] or ""), lrow  # the optic, never a connector point


@pytest.mark.timeout(300)
def test_demo_runs_a_scenario_file_and_starts_a_fresh_history_each_run(tmp_path: Path) -> None:
    scenario = tmp_path / "my-lab.yaml"
    scenario.write_text((ROOT / "lab/scenarios/demo.yaml").read_text().replace("name: demo", "name: my-lab"))
    work = tmp_path / "w"
    cmd = [str(BIN / "linkmargin"), "demo", "--scenario", str(scenario), "--workdir", str(work)]
    cmd += ["--duration", "6", "--metrics-port", "0", "--speed", "3600", "--poll", "1"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=200)
    assert first.returncode == 0, first.stderr[-2000:]
    files_1 = sorted(p.relative_to(work / "history") for p in (work / "history").rglob("*.parquet"))
    assert files_1
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=200)
    assert second.returncode == 0, second.stderr[-2000:]
    assert f"previous history moved to {work / 'history.prev'}" in second.stdout
    # the first run's files, untouched, as history.prev; the new history holds the second run only
    assert (
        sorted(p.relative_to(work / "history.prev") for p in (work / "history.prev").rglob("*.parquet"))
        == files_1
    )
    new = pl.read_parquet(sorted((work / "history").rglob("*.parquet")))
    dup = new.group_by("device", "port", "lane", "metric", "ts").len().filter(pl.col("len") > 1)
    assert dup.is_empty()  # no simulated time twice
    bad = subprocess.run([*cmd[:3], str(tmp_path / "nope.yaml"), *cmd[4:]], capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "nope.yaml" in bad.stderr
