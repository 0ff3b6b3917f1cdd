"""`linkmargin demo`: a lab fabric, the collector, the analyzer and /metrics, with a live table.

The demo is the README's main job: a small simulated fabric served as real SNMP agents on
loopback, polled by the real collector, analyzed on the in-process bus, with /metrics for
Prometheus and a live table of the worst links; at the end, the pre-flight report.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from linkmargin_cli.app import app
from linkmargin_cli.console import make_console

WorkdirOpt = Annotated[Path, typer.Option(help="Where the demo keeps its inventory, history and secrets")]


@app.command()
def demo(
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many wall seconds (default: until Ctrl-C)")
    ] = None,
    speed: Annotated[
        float, typer.Option(help="Simulated seconds per wall second (600: an hour every 6 s)")
    ] = 600.0,
    scenario: Annotated[str, typer.Option(help="Lab scenario (shipped name or file)")] = "demo",
    metrics_port: Annotated[int, typer.Option(help="Serve /metrics on 127.0.0.1:PORT (0: any)")] = 9108,
    workdir: WorkdirOpt = Path("var/demo"),
    poll: Annotated[float, typer.Option(help="Wall seconds between polls of each device")] = 2.0,
) -> None:
    """Everything embedded: a lab fabric, the collector, the analyzer and /metrics, with a live table."""
    from rich.rule import Rule

    from linkmargin_cli.harness import lab_run
    from linkmargin_cli.inputs import scenario_or_exit
    from linkmargin_cli.pipeline import Pipeline, run_pipeline
    from linkmargin_cli.views import live_view, print_preflight

    scenario_or_exit(scenario)  # every error in the file before anything starts
    console = make_console()
    console.print(
        f"Starting the [bold]{scenario}[/] lab fabric as SNMP agents on loopback at {speed:g}x "
        "simulated time; Ctrl-C stops and prints the pre-flight report."
    )

    async def main() -> Pipeline:
        async with lab_run(scenario, workdir, speed=speed) as lab:
            return await run_pipeline(
                lab.inventory,
                workdir / "history",
                intervals={"counters": poll, "dom": poll, "discovery": 3600.0},
                analyze_every=5.0,
                duration=duration,
                metrics_port=metrics_port,
                console=console,
                view=live_view,
                lab=lab,
            )

    p = asyncio.run(main())
    console.print(Rule("Pre-flight report"), width=min(console.width, 120))
    print_preflight(p, console)
    console.print(f"history: {workdir / 'history'}   inventory: {workdir / 'inventory.yaml'}")
