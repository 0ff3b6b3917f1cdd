"""The truth the backtest scores against: why links crossed, and each cohort's true mating behaviour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from ruamel.yaml import YAML

from lab.physics.sim import FabricSim
from lab.scenario import load_scenario
from lab.truth import cohort_truth, crossing_causes, events_frame, run_truth
from linkmargin.catalog import connector

ROOT = Path(__file__).resolve().parents[2]


def _scenario(tmp_path: Path, **changes: object) -> Path:
    doc = YAML(typ="safe").load((ROOT / "bench/cohorts-14d.yaml").read_text())
    doc.update(changes)
    path = tmp_path / "s.yaml"
    YAML().dump(doc, path.open("w"))
    return path


def test_a_step_inside_the_lead_is_sudden_and_a_failing_laser_is_not(tmp_path: Path) -> None:
    path = _scenario(
        tmp_path,
        duration="8d",
        background={},
        events=[
            {"at": "2d", "kind": "contaminate", "link": 3, "point": 0, "db": 8.0},
            {"at": "1d", "kind": "failing_laser", "link": 7, "side": "a", "rate_db_per_day": 1.5},
        ],
    )
    sim = FabricSim(load_scenario(path))
    lanes = run_truth(sim, step_s=3600)
    first = (
        lanes.filter(pl.col("margin_db") < 0)
        .group_by("link_id")
        .agg(pl.col("t").min().alias("crossed_at"))
        .rename({"link_id": "link"})
    )
    causes = {r["link"]: r for r in crossing_causes(sim, first, 48 * 3600).to_dicts()}
    dirty, laser = sim.fleet.link_ids[3], sim.fleet.link_ids[7]
    assert set(causes) == {dirty, laser}  # nothing else crosses in a quiet fabric
    assert causes[dirty]["cause"] == "contaminate" and causes[dirty]["sudden"] is True
    assert causes[laser]["cause"] == "failing_laser" and causes[laser]["sudden"] is False


def test_cohort_truth_describes_the_matings_the_lab_draws(tmp_path: Path) -> None:
    # re-patch every connector twice a day for two weeks: thousands of matings to compare with
    path = _scenario(tmp_path, background={"matings_per_point_per_day": 2.0, "clean_before_mating": 0.5})
    sim = FabricSim(load_scenario(path))
    truth = {(r["family"], r["termination"]): r for r in cohort_truth(sim).to_dicts()}
    ev = events_frame(sim).filter(pl.col("kind") == "mate")
    pts = pl.DataFrame(
        {
            "point_id": sim.fleet.point_ids,
            "family": [connector(t).family for t in sim.fleet.point_type],
            "termination": sim.fleet.point_termination,
        }
    )
    drawn = (
        ev.join(pts, on="point_id")
        .group_by("family", "termination")
        .agg(pl.len().alias("n"), (pl.col("db") > 0).mean().alias("p"), pl.col("db").filter(pl.col("db") > 0))
    )
    assert drawn.height == len(truth) >= 4
    for r in drawn.to_dicts():
        t = truth[(r["family"], r["termination"])]
        se_p = np.sqrt(t["p_step"] * (1 - t["p_step"]) / r["n"])
        assert abs(r["p"] - t["p_step"]) < 4 * se_p, r["family"]
        steps = np.array(r["db"])
        assert abs(steps.mean() - t["step_db"]) < 4 * steps.std(ddof=1) / np.sqrt(steps.size), r["family"]
