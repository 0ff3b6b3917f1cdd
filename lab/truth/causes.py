"""Why each link crossed its margin, and whether a forecaster could have seen it coming (backtest labels)."""

from __future__ import annotations

import numpy as np
import polars as pl

from lab.physics.aging import SHAPE_CODE
from lab.physics.events import KINDS
from lab.physics.sim import FabricSim

STEP_KINDS = ("contaminate", "bend", "mate")


def crossing_causes(sim: FabricSim, crossings: pl.DataFrame, lead_s: float) -> pl.DataFrame:
    """Why each link crossed, and whether a forecaster could have seen it ``lead_s`` ahead.

    ``crossings`` has ``link`` and ``crossed_at`` (null: never). A crossing is *sudden* when a loss
    step (contamination, bend, dirty mating) hit the link within ``lead_s`` before it: nothing in the
    telemetry announced it that early. Otherwise the cause is the laser aging on either end, or the
    drift that took the link there (after an earlier step, if any).
    """
    f, ev = sim.fleet, sim.events
    index = {lid: k for k, lid in enumerate(f.link_ids)}
    aging = f.aging_start_s  # the fleet's own aging lasers; injected ones are failing_laser events
    rows: list[tuple[str, str | None, bool | None]] = []
    for link, crossed_at in crossings.select("link", "crossed_at").iter_rows():
        if crossed_at is None:
            rows.append((link, None, None))
            continue
        k = index[link]
        t_cross = (crossed_at - sim.scenario.start).total_seconds()
        on_link = (ev.link == k) & (ev.t <= t_cross)
        steps = on_link & np.isin(ev.kind, [KINDS.index(s) for s in STEP_KINDS]) & (ev.db > 0)
        last_step = float(ev.t[steps].max()) if steps.any() else -np.inf
        lasers = on_link & (ev.kind == KINDS.index("failing_laser"))
        ports = (int(f.link_a_port[k]), int(f.link_b_port[k]))
        aged = lasers.any() or any(aging[p] <= t_cross for p in ports)
        # an abrupt laser failure drops output at start + lag: as sudden as a loss step
        drops = [
            float(sim.aging_start[p] + f.aging_lag_days[p] * 86400.0)
            for p in ports
            if sim.aging_shape[p] == SHAPE_CODE["abrupt"] and sim.aging_start[p] <= t_cross
        ]
        if drops and t_cross - lead_s < max(drops) <= t_cross and max(drops) > last_step:
            rows.append((link, "failing_laser_abrupt", True))
        elif last_step > t_cross - lead_s:
            kind = str(KINDS[int(ev.kind[steps][np.argmax(ev.t[steps])])])
            rows.append((link, kind, True))
        elif aged:
            rows.append((link, "failing_laser", False))
        else:
            rows.append((link, "drift", False))
    return pl.DataFrame(rows, schema={"link": pl.Utf8, "cause": pl.Utf8, "sudden": pl.Boolean}, orient="row")
