"""`linkmargin backtest`: the lab at accelerated time through the real collector -> bus -> analyzer.

Each forecast asks what a pre-flight report asks: will the link lose its margin between now and
the end of the run (or ``--horizon``, whichever is sooner)? Its outcome window is exactly that.

The fabric runs on a stepped clock: at each step every switch is polled over real SNMP (the
collector's scheduler, transports and decoders), batches travel the in-process bus as wire bytes,
and the analyzer issues forecasts at a fixed cadence. The lab's ground truth is computed from a
separate simulation of the same scenario and seed and handed to the analyzer's scoring as data.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from linkmargin_cli.app import app
from linkmargin_cli.console import make_console


@app.command()
def backtest(
    scenario: Annotated[str, typer.Option(help="Lab scenario (shipped name or file)")] = "training-21d",
    horizon: Annotated[str, typer.Option(help="Forecast horizon: the training run's length")] = "21d",
    step: Annotated[str, typer.Option(help="Simulated time between polls")] = "1h",
    analyze_every: Annotated[str, typer.Option(help="Simulated time between forecasts")] = "6h",
    min_lead: Annotated[str, typer.Option(help="A crossing counts as caught if flagged this early")] = "48h",
    threshold: Annotated[float, typer.Option(help="Flag a link when P(cross) reaches this")] = 0.5,
    transport: Annotated[str, typer.Option(help="SNMP transport: gufo | pysnmp")] = "gufo",
    seed: Annotated[int | None, typer.Option(help="Override the scenario's seed")] = None,
    workdir: Annotated[Path, typer.Option(help="Scratch directory")] = Path("var/backtest"),
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object with the scores")] = False,
    save: Annotated[
        Path | None,
        typer.Option(help="Keep the run here: samples history, forecasts, threshold snapshots, truth"),
    ] = None,
) -> None:
    """Score forecasts against the lab's ground truth, beside the static-threshold baseline."""
    from rich.table import Table

    from linkmargin_cli.backtest_run import run_backtest, score_run
    from linkmargin_cli.inputs import scenario_or_exit
    from linkmargin_cli.params import seconds

    # every duration and the scenario checked before the long run starts
    scenario_or_exit(scenario, seed)
    horizon_s, step_s = seconds(horizon, "--horizon"), seconds(step, "--step")
    analyze_s, min_lead_s = seconds(analyze_every, "--analyze-every"), seconds(min_lead, "--min-lead")
    console = make_console(stderr=True)
    fc, snaps, stats = asyncio.run(
        run_backtest(
            scenario,
            workdir,
            horizon_s=horizon_s,
            step_s=step_s,
            analyze_s=analyze_s,
            transport=transport,
            console=console,
            seed=seed,
            history=save / "history" if save else None,
        )
    )
    if fc.is_empty():
        console.print("[red]no forecast was issued: the scenario is shorter than --analyze-every[/]")
        raise typer.Exit(1)
    scores = score_run(
        fc,
        snaps,
        stats,
        horizon_s=horizon_s,
        step_s=step_s,
        min_lead_s=min_lead_s,
        threshold=threshold,
        save=save,
    )
    if as_json:
        typer.echo(json.dumps(scores, default=str))
        return
    out = make_console()
    table = Table(title=f"Backtest of {stats['scenario']} at H = {horizon} (flag at P >= {threshold:g})")
    table.add_column("")
    table.add_column("linkmargin", justify="right")
    table.add_column("static module thresholds", justify="right")
    base = scores["baseline"]
    for key, fmt in (("recall", ".3f"), ("precision", ".3f"), ("median_lead_hours", ".1f"), ("brier", ".4f")):
        table.add_row(key, _fmt(scores[key], fmt), _fmt(base[key], fmt))
    table.add_row(
        "recall, crossings with a precursor",
        _fmt(scores["recall_foreseeable"], ".3f"),
        _fmt(base["recall_foreseeable"], ".3f"),
    )
    for key in ("positives", "positives_sudden", "caught", "flagged", "true_flags"):
        table.add_row(key, str(scores[key]), str(base[key]))
    out.print(table)
    cols = ("link", "cause", "sudden", "crossed_at", "flagged_at", "lead_hours")
    cross = Table(*cols, title="Links that crossed zero margin (sudden: a step inside the lead time)")
    for row in scores["crossings"]:
        cross.add_row(*("–" if row.get(c) is None else str(row.get(c)) for c in cols))
    out.print(cross)
    coh = Table(title="Cohorts: estimate [95 % interval] vs the lab's truth")
    for col in ("family", "termination", "matings", "P(step) per mating", "true", "step dB", "true dB"):
        coh.add_column(col)
    for r in scores["cohorts"]:
        coh.add_row(
            r["family"],
            r["termination"],
            str(r["matings"]),
            f"{_fmt(r['p_step'], '.3f')} [{_fmt(r['p_step_lo'], '.3f')}, {_fmt(r['p_step_hi'], '.3f')}]",
            f"{r['true_p_step']:.3f} {_COVERED[r['p_covered']]}",
            f"{_fmt(r['step_db'], '.2f')} [{_fmt(r['step_db_lo'], '.2f')}, {_fmt(r['step_db_hi'], '.2f')}]",
            f"{r['true_step_db']:.2f} {_COVERED[r['step_covered']]}",
        )
    out.print(coh)
    out.print(
        f"{scores['links']} links, {scores['already_below_zero_at_start']} already below zero at the "
        f"first forecast; {stats['polls']} SNMP polls, {stats['samples']:,} samples, "
        f"{stats['wall_seconds']} s wall"
    )


_COVERED = {True: "inside", False: "OUTSIDE", None: "–"}


def _fmt(v: float | None, fmt: str) -> str:
    return "–" if v is None else format(v, fmt)
