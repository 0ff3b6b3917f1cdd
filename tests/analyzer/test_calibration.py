"""DOM Rx offsets read off the BER, on ports whose true margins and DOM errors are known."""

from __future__ import annotations

import numpy as np
import pytest

from analyzer.calibration import rx_offsets
from linkmargin.budget import ber_at_margin_db

KP4, KR4 = 2.4e-4, 5e-5
HOURS = 48


def _port(
    true_db: list[float], offset_db: float, limit: float, rng: np.random.Generator, *, lsb: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """DOM margin (true + offset, daily thermal swing, quantized to ``lsb``) and the port's BER.

    The port BER is the mean over its lanes with Poisson scatter of an hour's counts at 53 Gb/s.
    """
    swing = 0.2 * np.sin(2 * np.pi * np.arange(HOURS) / 24.0)
    true = np.asarray(true_db)[:, None] + swing[None, :]
    dom = np.round((true + offset_db) / lsb) * lsb
    bits = 53.125e9 * 3600 * len(true_db)
    mean = ber_at_margin_db(true, limit).mean(axis=0)
    port = rng.poisson(mean * bits) / bits
    return dom, np.broadcast_to(port, true.shape).copy()


def test_offsets_of_interleaved_ports_recovered_within_0_05_db() -> None:
    rng = np.random.default_rng(7)
    # port 0: the case behind the backtest's false flags - a lane 0.3 dB above the limit whose
    # module reads 0.45 dB low; port 1 reads 0.4 dB high on KR4; port 2 has 1 dB everywhere, exact
    a = _port([0.3, 0.8, 1.1, 1.1], -0.45, KP4, rng)
    b = _port([1.0, 1.4, 1.6, 1.2], 0.40, KR4, rng)
    c = _port([1.0, 1.0], 0.0, KP4, rng, lsb=0.01)
    margin = np.vstack([a[0], b[0], c[0]])
    ber = np.vstack([a[1], b[1], c[1]])
    limit = np.array([KP4] * 4 + [KR4] * 4 + [KP4] * 2)
    group = np.array([5, 5, 5, 5, 2, 2, 2, 2, 9, 9])
    perm = rng.permutation(10)  # lanes of a port need not be adjacent
    off, used = rx_offsets(margin[perm], ber[perm], limit[perm], group[perm])
    want = np.array([-0.45] * 4 + [0.40] * 4 + [0.0] * 2)[perm]
    np.testing.assert_allclose(off, want, atol=0.05)
    assert (used == HOURS).all()


def test_lane_level_counters_give_the_same_offset() -> None:
    rng = np.random.default_rng(3)
    true = np.array([0.5, 1.5])[:, None] + np.zeros(HOURS)
    dom = true - 0.3
    lane_ber = ber_at_margin_db(true, KP4)  # each lane its own counter
    off, _ = rx_offsets(
        dom, lane_ber * rng.uniform(0.97, 1.03, lane_ber.shape), np.full(2, KP4), np.zeros(2, np.int64)
    )
    np.testing.assert_allclose(off, -0.3, atol=0.03)


def test_no_offset_without_informative_hours() -> None:
    rng = np.random.default_rng(1)
    far, _ = _port([6.0, 6.5], 0.5, KP4, rng)  # 6 dB: the BER says nothing exact this far out
    far_ber = ber_at_margin_db(np.array([6.0, 6.5])[:, None] + np.zeros(HOURS), KP4)
    few = np.full((1, HOURS), np.nan)
    few[0, -2:] = 0.5  # two hours only
    margin = np.vstack([far, few])
    ber = np.vstack([far_ber, np.full((1, HOURS), 1e-4)])
    off, used = rx_offsets(margin, ber, np.full(3, KP4), np.array([0, 0, 1]))
    assert np.isnan(off).all() and (used == 0).all()


def test_model_misfit_beyond_the_msa_accuracy_is_not_an_offset() -> None:
    # DOM says 5 dB of margin, the BER says the port is at its limit: no offset within +-3 dB fits
    dom = np.full((1, HOURS), 5.0)
    off, _ = rx_offsets(dom, np.full((1, HOURS), KP4), np.array([KP4]), np.array([0]))
    assert np.isnan(off[0])


@pytest.mark.parametrize("n_lanes", [1, 8])
def test_offset_does_not_depend_on_lane_count(n_lanes: int) -> None:
    true = np.linspace(0.4, 1.2, n_lanes)[:, None] + np.zeros(HOURS)
    ber = np.broadcast_to(ber_at_margin_db(true, KP4).mean(axis=0), true.shape)
    off, _ = rx_offsets(true + 0.7, ber, np.full(n_lanes, KP4), np.zeros(n_lanes, np.int64))
    np.testing.assert_allclose(off, 0.7, atol=1e-3)
