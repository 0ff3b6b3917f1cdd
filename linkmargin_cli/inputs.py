"""What several commands read from the user before wiring anything: the inventory, as a typed model,
and the lab scenario.

Every error in them is printed as FILE:LINE:COL: path: message and the command exits 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from analyzer.spec import LinkSpec
    from lab.scenario import Scenario
    from linkmargin.inventory import Inventory

EXIT_INVALID = 2


def load_inventory_or_exit(path: Path, devices_from: Path | None = None) -> Inventory:
    """The inventory at ``path``, or every error on stderr and exit 2."""
    from linkmargin.inventory import InventoryError, load_inventory

    try:
        return load_inventory(path, devices_from=devices_from)
    except InventoryError as exc:
        for err in exc.errors:
            typer.echo(str(err), err=True)
        raise typer.Exit(EXIT_INVALID) from None


def scenario_or_exit(name_or_path: str | Path, seed: int | None = None) -> Scenario:
    """The lab scenario (a file or a shipped name), or every error on stderr and exit 2."""
    from lab.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(name_or_path, seed)
    except ScenarioError as exc:
        for err in exc.errors:
            typer.echo(str(err), err=True)
        raise typer.Exit(EXIT_INVALID) from None


def link_spec_or_exit(spec_dir: Path | None, inventory: Path | None) -> LinkSpec:
    """The analyzer's link tables from ``--inventory FILE`` or, for old set-ups, ``--spec DIR``."""
    from analyzer.spec import LinkSpec
    from linkmargin_cli.wiring import spec_from_inventory

    if inventory is not None:
        return spec_from_inventory(load_inventory_or_exit(inventory))
    if spec_dir is not None:
        return LinkSpec.read_dir(str(spec_dir))
    raise typer.BadParameter("give --inventory FILE (or --spec DIR)")
