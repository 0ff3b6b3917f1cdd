"""The backtest's run: the lab on a stepped clock through collector -> bus -> analyzer, then scoring.

What `linkmargin backtest` (in :mod:`linkmargin_cli.backtest`) drives; see that module for the
question each forecast answers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from prometheus_client import CollectorRegistry
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from analyzer.backtest import (
    ForecastPass,
    cohort_recovery,
    forecast_pass,
    planned_work_scores,
    score_with_baseline,
)
from analyzer.consumer import BatchConsumer
from analyzer.state import LaneState
from analyzer.wear import wear_recovery
from collector.gnmi.client import GnmiTarget
from collector.gnmi.errors import GnmiError
from collector.gnmi.metrics import GnmiMetrics
from collector.gnmi.once import OnceReader
from collector.scheduler import Scheduler
from collector.selfmetrics import SelfMetrics
from collector.sinks import Sink, fanout
from collector.sinks.bus import BusSink
from collector.sinks.parquet import ParquetSink
from lab.physics.sim import FabricSim
from lab.truth import cohort_truth, crossing_causes, run_truth
from lab.truth.cohorts import wear_truth
from linkmargin.bus import InProcessBus, Message
from linkmargin.wire import SAMPLES_WILDCARD
from linkmargin_cli.gcsettle import gc_settled
from linkmargin_cli.labproc import stepped_lab
from linkmargin_cli.passes import Passes
from linkmargin_cli.wiring import (
    gnmi_targets_from_inventory,
    planned_from_inventory,
    profiles_from_inventory,
    spec_from_inventory,
    targets_from_inventory,
)

TRUTH_CHUNK_SAMPLES = 24
"""Lane-truth samples reduced at once by :func:`truth_crossings` (a day at 1 h: 0.5 M rows at 2,048 links)."""


def truth_crossings(sim: FabricSim, step_s: float) -> pl.DataFrame:
    """Per link, the first and the last time any lane's true margin is below zero (null if never), and
    ``below``: every span of consecutive truth samples below zero, as {below_from, below_to}.

    The lab's lane truth is run :data:`TRUTH_CHUNK_SAMPLES` samples at a time and reduced to one row per
    link and sample at once: the whole run's lane truth (11 M rows, some 2 GB, for 2,048 links over 21 days
    at 1 h) is never held. The same samples as one ``run_truth`` over the run (the sim's own steps between
    them; a chunk's first sample is the last one's, read twice and kept once)."""
    end = sim.scenario.duration_s
    per: list[pl.DataFrame] = []
    last = None
    while True:
        lanes = run_truth(sim, step_s=step_s, until_s=min(end, sim.t + TRUTH_CHUNK_SAMPLES * step_s))
        if last is not None:
            lanes = lanes.filter(pl.col("t") > last)
        if lanes.height:
            per.append(_below_per_sample(lanes))
            last = lanes["t"].max()
        if sim.t + step_s > end + 1e-9:  # run_truth's own end: no sample after this one
            break
    return _spans(pl.concat(per))


def truth_from_lanes(lanes: pl.DataFrame) -> pl.DataFrame:
    """:func:`truth_crossings` from the lab's lane truth (t, link_id, margin_db per lane and sample)."""
    return _spans(_below_per_sample(lanes))


def _below_per_sample(lanes: pl.DataFrame) -> pl.DataFrame:
    """Per link and truth sample: is any lane's true margin below zero (a NaN margin is not)."""
    return lanes.group_by("link_id", "t").agg(
        (pl.col("margin_db").is_finite() & (pl.col("margin_db") < 0)).any().alias("below")
    )


def _spans(per: pl.DataFrame) -> pl.DataFrame:
    """The truth frame (:func:`truth_crossings`) from :func:`_below_per_sample`'s rows."""
    per = per.sort("link_id", "t").with_columns(
        (pl.col("below") != pl.col("below").shift(1).over("link_id"))
        .fill_null(True)
        .cum_sum()
        .over("link_id")
        .alias("run")
    )
    spans = (
        per.filter("below")
        .group_by("link_id", "run")
        .agg(pl.col("t").min().alias("below_from"), pl.col("t").max().alias("below_to"))
        .sort("link_id", "below_from")
        .group_by("link_id", maintain_order=True)
        .agg(
            pl.col("below_from").min().alias("crossed_at"),
            pl.col("below_to").max().alias("last_below_at"),
            pl.struct("below_from", "below_to").alias("below"),
        )
    )
    links = per.select(pl.col("link_id").unique())
    return links.join(spans, on="link_id", how="left").rename({"link_id": "link"})


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
    lab_transport: str = "snmp",
    full_pass: bool = False,
    in_process: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """Drive the lab through the whole pipeline; return forecasts, threshold snapshots and run stats.

    ``transport`` is the SNMP library (gufo, pysnmp); ``lab_transport`` which switches are read over
    gNMI (:data:`linkmargin_cli.harness.LAB_TRANSPORTS`). A gNMI switch is read at each step with a
    ONCE subscription (every leaf once, then the RPC ends): a STREAM's SAMPLE interval is wall time,
    the backtest's clock is stepped.

    With ``history``, every sample the collector delivered is also kept there as Parquet (the
    collector's history sink), so the run can be inspected or the analyzer re-run on it.

    The analysis passes are the analyzer's (:class:`~linkmargin_cli.passes.Passes`): bounded by default,
    so a pass reads a 7-day window and the state keeps the window and a day; ``full_pass`` recomputes
    over the whole history at every pass, to check the bounded one.

    The lab runs in a child process (:mod:`linkmargin_cli.labproc`), so the lab and the collector and
    analyzer use a core each; ``in_process`` keeps it in this event loop (the same samples, to compare).
    A lab process that fails or dies raises :class:`~linkmargin_cli.labproc.LabProcessError`.
    """
    async with stepped_lab(
        scenario, workdir, seed=seed, transport=lab_transport, in_process=in_process
    ) as lab:
        bus = InProcessBus()
        parquet = ParquetSink(history) if history is not None else None
        sink: Sink = BusSink(bus) if parquet is None else fanout(BusSink(bus), parquet)
        state = LaneState(spec_from_inventory(lab.inventory), clock=lab.sim_time)
        passes = Passes(state.spec, full=full_pass)
        # the lab's announced work: the analyzer sees the plan, never its outcome
        planned = planned_from_inventory(lab.inventory)
        consumer = BatchConsumer(state, max_rows=10**9, max_delay=1e9)  # flushed at each analysis
        restamped = lab.restamp(sink)
        scheduler = Scheduler(
            targets_from_inventory(lab.inventory, timeout=5.0),
            restamped,
            intervals={"counters": 3600.0, "dom": 3600.0, "discovery": 3600.0},
            profiles=profiles_from_inventory(lab.inventory),
            transport=transport,
            metrics=SelfMetrics(CollectorRegistry()),
        )
        gnmi = GnmiReads(gnmi_targets_from_inventory(lab.inventory), restamped, console)
        # the consumer holds the next steps' samples while a pass reads the state (see below)
        gate = asyncio.Event()
        gate.set()
        consume = asyncio.create_task(consumer.run(_gated(bus.subscribe(SAMPLES_WILDCARD), gate)))
        duration = lab.scenario.duration_s
        end = lab.scenario.start + timedelta(seconds=duration)
        steps = int(duration // step_s) + 1
        every = max(1, round(analyze_s / step_s))
        forecasts: list[pl.DataFrame] = []
        snapshots: list[pl.DataFrame] = []
        cohorts = pl.DataFrame()
        wear: pl.DataFrame | None = None
        pending: asyncio.Task[ForecastPass | None] | None = None

        async def analyze(now: datetime) -> ForecastPass | None:
            """One pass at ``now`` in a thread; the state's clock stopped at ``now`` and the consumer's
            gate closed until it ends."""
            clock, state.clock = state.clock, lambda: now
            try:
                return await asyncio.to_thread(
                    forecast_pass,
                    state,
                    now,
                    end,
                    horizon_s,
                    planned,
                    run=passes.run,
                    rx_history=passes.rx_history,
                    work_within_s=analyze_s,
                )
            finally:
                state.clock = clock
                gate.set()

        def take(fp: ForecastPass | None) -> None:
            nonlocal cohorts, wear
            if fp is not None:
                forecasts.append(fp.forecasts)
                snapshots.append(fp.snapshots)
                cohorts = fp.cohorts
                wear = fp.wear

        t0 = time.perf_counter()
        with (
            gc_settled() as settle_gc,
            Progress(
                TextColumn("[bold]backtest[/] {task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total} steps"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            ) as progress,
        ):
            task = progress.add_task(lab.scenario.name, total=steps)
            for k in range(steps):
                await lab.goto(k * step_s)
                await asyncio.gather(
                    *(scheduler.poll(d, g) for d in scheduler.devices for g in ("counters", "dom")),
                    gnmi.read_all(),
                )
                progress.advance(task)
                if k == 0:
                    settle_gc()
                if not console.is_terminal and k % max(1, steps // 10) == 0:
                    # no live bar when stderr is a file: a line per tenth of the run instead
                    console.print(
                        f"backtest {lab.scenario.name}: step {k}/{steps}, {state.samples_seen:,} samples, "
                        f"{time.perf_counter() - t0:.0f} s"
                    )
                if k == 0 or k % every:
                    continue
                if pending is not None:  # the last pass ends before the state takes new samples
                    take(await pending)
                while consumer.batches + consumer.duplicates + consumer.malformed < bus.published:
                    await asyncio.sleep(0)  # let the consumer drain the bus up to this step
                consumer.flush()
                # the question a pre-flight report answers: will it hold until the run ends? The pass
                # runs beside the next steps' polls: the state's clock stays at this step and the
                # consumer holds what arrives, so the pass sees what it would see with polling stopped
                gate.clear()
                pending = asyncio.create_task(analyze(lab.sim_time()))
            if pending is not None:
                take(await pending)
        await gnmi.close()
        await bus.close()
        await consume
        if parquet is not None:
            parquet.flush()
        stats = {
            "scenario": lab.scenario.name,
            "steps": steps,
            "polls": sum(sum(d.polls.values()) for d in scheduler.devices) + gnmi.polls,
            "gnmi_devices": len(gnmi.readers),
            "gnmi_failures": gnmi.failures,
            "samples": state.samples_seen,
            "pass": "full" if full_pass else "bounded",
            "state_hours": _span(state.hour_range()),  # the hours the analyzer's state holds at the end
            "wall_seconds": round(time.perf_counter() - t0, 1),
            "start": lab.scenario.start,
            "end": end,
            "lab_scenario": lab.scenario,  # the truth is run by score_run, once the state is gone
            "cohorts": cohorts,
            "wear": wear,
            "planned": planned,
        }
    fc = pl.concat(forecasts) if forecasts else pl.DataFrame()
    snaps = pl.concat(snapshots) if snapshots else pl.DataFrame()
    return fc, snaps, stats


async def _gated(messages: AsyncIterator[Message], gate: asyncio.Event) -> AsyncIterator[Message]:
    """The bus's messages, each handed on only while ``gate`` is open."""
    async for message in messages:
        await gate.wait()
        yield message


def _span(hours: tuple[int, int] | None) -> int:
    return 0 if hours is None else hours[1] - hours[0] + 1


class GnmiReads:
    """The gNMI switches' reads at each step: one ONCE subscription per device, its batches (counters,
    then optics) to the same sink as the SNMP polls. A device that cannot be read is counted, logged
    once, and read again at the next step."""

    def __init__(self, targets: list[GnmiTarget], sink: Sink, console: Console) -> None:
        metrics = GnmiMetrics(CollectorRegistry())
        self.readers = [OnceReader(t, metrics=metrics) for t in targets]
        self.sink = sink
        self.console = console
        self.polls = 0  # one per (device, group) batch read, as the scheduler counts SNMP polls
        self.failures = 0

    async def _read(self, r: OnceReader) -> None:
        try:
            batches = await r.read()
        except GnmiError as exc:
            self.failures += 1
            if self.failures == 1:
                self.console.print(f"[yellow]backtest: gNMI {exc} (counted; read again next step)[/]")
            return
        for group, frame in batches:
            self.polls += 1
            if not frame.is_empty():
                await self.sink(r.target.name, group, frame)

    async def read_all(self) -> None:
        """Read every gNMI switch once, concurrently."""
        await asyncio.gather(*(self._read(r) for r in self.readers))

    async def close(self) -> None:
        """Close every channel."""
        for r in self.readers:
            await r.close()


def score_run(
    fc: pl.DataFrame,
    snaps: pl.DataFrame,
    stats: dict[str, Any],
    *,
    horizon_s: float,
    step_s: float,
    min_lead_s: float,
    threshold: float,
    save: Path | None,
) -> dict[str, Any]:
    """Score the run's forecasts (and the static-threshold baseline) against the lab's ground truth.

    The truth is a fresh simulation of the run's scenario (same seed, same start), built here: after
    :func:`run_backtest` returned, its lab process stopped and the analyzer's state was released."""
    sim = FabricSim(stats.pop("lab_scenario"))
    truth = truth_crossings(sim, step_s=step_s)
    truth = truth.join(crossing_causes(sim, truth, min_lead_s), on="link", how="left")
    if save:
        fc.write_parquet(save / "forecasts.parquet")
        snaps.write_parquet(save / "thresholds.parquet")
        truth.write_parquet(save / "truth.parquet")
    # A link already below zero at the first forecast is no crossing to foresee (recall), but its
    # forecasts are scored like any other (analyzer.backtest: below zero in the window is outcome 1)
    first = fc["issued_at"].min()
    already = truth.filter(pl.col("crossed_at") <= first)
    scores = score_with_baseline(
        fc,
        snaps,
        truth,
        horizon=timedelta(seconds=horizon_s),
        threshold=threshold,
        min_lead_hours=min_lead_s / 3600,
        end=stats["end"],
    )
    scores["already_below_zero_at_start"] = already.height
    # the last forecast's cohort estimates against the lab's true mating behaviour
    recovery = cohort_recovery(stats.pop("cohorts"), cohort_truth(sim))
    scores["cohorts"] = recovery.to_dicts()
    scores["wear"] = wear_scores(stats.pop("wear"), sim)
    scores["planned_work"] = planned_work_scores(
        fc, truth, stats.pop("planned"), lead_hours=min_lead_s / 3600
    )
    scores["links"] = truth.height
    scores["run"] = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in stats.items()}
    return scores


def wear_scores(curve: pl.DataFrame | None, sim: FabricSim) -> list[dict[str, Any]]:
    """The last analysis' wear curve read at 10, 50 and 200 matings against the lab's true hazard there
    (field MMC, factory MTP and every other cohort the lab has); none without a curve."""
    if curve is None or curve.height == 0 or "p_step" not in curve.columns:
        return []
    return wear_recovery(curve, wear_truth(sim)).to_dicts()
