"""The lab's true mating behaviour per connector cohort, from the fleet's draws (backtest answer key)."""

from __future__ import annotations

import numpy as np
import polars as pl

from lab.physics.sim import FabricSim
from lab.physics.wear import p_step
from linkmargin.catalog import connector


def cohort_truth(sim: FabricSim) -> pl.DataFrame:
    """The lab's true mating behaviour per connector cohort (catalog family x termination).

    ``p_step``: probability that a mating leaves a loss step; ``step_db``: the step's mean size (the
    lab draws median x lognormal(0, 0.6) x wear growth, clipped to 0.5-6 dB, lab.physics.wear);
    computed by quadrature, not sampled, averaged over the run's matings of the cohort at the wear
    each had (over its points at their recorded wear when the run has none). ``points``: how
    many points of the cohort the fleet has. Splices are never mated in the lab and are left out.
    """
    f = sim.fleet
    z = np.linspace(-8.0, 8.0, 4001)
    w = np.exp(-0.5 * z * z)
    w /= w.sum()
    per_point: dict[tuple[str, str], list[tuple[float, float]]] = {}
    npoints: dict[tuple[str, str], int] = {}
    for p, ctype in enumerate(f.point_type):
        cat = connector(ctype)
        if cat.is_splice:
            continue
        ns = sim.events.matings_at[(sim.events.point == p) & (sim.events.matings_at >= 0)]
        rated = float(f.point_rated_matings[p])
        for n in ns if len(ns) else [int(f.point_matings_before[p])]:
            x = float(n) / max(rated, 1.0)
            grow = f.point_step_median[p] * np.exp(0.6 * z) * (1.0 + 0.8 * x)
            mean_step = float((np.clip(grow, 0.5, 6.0) * w).sum())
            ps = p_step(float(n), rated, float(f.point_p_dirty[p]))
            per_point.setdefault((cat.family, f.point_termination[p]), []).append((ps, mean_step))
        key = (cat.family, f.point_termination[p])
        npoints[key] = npoints.get(key, 0) + 1
    out = [
        (
            family,
            term,
            float(np.mean([v[0] for v in vals])),
            float(np.mean([v[1] for v in vals])),
            npoints[(family, term)],
        )
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


def wear_truth(sim: FabricSim, counts: tuple[int, ...] = (10, 50, 200)) -> pl.DataFrame:
    """The lab's true wear curve per cohort: P(step) per mating and the mean step at ``counts`` earlier
    matings (lab.physics.wear), averaged over the cohort's points: the answer key for a hazard that
    depends on the mating count."""
    f = sim.fleet
    z = np.linspace(-8.0, 8.0, 4001)
    w = np.exp(-0.5 * z * z)
    w /= w.sum()
    acc: dict[tuple[str, str, int], list[tuple[float, float, float]]] = {}
    for p, ctype in enumerate(f.point_type):
        cat = connector(ctype)
        if cat.is_splice:
            continue
        rated = float(f.point_rated_matings[p])
        for n in counts:
            x = n / max(rated, 1.0)
            size = float(
                (np.clip(f.point_step_median[p] * np.exp(0.6 * z) * (1.0 + 0.8 * x), 0.5, 6.0) * w).sum()
            )
            key = (cat.family, f.point_termination[p], n)
            acc.setdefault(key, []).append((p_step(float(n), rated, float(f.point_p_dirty[p])), size, rated))
    rows = [
        (fam, term, n, *(float(np.mean([v[i] for v in vals])) for i in range(3)))
        for (fam, term, n), vals in sorted(acc.items())
    ]
    schema = {
        "family": pl.Utf8,
        "termination": pl.Utf8,
        "matings": pl.Int64,
        "p_step": pl.Float64,
        "step_db": pl.Float64,
        "rated_matings": pl.Float64,  # the cohort's rated cycles (mean over its points)
    }
    return pl.DataFrame(rows, schema=schema, orient="row")
