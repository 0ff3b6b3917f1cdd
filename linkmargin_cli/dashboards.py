"""`linkmargin dashboards build`: write the Grafana dashboards and their provisioning file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from linkmargin_cli.app import app
from linkmargin_cli.console import make_console

dashboards_app = typer.Typer(
    help="Grafana dashboards (JSON model, built with Grafana's Python SDK).", no_args_is_help=True
)
app.add_typer(dashboards_app, name="dashboards")


@dashboards_app.command("build")
def build_cmd(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the JSON files into.")] = Path(
        "dashboards"
    ),
    grafana_path: Annotated[
        str, typer.Option(help="Where Grafana reads the files from (named in provisioning.yaml).")
    ] = "/var/lib/grafana/dashboards/linkmargin",
) -> None:
    """Generate the fleet, link, per-lane and collector dashboards plus a Grafana provisioning file."""
    from dashboards.build import build

    console = make_console()
    for path in build(out, grafana_path):
        console.print(f"wrote {path}")
