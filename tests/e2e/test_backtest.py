"""`linkmargin backtest` drives the lab through real SNMP polls, the bus and the analyzer, and scores
itself beside the static-threshold baseline in the same run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

KEYS = ("recall", "precision", "median_lead_hours", "brier")


@pytest.mark.timeout(400)
def test_backtest_json_through_the_real_pipeline(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "linkmargin_cli",
            "backtest",
            "--scenario",
            "demo",
            "--horizon",
            "1d",
            "--step",
            "2h",
            "--analyze-every",
            "6h",
            "--min-lead",
            "6h",
            "--workdir",
            str(tmp_path),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=380,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    doc = json.loads(out.stdout)
    for key in KEYS:
        assert key in doc and key in doc["baseline"]
    for scores in (doc, doc["baseline"]):
        for key in ("recall", "precision", "brier"):
            assert scores[key] is None or 0.0 <= scores[key] <= 1.0
    run = doc["run"]
    # every switch answered every poll of every step: 8 switches x 2 groups (counters, dom)
    assert run["polls"] == run["steps"] * 8 * 2
    assert run["samples"] > run["steps"] * 1000
    assert doc["links"] == 24
    # wear recovery beside cohort recovery: every lab cohort at 10, 50 and 200 matings, never covered
    # without an estimate (the demo's few matings leave most bins empty)
    wear = doc["wear"]
    assert {r["matings"] for r in wear} == {10, 50, 200} and {"MMC-field", "MTP"} <= {
        r["family"] for r in wear
    }
    assert all(r["estimate"] is not None or not r["inside"] for r in wear)
