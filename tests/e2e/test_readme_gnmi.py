"""The README's "The demo over gNMI" block, run exactly as written in a fresh directory: the demo with
every lab switch streamed over gNMI, the inventory it wrote, and the report from its history."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import yaml

from tests.e2e.test_readme_report import readme_block, run_as_user


@pytest.mark.timeout(400)
def test_readme_gnmi_demo(tmp_path: Path) -> None:
    lines = readme_block("### The demo over gNMI")
    assert len(lines) == 3 and "--transport gnmi" in lines[0]
    demo = run_as_user(lines[0], tmp_path)
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "gNMI: every switch streamed" in demo.stdout
    work = tmp_path / "var" / "demo-gnmi"
    doc = yaml.safe_load((work / "inventory.yaml").read_text())
    assert doc["devices"] and all(d["transport"] == "gnmi" for d in doc["devices"])
    assert set(doc["gnmi_credentials"]["lab-gnmi"]) == {"tls", "username", "password_file"}  # no secret

    check = run_as_user(lines[1], tmp_path)
    assert check.returncode == 0, check.stderr
    assert f"transport: gnmi {len(doc['devices'])}" in check.stdout

    # every switch's optics arrived over gNMI and reached the history
    hist = pl.read_parquet(sorted((work / "history").rglob("*.parquet")))
    rx = hist.filter((pl.col("metric") == "rx_power_dbm") & pl.col("value").is_not_null())
    assert set(rx["device"].unique()) == {d["name"] for d in doc["devices"]}

    risk = run_as_user(lines[2], tmp_path)
    assert risk.returncode == 0, risk.stderr
    report = json.loads((tmp_path / "risk-gnmi.json").read_text())
    links = {lk["id"] for lk in doc["links"]}
    assert {r["link"] for r in report["links"]} == links
    assert all(r["margin_now_db"] is not None for r in report["links"])
