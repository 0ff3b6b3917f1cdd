"""The running collector: scheduler + sinks (Prometheus, bus, Parquet) assembled for a target list, and
:func:`run_config`, the daemon a collector config file (:mod:`collector.config`) describes."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from pathlib import Path

from prometheus_client import CollectorRegistry

from collector.config import InProcessBusConf, MqttBusConf, gnmi_targets_from, load_config, targets_from
from collector.exposition.text import Identity
from collector.gnmi.client import GnmiTarget
from collector.gnmi.metrics import GnmiMetrics
from collector.gnmi.stream import GnmiStream
from collector.publisher import MqttPublisher
from collector.scheduler import DEFAULT_INTERVALS, Breaker, Scheduler
from collector.selfmetrics import DeviceHealth, SelfMetrics
from collector.sinks import Sink, fanout
from collector.sinks.bus import BusSink
from collector.sinks.parquet import ParquetSink
from collector.sinks.prometheus import PrometheusSink
from collector.transport import Target
from linkmargin.bus import InProcessBus, Publisher
from linkmargin.exposition.http import serve
from linkmargin.shards import Shard


class Collector:
    """Polls ``targets`` and feeds every batch to a Publisher, a Prometheus registry and Parquet.

    Usage: ``c = Collector(targets, publisher=bus)``; ``await c.run(stop_event)``; scrape
    ``c.registry`` (or ``c.serve_metrics(port)``).
    """

    def __init__(
        self,
        targets: list[Target],
        *,
        publisher: Publisher | None = None,
        registry: CollectorRegistry | None = None,
        parquet_root: str | Path | None = None,
        parquet_flush_s: float = 5.0,
        intervals: dict[str, float] | None = None,
        profiles: dict[str, str] | None = None,
        transport: str = "gufo",
        global_limit: int = 64,
        breaker: Breaker | None = None,
        gnmi_targets: list[GnmiTarget] | None = None,
    ) -> None:
        self.registry = registry or CollectorRegistry()
        self.metrics = SelfMetrics(self.registry)
        self.prometheus = PrometheusSink(self.registry)
        sinks: list[Sink] = [self.prometheus]
        self.bus = BusSink(publisher) if publisher is not None else None
        if isinstance(publisher, MqttPublisher):
            self.metrics.watch_bus(publisher)
        if self.bus is not None:
            sinks.append(self.bus)
        self.parquet = (
            ParquetSink(parquet_root, flush_s=parquet_flush_s, registry=self.registry)
            if parquet_root
            else None
        )
        if self.parquet is not None:
            sinks.append(self.parquet)
        sink = fanout(*sinks)
        # gNMI devices stream into the same sinks as the SNMP polls (docs/ARCHITECTURE.md "gNMI")
        self.gnmi_metrics = GnmiMetrics(self.registry)
        self.streams = [
            GnmiStream(t, sink, {**DEFAULT_INTERVALS, **(intervals or {})}, metrics=self.gnmi_metrics)
            for t in gnmi_targets or []
        ]
        self.scheduler = Scheduler(
            targets,
            sink,
            intervals=intervals,
            profiles=profiles,
            transport=transport,
            global_limit=global_limit,
            breaker=breaker,
            metrics=self.metrics,
        )
        expose_device_state(self.scheduler, self.prometheus)

    def serve_metrics(self, port: int, addr: str = "127.0.0.1") -> None:
        """Expose the registry over HTTP in a thread (samples rendered from columns, see ``serve``)."""
        serve(self.registry, port, addr)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; flush Parquet at the end."""
        tasks = [asyncio.create_task(self.scheduler.run(stop))]
        tasks += [asyncio.create_task(s.run(stop)) for s in self.streams]
        if self.parquet is not None:
            tasks.append(asyncio.create_task(self.parquet.run(stop)))
        await asyncio.gather(*tasks)


def expose_device_state(scheduler: Scheduler, prometheus: PrometheusSink) -> None:
    """Put what the scheduler knows about its devices on /metrics, read at scrape time: module identity
    (``linkmargin_transceiver_info``, swaps) and each device's breaker state and whether it answered."""

    def identity() -> list[Identity]:
        out = []
        for d in scheduler.devices:
            st = d.state
            for port, (vendor, model, serial) in st.transceivers.items():
                n = sum(1 for s in st.swaps if s[0] == port)
                out.append((st.name, port, vendor, model, serial, n))
        return out

    def health() -> list[DeviceHealth]:
        now = time.monotonic()
        return [(d.target.name, not d.breaker.allow(now), bool(d.polls)) for d in scheduler.devices]

    prometheus.identity = identity
    scheduler.metrics.watch_devices(health)


async def run_config(path: str, transport: str | None = None, shard: Shard | None = None) -> None:
    """Run the collector described by ``path`` until SIGINT/SIGTERM; raises ConfigError first if invalid.

    SNMP devices are polled by the scheduler, ``transport: gnmi`` devices streamed (one Subscribe each);
    the shard applies to both.

    ``transport`` and ``shard`` (the CLI's options) override the file's ``transport`` and ``shard``.
    """
    cfg = load_config(path)
    shard = shard or cfg.shard_spec
    targets, profiles = targets_from(cfg)
    targets = [t for t in targets if shard.owns(t.name)]  # rendezvous hashing: linkmargin.shards
    streams = [t for t in gnmi_targets_from(cfg) if shard.owns(t.name)]  # gNMI devices: one stream each
    bus = cfg.bus_conf
    publisher: Publisher | None = None
    mqtt: MqttPublisher | None = None
    if isinstance(bus, MqttBusConf):
        mqtt = MqttPublisher(
            bus.settings(), bus.outbox_dir, max_messages=bus.max_messages, max_bytes=bus.max_bytes
        )
        publisher = mqtt
    elif isinstance(bus, InProcessBusConf):
        publisher = InProcessBus()
    col = Collector(
        targets,
        publisher=publisher,
        parquet_root=cfg.parquet.root if cfg.parquet else None,
        parquet_flush_s=cfg.parquet.flush_s if cfg.parquet else 300.0,
        intervals=cfg.intervals.model_dump(),
        profiles=profiles,
        transport=transport or cfg.transport,
        global_limit=cfg.limits.global_,
        gnmi_targets=streams,
    )
    col.metrics.set_shard(shard.index, shard.of)
    if cfg.exporter is not None:
        host, port = cfg.exporter.host_port()
        col.serve_metrics(port, host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(col.run(stop))]
    if mqtt is not None:
        tasks.append(asyncio.create_task(mqtt.run(stop)))
    await asyncio.gather(*tasks)
