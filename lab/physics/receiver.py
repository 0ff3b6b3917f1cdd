"""The lab's receiver: its own BER curve per module, and RS-FEC codeword failure from the binomial tail.

The lab's receiver is not the analyzer's model (the analyzer reads BER through
``linkmargin.budget``'s Q mapping; nothing here calls it, tests/lab/test_lab_independence.py checks):

- Each module's receiver has its own sensitivity, the PMD figure plus a spread (``fleet.py`` draws
  it): datasheets give a worst-case sensitivity and real parts sit around it (lab assumption).
- The decision quality grows *linearly* with received OMA (photocurrent is proportional to optical
  power; thermal noise dominates near sensitivity), and signal-dependent noise (RIN, and multi-path
  interference from reflections) grows with the signal, so Q saturates:
  ``Q = q0 * r * sqrt((1 + k_rin) / (1 + (k_rin + M_MPI * mpi) * r**2))``, ``r`` the OMA over the
  module's sensitivity (linear). ``q0`` puts the BER at the FEC limit at r = 1 with no MPI.
- The BER is the Gaussian tail in its asymptotic form ``exp(-Q^2/2) / (Q sqrt(2 pi))`` (not erfc),
  plus a per-module error floor (residual DSP/CDR errors that no power removes).

This gives ~1.5-2 decades of BER per dB near the KP4 limit, closer to the "about 1 decade per
0.5-1 dB" rule of thumb than a Q-proportional-to-amplitude model (the rule itself unverified).
FEC: RS(n, k) over 10-bit symbols corrects t symbols (IEEE 802.3 Clause 91); a codeword fails
when more than t of its n symbols are wrong, symbols failing independently (docs/ARCHITECTURE.md
"Optical conventions").
"""

from __future__ import annotations

import math
from functools import cache
from typing import Final

import numpy as np
import numpy.typing as npt

from lab.physics.optics import fec_params

SYMBOL_BITS = 10

K_RIN: Final = 0.01
"""Signal-dependent noise (RIN) relative to thermal noise at sensitivity (lab assumption): sets how
far Q can rise with power before the floor term takes over."""

M_MPI: Final = 1200.0
"""MPI noise weight (lab assumption): a total reflection crosstalk of -35 dB costs ~1 dB of
sensitivity on PAM4, the order of the penalties in the IEEE 802.3bs MPI contributions (not checked
against a specific figure)."""

RX_REFLECTANCE_DB: Final = -26.0
"""Receiver reflectance, IEEE 802.3 Clause 124 (400GBASE-DR4) receiver table: -26 dB max (from
memory of the standard's table, not re-checked)."""


def _tail(q: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Asymptotic Gaussian tail exp(-q^2/2) / (q sqrt(2 pi)), capped at 0.5."""
    qq = np.maximum(q, 0.3)
    with np.errstate(under="ignore"):
        return np.minimum(np.exp(-0.5 * qq * qq) / (qq * math.sqrt(2.0 * math.pi)), 0.5)


@cache
def q_at_limit(ber_limit: float) -> float:
    """The Q at which :func:`_tail` equals ``ber_limit`` (bisection; the tail falls monotonically)."""
    lo, hi = 0.3, 40.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if float(_tail(np.array([mid]))[0]) > ber_limit:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def mpi_penalty_db(mpi: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Extra OMA (dB) the receiver needs to hold the limit BER under reflection crosstalk ``mpi``
    (linear): r^2 = 1 / (1 - M_MPI * mpi) from the Q form above; 30 dB when it cannot at any power."""
    x = np.clip(M_MPI * np.asarray(mpi, dtype=np.float64), 0.0, 0.999)
    return np.minimum(-5.0 * np.log10(1.0 - x), 30.0)


def lab_ber(
    power_margin_db: npt.ArrayLike,
    ber_limit: npt.ArrayLike,
    mpi: npt.ArrayLike,
    floor: npt.ArrayLike,
) -> npt.NDArray[np.float64]:
    """Pre-FEC BER at a received OMA ``power_margin_db`` above *this module's* sensitivity.

    ``mpi`` is the linear reflection crosstalk of the channel, ``floor`` the module's error floor.
    """
    m = np.asarray(power_margin_db, dtype=np.float64)
    lim = np.asarray(ber_limit, dtype=np.float64)
    q0 = (
        np.vectorize(q_at_limit, otypes=[np.float64])(lim) if lim.ndim else np.float64(q_at_limit(float(lim)))
    )
    r = np.power(10.0, np.clip(m, -30.0, 30.0) / 10.0)
    q = q0 * r * np.sqrt((1.0 + K_RIN) / (1.0 + (K_RIN + M_MPI * np.asarray(mpi, dtype=np.float64)) * r * r))
    return np.clip(_tail(q) + np.asarray(floor, dtype=np.float64), 0.0, 0.5)


def reflection_crosstalk(
    reflectance: npt.NDArray[np.float64], link: npt.NDArray[np.int64], n_links: int
) -> npt.NDArray[np.float64]:
    """Linear MPI crosstalk per link: the sum over pairs of reflectors of R_i * R_j (double reflections
    that land on the receiver), the receiver itself one of them. ``reflectance`` is linear, per point."""
    s1 = np.zeros(n_links)
    s2 = np.zeros(n_links)
    np.add.at(s1, link, reflectance)
    np.add.at(s2, link, reflectance * reflectance)
    r_rx = 10.0 ** (RX_REFLECTANCE_DB / 10.0)
    return 0.5 * (s1 * s1 - s2) + r_rx * s1


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
