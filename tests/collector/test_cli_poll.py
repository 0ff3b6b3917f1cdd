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


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "linkmargin"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=60)


def test_poll_explain_names_profile_reason_and_counts_per_table(snmpsim: int) -> None:
    out = run_cli("poll", "--target", f"127.0.0.1:{snmpsim}", "--community", "huawei-vrp", "--explain")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("127.0.0.1: profile huawei-vrp: sysObjectID 1.3.6.1.4.1.2011.2.23.419")
    main = next(x for x in lines if "hwOpticalModuleInfoTable" in x)
    # 40GE0/0/1: tx lane 3 "-40.00" no light, bias lane 3 "" sentinel; XGE0/0/2: -1 bias + 8 thresholds
    assert "absent: no_light 1, sentinel 10, 0 failed" in main, main
    power = next(x for x in lines if "hwOpticalModulePower-uW" in x)
    assert "absent: lane_aggregate 2, no_light 1, sentinel 1" in power, power
    assert any("not polled: hwOpticalModulePower-dBm" in x for x in lines)


def test_poll_of_an_unknown_device_warns_once_with_its_sys_object_id(snmpsim: int) -> None:
    out = run_cli("poll", "--target", f"127.0.0.1:{snmpsim}", "--community", "generic")
    assert out.returncode == 0, out.stderr
    warn = [x for x in out.stderr.splitlines() if "matches no device profile" in x]
    assert len(warn) == 1 and "1.3.6.1.4.1.99999.1" in warn[0]
    rows = [json.loads(x) for x in out.stdout.splitlines()]
    assert any(r["metric"] == "rx_power_dbm" and r["value"] is not None for r in rows)  # generic path read


def test_profiles_lists_every_vendor_and_what_it_reads() -> None:
    out = run_cli("profiles", "--json")
    assert out.returncode == 0, out.stderr
    docs = {d["name"]: d for d in map(json.loads, out.stdout.splitlines())}
    for name in (
        "dell-os9",
        "dell-os10",
        "ocnos",
        "huawei-vrp",
        "huawei-ce",
        "fs",
        "cumulus",
        "onyx",
        "sonic",
    ):
        assert name in docs
    oc = next(t for t in docs["ocnos"]["tables"] if t["name"] == "cmmTransDDMTable")
    assert (
        oc["layout"] == "module"
        and "rx_power_dbm" in oc["metrics"]
        and "thr_tx_bias_ma_low_warn" in oc["metrics"]
    )
    assert docs["ocnos"]["absent"] == {"sentinels": [-100001.0, -100002.0]}
    assert docs["huawei-ce"]["sys_object_id"] == ["1.3.6.1.4.1.2011.2.239"]
    text = run_cli("profiles", "fs").stdout
    assert text.startswith("fs: sysObjectID 1.3.6.1.4.1.52642.1.1.10.1 or probe ") and "fsFiberTable" in text
    bad = run_cli("profiles", "nope")
    assert bad.returncode == 2 and bad.stderr.startswith("profiles: unknown profile 'nope'")
