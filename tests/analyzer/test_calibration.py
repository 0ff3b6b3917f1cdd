"""DOM Rx offsets read off the BER, on ports whose true margins and DOM errors are known."""

from __future__ import annotations

import numpy as np
import pytest

from analyzer.calibration import ber_at_floor, rx_offsets
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


def _stepped(
    before_db: float, after_db: float, offset_db: float, ber_after_db: float | None = None, hours: int = 96
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One lane: true margin ``before_db`` then ``after_db`` from hour 32 of 96, DOM = true + offset.

    The BER follows the true margin, or after the step the margin ``ber_after_db`` (a saturated
    count reads a margin far better than the truth). Returns DOM margin, BER and the step segment.
    """
    half = hours // 3
    true = np.r_[np.full(half, before_db), np.full(hours - half, after_db)][None, :]
    ber_margin = true.copy()
    if ber_after_db is not None:
        ber_margin[:, half:] = ber_after_db
    seg = (np.arange(hours) >= half).astype(np.int64)[None, :]
    return true + offset_db, ber_at_margin_db(ber_margin, KP4), seg


def _one(dom: np.ndarray, ber: np.ndarray, **kw: object) -> float:
    off, _ = rx_offsets(dom, ber, np.full(1, KP4), np.zeros(1, np.int64), last_hours=96, **kw)  # type: ignore[arg-type]
    return float(off[0])


def test_a_step_that_moves_the_ber_with_it_is_loss_not_offset() -> None:
    # +1.5 dB, then 3.5 dB lost: the DOM reads -2.0 while the saturated count says +0.8
    dom, ber, seg = _stepped(1.5, -2.0, 0.0, ber_after_db=0.8)
    # without the step split the median of the hours takes the loss for a meter error (the old answer)
    assert _one(dom, ber) == pytest.approx(-2.8, abs=0.05)
    assert np.isnan(_one(dom, ber, segment=seg))  # the two sides disagree by 2.8 dB: no offset
    # the hours the counters rule out (uncorrectables, flaps) say nothing either
    assert _one(dom, ber, disturbed=seg.astype(bool)) == pytest.approx(0.0, abs=0.02)


def test_an_offset_that_would_raise_the_margin_needs_the_ber_before_the_step() -> None:
    # +6 dB before (the BER says nothing there), then a step to +0.5 on the DOM with a BER at +1.5
    dom, ber, seg = _stepped(6.0, 0.5, 0.0, ber_after_db=1.5)
    assert _one(dom, ber) == pytest.approx(-1.0, abs=0.05)  # one side only: looks like an offset
    assert np.isnan(_one(dom, ber, segment=seg))  # the step made the BER informative: DOM stands
    # the other way (the DOM reads high against the BER) lowers the margin: evidence, applied
    dom, ber, seg = _stepped(6.0, 1.0, 0.0, ber_after_db=0.4)
    assert _one(dom, ber, segment=seg) == pytest.approx(0.6, abs=0.05)


def test_a_real_offset_is_the_same_on_both_sides_of_a_step() -> None:
    dom, ber, seg = _stepped(1.5, 1.0, -0.5)
    assert _one(dom, ber, segment=seg) == pytest.approx(-0.5, abs=0.03)


def test_a_ber_that_stays_put_while_the_dom_declines_is_a_floor() -> None:
    rng = np.random.default_rng(11)
    one = np.zeros(1, np.int64)
    # the lane falls 0.5 dB over the hours read, 3.5 -> 3.0 dB of true margin, DOM exact; its BER is
    # stuck at a floor implying ~1.6 dB (counts of 1e7 an hour: Poisson scatter 0.03 %)
    true = np.linspace(3.5, 3.0, HOURS)[None, :]
    floor_ber = float(ber_at_margin_db(np.array(1.6), KP4)) * rng.normal(1.0, 3e-4, (1, HOURS))
    assert ber_at_floor(true, floor_ber, np.full(1, KP4), one)[0]
    # the offset estimator alone cannot tell: 2.0 -> 1.5 dB on the DOM against the floor's 1.6 reads as a
    # stable meter error (the analysis drops offsets of ports at a floor, tests/analyzer/test_ber_floor.py)
    off, _ = rx_offsets(true - 1.5, floor_ber, np.full(1, KP4), one)
    assert np.isfinite(off[0])
    # the same decline with a BER that follows it (a meter 0.4 dB high): no floor, the offset is read
    follows = ber_at_margin_db(true - 1.9, KP4)
    assert not ber_at_floor(true - 1.5, follows, np.full(1, KP4), one)[0]
    off, _ = rx_offsets(true - 1.5, follows, np.full(1, KP4), one)
    assert off[0] == pytest.approx(0.4, abs=0.02)
    # a DOM that moved less than FLOOR_SPAN_DB (quantization, a swing of +-0.05 dB) is no evidence
    flat = np.round(3.2 + 0.05 * np.sin(2 * np.pi * np.arange(HOURS) / 24), 1)[None, :]
    assert not ber_at_floor(flat, floor_ber, np.full(1, KP4), one)[0]
    # a daily swing of +-0.2 dB followed by the BER, through 0.1 dB quantization and count scatter
    assert not ber_at_floor(
        *_port([0.6, 1.0, 1.2, 0.9], 0.0, KP4, rng), np.full(4, KP4), np.zeros(4, np.int64)
    )[0]
    # a BER that moves on its own (a reflection penalty growing 0.3 dB/day) under a DOM flat but for one
    # hour read 3 dB low (a glitch): neither moves with the other, and neither is a floor
    glitch = np.full((1, HOURS), 1.2)
    glitch[0, 30] = -1.8
    refl = ber_at_margin_db(1.0 - 0.3 * np.arange(HOURS)[None, :] / 24, KP4)
    assert not ber_at_floor(glitch, refl, np.full(1, KP4), one)[0]
    assert not ber_at_floor(glitch, floor_ber, np.full(1, KP4), one)[0]  # one odd hour is no movement
    # a port: one lane's BER at floor dominates its mean; every lane of the port is marked
    dom = np.vstack([true, true + 0.3])
    both = np.broadcast_to(floor_ber, dom.shape).copy()
    assert ber_at_floor(dom, both, np.full(2, KP4), np.zeros(2, np.int64)).all()
