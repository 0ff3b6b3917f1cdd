"""Ground truth of a scenario run, one job per module:

- :mod:`lab.truth.lanes`: per-lane true loss, power, margin and BER over time (``lane_frame``, ``run_truth``);
- :mod:`lab.truth.events`: the event table, injected faults included (``events_frame``);
- :mod:`lab.truth.implied_inventory`: the inventory a user would have recorded (``inventory``);
- :mod:`lab.truth.writer`: all of it written to a directory (``write_truth``);
- :mod:`lab.truth.causes`: why each link crossed, and whether it was foreseeable (``crossing_causes``);
- :mod:`lab.truth.cohorts`: the true mating behaviour per connector cohort (``cohort_truth``).

The names are re-exported here, so ``from lab.truth import run_truth`` keeps working.
"""

from __future__ import annotations

from lab.truth.causes import crossing_causes
from lab.truth.cohorts import cohort_truth
from lab.truth.events import events_frame
from lab.truth.implied_inventory import inventory
from lab.truth.lanes import lane_frame, run_truth
from lab.truth.writer import write_truth

__all__ = [
    "cohort_truth",
    "crossing_causes",
    "events_frame",
    "inventory",
    "lane_frame",
    "run_truth",
    "write_truth",
]
