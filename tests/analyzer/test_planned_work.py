"""Planned work from the inventory: a maintenance window's matings raise P by the cohort's step risk.

The fleet: six links whose field MMC points were mated mid-history (four of them took a loss step,
so the MMC/field cohort has data), and two links with little margin left and a field MMC point:
``L-target`` is re-mated in Saturday's window, ``L-outside`` is not. The expected P of L-target with
the window is computed here by hand from the cohort table the report prints (JSON) and the link's
own P without the window: one more mating is a step with the cohort's probability p, of the cohort's
size (mean mu, sd s); with margin m left,

    P_with = (1 - p) * P_without + p * Phi((mu - m) / sqrt(s^2 + e^2))

with e the error of the margin estimate itself (the DOM alone here: DOM_SD_DB); the link's noise,
drift and background steps are small next to those, and are why the check allows 0.02.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from analyzer.forecast import DOM_SD_DB
from linkmargin.inventory import load_inventory
from linkmargin.samples import conform
from linkmargin_cli import app
from linkmargin_cli.wiring import planned_from_inventory, spec_from_inventory

T0 = datetime(2026, 3, 1, tzinfo=UTC)
DAYS = 10
MATED_H = 5 * 24  # the history links' matings, mid-history
STEPS_DB = {"L-h1": 1.8, "L-h2": 2.0, "L-h3": 2.2, "L-h4": 2.4, "L-h5": 0.0, "L-h6": 0.0}
MARGIN_DB = {"L-target": 0.6, "L-outside": 0.6, **dict.fromkeys(STEPS_DB, 6.0)}
END = T0 + timedelta(hours=DAYS * 24 - 1)
WINDOW_START = END + timedelta(days=2)  # "Saturday", inside the 21 d horizon


def _link(i: int, lid: str, events: str) -> str:
    return (
        f"  - id: {lid}\n"
        f"    a: {{device: spine{i}, port: Ethernet1}}\n"
        f"    b: {{device: leaf{i}, port: Ethernet49}}\n"
        "    optic: 100GBASE-SR4\n"
        "    fiber: {type: OM4, length_m: 40}\n"
        "    connections:\n"
        f"      - {{id: {lid}-mmc, type: MMC, termination: field{events}}}\n"
    )


def write_inventory(path: Path, maintenance: str = "") -> Path:
    devs, links = [], []
    for i, lid in enumerate(MARGIN_DB, start=1):
        devs += [
            f"  - {{name: spine{i}, address: 127.0.0.1, port: {20000 + 2 * i}, credentials: ro}}\n",
            f"  - {{name: leaf{i}, address: 127.0.0.1, port: {20001 + 2 * i}, credentials: ro}}\n",
        ]
        ev = ""
        if lid in STEPS_DB:
            ev = f", events: [{{at: '{(T0 + timedelta(hours=MATED_H)).isoformat()}', kind: mated}}]"
        links.append(_link(i, lid, ev))
    path.write_text(
        "site: lab\ncredentials:\n  ro: {version: 2c, community_env: LM_TEST_COMMUNITY}\n"
        "devices:\n" + "".join(devs) + "links:\n" + "".join(links) + maintenance
    )
    return path


def write_history(inv_path: Path, hist: Path) -> None:
    """Hourly Rx of every receiving lane at its link's margin above sensitivity, with the steps."""
    spec = spec_from_inventory(load_inventory(inv_path))
    rng = np.random.default_rng(7)
    h = np.arange(DAYS * 24)
    temp = 40 + 3 * np.sin(2 * np.pi * h / 24)
    frames = []
    for r in spec.lanes.iter_rows(named=True):
        step = np.where(h >= MATED_H, STEPS_DB.get(r["link"], 0.0), 0.0)
        rx = (
            r["sensitivity_dbm"]
            + MARGIN_DB[r["link"]]
            - step
            - 0.01 * (temp - 40)
            + rng.normal(0, 0.02, h.size)
        )
        frames.append(
            pl.DataFrame({"h": h, "device": r["device"], "port": r["port"], "lane": r["lane"]}).with_columns(
                pl.lit("rx_power_dbm").alias("metric"), pl.Series("value", rx)
            )
        )
    ports = spec.lanes.select("device", "port").unique()
    for dev, port in ports.iter_rows():
        frames.append(
            pl.DataFrame({"h": h, "device": dev, "port": port, "metric": "temperature_c", "value": temp})
        )
    frame = pl.concat(frames, how="diagonal").with_columns(
        (pl.lit(T0) + pl.duration(hours=pl.col("h"))).alias("ts")
    )
    hist.mkdir(parents=True, exist_ok=True)
    conform(frame).sort("ts").write_parquet(hist / "part-0.parquet")


WINDOW = (
    "maintenance:\n"
    f"  - {{id: sat-repatch, start: '{WINDOW_START.isoformat()}', "
    f"end: '{(WINDOW_START + timedelta(hours=6)).isoformat()}',\n"
    "     points: [L-target-mmc], actions: [clean, mate]}\n"
)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    d = tmp_path_factory.mktemp("planned")
    plain = write_inventory(d / "plain.yaml")
    planned = write_inventory(d / "planned.yaml", WINDOW)
    write_history(plain, d / "hist")
    out = []
    for inv in (plain, planned):
        res = CliRunner().invoke(
            app,
            [
                "risk",
                "--inventory",
                str(inv),
                "--history",
                str(d / "hist"),
                "--horizon",
                "21d",
                "--format",
                "json",
            ],
        )
        assert res.exit_code == 0, res.output
        out.append(json.loads(res.stdout))
    return out[0], out[1]


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def test_the_window_becomes_one_planned_mating_of_its_point(tmp_path: Path) -> None:
    inv = load_inventory(write_inventory(tmp_path / "i.yaml", WINDOW))
    plan = planned_from_inventory(inv)
    # clean is not a mating (linkmargin.inventory.matings); mate is
    assert plan.select("window", "link", "point", "kind").rows() == [
        ("sat-repatch", "L-target", "L-target-mmc", "mated")
    ]
    assert plan["ts"][0] == WINDOW_START


def test_a_window_re_mating_a_field_mmc_point_raises_p_by_the_cohorts_step_risk(reports) -> None:
    plain, planned = reports
    by = {r["link"]: r for r in planned["links"]}
    cohort = next(c for c in planned["cohorts"] if (c["family"], c["termination"]) == ("MMC-field", "field"))
    p, mu, s = cohort["p_step"], cohort["step_db"], cohort["step_db_sd"]
    # the fleet's own matings: its 1.8-2.4 dB steps, shrunk a little toward the catalog's 1.0 dB prior
    assert cohort["matings"] >= 6 and 1.5 <= mu <= 2.4
    t = by["L-target"]
    assert t["planned_matings"] == 1
    p0, m = t["p_cross_without_plan"], t["margin_now_db"]
    assert abs(m - MARGIN_DB["L-target"]) < 0.1
    # the margin rests on the DOM alone (no FEC counters here): its error (DOM_SD_DB) adds to the step's
    expected = (1 - p) * p0 + p * _phi((mu - m) / math.hypot(s, DOM_SD_DB))
    print(f"cohort MMC/field p={p:.4f} mu={mu:.3f} s={s:.3f}; L-target m={m:.3f} P0={p0:.4f}")
    print(f"expected P with window {expected:.4f}, reported {t['p_cross']:.4f}")
    assert t["p_cross"] == pytest.approx(expected, abs=0.02)
    assert t["p_cross"] - p0 > 0.5 * p  # the window is what moves it
    # without the window in the inventory, L-target's P is its P without planned work
    plain_t = next(r for r in plain["links"] if r["link"] == "L-target")
    assert plain_t["p_cross"] == pytest.approx(p0, abs=1e-9)
    assert plain_t["planned_matings"] == 0


def test_links_outside_the_window_are_left_alone(reports) -> None:
    plain, planned = reports
    before = {r["link"]: r["p_cross"] for r in plain["links"]}
    for r in planned["links"]:
        if r["link"] == "L-target":
            continue
        assert r["planned_matings"] == 0
        assert r["p_cross"] == pytest.approx(r["p_cross_without_plan"], abs=1e-12)
        assert r["p_cross"] == pytest.approx(before[r["link"]], abs=1e-12)
    assert [x["point"] for x in planned["planned"]] == ["L-target-mmc"]
