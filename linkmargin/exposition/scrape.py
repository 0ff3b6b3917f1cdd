"""A registry rendered for one scrape: the column-rendered collectors in it (the Prometheus sink)
from columns, every other collector by prometheus-client's ``generate_latest``.

prometheus-client has no public way to list a registry's collectors, so a column-rendered collector
takes part like this: while :func:`render_registry` runs ``generate_latest`` in a thread, the
collector's ``collect`` calls :func:`claim` instead of yielding families, and is rendered from its
columns afterwards. Anywhere else (another thread's ``generate_latest``, OpenMetrics, a restricted
registry) ``claim`` is False and the collector yields its families as usual.
"""

from __future__ import annotations

import threading
from typing import Protocol

from prometheus_client import generate_latest
from prometheus_client.registry import CollectorRegistry


class TextRendered(Protocol):
    """A collector that can render itself as text format 0.0.4 from columns (str, or UTF-8 bytes)."""

    def render_text(self) -> str | bytes: ...


class _Scrape(threading.local):
    collectors: list[TextRendered] | None = None


_scrape = _Scrape()


def claim(collector: TextRendered) -> bool:
    """From a column-rendered collector's ``collect``: True if a :func:`render_registry` in this
    thread will render it from columns (then ``collect`` yields nothing)."""
    if _scrape.collectors is None:
        return False
    _scrape.collectors.append(collector)
    return True


def render_registry(registry: CollectorRegistry) -> bytes:
    """The whole registry in text format 0.0.4: column-rendered collectors from columns, every other
    collector by prometheus-client's ``generate_latest``."""
    claimed: list[TextRendered] = []
    _scrape.collectors = claimed
    try:
        others = generate_latest(registry)
    finally:
        _scrape.collectors = None
    texts = (c.render_text() for c in claimed)
    return b"".join([others, *(t if isinstance(t, bytes) else t.encode() for t in texts)])
