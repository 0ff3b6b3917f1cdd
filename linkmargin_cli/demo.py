"""`linkmargin demo` and `linkmargin run`: lab fabric, collector, analyzer and exporter in one process.

The demo is the README's main job: a small simulated fabric served as real SNMP agents on
loopback, polled by the real collector, analyzed on the in-process bus, with /metrics for
Prometheus and a live table of the worst links; at the end, the pre-flight report.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from prometheus_client import CollectorRegistry
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from analyzer.advice import advise
from analyzer.analysis import Analysis
from analyzer.analysis import analyze as run_analysis
from analyzer.consumer import BatchConsumer
from analyzer.events import RiskTracker
from analyzer.exporter import AnalyzerCollector
from analyzer.state import LaneState
from collector.exposition.http import serve
from collector.scheduler import Scheduler
from collector.selfmetrics import SelfMetrics
from collector.sinks import fanout
from collector.sinks.bus import BusSink
from collector.sinks.parquet import ParquetSink
from collector.sinks.prometheus import PrometheusSink
from linkmargin.bus import InProcessBus
from linkmargin_cli.app import app
from linkmargin_cli.harness import LabRun, lab_run
from linkmargin_cli.wiring import profiles_from_inventory, spec_from_inventory, targets_from_inventory
from linkmargin.inventory import Inventory
from linkmargin.inventory.metrics import InventoryCollector
from linkmargin.wire import SAMPLES_WILDCARD, encode_event

HORIZONS = {"7d": 7.0, "21d": 21.0}
MAIN_HORIZON = "21d"


@dataclass
class Pipeline:
    """Everything the demo runs, wired together; the pieces stay the parts' own public classes."""

    clock: Callable[[], datetime]
    bus: InProcessBus
    scheduler: Scheduler
    state: LaneState
    consumer: BatchConsumer
    exporter: AnalyzerCollector
    tracker: RiskTracker
    parquet: ParquetSink
    analysis: Analysis | None = None
    events: int = 0
    last_event: str = ""


def build_pipeline(
    inv: Inventory,
    registry: CollectorRegistry,
    history: Path,
    intervals: dict[str, float],
    lab: LabRun | None = None,
) -> Pipeline:
    """Wire collector -> bus -> analyzer for an inventory, exporters on ``registry``.

    With ``lab``, samples are stamped with the fabric's simulated time.
    """
    bus = InProcessBus()
    prom = PrometheusSink(registry)
    parquet = ParquetSink(history)
    sink = fanout(prom, BusSink(bus), parquet)
    if lab is not None:
        sink = lab.restamp(sink)
    scheduler = Scheduler(
        targets_from_inventory(inv),
        sink,
        intervals=intervals,
        profiles=profiles_from_inventory(inv),
        metrics=SelfMetrics(registry),
    )
    state = LaneState(spec_from_inventory(inv))
    exporter = AnalyzerCollector()
    registry.register(exporter)
    clock = lab.sim_time if lab is not None else (lambda: datetime.now(UTC))
    registry.register(InventoryCollector(inv, clock))
    return Pipeline(
        clock, bus, scheduler, state, BatchConsumer(state), exporter, RiskTracker(MAIN_HORIZON), parquet
    )


async def analyze_once(p: Pipeline, now: datetime) -> None:
    """Fold pending samples in, run every estimator, refresh /metrics and publish risk changes."""
    p.consumer.flush()
    if p.state.hour_range() is None:
        return
    an = await asyncio.to_thread(run_analysis, p.state, horizons=HORIZONS, now=now)
    adv = advise(an, MAIN_HORIZON)
    p.exporter.update(an, suspects=adv, samples_seen=p.state.samples_seen)
    for ev in p.tracker.update(an.forecasts[MAIN_HORIZON], links=an.links, advice=adv):
        await p.bus.publish(ev.topic, encode_event(ev))
        p.events += 1
        p.last_event = f"{ev.severity}: {ev.summary}"
    p.analysis = an


def live_view(p: Pipeline, url: str, started: float, rows: int = 12) -> Group:
    """Header with what is running, then the worst links by risk at the main horizon."""
    head = Table.grid(padding=(0, 2))
    head.add_row("time", p.clock().strftime("%Y-%m-%d %H:%M UTC"), "metrics", url)
    head.add_row(
        "devices",
        str(len(p.scheduler.devices)),
        "samples analyzed",
        f"{p.state.samples_seen:,}",
    )
    head.add_row("wall time", f"{time.monotonic() - started:.0f} s", "risk events", str(p.events))
    if p.last_event:
        head.add_row("last event", p.last_event[:100], "", "")
    table = Table(title=f"Worst links — risk of losing margin within {MAIN_HORIZON}", expand=True)
    for col, just in (
        ("link", "left"),
        ("margin now dB", "right"),
        (f"forecast {MAIN_HORIZON} dB [90% PI]", "right"),
        ("P(cross)", "right"),
        ("drift dB/day", "right"),
        ("likely cause / action", "left"),
    ):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    if p.analysis is not None:
        from analyzer.report import risk_table

        t = risk_table(p.analysis, MAIN_HORIZON, advise(p.analysis, MAIN_HORIZON))
        for r in t.head(rows).iter_rows(named=True):

            def f(x: float | None, fmt: str = "+.2f") -> str:
                return "–" if x is None or x != x else format(x, fmt)

            style = "red" if (r["p_cross"] or 0) >= 0.5 else "yellow" if (r["p_cross"] or 0) >= 0.1 else ""
            table.add_row(
                r["link"],
                f(r["margin_now_db"]),
                f"{f(r['forecast_db'])} [{f(r['forecast_lo_db'])}, {f(r['forecast_hi_db'])}]",
                f(r["p_cross"], ".0%"),
                f(r["drift_db_per_day"], "+.3f"),
                " — ".join(x for x in (r.get("cause"), r.get("action")) if x) or "",
                style=style,
            )
    else:
        table.caption = "waiting for the first hour of samples ..."
    return Group(Panel(head, title="linkmargin demo: lab fabric -> collector -> bus -> analyzer"), table)


async def run_pipeline(
    inv: Inventory,
    history: Path,
    *,
    intervals: dict[str, float],
    analyze_every: float,
    duration: float | None,
    metrics_port: int,
    console: Console,
    lab: LabRun | None = None,
    live: bool = True,
) -> Pipeline:
    """Run the whole pipeline until ``duration`` wall seconds pass or SIGINT; return its final state."""
    registry = CollectorRegistry()
    p = build_pipeline(inv, registry, history, intervals, lab)
    # the collector's series rendered from columns, the other exporters by prometheus-client
    server, _thread = serve(registry, metrics_port, addr="127.0.0.1")
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    consumer_task = asyncio.create_task(p.consumer.run(p.bus.subscribe(SAMPLES_WILDCARD)))
    poll_task = asyncio.create_task(p.scheduler.run(stop))
    started = time.monotonic()
    if not live:
        console.print(f"metrics on {url}; Ctrl-C to stop")
    try:
        with Live(live_view(p, url, started), console=console, refresh_per_second=2, auto_refresh=live) as lv:
            next_analysis = started + analyze_every
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)
                now = time.monotonic()
                if now >= next_analysis:
                    await analyze_once(p, p.clock())
                    next_analysis = now + analyze_every
                if live:
                    lv.update(live_view(p, url, started))
                if duration is not None and now - started >= duration:
                    stop.set()
        await poll_task
        await p.bus.close()
        await consumer_task
        await analyze_once(p, p.clock())
        p.parquet.flush()
    finally:
        server.shutdown()
        with contextlib.suppress(NotImplementedError):
            loop.remove_signal_handler(signal.SIGINT)
            loop.remove_signal_handler(signal.SIGTERM)
    return p


def print_preflight(p: Pipeline, console: Console) -> None:
    """The pre-flight report of the fabric at the end of the run."""
    from analyzer import report

    if p.analysis is None:
        console.print("[yellow]no analysis yet: run longer (--duration) to gather an hour of samples[/]")
        return
    table = report.risk_table(p.analysis, MAIN_HORIZON, advise(p.analysis, MAIN_HORIZON, min_probability=0.0))
    report.render(table, MAIN_HORIZON, console=console, limit=15)


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
    console = Console()
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
                lab=lab,
            )

    p = asyncio.run(main())
    console.rule("Pre-flight report")
    print_preflight(p, console)
    console.print(f"history: {workdir / 'history'}   inventory: {workdir / 'inventory.yaml'}")


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
    from linkmargin.inventory import InventoryError, load_inventory

    console = Console()
    try:
        inv = load_inventory(inventory)
    except InventoryError as exc:
        for err in exc.errors:
            typer.echo(str(err), err=True)
        raise typer.Exit(2) from None
    p = asyncio.run(
        run_pipeline(
            inv,
            history,
            intervals={"counters": counters_every, "dom": dom_every, "discovery": 3600.0},
            analyze_every=analyze_every,
            duration=duration,
            metrics_port=metrics_port,
            console=console,
            live=False,
        )
    )
    print_preflight(p, console)
