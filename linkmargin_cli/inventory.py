"""``linkmargin inventory``: check inventory files and show each link's budget."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from linkmargin.budget import (
    RULE_OF_THUMB_MAX_CONNECTOR_IL_DB,
    connector_rule_flag,
    expected_channel_loss,
    expected_rx_window,
    headroom_db,
)
from linkmargin.catalog import optic
from linkmargin.inventory import Inventory, InventoryError, load_inventory
from linkmargin_cli.app import app
from linkmargin_cli.console import make_console

inventory_app = typer.Typer(
    help="Validate the inventory (YAML or CSV) and show each link's expected optical budget.",
    no_args_is_help=True,
)
app.add_typer(inventory_app, name="inventory")

EXIT_INVALID = 2

DevicesOpt = Annotated[
    Path | None,
    typer.Option("--devices", help="YAML inventory whose site, credentials and devices a CSV file uses."),
]


def _load(path: Path, devices: Path | None, err: Console) -> Inventory | None:
    try:
        return load_inventory(path, devices_from=devices)
    except InventoryError as exc:
        for issue in exc.errors:
            err.print(str(issue), markup=False, highlight=False, soft_wrap=True)
        return None


@inventory_app.command("check")
def check(
    files: Annotated[
        list[Path],
        typer.Argument(metavar="FILE", help="Inventory files (.yaml/.yml, or .csv: one row per point)."),
    ],
    devices: DevicesOpt = None,
) -> None:
    """Validate inventory files; print every error as FILE:LINE:COL: path: message and exit 2 on any."""
    err = make_console(stderr=True)
    out = make_console()
    bad = False
    for f in files:
        inv = _load(f, devices, err)
        if inv is None:
            bad = True
            continue
        points = sum(len(lk.connections) for lk in inv.links)
        out.print(
            f"{f}: ok ({len(inv.devices)} devices, {len(inv.links)} links, {points} connection points)",
            markup=False,
            highlight=False,
        )
    if bad:
        raise typer.Exit(EXIT_INVALID)


@inventory_app.command("show")
def show(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Inventory file (.yaml or .csv).")],
    devices: DevicesOpt = None,
) -> None:
    """Print the link-budget table: expected channel loss, PMD maximum, headroom, rule-of-thumb flag."""
    err = make_console(stderr=True)
    inv = _load(file, devices, err)
    if inv is None:
        raise typer.Exit(EXIT_INVALID)
    table = Table(
        title=f"{escape(inv.site.name)}: expected link budgets (losses in dB, powers in dBm)",
        caption=(
            "loss typ/max: fiber + rated connection losses (typical / rated max); "
            "headroom = PMD max - loss max; flag: >= 200G and connectors' rated IL > "
            f"{RULE_OF_THUMB_MAX_CONNECTOR_IL_DB} dB (seed rule of thumb)"
        ),
    )
    for col, just in [
        ("link", "left"),
        ("optic", "left"),
        ("fiber", "left"),
        ("points", "left"),
        ("conn IL max", "right"),
        ("loss typ", "right"),
        ("loss max", "right"),
        ("PMD max", "right"),
        ("headroom", "right"),
        ("Rx window", "right"),
        ("flag", "left"),
    ]:
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for lk in inv.links:
        pmd = optic(lk.optic)
        conns = [cp.catalog for cp in lk.connections]
        loss = expected_channel_loss(pmd, lk.fiber.type, lk.fiber.length_m, conns)
        limit = pmd.max_il_db(lk.fiber.type)
        head = headroom_db(pmd, lk.fiber.type, loss.max_db)
        win = expected_rx_window(pmd, loss)
        flags = []
        if connector_rule_flag(pmd, loss):
            flags.append("[yellow]connectors > 1.0 dB[/]")
        if head is not None and head < 0:
            flags.append("[red]over PMD max[/]")
        points = ", ".join(
            f"{cp.type}{'(field)' if (cp.termination or cp.catalog.termination) == 'field' else ''}"
            f"x{cp.mating_count}"
            for cp in lk.connections
        )
        table.add_row(
            escape(lk.id),  # user text: never rich markup
            pmd.name,
            f"{lk.fiber.type} {lk.fiber.length_m:g} m",
            escape(points) or "-",
            f"{loss.connectors_max_db:.2f}",
            f"{loss.typical_db:.2f}",
            f"{loss.max_db:.2f}",
            "-" if limit is None else f"{limit:.2f}",
            "-" if head is None else (f"[red]{head:+.2f}[/]" if head < 0 else f"{head:+.2f}"),
            "-" if win is None else f"{win.low_dbm:.1f}..{win.high_dbm:.1f}",
            " ".join(flags) or "ok",
        )
    make_console().print(table)
    typer.echo("points: type, (field) if field-terminated, x mating count")
