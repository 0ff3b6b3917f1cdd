"""`linkmargin poll` prints one JSON object per sample; v3 keys come from files, never argv."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.collector.conftest import V3_AUTH, V3_PRIV, V3_USER


def run_poll(*args: str) -> list[dict[str, object]]:
    exe = Path(sys.executable).parent / "linkmargin"
    out = subprocess.run(
        [str(exe), "poll", *args], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    return [json.loads(line) for line in out.splitlines()]


def test_poll_v3_json_lines(snmpd: int, tmp_path: Path) -> None:
    (tmp_path / "a").write_text(V3_AUTH)
    (tmp_path / "p").write_text(V3_PRIV)
    rows = run_poll(
        "--target",
        f"127.0.0.1:{snmpd}",
        "--v3-user",
        V3_USER,
        "--auth-key-file",
        str(tmp_path / "a"),
        "--priv-key-file",
        str(tmp_path / "p"),
        "--profile",
        "auto",
        "--json",
    )
    lo = [r for r in rows if r["port"] == "lo" and r["metric"] == "in_octets"]
    assert len(lo) == 1 and lo[0]["counter_bits"] == 64 and isinstance(lo[0]["value"], float)
    assert {"ts", "device", "port", "lane", "metric", "value", "reason"} <= set(rows[0])


def test_poll_recording_reasons(snmpsim: int) -> None:
    rows = run_poll("--target", f"127.0.0.1:{snmpsim}", "--community", "juniper", "--transport", "pysnmp")
    agg = [r for r in rows if r["port"] == "et-0/0/0" and r["metric"] == "rx_power_dbm" and r["lane"] is None]
    assert agg == [{**agg[0], "value": None, "reason": "lane_aggregate", "aggregate": True}]
