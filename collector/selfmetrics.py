"""Collector self-metrics (``linkmargin_collector_*``) on a prometheus-client registry."""

from __future__ import annotations

from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class BusHealth(Protocol):
    """What a bus publisher tells about itself: a live broker session, and what waits in its outbox."""

    connected: bool

    @property
    def queued(self) -> int: ...


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

    def register_device(self, device: str) -> None:
        """Create the device's counters at 0, so "no timeouts yet" is a 0 series, not a missing one."""
        for counter in (self.timeouts, self.errors, self.skipped):
            counter.labels(device)
