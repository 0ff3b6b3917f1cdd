"""Snapshots: every switch of a scenario at one time, as .snmprec files snmpsim can serve."""

from __future__ import annotations

from pathlib import Path

from lab.agent import MibView, write_snmprec
from lab.layouts.render import render_all
from lab.physics.sim import FabricSim
from lab.scenario import Scenario


def snapshot_views(scenario: Scenario, at_s: float) -> dict[str, MibView]:
    """Each switch's MibView at `at_s` seconds into the scenario."""
    sim = FabricSim(scenario)
    sim.advance_to(at_s)
    return {name: MibView(rows) for name, rows in render_all(sim).items()}


def write_snapshot(scenario: Scenario, at_s: float, out: Path) -> list[Path]:
    """Write <out>/<device>.snmprec for every switch; return the paths."""
    out.mkdir(parents=True, exist_ok=True)
    return [write_snmprec(v, out / f"{name}.snmprec") for name, v in snapshot_views(scenario, at_s).items()]
