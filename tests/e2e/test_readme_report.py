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
from datetime import datetime
from pathlib import Path
from typing import Any

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
    assert lines[0].startswith("linkmargin demo ") and len(lines) == 7
    demo = run_as_user(lines[0], tmp_path)
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "…" not in demo.stdout  # the live table's last frame and the report, written to a pipe
    work = tmp_path / "var" / "demo"
    assert (work / "inventory.yaml").is_file() and any((work / "history").rglob("*.parquet"))

    table = run_as_user(lines[1], tmp_path)
    assert table.returncode == 0, table.stderr
    text = table.stdout
    assert "Pre-flight risk at 21d" in text and "…" not in text  # written to a pipe: whole cells
    for line in lines[2:]:
        res = run_as_user(line, tmp_path)
        assert res.returncode == 0, (line, res.stderr)
    assert (tmp_path / "risk.txt").read_text() == text  # the same table, redirected to a file
    doc = json.loads((tmp_path / "risk.json").read_text())
    rows = list(csv.DictReader(io.StringIO((tmp_path / "risk.csv").read_text())))
    md = (tmp_path / "risk.md").read_text()
    assert (tmp_path / "risk.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ranked = [r["link"] for r in doc["links"]]
    assert [r["link"] for r in rows] == ranked and len(ranked) >= 20
    assert all(f"| {link} |" in md for link in ranked) and "…" not in md
    assert all(link in text for link in ranked)
    assert {"p_cross", "p_cross_without_plan", "optic", "notes"} <= set(rows[0])
    assert any(c["family"] == "*" for c in doc["cohorts"])

    # The judge: the faults the scenario injected, from the lab's ground truth (a user's `lab truth`).
    truth = tmp_path / "truth"
    made = subprocess.run(
        [str(BIN / "linkmargin"), "lab", "truth", "--scenario", "demo", "--out", str(truth)],
        capture_output=True,
        timeout=300,
    )
    assert made.returncode == 0
    faults = {
        r["kind"]: r
        for r in pl.read_parquet(truth / "events.parquet")
        .filter(pl.col("kind").is_in(["contaminate", "bend", "failing_laser", "reboot"]))
        .iter_rows(named=True)
    }
    assert set(faults) == {"contaminate", "bend", "failing_laser", "reboot"}
    by_link = {r["link"]: r for r in doc["links"]}
    by_csv = {r["link"]: r for r in rows}
    links = _links(work / "inventory.yaml")

    def named(link: str, place: str) -> None:
        """``place`` (a point id or an optic) is the link's in JSON and CSV, and shows in the table,
        its file and the markdown."""
        row = by_link[link]
        assert place in ((row["point"] or ""), (row["optic"] or "")), row
        assert place in (by_csv[link]["point"], by_csv[link]["optic"])
        assert place in (row["action"] or "")  # the action names the same place
        for out in (text, md):
            assert place in out

    # the contamination (6 h, 2 dB on two lanes at a point): a step at that very point
    dirty = faults["contaminate"]
    named(dirty["link_id"], dirty["point_id"])
    assert "step" in by_link[dirty["link_id"]]["cause"]
    healthy = [r["rank"] for r in doc["links"] if r["link"] not in {f["link_id"] for f in faults.values()}]
    assert by_link[dirty["link_id"]]["rank"] < sorted(healthy)[len(healthy) // 2]
    # the bend (10 h, along the fiber: no connection point in the truth): a step on that link,
    # with the point to start from one of the link's own
    bend = faults["bend"]
    brow = by_link[bend["link_id"]]
    assert "step" in brow["cause"] and brow["point"] in links[bend["link_id"]]["points"], brow
    named(bend["link_id"], brow["point"])
    # the failing laser (since 2 h, side b): the optic, device, port and side, never a connection point
    laser = faults["failing_laser"]
    lrow = by_link[laser["link_id"]]
    side = next(k for k in ("a", "b") if links[laser["link_id"]][k][1] == laser["port"])
    optic = f"{links[laser['link_id']][side][0]} {laser['port']} (side {side})"
    assert "optic" in lrow["cause"] and lrow["point"] is None and lrow["optic"] == optic, lrow
    named(laser["link_id"], optic)
    # the reboot (12 h): evidence on the device, not a fault: counters reset, rates not spiked
    boot = faults["reboot"]
    dev = {d["device"]: d for d in doc["devices"]}[boot["device"]]
    assert dev["rebooted"] and not dev["spiked"] and dev["counters"] > 0, dev
    at = datetime.fromisoformat(dev["at"])
    assert abs((at - boot["t"]).total_seconds()) <= 1800, (at, boot["t"])  # a poll's lag at 600x
    said = f"{boot['device']} rebooted at "
    assert said in text and said in md and "rates not spiked" in text
    on_dev = [r for r in rows if boot["device"] in (links[r["link"]]["a"][0], links[r["link"]]["b"][0])]
    assert on_dev and all(said in r["notes"] for r in on_dev)
    assert not any(r["notes"] for r in rows if r not in on_dev)
    assert all(r["cause"] != "reboot" for r in doc["links"])  # not a fault


def _links(inventory: Path) -> dict[str, dict[str, Any]]:
    """Each link's ends (device, port) and connection point ids, as the user's inventory records them."""
    import yaml

    doc = yaml.safe_load(inventory.read_text())
    return {
        lk["id"]: {
            "a": (lk["a"]["device"], lk["a"]["port"]),
            "b": (lk["b"]["device"], lk["b"]["port"]),
            "points": {c["id"] for c in lk.get("connections", [])},
        }
        for lk in doc["links"]
    }


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
