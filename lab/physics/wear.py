"""Mating wear: a connector's end face degrades with its cumulative matings against its rated cycles.

The rated cycles are a published figure (``rated_matings`` in linkmargin/data/connectors.yaml: MPO/MTP
>= 500 per vendor datasheets, field MMC ~50 per the project's founding issue). The form of the wear
is the lab's own (lab assumption, no source): with ``x = matings / rated``,

- the chance that a mating leaves a loss step rises from the family's base ``p0`` towards 0.6 as a
  Weibull-like damage curve: ``p = p0 + (0.6 - p0) * (1 - exp(-x**2.5))``;
- the step grows with wear: ``median * exp(0.6 z) * (1 + 0.8 x)``, clipped to 0.5-6 dB;
- part of the step is end-face damage that cleaning does not remove: ``min(0.8, 0.5 x)`` of it.

Re-termination (a new end face) starts the count again (lab.physics.events._settle_wear).
"""

from __future__ import annotations

import math
from typing import Final

DEFAULT_RATED: Final = 500.0  # lab assumption where the catalog gives no figure (TIA-568's 500-cycle class)
P_WORN: Final = 0.6  # lab assumption: a worn-out end face leaves a step on most matings


def p_step(matings: float, rated: float, p0: float) -> float:
    """Chance that a mating leaves a loss step after ``matings`` earlier matings."""
    x = matings / max(rated, 1.0)
    return p0 + (max(P_WORN, p0) - p0) * (1.0 - math.exp(-(x**2.5)))


def mating_step(
    matings: int, rated: float, p0: float, median_db: float, u: float, z: float
) -> tuple[float, float]:
    """A mating's (step dB, the part of it that survives cleaning) from its uniform ``u`` and normal ``z``."""
    if u >= p_step(matings, rated, p0):
        return 0.0, 0.0
    x = matings / max(rated, 1.0)
    step = min(max(median_db * math.exp(0.6 * z) * (1.0 + 0.8 * x), 0.5), 6.0)
    return step, step * min(0.8, 0.5 * x)
