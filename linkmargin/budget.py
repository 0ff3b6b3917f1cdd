"""Link budget: expected channel loss, headroom, Rx window, power and BER margins.

Formulas: docs/ARCHITECTURE.md "Optical conventions" (loss sum, OMA conversion, margin definitions,
FEC limits). All powers in dBm, losses in dB; a missing reading (None / NaN) stays missing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from linkmargin.catalog import ConnectorType, Fec, OpticPMD, fiber, fiber_attenuation_db_per_km
from linkmargin.units import avg_to_oma_dbm

__all__ = [
    "RULE_OF_THUMB_MAX_CONNECTOR_IL_DB",
    "RULE_OF_THUMB_MIN_RATE_GBPS",
    "ChannelLoss",
    "RxWindow",
    "ber_at_margin_db",
    "ber_at_q",
    "ber_floor",
    "ber_from_corrected_cw",
    "ber_from_corrected_fraction",
    "ber_from_q",
    "ber_from_symbol_errors",
    "ber_margin_db",
    "ber_margin_decades",
    "connector_rule_flag",
    "expected_channel_loss",
    "expected_rx_window",
    "headroom_db",
    "lane_power_margin_db",
    "lane_power_margin_db_array",
    "p_uncorrectable_cw",
    "q_at_margin_db",
    "q_from_ber",
    "q_ratio",
    "threshold_margin_db",
]

# The seed article's rule of thumb: on links of 200G and above, connectors together should not
# exceed 1.0 dB of insertion loss (restated in issue #3; not verified against a standard).
RULE_OF_THUMB_MIN_RATE_GBPS = 200
RULE_OF_THUMB_MAX_CONNECTOR_IL_DB = 1.0


@dataclass(frozen=True, slots=True)
class ChannelLoss:
    """Expected loss of a channel, split into fiber and connection parts, typical and rated max."""

    fiber_db: float
    connections_typical_db: float
    connections_max_db: float
    connectors_max_db: float  # mated connectors only (no splices): what the rule of thumb looks at

    @property
    def typical_db(self) -> float:
        """Fiber plus typical connection losses."""
        return self.fiber_db + self.connections_typical_db

    @property
    def max_db(self) -> float:
        """Fiber plus rated maximum connection losses."""
        return self.fiber_db + self.connections_max_db


@dataclass(frozen=True, slots=True)
class RxWindow:
    """Average Rx power range expected at the far end (dBm)."""

    low_dbm: float  # weakest Tx through the worst rated channel
    high_dbm: float  # strongest Tx through the typical channel


def expected_channel_loss(
    pmd: OpticPMD, fiber_name: str, length_m: float, connections: Sequence[ConnectorType]
) -> ChannelLoss:
    """Fiber attenuation x length + sum of rated connection losses (typical and max)."""
    kind = fiber(fiber_name).kind
    fiber_db = fiber_attenuation_db_per_km(fiber_name, pmd.wavelength_nm) * length_m / 1000.0
    return ChannelLoss(
        fiber_db=fiber_db,
        connections_typical_db=sum(c.il_typical(kind) for c in connections),
        connections_max_db=sum(c.il_max(kind) for c in connections),
        connectors_max_db=sum(c.il_max(kind) for c in connections if not c.is_splice),
    )


def headroom_db(pmd: OpticPMD, fiber_name: str, loss_db: float) -> float | None:
    """PMD maximum channel insertion loss on this fiber minus the given loss; None if not catalogued."""
    limit = pmd.max_il_db(fiber_name)
    return None if limit is None else limit - loss_db


def expected_rx_window(pmd: OpticPMD, loss: ChannelLoss) -> RxWindow | None:
    """Far-end Tx range minus expected loss; None when the PMD lacks a Tx range."""
    lo, hi = pmd.tx_avg_min_dbm.value, pmd.tx_avg_max_dbm.value
    if lo is None or hi is None:
        return None
    return RxWindow(low_dbm=lo - loss.max_db, high_dbm=hi - loss.typical_db)


def lane_power_margin_db(rx_avg_dbm: float | None, pmd: OpticPMD, er_db: float | None = None) -> float | None:
    """Rx OMA from DOM average power at ``er_db`` (PMD minimum if None) minus the Rx sensitivity (OMA)."""
    er = pmd.er_min_db.value if er_db is None else er_db
    sens = pmd.rx_sens_oma_dbm.value
    if rx_avg_dbm is None or er is None or sens is None or math.isnan(rx_avg_dbm):
        return None
    return avg_to_oma_dbm(rx_avg_dbm, er) - sens


def lane_power_margin_db_array(
    rx_avg_dbm: npt.ArrayLike, pmd: OpticPMD, er_db: float | None = None
) -> npt.NDArray[np.float64]:
    """Vectorized :func:`lane_power_margin_db`; NaN in, NaN out."""
    er = pmd.er_min_db.value if er_db is None else er_db
    sens = pmd.rx_sens_oma_dbm.value
    rx = np.asarray(rx_avg_dbm, dtype=np.float64)
    if er is None or sens is None:
        return np.full(rx.shape, np.nan)
    return rx + (avg_to_oma_dbm(0.0, er) - sens)


def threshold_margin_db(rx_avg_dbm: float | None, threshold_dbm: float | None) -> float | None:
    """Rx average power minus a module threshold (e.g. its low warning); None if either is missing."""
    if rx_avg_dbm is None or threshold_dbm is None or math.isnan(rx_avg_dbm) or math.isnan(threshold_dbm):
        return None
    return rx_avg_dbm - threshold_dbm


def ber_from_symbol_errors(symbol_errors: float, interval_s: float, bit_rate_bps: float) -> float:
    """Pre-FEC BER from RS-FEC symbol errors: errors / bits (a lower bound; x10 worst case, OF 1c)."""
    if interval_s <= 0 or bit_rate_bps <= 0 or symbol_errors < 0:
        raise ValueError("interval, bit rate must be > 0 and the count >= 0")
    return symbol_errors / (bit_rate_bps * interval_s)


def ber_from_corrected_cw(corrected_cw: float, interval_s: float, bit_rate_bps: float, code: Fec) -> float:
    """Pre-FEC BER from corrected codewords over an interval at ``bit_rate_bps``.

    :func:`ber_from_corrected_fraction` on the share of codewords corrected: independent errors, one
    bit per errored symbol (a lower bound: bursts put more bits in fewer codewords).
    """
    if interval_s <= 0 or bit_rate_bps <= 0 or corrected_cw < 0:
        raise ValueError("interval, bit rate must be > 0 and the count >= 0")
    total_cw = bit_rate_bps * interval_s / code.codeword_bits
    return float(ber_from_corrected_fraction(corrected_cw / total_cw, code.n_symbols, code.symbol_bits))


def ber_from_corrected_fraction(
    p_cw: npt.ArrayLike, n_symbols: npt.ArrayLike, symbol_bits: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """BER from the share of codewords with an errored symbol, for independent bit errors (vectorized).

    Inverts P(cw errored) = 1 - (1 - p_sym)^n and p_sym = 1 - (1 - BER)^m. Near the FEC limit most
    codewords hold an errored symbol, and one bit per corrected codeword undercounts (about 2x at
    the KP4 limit); this inversion does not.
    """
    p = np.clip(np.asarray(p_cw, dtype=np.float64), 0.0, 1.0 - 1e-12)
    p_sym = -np.expm1(np.log1p(-p) / np.asarray(n_symbols, dtype=np.float64))
    return -np.expm1(np.log1p(-p_sym) / np.asarray(symbol_bits, dtype=np.float64))


# Gaussian-noise decision: BER = erfc(Q / sqrt 2) / 2, tabulated once in log10 so that both
# directions are one np.interp (the grid step keeps the error under 1e-5 decade).
_Q_GRID: npt.NDArray[np.float64] = np.linspace(0.0, 30.0, 6001)
_LOG_BER: npt.NDArray[np.float64] = np.log10([0.5 * math.erfc(q / math.sqrt(2.0)) for q in _Q_GRID])


_Q_STEP: float = float(_Q_GRID[1] - _Q_GRID[0])
_LOG_BER_SLOPE: npt.NDArray[np.float64] = np.append(np.diff(_LOG_BER), 0.0)
# the inverse direction on the same table: -log10(BER) is not uniform in Q, so a uniform index over
# it (cells narrower than the table's narrowest step: at most one table point per cell) finds each
# value's table cell by arithmetic and one comparison instead of np.interp's binary search
_NLB: npt.NDArray[np.float64] = -_LOG_BER
_NLB_SLOPE: npt.NDArray[np.float64] = np.append(np.diff(_Q_GRID) / np.diff(_NLB), 0.0)  # as np.interp's
_NLB_CELL: float = float(np.diff(_NLB).min()) / 2.0
_BLOCK = 1 << 15
_NLB_N_CELLS = int((_NLB[-1] - _NLB[0]) / _NLB_CELL) + 2
_NLB_CELLS: npt.NDArray[np.float64] = _NLB[0] + _NLB_CELL * np.arange(_NLB_N_CELLS)
_NLB_FIRST: npt.NDArray[np.int64] = np.maximum(np.searchsorted(_NLB, _NLB_CELLS, "right") - 1, 0)


def ber_from_q(q: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Bit error ratio of a Gaussian-noise decision with quality factor ``q`` (q >= 30: ~1e-198).

    The linear interpolation of ``np.interp`` on the table, with the cell found by arithmetic (the
    grid is uniform) instead of a search: the analyzer's DOM-offset bisection evaluates it millions
    of times a pass."""
    qa = np.asarray(q, dtype=np.float64)
    x = np.clip(qa, _Q_GRID[0], _Q_GRID[-1]) / _Q_STEP
    nan = np.isnan(x)
    i = np.minimum(np.where(nan, 0.0, x).astype(np.int64), _Q_GRID.size - 1)
    log_ber = _LOG_BER[i] + (x - i) * _LOG_BER_SLOPE[i]
    return np.power(10.0, np.where(nan, np.nan, log_ber))


def q_from_ber(ber: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Inverse of :func:`ber_from_q`; BER >= 0.5 gives 0, BER 0 gives NaN (it bounds nothing)."""
    b = np.asarray(ber, dtype=np.float64)
    out = np.empty(b.shape)
    flat_b, flat_q = b.reshape(-1), out.reshape(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        for s in range(0, flat_b.size, _BLOCK):  # blocks that stay in the CPU's cache
            bb = flat_b[s : s + _BLOCK]
            x = np.log10(bb)
            np.negative(x, out=x)
            np.nan_to_num(x, copy=False, nan=_NLB[0])
            np.clip(x, _NLB[0], _NLB[-1], out=x)
            i = _NLB_FIRST[((x - _NLB[0]) * (1.0 / _NLB_CELL)).astype(np.int64)]
            i += _NLB[np.minimum(i + 1, _NLB.size - 1)] <= x
            np.minimum(i, _NLB.size - 1, out=i)
            # np.interp's own arithmetic (slope from the left point): the same answer to the bit
            x -= _NLB[i]
            x *= _NLB_SLOPE[i]
            x += _Q_GRID[i]
            flat_q[s : s + _BLOCK] = np.where(bb > 0, x, np.nan)
    return out


def ber_margin_db(ber: npt.ArrayLike, ber_limit: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """OMA margin (optical dB) a measured pre-FEC BER implies: 10 log10(Q(BER) / Q(limit)).

    Q is the eye opening over the noise, in photocurrent. A photodiode's current is proportional to
    the optical power it receives, so when the noise does not depend on the signal (a
    thermal-noise-limited receiver) Q is proportional to OMA, an optical *power*: a ratio of optical
    powers in dB is 10 log10, not the 20 log10 of an electrical amplitude (1 optical dB = 2 electrical
    dB; Agrawal, Fiber-Optic Communication Systems, sec. 4.5: Q and receiver sensitivity). At the KP4
    limit this gives ~1.4 decades of BER per dB, within the rule of thumb "1 decade per 0.5-1 dB"
    (unverified). Far from the limit real receivers hit error floors and signal-dependent noise, so
    read large values as "large", not as exact.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return 10.0 * np.log10(q_from_ber(ber) / q_from_ber(ber_limit))


def ber_at_margin_db(margin_db: npt.ArrayLike, ber_limit: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Inverse of :func:`ber_margin_db`: the pre-FEC BER at an OMA margin; equals the limit at 0 dB."""
    return ber_at_q(q_at_margin_db(margin_db, ber_limit))


def q_at_margin_db(margin_db: npt.ArrayLike, ber_limit: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The Q at an OMA margin: Q(limit) x :func:`q_ratio` (margin), so a margin d dB lower scales it by
    ``q_ratio(-d)`` (what a search over offsets exploits)."""
    return q_from_ber(ber_limit) * q_ratio(margin_db)


def q_ratio(margin_db: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The factor on Q of an OMA margin in optical dB: 10^(margin/10) (Q is proportional to the OMA,
    an optical power, so the ratio is in 10 log10, as :func:`ber_margin_db`)."""
    return np.power(10.0, np.asarray(margin_db, dtype=np.float64) / 10.0)


def ber_at_q(q: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The pre-FEC BER :func:`ber_at_margin_db` gives for a Q from :func:`q_at_margin_db` (at most 0.5)."""
    return np.minimum(ber_from_q(np.maximum(np.asarray(q, dtype=np.float64), 0.0)), 0.5)


def ber_floor(interval_s: float, bit_rate_bps: float) -> float:
    """Smallest BER an interval can resolve (one error in all its bits): the bound when none were seen."""
    return 1.0 / (bit_rate_bps * interval_s)


def ber_margin_decades(ber: float | None, code: Fec) -> float | None:
    """log10(FEC pre-FEC BER limit) - log10(BER); None when BER is missing or zero (use ber_floor)."""
    limit = code.ber_limit.value
    if ber is None or limit is None or not ber > 0:
        return None
    return math.log10(limit) - math.log10(ber)


def p_uncorrectable_cw(ber: float, code: Fec) -> float:
    """Probability a codeword has more than t errored symbols, for independent random bit errors."""
    p_sym = -math.expm1(code.symbol_bits * math.log1p(-ber))
    n, t = code.n_symbols, code.t_symbols
    if p_sym <= 0:
        return 0.0
    log_p, log_q = math.log(p_sym), math.log1p(-p_sym)
    total = 0.0
    for k in range(t + 1, n + 1):
        term = math.exp(
            math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_p + (n - k) * log_q
        )
        total += term
        if k > t + 5 and term < total * 1e-17:
            break
    return min(total, 1.0)


WEAR_NEAR_SHARE = 0.8
"""A point is *near* its rated mating cycles from this share of them on (a margin for the count's
uncertainty: matings before records are often estimates)."""


def wear_flag(mating_count: int, ct: ConnectorType) -> str | None:
    """``"past"`` / ``"near"`` when a point's matings reach its type's rated cycles (or 80 % of them),
    None when they do not or the catalog rates none (splices, unknown figures)."""
    rated = ct.rated_matings.value
    if not rated or ct.is_splice:
        return None
    if mating_count >= rated:
        return "past"
    if mating_count >= WEAR_NEAR_SHARE * rated:
        return "near"
    return None


def connector_rule_flag(pmd: OpticPMD, loss: ChannelLoss) -> bool:
    """Seed rule of thumb: >= 200G link whose connectors' rated IL together exceeds 1.0 dB."""
    return (
        pmd.nominal_rate_gbps >= RULE_OF_THUMB_MIN_RATE_GBPS
        and loss.connectors_max_db > RULE_OF_THUMB_MAX_CONNECTOR_IL_DB + 1e-9
    )
