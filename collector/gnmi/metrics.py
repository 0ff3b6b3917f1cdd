"""Self-metrics of the gNMI streams (``linkmargin_collector_gnmi_*``) on the collector's registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class GnmiMetrics:
    """Updates, rejects by reason, reconnects, stalls and stream state per device."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = registry or CollectorRegistry()
        self.registry = r
        self.updates = Counter(
            "linkmargin_collector_gnmi_updates", "gNMI updates received", ["device"], registry=r
        )
        self.rejects = Counter(
            "linkmargin_collector_gnmi_rejects",
            "gNMI updates left out, by reason",
            ["device", "reason"],
            registry=r,
        )
        self.reconnects = Counter(
            "linkmargin_collector_gnmi_reconnects",
            "gNMI streams re-opened after a failure",
            ["device"],
            registry=r,
        )
        self.stalls = Counter(
            "linkmargin_collector_gnmi_stalls",
            "gNMI streams that sent nothing for longer than their stall limit",
            ["device"],
            registry=r,
        )
        self.errors = Counter(
            "linkmargin_collector_gnmi_errors",
            "gNMI stream failures, by kind",
            ["device", "kind"],
            registry=r,
        )
        self.up = Gauge(
            "linkmargin_collector_gnmi_stream_up",
            "1 while a Subscribe stream is open",
            ["device"],
            registry=r,
        )

    def register_device(self, device: str) -> None:
        """Create the device's series at 0."""
        for c in (self.updates, self.reconnects, self.stalls):
            c.labels(device)
        self.up.labels(device).set(0)
