"""Collector self-metrics (``linkmargin_collector_*``) on a prometheus-client registry."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector


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
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.poll_seconds = Histogram(
            "linkmargin_collector_poll_duration_seconds",
            "Duration of one group poll of one device",
            ["group"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )
        self.timeouts = Counter(
            "linkmargin_collector_timeouts", "Polls that timed out", ["device"], registry=r
        )
        self.errors = Counter(
            "linkmargin_collector_errors", "Polls that failed (not timeouts)", ["device"], registry=r
        )
        self.overruns = Counter(
            "linkmargin_collector_overruns",
            "Polls that outlasted their interval (ticks skipped)",
            ["group"],
            registry=r,
        )
        self.skipped = Counter(
            "linkmargin_collector_breaker_skips",
            "Polls skipped by an open circuit breaker",
            ["device"],
            registry=r,
        )
        self.varbinds = Counter("linkmargin_collector_varbinds", "Varbinds received", registry=r)
        self.last_success = Gauge(
            "linkmargin_collector_last_success_timestamp_seconds",
            "Unix time of the last good poll",
            ["device"],
            registry=r,
        )
        self.samples = Counter("linkmargin_collector_samples", "Samples handed to the sinks", registry=r)
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
            "1 while a session to the MQTT broker is up",
            registry=self.registry,
        ).set_function(lambda: float(bus.connected))
        Gauge(
            "linkmargin_collector_outbox_batches",
            "Sample batches waiting in the outbox for the broker",
            registry=self.registry,
        ).set_function(lambda: float(bus.queued))
        Gauge(
            "linkmargin_collector_outbox_bytes",
            "Bytes of the batches waiting in the outbox",
            registry=self.registry,
        ).set_function(lambda: float(bus.queued_bytes))
        self.registry.register(_OutboxDrops(bus))

    def register_device(self, device: str) -> None:
        """Create the device's counters at 0, so "no timeouts yet" is a 0 series, not a missing one."""
        for counter in (self.timeouts, self.errors, self.skipped):
            counter.labels(device)
