"""`linkmargin run`: collector and analyzer in one process on the in-process bus, for an inventory."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from linkmargin_cli.app import app
from linkmargin_cli.console import make_console


@app.command()
def run(
    inventory: Annotated[Path, typer.Option("--inventory", help="Inventory YAML or CSV of the fabric")],
    history: Annotated[Path, typer.Option(help="Parquet history directory")] = Path("var/history"),
    metrics_port: Annotated[int, typer.Option(help="Serve /metrics on 127.0.0.1:PORT")] = 9108,
    dom_every: Annotated[float, typer.Option(help="Seconds between DOM polls")] = 60.0,
    counters_every: Annotated[float, typer.Option(help="Seconds between counter polls")] = 15.0,
    analyze_every: Annotated[float, typer.Option(help="Seconds between analysis passes")] = 60.0,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds")] = None,
) -> None:
    """Collector and analyzer in one process on the in-process bus, for the inventory's devices."""
    from linkmargin_cli.inputs import load_inventory_or_exit, secrets_or_exit
    from linkmargin_cli.pipeline import run_pipeline
    from linkmargin_cli.views import live_view, print_preflight

    inv = load_inventory_or_exit(inventory)
    secrets_or_exit(inv, "run")
    console = make_console()
    p = asyncio.run(
        run_pipeline(
            inv,
            history,
            intervals={"counters": counters_every, "dom": dom_every, "discovery": 3600.0},
            analyze_every=analyze_every,
            duration=duration,
            metrics_port=metrics_port,
            console=console,
            view=live_view,
            live=False,
        )
    )
    console.line()  # the live table's last frame ends without a newline when written to a pipe
    print_preflight(p, console)
