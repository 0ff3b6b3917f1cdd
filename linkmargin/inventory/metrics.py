"""Prometheus view of the inventory: connection-point matings and recorded events, for dashboards.

A custom collector (no per-event objects kept): each scrape counts the recorded matings up to the
clock's now, so a mating recorded with its timestamp shows up when it has happened.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from linkmargin.inventory.matings import count_matings
from linkmargin.inventory.models import Inventory


class InventoryCollector(Collector):
    """``linkmargin_connection_matings_total``, ``linkmargin_connection_events_total`` and
    ``linkmargin_link_info`` from an inventory."""

    def __init__(self, inv: Inventory, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._inv = inv
        self._clock = clock

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """Yield the mating counter and the event counters per connection point, one info series per link."""
        now = self._clock()
        matings = CounterMetricFamily(
            "linkmargin_connection_matings",
            "Recorded matings of a connection point (plus those before records began)",
            labels=["link", "point", "type", "termination"],
        )
        events = CounterMetricFamily(
            "linkmargin_connection_events",
            "Recorded events of a connection point up to now, by kind (mated, cleaned, terminated, ...): "
            "a step of it on a dashboard marks when the point was handled",
            labels=["link", "point", "kind"],
        )
        info = GaugeMetricFamily(
            "linkmargin_link_info",
            "A link's recorded channel: optic, fiber and length (value 1)",
            labels=["link", "a_device", "a_port", "b_device", "b_port", "optic", "fiber", "length_m"],
        )
        for link in self._inv.links:
            info.add_metric(
                [
                    link.id,
                    link.a.device,
                    link.a.port,
                    link.b.device,
                    link.b.port,
                    link.optic,
                    link.fiber.type,
                    f"{link.fiber.length_m:g}",
                ],
                1.0,
            )
            for cp in link.connections:
                n = cp.matings_before_records + count_matings(ev.kind for ev in cp.events if ev.at <= now)
                matings.add_metric([link.id, cp.id, cp.type, cp.termination or ""], float(n))
                kinds = Counter(str(ev.kind) for ev in cp.events if ev.at <= now)
                for kind, k in sorted(kinds.items()):
                    events.add_metric([link.id, cp.id, kind], float(k))
        yield matings
        yield events
        yield info
