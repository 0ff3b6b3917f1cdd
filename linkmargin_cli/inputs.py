"""What several commands read from the user before wiring anything: the inventory, as a typed model,
and the lab scenario.

Every error in them is printed as FILE:LINE:COL: path: message and the command exits 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    import polars as pl

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


def secrets_or_exit(inv: Inventory, command: str) -> None:
    """Refuse to start when a secret the inventory's devices need cannot be read now (exit 2).

    Names every unset variable and unreadable file (never a secret's value) of the SNMP and gNMI
    credentials some device uses (gNMI: password, CA, certificate and key files), as two lines.
    """
    from linkmargin.credentials import secret_ref_problem

    problems: list[str] = []
    for name in sorted({d.credentials for d in inv.devices if d.transport == "snmp"}):
        for field, ref in inv.credentials[name].secret_refs():
            why = secret_ref_problem(field, ref)
            if why is not None:
                problems.append(f"credentials {name}.{field}: {why}")
    for name in sorted({d.credentials for d in inv.devices if d.transport == "gnmi"}):
        for field, why in inv.gnmi_credentials[name].reference_problems():
            problems.append(f"gnmi_credentials {name}.{field}: {why}")
    if problems:
        typer.echo(f"{command}: {problems[0]}", err=True)
        if len(problems) > 1:
            typer.echo(f"also: {'; '.join(problems[1:])}", err=True)
        else:
            typer.echo(
                "set the variable or make the file readable (secrets stay references), then start again",
                err=True,
            )
        raise typer.Exit(EXIT_INVALID)


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


def planned_or_exit(path: Path, known_points: set[str]) -> pl.DataFrame:
    """``--planned FILE``: a CSV of planned matings (point, ts, kind), or its problem and exit 2."""
    import polars as pl

    try:
        frame = pl.read_csv(path, try_parse_dates=True)
    except (OSError, pl.exceptions.PolarsError) as exc:
        typer.echo(f"{path}: cannot read planned matings: {exc}".splitlines()[0], err=True)
        raise typer.Exit(EXIT_INVALID) from None
    missing = [c for c in ("point", "ts", "kind") if c not in frame.columns]
    if missing:
        typer.echo(f"{path}: missing column(s) {', '.join(missing)} (expected point,ts,kind)", err=True)
        raise typer.Exit(EXIT_INVALID)
    if frame["ts"].dtype != pl.Datetime("us", "UTC"):
        try:
            frame = frame.with_columns(pl.col("ts").cast(pl.String).str.to_datetime(time_zone="UTC"))
        except pl.exceptions.PolarsError:
            typer.echo(f"{path}: column ts: expected timestamps such as 2026-06-06T08:00:00Z", err=True)
            raise typer.Exit(EXIT_INVALID) from None
    unknown = sorted(set(frame["point"].cast(pl.String).to_list()) - known_points)
    if unknown:
        typer.echo(f"{path}: unknown connection point(s): {', '.join(unknown)}", err=True)
        raise typer.Exit(EXIT_INVALID)
    return frame.select(pl.col("point").cast(pl.String), pl.col("ts").dt.convert_time_zone("UTC"), "kind")


def job_links_or_exit(path: Path, known: set[str]) -> list[str]:
    """``--links FILE``: the job's link ids, one a line; ids the inventory lacks are an error (exit 2)."""
    try:
        wanted = [x.strip() for x in path.read_text().splitlines() if x.strip() and not x.startswith("#")]
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"{path}: cannot read: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    unknown = [x for x in dict.fromkeys(wanted) if x not in known]
    if unknown:
        more = f" (and {len(unknown) - 10} more)" if len(unknown) > 10 else ""
        typer.echo(f"{path}: unknown link id(s): {', '.join(unknown[:10])}{more}", err=True)
        raise typer.Exit(EXIT_INVALID)
    return wanted
