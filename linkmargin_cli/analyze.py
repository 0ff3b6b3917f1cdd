"""CLI commands of the analyzer: ``analyze`` (stream -> state -> metrics and events) and ``risk``.

The analyzer's input besides Samples is a :class:`analyzer.spec.LinkSpec`, built from the inventory
(``--inventory FILE``) by :func:`linkmargin_cli.wiring.spec_from_inventory`, or read from a directory
of CSV tables (``--spec DIR``: lanes.csv, points.csv, events.csv). Parts are imported inside the
commands, so that ``linkmargin --help`` and the other commands do not load them.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from linkmargin_cli.app import app
from linkmargin_cli.console import make_console
from linkmargin_cli.formats import Format, FormatOpt
from linkmargin_cli.inputs import link_spec_or_exit


def parse_horizon(text: str) -> float:
    """'21d', '36h', '3w' (any duration: s, m, h, d, w) -> days; a bad one is a parameter error."""
    from linkmargin_cli.params import seconds

    return seconds(text, "--horizon") / 86400.0


SpecOpt = Annotated[
    Path | None, typer.Option("--spec", help="Directory with lanes.csv, points.csv, events.csv")
]
InvOpt = Annotated[Path | None, typer.Option("--inventory", help="Inventory YAML (core inventory)")]


@app.command()
def risk(
    history: Annotated[
        str, typer.Option("--history", help="Sample Parquet history: a directory or s3://BUCKET/PREFIX")
    ],
    horizon: Annotated[str, typer.Option("--horizon", help="Run length, e.g. 21d, 36h, 3w")] = "21d",
    spec: SpecOpt = None,
    inventory: InvOpt = None,
    links: Annotated[
        Path | None, typer.Option("--links", help="File with the job's link ids, one a line")
    ] = None,
    planned: Annotated[
        Path | None,
        typer.Option(
            "--planned", help="What-if: CSV of planned matings (point,ts,kind), on top of the inventory's"
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json")] = False,
    csv: Annotated[Path | None, typer.Option("--csv", help="Also write the report as CSV here")] = None,
    png: Annotated[
        Path | None, typer.Option("--png", help="Also write a chart of the worst links here")
    ] = None,
    top: Annotated[int, typer.Option(help="Rows in the table / links in the chart")] = 30,
) -> None:
    """Pre-flight report: the job's links ranked by the risk of losing margin before the run ends.

    P is given with the planned maintenance inside the horizon (the inventory's `maintenance:`
    windows, plus --planned) and without it, so the cost of the planned work shows per link.
    """
    import polars as pl

    from analyzer import report
    from analyzer.advice import advise
    from analyzer.analysis import add_forecast
    from analyzer.analysis import analyze as run_analysis
    from analyzer.state import LaneState
    from linkmargin_cli.formats import markdown
    from linkmargin_cli.inputs import job_links_or_exit, load_inventory_or_exit, planned_or_exit
    from linkmargin_cli.wiring import planned_from_inventory, spec_from_inventory

    if as_json:
        if fmt not in (Format.table, Format.json):
            raise typer.BadParameter("--json is --format json; give one of them", param_hint="'--json'")
        fmt = Format.json
    days = parse_horizon(horizon)
    inv = load_inventory_or_exit(inventory) if inventory is not None else None
    link_spec = spec_from_inventory(inv) if inv is not None else link_spec_or_exit(spec, None)
    plans = [planned_from_inventory(inv).select("point", "ts", "kind")] if inv is not None else []
    if planned is not None:
        plans.append(planned_or_exit(planned, set(link_spec.points["point"].to_list())))
    plan = pl.concat(plans, how="vertical_relaxed") if plans else None
    wanted = job_links_or_exit(links, set(link_spec.lanes["link"].to_list())) if links else None
    state = LaneState(link_spec)
    n = state.rebuild(str(history))
    if n == 0:
        typer.echo(f"no sample Parquet files under {history}", err=True)
        raise typer.Exit(2)
    latest = state.latest["ts"].max()
    now = latest if isinstance(latest, datetime) else datetime.now(UTC)
    an = run_analysis(state, horizons={horizon: days}, planned=plan, now=now)
    baseline = f"{horizon} without planned work"
    add_forecast(an, baseline, days, planned=None, now=now)
    adv = advise(an, horizon, min_probability=0.0)
    table = report.risk_table(an, horizon, adv, links=wanted, baseline=baseline)
    if csv:
        report.to_csv(table, csv)
    if png:
        report.plot(an, horizon, days, png, top=min(top, 10), table=table)
    if fmt is Format.json:
        sys.stdout.write(
            report.to_json(
                table,
                horizon=horizon,
                generated_at=now,
                cohorts=an.cohorts.table,
                planned=plan,
                devices=an.devices,
                wear=an.wear,
            )
            + "\n"
        )
    elif fmt is Format.csv:
        sys.stdout.write(table.write_csv())
    elif fmt is Format.markdown:
        sys.stdout.write(
            f"**Pre-flight risk at {horizon}** (generated {now.isoformat()})\n\n" + markdown(table)
        )
    else:
        report.render(table, horizon, console=make_console(), limit=top)


@app.command()
def analyze(
    spec: SpecOpt = None,
    inventory: InvOpt = None,
    history: Annotated[
        str | None, typer.Option("--history", help="Rebuild state from this Parquet history (DIR or s3://)")
    ] = None,
    checkpoint_dir: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint", help="Keep the state here after every pass; restart from it (else from --history)"
        ),
    ] = None,
    mqtt: Annotated[
        str | None, typer.Option("--mqtt", help="Broker host:port to subscribe to (every device's topic)")
    ] = None,
    mqtt_username: Annotated[str | None, typer.Option("--mqtt-username", help="MQTT user name")] = None,
    mqtt_password_file: Annotated[
        Path | None, typer.Option("--mqtt-password-file", help="File holding the MQTT password")
    ] = None,
    mqtt_password_env: Annotated[
        str | None, typer.Option("--mqtt-password-env", help="Env var holding the MQTT password")
    ] = None,
    mqtt_tls: Annotated[bool, typer.Option("--mqtt-tls", help="Connect to the broker with TLS")] = False,
    mqtt_ca_file: Annotated[
        Path | None,
        typer.Option(
            "--mqtt-ca-file", help="CA certificates (PEM) to trust for --mqtt-tls (default: system)"
        ),
    ] = None,
    mqtt_protocol: Annotated[
        str,
        typer.Option(
            "--mqtt-protocol",
            help="5, or 3.1.1 for brokers without MQTT 5 (NATS): persistent session either way",
        ),
    ] = "5",
    metrics_port: Annotated[
        int, typer.Option("--metrics-port", help="Serve /metrics on 127.0.0.1:PORT")
    ] = 9109,
    horizon: Annotated[
        list[str] | None, typer.Option("--horizon", help="Forecast horizons (repeatable)")
    ] = None,
    mqtt_client_id: Annotated[
        str | None,
        typer.Option(
            "--mqtt-client-id",
            help="MQTT client id, the same across restarts (default linkmargin-analyzer-HOSTNAME)",
        ),
    ] = None,
    mqtt_session_expiry: Annotated[
        int,
        typer.Option(
            "--mqtt-session-expiry",
            help="Seconds the broker keeps our session and queues batches while we are away (0: clean start)",
        ),
    ] = 3600,
    every: Annotated[float, typer.Option("--every", help="Seconds between analysis passes")] = 60.0,
    duration: Annotated[float | None, typer.Option("--duration", help="Stop after this many seconds")] = None,
    max_future_skew: Annotated[
        float,
        typer.Option("--max-future-skew", min=0.0, help="Seconds ahead of our clock a sample may be stamped"),
    ] = 300.0,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            help="i/N: analyze only shard i of N of the links; cohorts merged over --mqtt",
        ),
    ] = None,
    full_pass: Annotated[
        bool,
        typer.Option(
            "--full-pass", help="Recompute over the whole history every pass (default: a 7-day window)"
        ),
    ] = False,
) -> None:
    """Consume samples, keep per-lane state, serve forecasts on /metrics and publish risk events."""
    from prometheus_client import REGISTRY

    from analyzer.advice import advise
    from analyzer.consumer import BatchConsumer
    from analyzer.events import RiskTracker
    from analyzer.exporter import AnalyzerCollector
    from analyzer.ingestmetrics import IngestCollector
    from analyzer.mqtt import MqttSubscriber
    from analyzer.state import LaneState
    from linkmargin.exposition.http import serve
    from linkmargin.mqtt import MQTT_PROTOCOLS, MqttSettings
    from linkmargin.wire import encode_event
    from linkmargin_cli.inputs import load_inventory_or_exit
    from linkmargin_cli.passes import Passes
    from linkmargin_cli.wiring import planned_from_inventory, spec_from_inventory

    if mqtt_protocol not in MQTT_PROTOCOLS:
        typer.echo(
            f"analyze: --mqtt-protocol {mqtt_protocol!r}: one of {', '.join(MQTT_PROTOCOLS)}", err=True
        )
        raise typer.Exit(2)
    from linkmargin.shards import Shard, ShardError, parse_shard

    try:
        my_shard = parse_shard(shard) if shard is not None else Shard(1, 1)
    except ShardError as exc:
        typer.echo(f"analyze: --shard: {exc}", err=True)
        typer.echo("give --shard i/N with 1 <= i <= N, e.g. --shard 1/2 and --shard 2/2", err=True)
        raise typer.Exit(2) from None
    if my_shard.of > 1 and not mqtt:
        typer.echo(
            f"analyze: --shard {my_shard} needs --mqtt: the shards exchange cohort statistics", err=True
        )
        raise typer.Exit(2)
    horizons = {h: parse_horizon(h) for h in (horizon or ["7d", "21d"])}
    inv = load_inventory_or_exit(inventory) if inventory is not None else None
    link_spec = spec_from_inventory(inv) if inv is not None else link_spec_or_exit(spec, None)
    from analyzer.fleetstats import ShardCollector, StatsBoard, encode_stats
    from analyzer.sharding import RowFilter, shard_spec
    from linkmargin.wire import COHORT_STATS_WILDCARD, cohort_stats_topic

    link_spec = shard_spec(link_spec, my_shard)
    board = StatsBoard(my_shard, max_age_s=max(60.0, 10 * every)) if my_shard.of > 1 else None
    epoch = time.time_ns() // 1000
    plan = planned_from_inventory(inv) if inv is not None else None
    state = LaneState(link_spec, clock=lambda: datetime.now(UTC), future_skew_s=max_future_skew)
    from analyzer import checkpoint

    passes = Passes(link_spec, full=full_pass)  # bounded: its state kept from pass to pass, and checkpointed

    restored = False
    if checkpoint_dir is not None:
        try:
            restored = checkpoint.load(state, checkpoint_dir)
        except checkpoint.CheckpointError as e:
            typer.echo(f"{e}; not restored", err=True)
        if restored:
            typer.echo(f"restored state from {checkpoint_dir} ({state.samples_seen} samples)")
            try:
                typer.echo(passes.restore(checkpoint_dir))
            except checkpoint.CheckpointError as e:
                typer.echo(f"{e}; the first pass scans the restored hours", err=True)
    rows = RowFilter(link_spec) if board is not None else None
    if history and not restored:
        kept = state.rebuild(str(history), keep=None if rows is None else (lambda f: rows.keep(f)[0]))
        typer.echo(f"rebuilt state from {kept} samples in {history}")
    collector = AnalyzerCollector()
    REGISTRY.register(collector)
    if inventory is not None:  # both ends of each link and its connector events: port alerts and dashboards
        from linkmargin.inventory.metrics import InventoryCollector
        from linkmargin_cli.inputs import load_inventory_or_exit

        REGISTRY.register(InventoryCollector(load_inventory_or_exit(inventory)))
    serve(REGISTRY, metrics_port, addr="127.0.0.1")  # the analysis rendered from columns
    typer.echo(f"metrics on http://127.0.0.1:{metrics_port}/metrics")
    consumer = BatchConsumer(state, shard=rows)
    if board is not None:
        REGISTRY.register(ShardCollector(board))
    sub: MqttSubscriber | None = None
    REGISTRY.register(
        IngestCollector(
            consumer.stats,
            state_rejected=lambda: state.rejected,
            streams=lambda: len(consumer.dedupe),
            # without --mqtt nothing is ingested live; with it, live once subscribed (not before)
            up=lambda: not mqtt or (sub is not None and sub.subscribed.is_set()),
        )
    )
    main_h = max(horizons, key=lambda k: horizons[k])
    tracker = RiskTracker(main_h)

    async def loop() -> None:
        nonlocal sub
        sub_task: asyncio.Task[None] | None = None
        stop = asyncio.Event()
        if mqtt:
            host, _, port = mqtt.rpartition(":") if ":" in mqtt else (mqtt, "", "")
            settings = MqttSettings(
                host=host or "127.0.0.1",
                port=int(port or (8883 if mqtt_tls else 1883)),
                username=mqtt_username,
                # the password itself is never an option: it would show in ps and shell history
                password_file=str(mqtt_password_file) if mqtt_password_file else None,
                password_env=mqtt_password_env,
                tls=mqtt_tls or mqtt_ca_file is not None,
                ca_file=str(mqtt_ca_file) if mqtt_ca_file else None,
                protocol=mqtt_protocol,
            )
            sub = MqttSubscriber(
                settings,
                consumer,
                identifier=mqtt_client_id,
                session_expiry_s=mqtt_session_expiry,
                routes={COHORT_STATS_WILDCARD: board.offer} if board is not None else None,
            )
            sub_task = asyncio.get_running_loop().create_task(sub.run(stop))
        t_end = None if duration is None else asyncio.get_running_loop().time() + duration
        try:
            while True:
                consumer.flush()
                if state.hour_range() is not None:
                    peers = board.peers() if board is not None else None
                    an = passes.run(
                        state, horizons=horizons, planned=plan, now=datetime.now(UTC), cohort_peers=peers
                    )
                    if board is not None:
                        board.estimated(an.cohorts.table)
                    live = sub is not None and sub.subscribed.is_set()  # else the next pass publishes
                    if board is not None and sub is not None and live and an.cohort_stats is not None:
                        payload = encode_stats(an.cohort_stats, my_shard, epoch=epoch, at=time.time())
                        await sub.publish(
                            cohort_stats_topic(my_shard.index, my_shard.of), payload, retain=True
                        )
                    adv = advise(an, main_h)
                    collector.update(an, suspects=adv, samples_seen=state.samples_seen)
                    if checkpoint_dir is not None:
                        try:
                            passes.save(state, checkpoint_dir)
                        except OSError as e:  # a full disk: the analysis goes on, the last checkpoint stays
                            typer.echo(f"checkpoint {checkpoint_dir} not written: {e}", err=True)
                    for ev in tracker.update(an.forecasts[main_h], links=an.links, advice=adv):
                        if sub is not None:
                            await sub.publish(ev.topic, encode_event(ev))
                        typer.echo(ev.summary)
                if t_end is not None and asyncio.get_running_loop().time() >= t_end:
                    return
                await asyncio.sleep(every)
        finally:
            stop.set()
            if sub_task is not None:
                await asyncio.wait_for(sub_task, 10)

    asyncio.run(loop())
