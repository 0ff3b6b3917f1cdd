"""How the lab's lasers fail: several shapes, with rates drawn from the lab's own distributions.

Shapes (codes in :data:`SHAPES`):

- ``scripted``: what a scenario's scheduled ``failing_laser`` event asks for: the APC loop raises
  bias +50 % over one day, then output falls at the event's rate (the scenario author's choice).
- ``wearout``: gradual degradation; the APC loop holds output by raising bias, slowly (weeks), until
  the bias reaches its limit (+50 %, the often-quoted end-of-life criterion, unverified against
  GR-468); only then does output fall.
- ``abrupt``: a sudden failure with little precursor (a few percent of bias over hours, then an
  output drop of several dB), as dark-line defects or ESD damage fail (lab assumption for the sizes).
- ``decline``: output falls with no bias rise (the monitor photodiode tracks the wrong thing, or the
  coupling to the fiber degrades outside the APC loop; lab assumption).

Every rate and share below is a lab assumption; they are drawn wide on purpose and no figure here is
taken from, or tuned to, the analyzer's thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

SHAPES: Final = ("none", "scripted", "wearout", "abrupt", "decline")
SHAPE_CODE: Final = {s: i for i, s in enumerate(SHAPES)}
SHAPE_SHARES: Final = {"wearout": 0.5, "abrupt": 0.2, "decline": 0.3}  # lab assumption
BIAS_LIMIT: Final = 0.5  # APC headroom: bias +50 % (the often-quoted EOL criterion, unverified)
SCRIPTED_BIAS_DAYS: Final = 1.0  # a scripted failure's bias phase


@dataclass(frozen=True)
class LaserFailures:
    """Per port: the shape and rates its laser fails with, if it fails."""

    shape: I64
    rate_db_per_day: F64  # output decline once it falls
    bias_per_day: F64  # wearout: bias climb, fraction of the base per day
    step_db: F64  # abrupt: output drop
    lag_days: F64  # abrupt: precursor length


def draw_failures(rng: np.random.Generator, n: int, shape_u: F64) -> LaserFailures:
    """One failure draw per port (used by background aging and by random failing_laser faults);
    ``shape_u`` is a uniform per port that picks the shape by :data:`SHAPE_SHARES`."""
    names = list(SHAPE_SHARES)
    cdf = np.cumsum([SHAPE_SHARES[k] for k in names])
    pick = np.minimum(np.searchsorted(cdf / cdf[-1], shape_u, side="right"), len(names) - 1)
    shape = np.array([SHAPE_CODE[k] for k in names], dtype=np.int64)[pick]
    return LaserFailures(
        shape=shape,
        # lab assumption: lognormal, median 0.15 dB/day, from ~0.03 to ~1 dB/day (90 % range)
        rate_db_per_day=np.clip(rng.lognormal(np.log(0.15), 0.9, n), 0.01, 3.0),
        # lab assumption: +50 % reached in ~1-8 weeks (median ~3.5 weeks)
        bias_per_day=np.clip(rng.lognormal(np.log(0.02), 0.6, n), 0.004, 0.2),
        step_db=rng.uniform(3.0, 10.0, n),
        lag_days=rng.uniform(0.1, 1.5, n),
    )


def laser_state(
    shape: I64,
    age_days: F64,
    rate_db_per_day: F64,
    bias_per_day: F64,
    step_db: F64,
    lag_days: F64,
) -> tuple[F64, F64]:
    """Per port at an age (days since the failure began; 0 before): (bias factor, output drop dB)."""
    a = age_days
    bias = np.ones_like(a)
    drop = np.zeros_like(a)
    s = shape
    # scripted
    sc = s == SHAPE_CODE["scripted"]
    bias = np.where(sc, 1.0 + BIAS_LIMIT * np.minimum(a / SCRIPTED_BIAS_DAYS, 1.0), bias)
    drop = np.where(sc, rate_db_per_day * np.maximum(a - SCRIPTED_BIAS_DAYS, 0.0), drop)
    # wearout: bias climbs until the APC limit, then output falls
    wo = s == SHAPE_CODE["wearout"]
    climb = bias_per_day * a
    at_limit_days = BIAS_LIMIT / np.maximum(bias_per_day, 1e-9)
    bias = np.where(wo, 1.0 + np.minimum(climb, BIAS_LIMIT), bias)
    drop = np.where(wo, rate_db_per_day * np.maximum(a - at_limit_days, 0.0), drop)
    # abrupt: a few percent of bias, then a drop
    ab = s == SHAPE_CODE["abrupt"]
    bias = np.where(ab, 1.0 + 0.03 * np.minimum(a / np.maximum(lag_days, 1e-9), 1.0), bias)
    drop = np.where(ab, np.where(a >= lag_days, step_db + rate_db_per_day * (a - lag_days), 0.0), drop)
    # decline: output falls, bias flat
    dc = s == SHAPE_CODE["decline"]
    drop = np.where(dc, rate_db_per_day * a, drop)
    return bias, drop
