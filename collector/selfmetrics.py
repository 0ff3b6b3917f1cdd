"""Collector self-metrics (``linkmargin_collector_*``) on a prometheus-client registry."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

DeviceHealth = tuple[str, bool, bool]  # device, circuit breaker open now, answered at least once


class BusHealth(Protocol):
    """What a bus publisher tells about itself: a live broker session, and what waits in its outbox."""

    connected: bool

    @property
    def queued(self) -> int: ...

    @property
    def queued_bytes(self) -> int: ...

    @property
    def dropped_by(self) -> Mapping[str, int]: ...


class _OutboxDrops(Collector):
    """``linkmargin_collector_outbox_dropped_total{reason}``, read from the outbox's own counts."""

    def __init__(self, bus: BusHealth) -> None:
        self.bus = bus

    def collect(self) -> Iterator[CounterMetricFamily]:
        fam = CounterMetricFamily(
            "linkmargin_collector_outbox_dropped",
            "Batches the outbox dropped, by reason (max_messages, max_bytes, disk_full, write_error, "
            "invalid)",
            labels=["reason"],
        )
        for reason, n in sorted(self.bus.dropped_by.items()):
            fam.add_metric([reason], float(n))
        yield fam


class SelfMetrics:
    """Poll durations per group, timeouts, errors, overruns, varbinds, last success per device."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        # prometheus-client's `_created` series (when this process first saw a series) mean nothing to an
        # operator and double the counters on /metrics; the switch is process-wide and read at scrape time
        disable_created_metrics()
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.poll_seconds = Histogram(
            "linkmargin_collector_poll_duration_seconds",
            "Wall time of one poll of one device for one poll group, seconds",
            ["group"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )
        self.timeouts = Counter(
            "linkmargin_collector_timeouts",
            "Polls of the device that got no answer before their deadline",
            ["device"],
            registry=r,
        )
        self.errors = Counter(
            "linkmargin_collector_errors",
            "Polls of the device that failed for another reason than a timeout",
            ["device"],
            registry=r,
        )
        self.overruns = Counter(
            "linkmargin_collector_overruns",
            "Polls that outlasted their interval, so a scheduled poll was skipped",
            ["group"],
            registry=r,
        )
        self.skipped = Counter(
            "linkmargin_collector_breaker_skips",
            "Polls not sent because the device's circuit breaker is open (it stopped answering)",
            ["device"],
            registry=r,
        )
        self.varbinds = Counter(
            "linkmargin_collector_varbinds", "SNMP variable bindings received from all devices", registry=r
        )
        self.last_success = Gauge(
            "linkmargin_collector_last_success_timestamp_seconds",
            "Unix time of the device's last successful poll, seconds",
            ["device"],
            registry=r,
        )
        self.samples = Counter(
            "linkmargin_collector_samples", "Readings (samples) handed to the sinks", registry=r
        )
        self.sink_errors = Counter(
            "linkmargin_collector_sink_errors",
            "Polled batches a sink failed to take (polling goes on), by reason",
            ["reason"],
            registry=r,
        )

    def watch_bus(self, bus: BusHealth) -> None:
        """Expose the bus publisher's state: a collector that cannot reach or authenticate to its
        broker shows as ``bus_up 0`` with a growing outbox, not only in its log."""
        Gauge(
            "linkmargin_collector_bus_up",
            "1 while a session to the MQTT broker is up, 0 while it is not",
            registry=self.registry,
        ).set_function(lambda: float(bus.connected))
        Gauge(
            "linkmargin_collector_outbox_batches",
            "Sample batches waiting in the disk outbox for the MQTT broker",
            registry=self.registry,
        ).set_function(lambda: float(bus.queued))
        Gauge(
            "linkmargin_collector_outbox_bytes",
            "Bytes of the batches waiting in the outbox",
            registry=self.registry,
        ).set_function(lambda: float(bus.queued_bytes))
        self.registry.register(_OutboxDrops(bus))

    def set_shard(self, index: int, of: int) -> None:
        """Say which share of the inventory this collector polls (``--shard i/N``; 1/1 unsharded)."""
        Gauge(
            "linkmargin_collector_shard_info",
            "This collector polls shard `shard` of `of` of the inventory's devices (value 1)",
            ["shard", "of"],
            registry=self.registry,
        ).labels(str(index), str(of)).set(1)

    def watch_devices(self, health: Callable[[], Iterable[DeviceHealth]]) -> None:
        """Expose each device's breaker state and whether it ever answered, read at scrape time: a
        device that never answered has no ``last_success`` series, so it shows here as ``answered 0``."""
        self.registry.register(_DeviceHealthCollector(health))

    def register_device(self, device: str) -> None:
        """Create the device's counters at 0, so "no timeouts yet" is a 0 series, not a missing one."""
        for counter in (self.timeouts, self.errors, self.skipped):
            counter.labels(device)


class _DeviceHealthCollector(Collector):
    """``linkmargin_collector_breaker_open`` and ``linkmargin_collector_device_answered`` per device."""

    def __init__(self, health: Callable[[], Iterable[DeviceHealth]]) -> None:
        self._health = health

    def collect(self) -> Iterator[Metric]:
        """One series of each per device, from the scheduler's state now."""
        breaker = GaugeMetricFamily(
            "linkmargin_collector_breaker_open",
            "1 while the device's circuit breaker is open (polls paused after failures in a row), else 0",
            labels=["device"],
        )
        answered = GaugeMetricFamily(
            "linkmargin_collector_device_answered",
            "1 once the device has answered a poll since the collector started, 0 while it never has",
            labels=["device"],
        )
        for device, is_open, ok in self._health():
            breaker.add_metric([device], float(is_open))
            answered.add_metric([device], float(ok))
        yield breaker
        yield answered
