"""Mating wear in the lab: steps grow with matings against the catalog's rated cycles; damage survives
cleaning; re-termination starts the count again."""

from __future__ import annotations

import numpy as np
import polars as pl

from lab.physics.events import KIND_CODE, build_events
from lab.physics.sim import FabricSim
from lab.physics.wear import mating_step, p_step
from lab.scenario import EventSpec, load_scenario
from linkmargin.catalog import connector


def test_the_rated_cycles_come_from_the_catalog_and_field_mmc_wears_out_first() -> None:
    assert connector("MMC").rated_matings.value == 50
    assert connector("MTP-16").rated_matings.value == 500
    mmc = [p_step(n, 50, 0.15) for n in (10, 50, 200)]
    mtp = [p_step(n, 500, 0.03) for n in (10, 50, 200)]
    assert mmc[0] < mmc[1] < mmc[2] and mtp[0] < mtp[1] < mtp[2]
    assert mmc[0] < 0.2 and mmc[1] > 0.35 and mmc[2] > 0.55  # worn out well before 200 matings
    assert mtp[2] < 0.1  # 200 matings is young for a 500-cycle MTP


def test_a_worn_step_is_bigger_and_part_of_it_survives_cleaning() -> None:
    fresh = mating_step(0, 50, 0.15, 1.8, 0.0, 0.0)
    worn = mating_step(100, 50, 0.15, 1.8, 0.0, 0.0)
    assert fresh[1] == 0.0 and fresh[0] > 0
    assert worn[0] > fresh[0] and 0 < worn[1] < worn[0]
    assert mating_step(0, 50, 0.15, 1.8, 0.5, 0.0) == (0.0, 0.0)  # u above p: a clean mating


def test_damage_survives_cleaning_and_retermination_resets_the_count() -> None:
    sim = FabricSim(load_scenario("demo"))
    f = sim.fleet
    mmc = [i for i, t in enumerate(f.point_type) if t == "MMC" and f.point_termination[i] == "field"]
    p = mmc[0]
    link = int(f.point_link[p])
    pos = int(f.point_pos[p])
    f.point_matings_before[p] = 150  # a field MMC patched three times past its rated 50
    f.point_p_dirty[p] = 0.15
    specs = tuple(
        EventSpec(at_s=h * 3600.0, kind=k, link=link, point=pos)
        for h, k in ((1, "mate"), (2, "mate"), (3, "mate"), (4, "clean"), (5, "reterminate"), (6, "mate"))
    )
    sim.events = build_events(f, specs, {}, {}, 86400.0, np.random.default_rng(3))
    sim._next_event = 0
    ev = sim.events
    mates = ev.kind == KIND_CODE["mate"]
    assert ev.matings_at[mates].tolist() == [150, 151, 152, 0]  # the count restarts after re-termination
    assert ev.perm_db[mates][:3].sum() > 0  # a worn point: at least one step left damage
    sim.advance_to(3.5 * 3600.0)
    dmg = sim.damage[p].copy()
    sim.advance_to(4.5 * 3600.0)  # after the cleaning: the contamination is (mostly) gone, the damage stays
    assert np.allclose(sim.damage[p], dmg) and dmg.max() > 0
    sim.advance_to(5.5 * 3600.0)  # re-terminated: a new end face
    assert sim.damage[p].max() == 0.0 and sim.contam[p].max() == 0.0


def test_wear_truth_is_the_answer_key_at_10_50_200_matings() -> None:
    from lab.truth.cohorts import wear_truth

    sim = FabricSim(load_scenario("demo"))
    wt = wear_truth(sim)
    mmc = wt.filter(pl.col("family") == "MMC-field").sort("matings")
    mtp = wt.filter(pl.col("family") == "MTP").sort("matings")
    assert mmc["matings"].to_list() == [10, 50, 200]
    p_mmc, p_mtp = mmc["p_step"].to_list(), mtp["p_step"].to_list()
    assert p_mmc[0] < p_mmc[1] < p_mmc[2] and p_mtp[0] <= p_mtp[1] < p_mtp[2]
    assert p_mmc[1] - p_mmc[0] > 10 * (p_mtp[1] - p_mtp[0])  # MMC wears at 50, MTP has barely begun
    assert mmc["step_db"][2] > mmc["step_db"][0]
