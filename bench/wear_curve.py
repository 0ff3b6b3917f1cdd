"""Cohort recovery of the wear curve: P(step per mating) at 10, 50 and 200 matings against the lab's truth.

Feeds the samples a ``linkmargin backtest --save DIR`` run delivered through the real SNMP path (its
DIR/history) into a fresh analyzer, analyzes once at the end of the run, and compares the analyzer's wear
curve (analyzer.wear) with the lab's answer key (lab.truth.wear_truth) for field MMC and factory MTP:

    linkmargin backtest --scenario bench/wear-14d.yaml --horizon 14d --step 2h --analyze-every 13d \\
        --min-lead 24h --save DIR
    python -m bench.wear_curve DIR --scenario bench/wear-14d.yaml [--markdown]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
from ruamel.yaml import YAML

from analyzer.analysis import Analysis, analyze
from analyzer.state import LaneState
from analyzer.wear import wear_recovery
from lab.physics.sim import FabricSim
from lab.scenario import load_scenario
from lab.truth import inventory as implied_inventory
from lab.truth.cohorts import wear_truth
from linkmargin.history import list_history, read_history
from linkmargin.inventory import load_inventory
from linkmargin.samples import conform, empty_samples
from linkmargin_cli.wiring import spec_from_inventory

COHORTS = (("MMC-field", "field"), ("MTP", "factory"))


def saved_analysis(save: Path, scenario: str, seed: int | None = None) -> tuple[Analysis, FabricSim]:
    """A fresh analyzer fed every sample of a saved run, analyzed once at the run's end; and the lab."""
    read = read_history(list_history(save / "history"))
    hist = conform(read if read is not None else empty_samples()).sort("ts")
    start = hist["ts"].min()
    assert isinstance(start, datetime), f"{save}: no samples in the history"
    sc = replace(load_scenario(scenario, seed), start=start)
    sim = FabricSim(sc)
    with tempfile.TemporaryDirectory() as tmp:
        inv_path = Path(tmp) / "inventory.yaml"
        YAML().dump(implied_inventory(sim, secrets_dir=Path(tmp)), inv_path.open("w"))
        os.environ.setdefault("LINKMARGIN_LAB_COMMUNITY", sc.community)
        spec = spec_from_inventory(load_inventory(inv_path))
    state = LaneState(spec)
    state.ingest(hist)
    return analyze(state, horizons={"7d": 7.0}, now=start + timedelta(seconds=sc.duration_s)), sim


def recover(save: Path, scenario: str, seed: int | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(recovery table at 10/50/200 matings, the analyzer's whole curve) for a saved run."""
    an, sim = saved_analysis(save, scenario, seed)
    points = an.cohorts.points.join(an.point_wear.select("point", "rated_matings"), on="point", how="left")
    rated = points.group_by("family", "termination").agg(pl.col("rated_matings").max())
    truth = (
        wear_truth(sim)
        .filter(
            pl.struct("family", "termination").is_in([{"family": f, "termination": t} for f, t in COHORTS])
        )
        .join(rated, on=["family", "termination"], how="left")
    )
    return wear_recovery(an.wear, truth), an.wear


def markdown(rec: pl.DataFrame, curve: pl.DataFrame) -> str:
    """The recovery table and the curve's bins as markdown."""
    lines = [
        "| family | termination | matings | matings in its bin | P(step) [95 %] | true | inside |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rec.iter_rows(named=True):
        est = "n/a" if r["estimate"] is None else f"{r['estimate']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}]"
        lines.append(
            f"| {r['family']} | {r['termination']} | {r['matings']} | {r['bin_matings']} | {est} "
            f"| {r['true']:.3f} | {'yes' if r['inside'] else '**no**'} |"
        )
    lines += [
        "",
        "| family | termination | count / rated | mean count | matings | steps | P(step) [95 %]"
        " | step dB [95 %] |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in (
        curve.filter(pl.col("matings") > 0).sort("family", "termination", "wear_bin").iter_rows(named=True)
    ):
        rng = "unrated" if r["x_lo"] is None else f"{r['x_lo']:g}-{r['x_hi']:g}"
        step = (
            "–" if r["steps"] == 0 else f"{r['step_db']:.2f} [{r['step_db_lo']:.2f}, {r['step_db_hi']:.2f}]"
        )
        lines.append(
            f"| {r['family']} | {r['termination']} | {rng} | {r['count_mean']:.0f} | {r['matings']}"
            f" | {r['steps']} "
            f"| {r['p_step']:.3f} [{r['p_step_lo']:.3f}, {r['p_step_hi']:.3f}] | {step} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("save", type=Path)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--seed", type=int, default=None, help="the seed the run was made with")
    a = ap.parse_args()
    rec, curve = recover(a.save, a.scenario, a.seed)
    print(markdown(rec, curve))


if __name__ == "__main__":
    main()
