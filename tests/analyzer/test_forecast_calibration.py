"""The margin estimate's own error in the forecast: a trendless small margin is not near-certain.

Numbers by hand: Phi is the standard normal CDF; the DOM alone knows a margin to DOM_SD_DB = 1.1 dB,
the BER to 0.1 dB + 20 % of the margin it implies, readings are never known better than their 0.1 dB
quantization (0.1 / sqrt(12) = 0.0289 dB).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from analyzer.forecast import DOM_SD_DB, QUANT_SD_DB, floored_drift_se, forecast_lanes, margin_estimate_sd


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _trendless(margin: float, margin_sd: float | None, resid: float = 0.001, drift_sd: float = 1e-4) -> float:
    """P(crossing within 14 d) of one lane: no drift, 0.001 dB of hourly scatter, no step risk."""
    fc = forecast_lanes(
        14.0,
        np.array([margin]),
        np.zeros(1),
        np.array([drift_sd]),
        np.array([resid]),
        margin_sd_db=None if margin_sd is None else np.array([margin_sd]),
        noise_floor_db=QUANT_SD_DB,
    )
    return float(fc.p_cross[0])


def test_constants_are_the_stated_figures() -> None:
    assert pytest.approx(math.hypot(3.0 / 3, 1.0 / 2), abs=0.02) == DOM_SD_DB
    assert pytest.approx(0.028868, abs=1e-6) == QUANT_SD_DB


def test_a_trendless_dom_margin_just_below_zero_is_a_coin_toss_not_a_certainty() -> None:
    # the false flags of seeds 101-102: margin read at -0.1 dB, readings that barely move
    sd_read = math.hypot(QUANT_SD_DB, 0.0)
    sd_drift = 1e-4 * 14  # the slope's sd over 14 days
    # without the estimate's error, only the (floored) scatter: near-certain (P(m(0) < 0) decides)
    assert _trendless(-0.1, None) == pytest.approx(_phi(0.1 / sd_read), abs=1e-6)
    assert _trendless(-0.1, None) > 0.999
    # with it: P = Phi(0.1 / sqrt(1.1^2 + 0.0289^2)) = 0.536
    p = _trendless(-0.1, DOM_SD_DB)
    assert p == pytest.approx(_phi(0.1 / math.hypot(DOM_SD_DB, sd_read)), abs=1e-6)
    assert p == pytest.approx(0.536, abs=0.002)
    sd = math.sqrt(DOM_SD_DB**2 + sd_read**2 + sd_drift**2)
    # 0.3 dB left on the DOM alone: 39 %, not the 0 % the scatter alone gives
    assert _trendless(0.3, DOM_SD_DB) == pytest.approx(_phi(-0.3 / sd), abs=1e-6)
    assert _trendless(0.3, None) < 1e-6


def test_a_margin_the_ber_measured_near_the_limit_stays_sharp() -> None:
    # the BER implied 0.3 dB: error 0.1 + 0.2 * 0.3 = 0.16 dB; with scatter and 14 d of slope sd, P = 3.25 %
    sd_est = margin_estimate_sd(np.array([0.3]), np.array([0.3]), np.array([0.8]), np.array([False]))
    assert sd_est[0] == pytest.approx(0.16)
    sd_drift = 1e-4 * 14
    sd = math.sqrt(0.16**2 + QUANT_SD_DB**2 + sd_drift**2)
    assert _trendless(0.3, float(sd_est[0])) == pytest.approx(_phi(-0.3 / sd), abs=1e-6)
    assert _trendless(0.3, float(sd_est[0])) == pytest.approx(0.0325, abs=0.001)


def test_the_term_that_sets_the_margin_sets_its_error() -> None:
    base = np.array([2.0, 0.5, 1.0, -0.4, np.nan])
    ber = np.array([np.nan, 0.5, 3.0, 1.0, np.nan])  # lane 1: the BER sets it; lane 2: the DOM does
    cal = np.array([2.0, 0.9, 1.0, 0.2, np.nan])
    offset_known = np.array([False, False, True, False, False])
    evidence = np.array([np.nan, np.nan, np.nan, -0.4, np.nan])  # lane 3: the counters
    sd = margin_estimate_sd(base, ber, cal, offset_known, evidence)
    assert sd[0] == pytest.approx(DOM_SD_DB)  # DOM alone
    assert sd[1] == pytest.approx(0.1 + 0.2 * 0.5)  # BER-implied
    assert sd[2] == pytest.approx(0.1 + 0.2 * 1.0)  # DOM corrected by an offset read off the BER
    assert sd[3] == pytest.approx(0.1)  # evidence of a crossing
    assert sd[4] == pytest.approx(DOM_SD_DB)


def test_the_quantization_floor_scales_the_slope_sd_that_rests_on_the_scatter() -> None:
    # scatter 0.001 dB floored to 0.0289: the slope's se 0.001 dB/day becomes 0.0289 dB/day; scatter
    # above the floor (0.2 dB) leaves it alone; no fit (NaN scale) leaves the NaN se alone
    se = floored_drift_se(np.array([0.001, 0.01, np.nan]), np.array([0.001, 0.2, np.nan]))
    assert se[0] == pytest.approx(QUANT_SD_DB) and se[1] == pytest.approx(0.01) and np.isnan(se[2])
    # the reading noise is floored in the forecast: 10 d, 1 dB, -0.05 dB/day +- 0.001:
    # mean 0.5, sd sqrt(0.01^2 + 0.0289^2)
    fc = forecast_lanes(
        10.0,
        np.array([1.0]),
        np.array([-0.05]),
        np.array([0.001]),
        np.array([0.001]),
        noise_floor_db=QUANT_SD_DB,
    )
    sd = math.hypot(0.001 * 10, QUANT_SD_DB)
    assert fc.sd_db[0] == pytest.approx(sd)
    assert fc.p_cross[0] == pytest.approx(_phi(-0.5 / sd), abs=1e-6)


def test_a_ber_bound_lifts_a_low_dom_margin() -> None:
    """The DOM alone says 0.92 dB (sd 1.1), the port's BER says at least 3.6 dB (sd 0.1 + 0.2 * 3.6 =
    0.82): S = sqrt(1.21 + 0.6724) = 1.372, z = (0.92 - 3.6) / S = -1.953, phi / Phi = 0.05926 / 0.02539
    = 2.334; mean 0.92 + 1.21 / 1.372 * 2.334 = 2.978, variance 1.21 - 1.4641 / 1.8824 * 2.334 * 0.381
    = 0.518 (sd 0.720). A sharp bound at 0 on N(0, 1) is the half-normal: mean sqrt(2 / pi) = 0.798,
    sd sqrt(1 - 2 / pi) = 0.603. Far below a sharp bound the estimate sits just above it."""
    from analyzer.forecast import bounded_below

    mean, sd = bounded_below(
        np.array([0.92, 0.0, -5.0, 1.0]),
        np.array([1.1, 1.0, 1.0, 1.0]),
        np.array([3.6, 0.0, 2.0, np.nan]),
        np.array([0.82, 1e-6, 1e-3, 0.1]),
    )
    assert mean[0] == pytest.approx(2.978, abs=0.005) and sd[0] == pytest.approx(0.720, abs=0.005)
    assert mean[1] == pytest.approx(math.sqrt(2 / math.pi), abs=1e-3)
    assert sd[1] == pytest.approx(math.sqrt(1 - 2 / math.pi), abs=1e-3)
    assert 2.0 < mean[2] < 2.2 and sd[2] < 0.2
    assert mean[3] == 1.0 and sd[3] == 1.0  # no bound: unchanged
    # P(margin now < 0) on the DOM alone was Phi(-0.92 / 1.1) = 20 %; with the BER's bound it is nil
    from analyzer.forecast import norm_cdf

    assert float(norm_cdf(np.array([-mean[0] / sd[0]]))[0]) < 1e-4
