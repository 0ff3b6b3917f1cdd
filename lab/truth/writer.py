"""Write a run's ground truth to a directory: lanes.parquet, events.parquet, inventory.yaml, v3 key files."""

from __future__ import annotations

import os
from pathlib import Path

from ruamel.yaml import YAML

from lab.physics.sim import FabricSim
from lab.truth.events import events_frame
from lab.truth.implied_inventory import inventory
from lab.truth.lanes import run_truth


def write_truth(sim: FabricSim, out: Path, base_port: int = 16100) -> dict[str, Path]:
    """Write lanes.parquet, events.parquet and inventory.yaml (plus v3 key files) into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    lanes = run_truth(sim)
    paths = {
        "lanes": out / "lanes.parquet",
        "events": out / "events.parquet",
        "inventory": out / "inventory.yaml",
    }
    lanes.write_parquet(paths["lanes"])
    events_frame(sim).write_parquet(paths["events"])
    secrets = out / "secrets"
    secrets.mkdir(exist_ok=True)
    from lab.fabric import v3_keys

    auth, priv = v3_keys()
    for name, key in (("auth", auth), ("priv", priv)):
        p = secrets / name
        p.write_text(key + "\n")
        os.chmod(p, 0o600)
    yaml = YAML()
    yaml.default_flow_style = None
    yaml.width = 4096
    with paths["inventory"].open("w") as fh:
        yaml.dump(inventory(sim, base_port=base_port, secrets_dir=secrets.resolve()), fh)
    return paths
