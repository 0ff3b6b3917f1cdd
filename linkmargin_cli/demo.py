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

WorkdirOpt = Annotated[
    Path,
    typer.Option(
        help="Where the demo keeps its inventory, history and secrets; each run starts a fresh history "
        "(the previous one is kept as DIR/history.prev)"
    ),
]


@app.command()
def demo(
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many wall seconds (default: until Ctrl-C)")
    ] = None,
    speed: Annotated[
        float, typer.Option(help="Simulated seconds per wall second (600: an hour every 6 s)")
    ] = 600.0,
    scenario: Annotated[
        str, typer.Option(help="Lab scenario: a shipped name (demo, stress, training-21d) or a YAML file")
    ] = "demo",
    metrics_port: Annotated[int, typer.Option(help="Serve /metrics on 127.0.0.1:PORT (0: any)")] = 9108,
    workdir: WorkdirOpt = Path("var/demo"),
    poll: Annotated[float, typer.Option(help="Wall seconds between polls of each device")] = 2.0,
    transport: Annotated[
        str, typer.Option(help="How the switches are read: snmp, gnmi (a gNMI server each) or mixed")
    ] = "snmp",
) -> None:
    """Everything embedded: a lab fabric, the collector, the analyzer and /metrics, with a live table."""
    from rich.rule import Rule

    from linkmargin_cli.harness import lab_run
    from linkmargin_cli.inputs import scenario_or_exit
    from linkmargin_cli.pipeline import Pipeline, run_pipeline
    from linkmargin_cli.views import live_view, print_preflight

    scenario_or_exit(scenario)  # every error in the file before anything starts
    if transport not in ("snmp", "gnmi", "mixed"):
        typer.echo(f"demo: --transport {transport!r}: one of snmp, gnmi, mixed", err=True)
        raise typer.Exit(2)
    console = make_console()
    _check_scenario(scenario)
    moved = _fresh_history(workdir / "history")
    if moved is not None:
        console.print(moved, markup=False, highlight=False)
    console.print(
        f"Starting the [bold]{scenario}[/] lab fabric as SNMP agents on loopback at {speed:g}x "
        "simulated time; Ctrl-C stops and prints the pre-flight report."
    )

    if transport != "snmp":
        which = "every switch" if transport == "gnmi" else "every second switch"
        console.print(f"gNMI: {which} streamed from its own gNMI server (Subscribe, password by file).")

    async def main() -> Pipeline:
        async with lab_run(scenario, workdir, speed=speed, transport=transport) as lab:
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

    from lab.physics.optics import LabOpticError

    try:
        p = asyncio.run(main())
    except LabOpticError as exc:
        typer.echo(f"demo: scenario {scenario}: {exc}", err=True)
        raise typer.Exit(2) from None
    console.line()  # the live table's last frame ends without a newline when written to a pipe
    console.print(Rule("Pre-flight report"), width=min(console.width, 120))
    print_preflight(p, console)
    console.print(f"history: {workdir / 'history'}   inventory: {workdir / 'inventory.yaml'}")


def _check_scenario(scenario: str) -> None:
    """A scenario that cannot be loaded is one line and exit 2, before anything starts."""
    from lab.scenario import load_scenario

    try:
        load_scenario(scenario)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        typer.echo(f"demo: scenario {scenario}: {exc}", err=True)
        raise typer.Exit(2) from None


def _fresh_history(history: Path) -> str | None:
    """Start each demo on an empty history: a run replays the same simulated times, and two runs
    in one history would overlap. The previous run's history is kept as ``history.prev``; where the
    directory cannot be moved (a mount point), its day partitions are deleted instead. Returns what
    was done, to tell the user."""
    import shutil

    if not history.exists() or not any(history.iterdir()):
        return None
    prev = history.with_name(history.name + ".prev")
    try:
        if prev.exists():
            shutil.rmtree(prev)
        history.rename(prev)
    except OSError as exc:
        parts = [p for p in history.glob("date=*") if p.is_dir()]
        for p in parts:
            shutil.rmtree(p)
        if not parts:
            return None
        return f"previous history in {history} deleted (it cannot be moved aside: {exc.strerror})"
    return f"previous history moved to {prev} (the one before it is deleted)"
