"""Receiver and RS-FEC model: pre-FEC BER from OMA margin, codeword failure from the binomial tail.

Receiver: a Gaussian-noise decision with Q proportional to 10**(margin_dB/20), calibrated so that
BER equals the PMD's FEC limit at zero margin (OMA = sensitivity). That slope gives ~0.7 decade of
BER per dB near the limit, a little gentler than the "about 1 decade per 0.5-1 dB" rule of
thumb (unverified).
FEC: RS(n, k) over 10-bit symbols corrects t symbols (IEEE 802.3 Clause 91); a codeword fails
when more than t of its n symbols are wrong, symbols failing independently (docs/ARCHITECTURE.md
"Optical conventions").
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import numpy.typing as npt

from lab.physics.optics import fec_params
from linkmargin.budget import ber_at_margin_db

SYMBOL_BITS = 10


def ber_from_margin(margin_db: npt.ArrayLike, ber_limit: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Pre-FEC BER at an OMA margin (dB above sensitivity); BER == ber_limit at margin 0.

    The Gaussian-decision model is the core's (:func:`linkmargin.budget.ber_at_margin_db`), so the
    lab and the analyzer's BER-to-margin reading share one formula.
    """
    return np.clip(ber_at_margin_db(margin_db, ber_limit), 0.0, 0.5)


def symbol_error_prob(ber: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Probability that a 10-bit symbol holds at least one bit error (independent bits)."""
    b = np.asarray(ber, dtype=np.float64)
    return -np.expm1(SYMBOL_BITS * np.log1p(-np.clip(b, 0.0, 0.5)))


@cache
def _log_binom(n: int) -> npt.NDArray[np.float64]:
    k = np.arange(n + 1, dtype=np.float64)
    steps = np.log(np.maximum(n - k[1:] + 1, 1)) - np.log(k[1:])
    return np.concatenate([[0.0], np.cumsum(steps)])


def codeword_failure_prob(ber: npt.ArrayLike, fec: str) -> npt.NDArray[np.float64]:
    """P(more than t symbol errors in an n-symbol codeword) for the catalog's FEC "KR4" or "KP4"."""
    code = fec_params(fec)
    n, t = code.n_symbols, code.t_symbols
    ps = np.atleast_1d(symbol_error_prob(ber))
    k = np.arange(t + 1, n + 1, dtype=np.float64)
    logc = _log_binom(n)[t + 1 :]
    with np.errstate(divide="ignore"):
        lp = np.log(ps)[..., None]
        lq = np.log1p(-ps)[..., None]
    terms = np.exp(logc + k * lp + (n - k) * lq)
    out = np.clip(terms.sum(axis=-1), 0.0, 1.0)
    return out.reshape(np.shape(ber))


def codeword_corrected_prob(ber: npt.ArrayLike, fec: str) -> npt.NDArray[np.float64]:
    """P(1..t symbol errors in a codeword): the codeword is corrected."""
    n = fec_params(fec).n_symbols
    ps = symbol_error_prob(ber)
    p_any = -np.expm1(n * np.log1p(-ps))
    return np.clip(p_any - codeword_failure_prob(ber, fec), 0.0, 1.0)


def codewords_per_second(lane_gbps: npt.ArrayLike, fec: str) -> npt.NDArray[np.float64]:
    """Codewords a lane carries per second (n symbols x 10 bits each)."""
    n = fec_params(fec).n_symbols
    return np.asarray(lane_gbps, dtype=np.float64) * 1e9 / (n * SYMBOL_BITS)


_GRID = np.linspace(-20.0, math.log10(0.5), 4001)


@cache
def _log_fail_table(fec: str) -> npt.NDArray[np.float64]:
    with np.errstate(divide="ignore"):
        return np.log(np.maximum(codeword_failure_prob(np.power(10.0, _GRID), fec), 1e-300))


def codeword_failure_prob_fast(ber: npt.ArrayLike, fec: str) -> npt.NDArray[np.float64]:
    """:func:`codeword_failure_prob` interpolated on a log-BER grid (hot path; <0.5% off the exact tail)."""
    b = np.asarray(ber, dtype=np.float64)
    lb = np.log10(np.clip(b, 1e-20, 0.5))
    out = np.exp(np.interp(lb, _GRID, _log_fail_table(fec)))
    return np.where(b <= 1e-20, 0.0, out)
