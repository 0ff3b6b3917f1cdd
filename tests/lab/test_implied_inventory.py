"""Every shipped scenario implies an inventory that the core validator accepts as a user's file."""

from __future__ import annotations

from pathlib import Path

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
