"""Sinks: where sample batches go (Prometheus exposition, the bus, Parquet history).

A sink is an async callable ``sink(device, group, frame)``; :func:`fanout` combines several.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import polars as pl

Sink = Callable[[str, str, pl.DataFrame], Awaitable[None]]


def fanout(*sinks: Sink) -> Sink:
    """One sink that hands each batch to every given sink, in order."""

    async def _all(device: str, group: str, frame: pl.DataFrame) -> None:
        for s in sinks:
            await s(device, group, frame)

    return _all
