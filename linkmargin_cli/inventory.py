"""``linkmargin inventory``: check inventory files and show each link's budget."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
    wear_flag,
)
from linkmargin.catalog import optic
from linkmargin.inventory import Device, Inventory, InventoryError, Link, load_inventory
from linkmargin_cli.app import app
from linkmargin_cli.console import make_console
from linkmargin_cli.formats import Format, FormatOpt, emit

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
            f"{f}: ok ({len(inv.devices)} devices, {len(inv.links)} links, {points} connection points)"
            + _transports(inv),
            markup=False,
            highlight=False,
        )
    if bad:
        raise typer.Exit(EXIT_INVALID)


@inventory_app.command("show")
def show(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Inventory file (.yaml or .csv).")],
    devices: DevicesOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Print the link-budget table: expected channel loss, PMD maximum, headroom, rule-of-thumb flag."""
    err = make_console(stderr=True)
    inv = _load(file, devices, err)
    if inv is None:
        raise typer.Exit(EXIT_INVALID)
    rows = [_budget_row(lk) for lk in inv.links]
    if fmt is not Format.table:
        import polars as pl

        cols = [
            "link",
            "optic",
            "fiber",
            "points",
            "conn_il_max_db",
            "loss_typ_db",
            "loss_max_db",
            "pmd_max_db",
            "headroom_db",
            "rx_window_low_dbm",
            "rx_window_high_dbm",
            "flags",
        ]
        frame = (
            pl.DataFrame(
                [{**r, "flags": ", ".join(r["flags"]) or "ok"} for r in rows],
                schema={
                    c: (pl.String if c in ("link", "optic", "fiber", "points", "flags") else pl.Float64)
                    for c in cols
                },
            )
            if rows
            else pl.DataFrame(schema={c: pl.String for c in cols})
        )
        doc = {"site": inv.site.name, "devices": [_device_row(inv, d) for d in inv.devices]}
        emit(frame, fmt, f"{inv.site.name}: expected link budgets", doc=doc)
        return
    if inv.devices:
        devs = Table(title=f"{escape(inv.site.name)}: devices")
        for col in ("device", "endpoint", "transport", "credentials", "profile"):
            devs.add_column(col)
        for d in inv.devices:
            r = _device_row(inv, d)
            devs.add_row(
                *(escape(str(r[c])) for c in ("device", "endpoint", "transport", "credentials", "profile"))
            )
        make_console().print(devs)
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
    styles = {"connectors > 1.0 dB": "yellow", "over PMD max": "red"}
    for r in rows:
        limit, head, lo = r["pmd_max_db"], r["headroom_db"], r["rx_window_low_dbm"]
        table.add_row(
            escape(r["link"]),  # user text: never rich markup
            r["optic"],
            r["fiber"],
            escape(r["points"]) or "-",
            f"{r['conn_il_max_db']:.2f}",
            f"{r['loss_typ_db']:.2f}",
            f"{r['loss_max_db']:.2f}",
            "-" if limit is None else f"{limit:.2f}",
            "-" if head is None else (f"[red]{head:+.2f}[/]" if head < 0 else f"{head:+.2f}"),
            "-" if lo is None else f"{lo:.1f}..{r['rx_window_high_dbm']:.1f}",
            " ".join(f"[{styles.get(f, _wear_style(f))}]{escape(f)}[/]" for f in r["flags"]) or "ok",
        )
    make_console().print(table)
    typer.echo("points: type, (field) if field-terminated, x mating count")


def _transports(inv: Inventory) -> str:
    """`` transport: snmp 3, gnmi 2`` (devices per transport), or nothing without devices."""
    counts: dict[str, int] = {}
    for d in inv.devices:
        counts[d.transport] = counts.get(d.transport, 0) + 1
    return " transport: " + ", ".join(f"{t} {n}" for t, n in counts.items()) if counts else ""


def _device_row(inv: Inventory, d: Device) -> dict[str, Any]:
    """One device as plain values: how it is reached and with which credentials (never a secret)."""
    creds = inv.credentials_of(d)
    return {
        "device": d.name,
        "endpoint": f"[{d.address}]:{d.port}" if ":" in d.address else f"{d.address}:{d.port}",
        "transport": d.transport,
        "credentials": f"{d.credentials} ({creds.describe()})",
        "profile": d.profile,
    }


def _wear_style(flag: str) -> str:
    return "red" if ", past rated" in flag else "yellow"


def _budget_row(lk: Link) -> dict[str, Any]:
    """One link's expected budget as plain values (losses dB, powers dBm; None where not catalogued)."""
    pmd = optic(lk.optic)
    conns = [cp.catalog for cp in lk.connections]
    loss = expected_channel_loss(pmd, lk.fiber.type, lk.fiber.length_m, conns)
    head = headroom_db(pmd, lk.fiber.type, loss.max_db)
    win = expected_rx_window(pmd, loss)
    flags = []
    if connector_rule_flag(pmd, loss):
        flags.append("connectors > 1.0 dB")
    if head is not None and head < 0:
        flags.append("over PMD max")
    for cp in lk.connections:  # points near or past their type's rated mating cycles
        wear = wear_flag(cp.mating_count, cp.catalog)
        if wear is not None:
            flags.append(f"{cp.id} mated {cp.mating_count}x, {wear} rated {cp.catalog.rated_matings.value:g}")
    points = ", ".join(
        f"{cp.type}{'(field)' if (cp.termination or cp.catalog.termination) == 'field' else ''}"
        f"x{cp.mating_count}"
        for cp in lk.connections
    )
    return {
        "link": lk.id,
        "optic": pmd.name,
        "fiber": f"{lk.fiber.type} {lk.fiber.length_m:g} m",
        "points": points,
        "conn_il_max_db": loss.connectors_max_db,
        "loss_typ_db": loss.typical_db,
        "loss_max_db": loss.max_db,
        "pmd_max_db": pmd.max_il_db(lk.fiber.type),
        "headroom_db": head,
        "rx_window_low_dbm": None if win is None else win.low_dbm,
        "rx_window_high_dbm": None if win is None else win.high_dbm,
        "flags": flags,
    }
