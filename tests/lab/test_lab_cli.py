"""The `linkmargin lab` commands as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from linkmargin_cli import app


def test_truth_writes_parquet_and_inventory(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["lab", "truth", "--scenario", "demo", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    lanes = pl.read_parquet(tmp_path / "lanes.parquet")
    events = pl.read_parquet(tmp_path / "events.parquet")
    inv = YAML(typ="safe").load((tmp_path / "inventory.yaml").read_text())
    assert {"t", "link_id", "direction", "lane", "loss_db", "margin_db", "pre_fec_ber"} <= set(lanes.columns)
    assert lanes["t"].n_unique() == 2 * 24 * 6 + 1  # 2 days at the demo's 10-minute truth step, both ends
    # the injected 2.0 dB on link 0 lanes 1-2 a->b is in the truth as a 2.0 dB loss step
    link0 = inv["links"][0]["id"]
    sel = lanes.filter((pl.col("link_id") == link0) & (pl.col("direction") == "ab") & (pl.col("lane") == 1))
    loss = sel.sort("t")["loss_db"].to_numpy()
    assert loss[37] - loss[35] == pytest.approx(2.0, abs=0.01)  # 05:50 -> 06:10
    assert "contaminate" in events["kind"].to_list()
    assert len(inv["links"]) == 24 and len(inv["devices"]) == 8


def test_snapshot_writes_one_snmprec_per_switch(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app, ["lab", "snapshot", "--scenario", "demo", "--at", "6h", "--out", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    files = sorted(tmp_path.glob("*.snmprec"))
    assert len(files) == 8
    lines = files[0].read_text().splitlines()
    assert len(lines) > 300 and all(line.count("|") >= 2 for line in lines)


@pytest.mark.skipif(shutil.which("snmpget") is None, reason="net-snmp tools not installed")
def test_serve_prints_endpoint_table_and_answers() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "linkmargin_cli",
            "lab",
            "serve",
            "--scenario",
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--json",
            "--speed",
            "3600",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        table = json.loads(proc.stdout.readline())
        assert {r["layout"] for r in table} == {"sonic", "arista", "cisco", "juniper"}
        row = table[0]
        assert set(row) == {"device", "host", "port", "community", "v3_user", "layout"}
        out = subprocess.run(
            [
                "snmpget",
                "-v2c",
                "-c",
                row["community"],
                "-On",
                "-Ov",
                f"127.0.0.1:{row['port']}",
                "1.3.6.1.2.1.1.5.0",
            ],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
        assert row["device"] in out
    finally:
        proc.terminate()
        proc.wait(10)
