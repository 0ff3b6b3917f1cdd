"""The lab's true reflection penalty per link: the answer key for "BER worse than Rx power explains"."""

from __future__ import annotations

import numpy as np
import polars as pl

from lab.physics.receiver import mpi_penalty_db, reflection_crosstalk
from lab.physics.sim import FabricSim

INSTALLED_DAYS = 30.0  # as lab.physics.sim: the fleet was installed this long before the run


def reflection_truth(sim: FabricSim, window_days: float = 7.0) -> pl.DataFrame:
    """Per link: the receiver's MPI penalty (dB) at the end of the run and its growth over the last
    ``window_days`` (the gel points' return loss worsens with thermal cycles, lab.physics.fleet), and
    whether the link has a gel point."""
    f = sim.fleet
    end = sim.scenario.duration_s / 86400.0

    def penalty(days: float) -> np.ndarray:
        rl = f.point_rl0_db - f.point_rl_db_per_cycle * (days + INSTALLED_DAYS)
        return np.asarray(
            mpi_penalty_db(reflection_crosstalk(np.power(10.0, -rl / 10.0), f.point_link, f.n_links))
        )

    at_end, before = penalty(end), penalty(max(end - window_days, 0.0))
    gel = np.zeros(f.n_links, dtype=bool)
    np.logical_or.at(gel, f.point_link, f.point_gel)
    return pl.DataFrame(
        {
            "link": f.link_ids,
            "gel": gel,
            "penalty_db": at_end,
            "growth_db": at_end - before,
        }
    )
