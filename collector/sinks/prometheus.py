"""The Prometheus sink: keeps the latest sample batch of every (device, group) for the exposition.

A port or lane that disappears from a device's batch disappears from the exposition, and
:meth:`PrometheusSink.forget` removes a device. Absent readings are not exported as numbers: they
appear once in ``linkmargin_reading_absent`` with their reason. The sink is a prometheus-client
collector (:meth:`~PrometheusSink.collect` yields families, :mod:`collector.exposition.families`);
scrapes render it from columns instead (:meth:`~PrometheusSink.render_text`,
:mod:`collector.exposition.text`, served by :mod:`linkmargin.exposition.http`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator

import polars as pl
from prometheus_client.core import Metric
from prometheus_client.registry import Collector, CollectorRegistry

from collector.exposition import families, text
from collector.exposition.names import ABSENT
from collector.exposition.text import Identity
from linkmargin.exposition import scrape


class PrometheusSink(Collector):
    """Keeps the latest batch of every (device, group) and renders it on scrape."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self._latest: dict[tuple[str, str], pl.DataFrame] = {}
        self._text: dict[tuple[str, str], dict[str, str]] = {}  # rendered lines of a batch, until replaced
        self._lock = threading.Lock()
        # (device, port, vendor, model, serial, swaps): module identity on one info series, not on values
        self.identity: Callable[[], Iterable[Identity]] | None = None
        if registry is not None:
            registry.register(self)

    async def __call__(self, device: str, group: str, frame: pl.DataFrame) -> None:
        """Replace the device's batch of this group."""
        with self._lock:
            self._latest[(device, group)] = frame
            self._text.pop((device, group), None)

    def forget(self, device: str) -> None:
        """Remove every series of a device (it left the config)."""
        with self._lock:
            for key in [k for k in self._latest if k[0] == device]:
                del self._latest[key]
                self._text.pop(key, None)

    def describe(self) -> list[Metric]:
        return []

    def render_text(self) -> str:
        """This sink's exposition in text format 0.0.4, rendered from columns (what scrapes get).

        A batch is rendered once and reused by later scrapes until the sink replaces it (a DOM batch
        polled every 60 s is scraped several times).
        """
        with self._lock:
            latest = list(self._latest.items())
            cached = dict(self._text)
        # the absent family is always there once anything was polled (as the Metric path yields it)
        parts: dict[str, list[str]] = {ABSENT: []} if latest else {}
        for key, frame in latest:
            lines = cached.get(key)
            if lines is None:
                lines = text.render_batch(frame)
                with self._lock:
                    if self._latest.get(key) is frame:  # not replaced meanwhile
                        self._text[key] = lines
            for fam, block in lines.items():
                parts.setdefault(fam, []).append(block)
        ident = text.render_identity(self.identity()) if self.identity is not None else ""
        return text.render_families(parts) + ident

    def collect(self) -> Iterator[Metric]:
        """The same families as prometheus-client Metric objects (for ``generate_latest`` & co)."""
        if scrape.claim(self):  # a scrape in this thread renders this sink itself, from columns
            return
        with self._lock:
            frames = list(self._latest.values())
        yield from families.families(frames, self.identity)
