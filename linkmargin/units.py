"""Optical power units: mW <-> dBm, average power <-> OMA at an extinction ratio.

No light is "no reading": ``mw_to_dbm`` returns None (scalar) or NaN (array) for power <= 0, never
0 dBm and never -inf, so it cannot silently enter a sum. Formulas: docs/ARCHITECTURE.md "Optical conventions".
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = [
    "avg_to_oma_dbm",
    "dbm_to_mw",
    "dbm_to_mw_array",
    "mw_to_dbm",
    "mw_to_dbm_array",
    "oma_correction_db",
    "oma_to_avg_dbm",
]


def mw_to_dbm(mw: float) -> float | None:
    """Power in mW to dBm; None when there is no light (<= 0 or NaN)."""
    if not mw > 0.0 or math.isinf(mw):
        return None
    return 10.0 * math.log10(mw)


def dbm_to_mw(dbm: float) -> float:
    """Power in dBm to mW."""
    return float(10.0 ** (dbm / 10.0))


def mw_to_dbm_array(mw: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Vectorized mW -> dBm; NaN where there is no light (<= 0, NaN or inf)."""
    a = np.asarray(mw, dtype=np.float64)
    ok = np.isfinite(a) & (a > 0.0)
    out = np.full(a.shape, np.nan, dtype=np.float64)
    np.log10(a, out=out, where=ok)
    out[ok] *= 10.0
    return out


def dbm_to_mw_array(dbm: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Vectorized dBm -> mW (NaN stays NaN)."""
    return np.power(10.0, np.asarray(dbm, dtype=np.float64) / 10.0)


def oma_correction_db(er_db: float) -> float:
    """OMA minus average power in dB at extinction ratio ``er_db``: 10*log10(2(ER-1)/(ER+1)).

    Undefined for ER <= 0 dB (no modulation); raises ValueError.
    """
    if not er_db > 0.0:
        raise ValueError(f"extinction ratio must be > 0 dB, got {er_db}")
    er = 10.0 ** (er_db / 10.0)
    return 10.0 * math.log10(2.0 * (er - 1.0) / (er + 1.0))


def avg_to_oma_dbm(avg_dbm: float, er_db: float) -> float:
    """Average power (dBm, as DOM reports) to OMA (dBm) at extinction ratio ``er_db``."""
    return avg_dbm + oma_correction_db(er_db)


def oma_to_avg_dbm(oma_dbm: float, er_db: float) -> float:
    """OMA (dBm, as IEEE sensitivities are given) to average power (dBm) at ``er_db``."""
    return oma_dbm - oma_correction_db(er_db)
