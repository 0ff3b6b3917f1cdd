"""Sinks: where sample batches go (Prometheus exposition, the bus, Parquet history).

A sink is an async callable ``sink(device, group, frame)``; :func:`fanout` combines several.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import polars as pl

Sink = Callable[[str, str, pl.DataFrame], Awaitable[None]]


def fanout(*sinks: Sink) -> Sink:
    """One sink that hands each batch to every given sink, in order; one that fails does not keep the
    batch from the others: their failures are raised together after all ran (one, or a group)."""

    async def _all(device: str, group: str, frame: pl.DataFrame) -> None:
        errors: list[Exception] = []
        for s in sinks:
            try:
                await s(device, group, frame)
            except Exception as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise ExceptionGroup(f"{len(errors)} sinks failed", errors)

    return _all
