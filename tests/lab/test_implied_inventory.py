"""Every shipped scenario implies an inventory that the core validator accepts as a user's file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from ruamel.yaml import YAML

from lab.physics.sim import FabricSim
from lab.scenario import load_scenario
from lab.truth import inventory
from linkmargin.inventory import InventoryError, load_inventory
from linkmargin_cli.harness import replay_in_past

SCENARIOS = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "lab" / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("name", SCENARIOS)
def test_implied_inventory_validates(name: str, tmp_path: Path) -> None:
    sim = FabricSim(replay_in_past(load_scenario(name)))
    path = tmp_path / "inventory.yaml"
    yaml = YAML()
    with path.open("w") as fh:
        yaml.dump(inventory(sim, secrets_dir=tmp_path), fh)
    try:
        inv = load_inventory(path)
    except InventoryError as exc:
        pytest.fail("\n".join(str(e) for e in exc.errors[:20]))
    assert len(inv.links) == sim.fleet.n_links


def test_announced_work_is_a_share_of_the_recorded_matings_and_changes_no_sample(tmp_path: Path) -> None:
    """``announced_share`` of the recorded matings become one-point windows opening an hour before the
    work; scheduled maintenance windows are always announced; the physics' draws do not move."""
    from dataclasses import replace

    from lab.physics.events import KINDS
    from lab.scenario import EventSpec
    from linkmargin_cli.wiring import planned_from_inventory

    base = replay_in_past(load_scenario("bench/backtest-21d-small.yaml", 7))
    sc = replace(
        base,
        background={**base.background, "matings_per_point_per_day": 0.05},
        events=(*base.events, EventSpec(at_s=3 * 86400.0, kind="maintenance", link=5, duration_s=1800.0)),
    )
    counts = {}
    for share in (0.0, 0.5, 1.0):
        sim = FabricSim(replace(sc, background={**sc.background, "announced_share": share}))
        doc = inventory(sim, secrets_dir=tmp_path)
        path = tmp_path / f"inv-{share}.yaml"
        YAML().dump(doc, path.open("w"))
        inv = load_inventory(path)
        planned = planned_from_inventory(inv)
        counts[share] = planned.filter(pl.col("window") != "mw-1").height
        # the scheduled window covers every connector of its link
        w1 = planned.filter(pl.col("window") == "mw-1")
        assert set(w1["link"]) == {sim.fleet.link_ids[5]}
        assert w1.height == sum(
            1
            for lk in inv.links
            if lk.id == sim.fleet.link_ids[5]
            for cp in lk.connections
            if cp.type != "MECH-SPLICE"
        )
        ev = sim.events
        mate = (ev.kind == KINDS.index("mate")) & ev.recorded & (ev.point >= 0)
        n_other = int(mate.sum()) - w1.height
        if share == 1.0:
            assert counts[share] == n_other
        # each announced window opens an hour before a recorded mating of its point (stamped to the second)
        times = {
            (sim.fleet.point_ids[int(ev.point[i])], sim.wallclock(float(ev.t[i])).replace(microsecond=0))
            for i in np.flatnonzero(mate)
        }
        for r in planned.filter(pl.col("window") != "mw-1").iter_rows(named=True):
            assert (r["point"], r["ts"] + timedelta(hours=1)) in times
        if share == 0.0:
            first_t = ev.t.copy()
        else:
            assert np.array_equal(ev.t, first_t)  # announcing changes nothing in the physics
    assert counts[0.0] == 0 < counts[0.5] < counts[1.0]
    assert 0.3 < counts[0.5] / counts[1.0] < 0.7


def test_the_implied_count_of_every_point_is_the_labs_own(tmp_path: Path) -> None:
    """The inventory's mating count of a point (the core's rule: a termination starts a new end face) is
    the count the lab wears it by: a field point recorded with matings before the records was terminated
    before them, so its first record is the installation, not a termination that would restart the
    count (bench/wear-14d.yaml: field MMC at 45 and 190 matings)."""
    from linkmargin.inventory.matings import matings_of_installed_part

    sim = FabricSim(replay_in_past(load_scenario("bench/wear-14d.yaml")))
    doc = inventory(sim, secrets_dir=tmp_path)
    f = sim.fleet
    seen = {"field": set(), "factory": set()}
    for link in doc["links"]:
        for c in link["connections"]:
            p = f.point_ids.index(c["id"])
            before = int(f.point_matings_before[p])
            first = c["events"][0]["kind"]
            kinds = [e["kind"] for e in c["events"]]
            # the events recorded before the run starts: the first record only
            assert matings_of_installed_part(c["matings_before_records"], kinds[:1]) == before + (
                1 if first == "terminated" else 0
            )
            assert first == ("terminated" if c["termination"] == "field" and before == 0 else "installed")
            seen[c["termination"]].add(before)
    assert {45, 190} <= seen["field"] and {5, 45, 190} <= seen["factory"]
