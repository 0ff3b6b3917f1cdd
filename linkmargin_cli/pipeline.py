"""The whole pipeline in one process: collector -> in-process bus -> analyzer, with /metrics.

What `linkmargin demo` (with a lab fabric) and `linkmargin run` (with a real inventory) both run.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from prometheus_client import CollectorRegistry
from rich.console import Console, RenderableType
from rich.live import Live

from analyzer.advice import advise
from analyzer.analysis import Analysis
from analyzer.consumer import BatchConsumer
from analyzer.events import RiskTracker
from analyzer.exporter import AnalyzerCollector
from analyzer.ingestmetrics import IngestCollector
from analyzer.state import LaneState
from collector.daemon import expose_device_state
from collector.gnmi.metrics import GnmiMetrics
from collector.gnmi.stream import GnmiStream
from collector.scheduler import Scheduler
from collector.selfmetrics import SelfMetrics
from collector.sinks import fanout
from collector.sinks.bus import BusSink
from collector.sinks.parquet import ParquetSink
from collector.sinks.prometheus import PrometheusSink
from linkmargin.bus import InProcessBus
from linkmargin.exposition.http import serve
from linkmargin.inventory import Inventory
from linkmargin.inventory.metrics import InventoryCollector
from linkmargin.wire import SAMPLES_WILDCARD, encode_event
from linkmargin_cli.harness import LabRun
from linkmargin_cli.passes import Passes
from linkmargin_cli.wiring import (
    gnmi_targets_from_inventory,
    planned_from_inventory,
    profiles_from_inventory,
    spec_from_inventory,
    targets_from_inventory,
)

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
    passes: Passes  # bounded by default: the pass reads a 7-day window and the estimators' state
    analysis: Analysis | None = None
    planned: pl.DataFrame | None = None  # the inventory's planned matings (maintenance windows)
    streams: list[GnmiStream] = field(default_factory=list)  # one per gNMI device, into the same sink
    events: int = 0
    last_event: str = ""


def build_pipeline(
    inv: Inventory,
    registry: CollectorRegistry,
    history: Path,
    intervals: dict[str, float],
    lab: LabRun | None = None,
    full_pass: bool = False,
) -> Pipeline:
    """Wire collector -> bus -> analyzer for an inventory, exporters on ``registry``.

    With ``lab``, samples are stamped with the fabric's simulated time; ``full_pass`` recomputes over the
    whole history every pass instead of the bounded pass.
    """
    bus = InProcessBus()
    prom = PrometheusSink(registry)
    parquet = ParquetSink(history, registry=registry)
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
    expose_device_state(scheduler, prom)  # module identity, breaker state, devices that never answered
    gnmi_metrics = GnmiMetrics(registry)
    streams = [GnmiStream(t, sink, intervals, metrics=gnmi_metrics) for t in gnmi_targets_from_inventory(inv)]
    clock = lab.sim_time if lab is not None else (lambda: datetime.now(UTC))
    state = LaneState(spec_from_inventory(inv), clock=clock)
    consumer = BatchConsumer(state)
    exporter = AnalyzerCollector()
    registry.register(exporter)
    registry.register(
        IngestCollector(
            consumer.stats, state_rejected=lambda: state.rejected, streams=lambda: len(consumer.dedupe)
        )
    )
    registry.register(InventoryCollector(inv, clock))
    tracker = RiskTracker(MAIN_HORIZON)
    planned = planned_from_inventory(inv)
    passes = Passes(state.spec, full=full_pass)
    return Pipeline(
        clock,
        bus,
        scheduler,
        state,
        consumer,
        exporter,
        tracker,
        parquet,
        passes,
        planned=planned,
        streams=streams,
    )


async def analyze_once(p: Pipeline, now: datetime) -> None:
    """Fold pending samples in, run every estimator, refresh /metrics and publish risk changes."""
    p.consumer.flush()
    if p.state.hour_range() is None:
        return
    an = await asyncio.to_thread(p.passes.run, p.state, horizons=HORIZONS, planned=p.planned, now=now)
    adv = advise(an, MAIN_HORIZON)
    p.exporter.update(an, suspects=adv, samples_seen=p.state.samples_seen)
    for ev in p.tracker.update(an.forecasts[MAIN_HORIZON], links=an.links, advice=adv):
        await p.bus.publish(ev.topic, encode_event(ev))
        p.events += 1
        p.last_event = f"{ev.severity}: {ev.summary}"
    p.analysis = an


async def run_pipeline(
    inv: Inventory,
    history: Path,
    *,
    intervals: dict[str, float],
    analyze_every: float,
    duration: float | None,
    metrics_port: int,
    console: Console,
    view: Callable[[Pipeline, str, float], RenderableType],
    lab: LabRun | None = None,
    live: bool = True,
    full_pass: bool = False,
) -> Pipeline:
    """Run the whole pipeline until ``duration`` wall seconds pass or SIGINT; return its final state."""
    registry = CollectorRegistry()
    p = build_pipeline(inv, registry, history, intervals, lab, full_pass=full_pass)
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
    stream_tasks = [asyncio.create_task(s.run(stop)) for s in p.streams]  # gNMI devices
    history_task = asyncio.create_task(p.parquet.run(stop))  # writes every flush_s: kill -9 loses little
    started = time.monotonic()
    if not live:
        console.print(f"metrics on {url}; Ctrl-C to stop")
    try:
        with Live(view(p, url, started), console=console, refresh_per_second=2, auto_refresh=live) as lv:
            next_analysis = started + analyze_every
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)
                now = time.monotonic()
                if now >= next_analysis:
                    await analyze_once(p, p.clock())
                    next_analysis = now + analyze_every
                if live:
                    lv.update(view(p, url, started))
                if duration is not None and now - started >= duration:
                    stop.set()
        await poll_task
        await asyncio.gather(*stream_tasks)
        await history_task
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
