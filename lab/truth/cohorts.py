"""The lab's true mating behaviour per connector cohort, from the fleet's draws (backtest answer key)."""

from __future__ import annotations

import numpy as np
import polars as pl

from lab.physics.sim import FabricSim
from linkmargin.catalog import connector


def cohort_truth(sim: FabricSim) -> pl.DataFrame:
    """The lab's true mating behaviour per connector cohort (catalog family x termination).

    ``p_step``: probability that a mating leaves a contamination step; ``step_db``: the step's mean
    size (the lab draws median x lognormal(0, 0.6), clipped to 0.5-4 dB, as in
    :func:`lab.physics.events.build_events`); computed by quadrature, not sampled. ``points``: how
    many points of the cohort the fleet has. Splices are never mated in the lab and are left out.
    """
    f = sim.fleet
    z = np.linspace(-8.0, 8.0, 4001)
    w = np.exp(-0.5 * z * z)
    w /= w.sum()
    per_point: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for p, ctype in enumerate(f.point_type):
        cat = connector(ctype)
        if cat.is_splice:
            continue
        mean_step = float((np.clip(f.point_step_median[p] * np.exp(0.6 * z), 0.5, 4.0) * w).sum())
        per_point.setdefault((cat.family, f.point_termination[p]), []).append((f.point_p_dirty[p], mean_step))
    out = [
        (family, term, float(np.mean([v[0] for v in vals])), float(np.mean([v[1] for v in vals])), len(vals))
        for (family, term), vals in sorted(per_point.items())
    ]
    return pl.DataFrame(
        out,
        schema={
            "family": pl.Utf8,
            "termination": pl.Utf8,
            "p_step": pl.Float64,
            "step_db": pl.Float64,
            "points": pl.Int64,
        },
        orient="row",
    )
