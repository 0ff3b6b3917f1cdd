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
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from prometheus_client import CollectorRegistry
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from analyzer.backtest import cohort_recovery, forecast_pass, score_with_baseline
from analyzer.consumer import BatchConsumer
from analyzer.state import LaneState
from collector.scheduler import Scheduler
from collector.selfmetrics import SelfMetrics
from collector.sinks import Sink, fanout
from collector.sinks.bus import BusSink
from collector.sinks.parquet import ParquetSink
from lab.physics.sim import FabricSim
from lab.truth import cohort_truth, crossing_causes, run_truth
from linkmargin.bus import InProcessBus
from linkmargin_cli.app import app
from linkmargin_cli.harness import lab_run
from linkmargin_cli.wiring import profiles_from_inventory, spec_from_inventory, targets_from_inventory
from linkmargin.wire import SAMPLES_WILDCARD


def truth_crossings(sim: FabricSim, step_s: float) -> pl.DataFrame:
    """Per link, the first and the last time any lane's true margin is below zero (null if never)."""
    lanes = run_truth(sim, step_s=step_s)
    crossed = (
        lanes.filter(pl.col("margin_db").is_finite() & (pl.col("margin_db") < 0))
        .group_by("link_id")
        .agg(pl.col("t").min().alias("crossed_at"), pl.col("t").max().alias("last_below_at"))
    )
    links = lanes.select(pl.col("link_id").unique())
    return links.join(crossed, on="link_id", how="left").rename({"link_id": "link"})


async def run_backtest(
    scenario: str,
    workdir: Path,
    *,
    horizon_s: float,
    step_s: float,
    analyze_s: float,
    transport: str,
    console: Console,
    seed: int | None = None,
    history: Path | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """Drive the lab through the whole pipeline; return forecasts, threshold snapshots and run stats.

    With ``history``, every sample the collector delivered is also kept there as Parquet (the
    collector's history sink), so the run can be inspected or the analyzer re-run on it.
    """
    clock = [0.0]
    async with lab_run(scenario, workdir, seed=seed, refresh_s=0.0, clock=lambda: clock[0]) as lab:
        bus = InProcessBus()
        parquet = ParquetSink(history) if history is not None else None
        sink: Sink = BusSink(bus) if parquet is None else fanout(BusSink(bus), parquet)
        state = LaneState(spec_from_inventory(lab.inventory))
        consumer = BatchConsumer(state, max_rows=10**9, max_delay=1e9)  # flushed at each analysis
        scheduler = Scheduler(
            targets_from_inventory(lab.inventory, timeout=5.0),
            lab.restamp(sink),
            intervals={"counters": 3600.0, "dom": 3600.0, "discovery": 3600.0},
            profiles=profiles_from_inventory(lab.inventory),
            transport=transport,
            metrics=SelfMetrics(CollectorRegistry()),
        )
        consume = asyncio.create_task(consumer.run(bus.subscribe(SAMPLES_WILDCARD)))
        duration = lab.scenario.duration_s
        end = lab.scenario.start + timedelta(seconds=duration)
        steps = int(duration // step_s) + 1
        every = max(1, round(analyze_s / step_s))
        forecasts: list[pl.DataFrame] = []
        snapshots: list[pl.DataFrame] = []
        cohorts = pl.DataFrame()
        t0 = time.perf_counter()
        with Progress(
            TextColumn("[bold]backtest[/] {task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} steps"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task(lab.scenario.name, total=steps)
            for k in range(steps):
                clock[0] = k * step_s
                await asyncio.gather(
                    *(scheduler.poll(d, g) for d in scheduler.devices for g in ("counters", "dom"))
                )
                progress.advance(task)
                if not console.is_terminal and k % max(1, steps // 10) == 0:
                    # no live bar when stderr is a file: a line per tenth of the run instead
                    console.print(
                        f"backtest {lab.scenario.name}: step {k}/{steps}, {state.samples_seen:,} samples"
                    )
                if k == 0 or k % every:
                    continue
                while consumer.batches + consumer.duplicates + consumer.malformed < bus.published:
                    await asyncio.sleep(0)  # let the consumer drain the bus up to this step
                consumer.flush()
                # the question a pre-flight report answers: will it hold until the run ends?
                fp = await asyncio.to_thread(forecast_pass, state, lab.sim_time(), end, horizon_s)
                if fp is not None:
                    forecasts.append(fp.forecasts)
                    snapshots.append(fp.snapshots)
                    cohorts = fp.cohorts
        await bus.close()
        await consume
        if parquet is not None:
            parquet.flush()
        stats = {
            "scenario": lab.scenario.name,
            "steps": steps,
            "polls": sum(sum(d.polls.values()) for d in scheduler.devices),
            "samples": state.samples_seen,
            "wall_seconds": round(time.perf_counter() - t0, 1),
            "start": lab.scenario.start,
            "end": end,
            "sim": FabricSim(lab.scenario),
            "cohorts": cohorts,
        }
    fc = pl.concat(forecasts) if forecasts else pl.DataFrame()
    snaps = pl.concat(snapshots) if snapshots else pl.DataFrame()
    return fc, snaps, stats


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
    console = Console(stderr=True)
    from linkmargin_cli.params import seconds

    horizon_s, step_s = seconds(horizon, "--horizon"), seconds(step, "--step")
    analyze_s, min_lead_s = seconds(analyze_every, "--analyze-every"), seconds(min_lead, "--min-lead")
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
    sim = stats.pop("sim")
    truth = truth_crossings(sim, step_s=step_s)
    truth = truth.join(crossing_causes(sim, truth, min_lead_s), on="link", how="left")
    if save:
        fc.write_parquet(save / "forecasts.parquet")
        snaps.write_parquet(save / "thresholds.parquet")
        truth.write_parquet(save / "truth.parquet")
    # A link already below zero before the first forecast could not have been forecast: reported apart.
    first = fc["issued_at"].min()
    already = truth.filter(pl.col("crossed_at") <= first)
    scores = score_with_baseline(
        fc,
        snaps,
        truth.filter(pl.col("crossed_at").is_null() | (pl.col("crossed_at") > first)),
        horizon=timedelta(seconds=horizon_s),
        threshold=threshold,
        min_lead_hours=min_lead_s / 3600,
        end=stats["end"],
    )
    scores["already_below_zero_at_start"] = already.height
    # the last forecast's cohort estimates against the lab's true mating behaviour
    recovery = cohort_recovery(stats.pop("cohorts"), cohort_truth(sim))
    scores["cohorts"] = recovery.to_dicts()
    scores["links"] = truth.height
    scores["run"] = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in stats.items()}
    if as_json:
        typer.echo(json.dumps(scores, default=str))
        return
    out = Console()
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
