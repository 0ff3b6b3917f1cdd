"""A registry rendered for one scrape: the column-rendered collectors in it (the Prometheus sink)
from columns, every other collector by prometheus-client's ``generate_latest``.

prometheus-client has no public way to list a registry's collectors, so a column-rendered collector
takes part like this: while :func:`render_registry` runs ``generate_latest`` in a thread, the
collector's ``collect`` calls :func:`claim` instead of yielding families, and is rendered from its
columns afterwards. Anywhere else (another thread's ``generate_latest``, OpenMetrics, a restricted
registry) ``claim`` is False and the collector yields its families as usual.

A collector that keeps its rendered text (:class:`PartsRendered`) hands it over in parts, as it keeps
them, uncompressed or as gzip members (what Prometheus asks for: ``Accept-Encoding: gzip``); the answer
is the parts one after another, and gzip members one after another are one gzip stream to every reader
(RFC 1952: a gzip file is a series of members; Go's ``gzip.Reader`` and Python's ``gzip`` read them
all). When a claimed collector cannot, the scrape is answered uncompressed rather than compressing
its text on every scrape.
"""

from __future__ import annotations

import threading
import zlib
from typing import Protocol, runtime_checkable

from prometheus_client import generate_latest
from prometheus_client.registry import CollectorRegistry

GZIP_LEVEL = 1
"""Level for what is compressed at scrape time: the exposition text compresses ~10x already at 1."""


class TextRendered(Protocol):
    """A collector that can render itself as text format 0.0.4 from columns (str, or UTF-8 bytes)."""

    def render_text(self) -> str | bytes: ...


@runtime_checkable
class PartsRendered(Protocol):
    """A column-rendered collector that keeps its text rendered: in parts, and as gzip members."""

    def render_parts(self, gz: bool) -> list[bytes]: ...


def gzip_member(*data: bytes, level: int = GZIP_LEVEL) -> bytes:
    """The ``data`` one after another as one gzip member (header, deflate stream, CRC and size)."""
    c = zlib.compressobj(level, zlib.DEFLATED, 31)
    return b"".join([*(c.compress(d) for d in data), c.flush()])


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


def _claimed(registry: CollectorRegistry) -> tuple[bytes, list[TextRendered]]:
    claimed: list[TextRendered] = []
    _scrape.collectors = claimed
    try:
        others = generate_latest(registry)
    finally:
        _scrape.collectors = None
    return others, claimed


def _parts(c: TextRendered) -> list[bytes]:
    if isinstance(c, PartsRendered):
        return c.render_parts(False)
    t = c.render_text()
    return [t if isinstance(t, bytes) else t.encode()]


def registry_parts(registry: CollectorRegistry, *, gz: bool = False) -> list[bytes] | None:
    """The registry's text format 0.0.4 in parts to send one after another (column-rendered collectors
    from columns, every other collector by prometheus-client's ``generate_latest``); with ``gz`` as
    gzip members, or None when a claimed collector does not keep its text compressed."""
    others, claimed = _claimed(registry)
    if not gz:
        return [others, *(p for c in claimed for p in _parts(c))]
    if not all(isinstance(c, PartsRendered) for c in claimed):
        return None
    return [
        gzip_member(others),
        *(p for c in claimed if isinstance(c, PartsRendered) for p in c.render_parts(True)),
    ]


def render_registry(registry: CollectorRegistry) -> bytes:
    """The whole registry in text format 0.0.4 (:func:`registry_parts` as one text)."""
    return b"".join(registry_parts(registry) or [])


def render_registry_gzip(registry: CollectorRegistry) -> bytes | None:
    """:func:`render_registry` gzip-compressed (None: a claimed collector keeps no compressed text)."""
    parts = registry_parts(registry, gz=True)
    return None if parts is None else b"".join(parts)
