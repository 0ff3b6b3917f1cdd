"""The events of a run as one table: injected and background, and whether a user recorded each."""

from __future__ import annotations

from typing import Any

import polars as pl

from lab.physics.sim import FabricSim


def events_frame(sim: FabricSim) -> pl.DataFrame:
    """The full event table (injected faults included, `recorded` says what the user knows)."""
    rows = sim.events.rows(sim.fleet)
    for r in rows:
        r["t"] = sim.wallclock(r.pop("t_s"))
    schema: dict[str, Any] = {
        "t": pl.Datetime("us", "UTC"),
        "kind": pl.Utf8,
        "link_id": pl.Utf8,
        "point_id": pl.Utf8,
        "device": pl.Utf8,
        "port": pl.Utf8,
        "db": pl.Float64,
        "lanes": pl.Utf8,
        "direction": pl.Utf8,
        "recorded": pl.Boolean,
    }
    return pl.DataFrame(rows, schema=schema)
