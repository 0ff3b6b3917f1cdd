"""`linkmargin backtest` drives the lab through real SNMP polls, the bus and the analyzer, and scores
itself beside the static-threshold baseline in the same run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
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


def _backtest(tmp: Path, transport: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
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
            str(tmp / f"work-{transport}"),
            "--save",
            str(tmp / transport),
            "--json",
            "--transport",
            transport,
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.timeout(200)
def test_backtest_over_gnmi_scores_as_over_snmp(tmp_path: Path) -> None:
    """Every switch read with a gNMI ONCE subscription per step gives the SNMP run's scores.

    Not bit-equal: gNMI carries the optics at full precision where the SNMP layouts quantize them
    (0.01-0.1 dB, 1 degree C), module thresholds where SNMP repeats them per lane, and a different
    counter set (pre-FEC BER and carrier transitions over gNMI; symbol errors and ifLastChange over
    SNMP), which tell a flap apart differently at its instant. Measured on this run: 166 of 168
    forecasts within 0.003 in P, flags and catches equal, Brier 0.032 vs 0.038.
    """
    (tmp_path / "snmp").mkdir()
    (tmp_path / "gnmi").mkdir()
    procs = {t: _backtest(tmp_path, t) for t in ("snmp", "gnmi")}
    docs = {}
    for t, p in procs.items():
        out, err = p.communicate(timeout=190)
        assert p.returncode == 0, err[-3000:]
        docs[t] = json.loads(out)
    snmp, gnmi = docs["snmp"], docs["gnmi"]
    # every switch answered every step over gNMI: 8 switches x 2 groups, as the SNMP polls count
    assert gnmi["run"]["gnmi_devices"] == 8 and snmp["run"]["gnmi_devices"] == 0
    assert gnmi["run"]["gnmi_failures"] == 0
    assert gnmi["run"]["polls"] == snmp["run"]["polls"] == gnmi["run"]["steps"] * 8 * 2
    assert gnmi["run"]["samples"] > gnmi["run"]["steps"] * 1000
    for key in ("links", "positives", "caught", "flagged", "true_flags", "recall", "precision"):
        assert gnmi[key] == snmp[key], key
    for key in ("flagged", "caught"):
        assert gnmi["baseline"][key] == snmp["baseline"][key], key
    assert abs(gnmi["baseline"]["brier"] - snmp["baseline"]["brier"]) < 0.01
    assert abs(gnmi["brier"] - snmp["brier"]) < 0.02

    a = pl.read_parquet(tmp_path / "snmp" / "forecasts.parquet")
    b = pl.read_parquet(tmp_path / "gnmi" / "forecasts.parquet")
    both = a.join(b, on=["issued_at", "link"], suffix="_g")
    assert both.height == a.height == b.height > 100
    close = ((both["p"] - both["p_g"]).abs() < 0.01).mean()
    assert close is not None and close >= 0.95, close


@pytest.mark.parametrize(
    ("option", "said"),
    [("--transport", "one of snmp, gnmi, mixed"), ("--snmp-transport", "one of gufo, pysnmp")],
)
def test_backtest_unknown_transport_is_one_line_exit_2(tmp_path: Path, option: str, said: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "linkmargin_cli", "backtest", option, "bogus", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stderr.strip() == f"backtest: {option} 'bogus': {said}"
    assert not (tmp_path / "inventory.yaml").exists()  # nothing started


@pytest.mark.timeout(400)
def test_backtest_bounded_pass_by_default_full_pass_to_check(tmp_path: Path) -> None:
    """Ten days through the real pipeline: the default pass is the bounded one (a 7-day window), so
    the analyzer's state keeps the window and a day; ``--full-pass`` keeps every hour. The two give
    the same flags, and nearly the same P (the bounded trend folds the hours before its window)."""
    doc = (Path(__file__).parents[2] / "lab" / "scenarios" / "demo.yaml").read_text()
    scenario = tmp_path / "demo-10d.yaml"
    scenario.write_text(doc.replace("name: demo", "name: demo-10d").replace("duration: 2d", "duration: 10d"))

    def start(name: str, *extra: str) -> subprocess.Popen[str]:
        (tmp_path / name).mkdir()
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "linkmargin_cli",
                "backtest",
                "--scenario",
                str(scenario),
                "--horizon",
                "10d",
                "--step",
                "6h",
                "--analyze-every",
                "1d",
                "--min-lead",
                "12h",
                "--workdir",
                str(tmp_path / f"work-{name}"),
                "--save",
                str(tmp_path / name),
                "--json",
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    procs = {"bounded": start("bounded"), "full": start("full", "--full-pass")}
    docs = {}
    for name, p in procs.items():
        out, err = p.communicate(timeout=380)
        assert p.returncode == 0, err[-3000:]
        docs[name] = json.loads(out)
    bounded, full = docs["bounded"], docs["full"]
    assert bounded["run"]["pass"] == "bounded" and full["run"]["pass"] == "full"
    # 41 steps of 6 h: the full pass keeps all ~240 hours, the bounded one the 168-hour window and a day
    assert full["run"]["state_hours"] >= 9 * 24
    assert 0 < bounded["run"]["state_hours"] <= 168 + 24 + 1
    for key in ("links", "positives", "flagged", "caught"):
        assert bounded[key] == full[key], key
    a = pl.read_parquet(tmp_path / "bounded" / "forecasts.parquet")
    b = pl.read_parquet(tmp_path / "full" / "forecasts.parquet")
    both = a.join(b, on=["issued_at", "link"], suffix="_f")
    assert both.height == a.height == b.height == 9 * 24
    close = ((both["p"] - both["p_f"]).abs() < 0.02).mean()
    assert close is not None and close >= 0.95, close
    # the predict_linear baseline reads the same 7 days of Rx: the state's own hours (full), the
    # bounded window's ring (bounded: the state released them)
    sa = pl.read_parquet(tmp_path / "bounded" / "thresholds.parquet")
    sb = pl.read_parquet(tmp_path / "full" / "thresholds.parquet")
    snaps = sa.join(sb, on=["issued_at", "link"], suffix="_f")
    assert snaps.height == sa.height == sb.height
    assert snaps["pl_alarm_db"].null_count() == snaps["pl_alarm_db_f"].null_count() < snaps.height / 2
    diff = (snaps["pl_alarm_db"] - snaps["pl_alarm_db_f"]).abs()
    assert (diff.fill_null(0.0) < 0.05).mean() >= 0.95, diff.describe()


@pytest.mark.timeout(200)
def test_backtest_prints_each_windows_own_forecast(tmp_path: Path) -> None:
    """A day of the demo fleet re-patched every day a point, every re-patch announced: the report ends
    with the planned-work tables, the run's P before the work and each window's own forecast, whose
    window count and Brier scores are the JSON's (``planned_work.window``)."""
    doc = (Path(__file__).parents[2] / "lab" / "scenarios" / "demo.yaml").read_text()
    scenario = tmp_path / "demo-windows.yaml"
    scenario.write_text(
        doc.replace("name: demo", "name: demo-windows").replace(
            "  matings_per_point_per_day: 0.02", "  matings_per_point_per_day: 1.0\n  announced_share: 1.0"
        )
    )
    args = [sys.executable, "-m", "linkmargin_cli", "backtest", "--scenario", str(scenario),
            "--horizon", "1d", "--step", "2h", "--analyze-every", "6h", "--min-lead", "6h"]  # fmt: skip
    text = subprocess.run(
        [*args, "--workdir", str(tmp_path / "w1")], capture_output=True, text=True, timeout=180
    )
    assert text.returncode == 0, text.stderr[-3000:]
    js = subprocess.run(
        [*args, "--workdir", str(tmp_path / "w2"), "--json"], capture_output=True, text=True, timeout=180
    )
    assert js.returncode == 0, js.stderr[-3000:]
    win = json.loads(js.stdout)["planned_work"]["window"]
    assert win["pairs"] > 10 and 0.0 <= win["brier"] <= 1.0
    assert win["brier_no_work"] is not None
    assert sum(r["n"] for r in win["reliability"]) == win["pairs"]
    # the same seed read over SNMP twice: the same run unless a poll was lost under load, so the text
    # report is checked for its table and figures of the same shape, not for the JSON's digits
    flat = " ".join(text.stdout.split())
    m = re.search(r"Each window's own forecast, the last pass before it \((\d+) windows, (\d+) below zero "
                  r"within 48 h; Brier (\d\.\d{4}), without the work (\d\.\d{4})\)", flat)  # fmt: skip
    assert m, text.stdout[-2000:]
    assert int(m[1]) > 10 and 0 <= int(m[2]) <= int(m[1])
    assert "P the window takes it below zero" in flat
