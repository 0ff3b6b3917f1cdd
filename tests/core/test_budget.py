"""Link budget against values computed by hand from the catalog (ARCHITECTURE.md "Optical conventions")."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkmargin.budget import (
    ber_at_margin_db,
    ber_floor,
    ber_from_corrected_cw,
    ber_from_corrected_fraction,
    ber_from_q,
    ber_from_symbol_errors,
    ber_margin_db,
    ber_margin_decades,
    connector_rule_flag,
    expected_channel_loss,
    expected_rx_window,
    headroom_db,
    lane_power_margin_db,
    lane_power_margin_db_array,
    p_uncorrectable_cw,
    q_from_ber,
    threshold_margin_db,
)
from linkmargin.catalog import connector, fec, optic

SR8 = optic("400GBASE-SR8")
KP4, KR4 = fec("KP4"), fec("KR4")


def test_om4_62m_sr8_two_lowloss_mtp() -> None:
    mtp = connector("MTP-16")
    loss = expected_channel_loss(SR8, "OM4", 62, [mtp, mtp])
    # by hand from the catalog: 0.062 km x 3.5 dB/km = 0.217 dB fiber
    assert loss.fiber_db == pytest.approx(0.217)
    # typical 2 x 0.15, max 2 x 0.35 (MTP low-loss grade)
    assert loss.typical_db == pytest.approx(0.217 + 0.30)
    assert loss.max_db == pytest.approx(0.217 + 0.70)
    # 400GBASE-SR8 on OM4 allows 1.9 dB
    assert headroom_db(SR8, "OM4", loss.max_db) == pytest.approx(1.9 - 0.917)
    assert headroom_db(SR8, "OS2", loss.max_db) is None
    assert not connector_rule_flag(SR8, loss)  # 0.70 dB <= 1.0 dB
    w = expected_rx_window(SR8, loss)
    assert w is not None
    assert w.low_dbm == pytest.approx(-6.5 - 0.917)
    assert w.high_dbm == pytest.approx(4.0 - 0.517)


def test_rule_of_thumb() -> None:
    mmc, mtp, std = connector("MMC"), connector("MTP-16"), connector("MPO-16")
    # field MMC (1.0 dB rated) + low-loss MTP (0.35) = 1.35 dB > 1.0 on a 400G link
    assert connector_rule_flag(SR8, expected_channel_loss(SR8, "OM4", 30, [mmc, mtp]))
    # exactly 1.0 dB is not above the limit
    assert not connector_rule_flag(SR8, expected_channel_loss(SR8, "OM4", 30, [mmc]))
    # the same channel on a 100G link is not subject to the rule
    sr4 = optic("100GBASE-SR4")
    assert not connector_rule_flag(sr4, expected_channel_loss(sr4, "OM4", 30, [mmc, mtp, std]))
    # splices do not count as connectors
    fus = connector("FUSION")
    loss = expected_channel_loss(SR8, "OM4", 30, [mmc, fus])
    assert loss.connectors_max_db == pytest.approx(1.0) and loss.connections_max_db == pytest.approx(1.3)


def test_dr8_smf_fiber_term() -> None:
    dr8 = optic("800GBASE-DR8")
    loss = expected_channel_loss(dr8, "OS2", 500, [connector("MPO-16")] * 4)
    # 0.5 km x 0.4 + 4 x 0.75 (SM std MPO) = 3.2 dB > 3.0 dB (800GBASE-DR8 channel, tiafotc.org)
    assert loss.max_db == pytest.approx(3.2)
    assert headroom_db(dr8, "OS2", loss.max_db) == pytest.approx(-0.2)


def test_power_margin() -> None:
    dr4 = optic("400GBASE-DR4")
    # DOM avg -3.24 dBm at ER 3.5 dB is OMA -4.40 dBm = sensitivity: margin ~0
    assert lane_power_margin_db(-3.24, dr4) == pytest.approx(0.0, abs=0.01)
    # 2 dB stronger, 2 dB margin; a better ER (5 dB) adds 0.17 - (-1.16) = 1.33 dB
    assert lane_power_margin_db(-1.24, dr4) == pytest.approx(2.0, abs=0.01)
    assert lane_power_margin_db(-1.24, dr4, er_db=5.0) == pytest.approx(3.33, abs=0.01)
    assert lane_power_margin_db(None, dr4) is None
    assert lane_power_margin_db(float("nan"), dr4) is None
    arr = lane_power_margin_db_array([-3.24, np.nan, -1.24], dr4)
    assert arr[0] == pytest.approx(0.0, abs=0.01) and np.isnan(arr[1])
    assert arr[2] == pytest.approx(2.0, abs=0.01)
    assert threshold_margin_db(-5.0, -8.0) == 3.0
    assert threshold_margin_db(-5.0, None) is None


def test_ber_margin_known() -> None:
    # log10(2.4e-4) - log10(1e-7): pre-FEC 1e-7 on KP4 is about 3.4 decades
    m = ber_margin_decades(1e-7, KP4)
    assert m == pytest.approx(math.log10(2.4e-4) + 7) and round(m, 1) == 3.4  # type: ignore[arg-type]
    assert ber_margin_decades(5e-5, KR4) == pytest.approx(0.0)
    assert ber_margin_decades(0.0, KP4) is None


def test_ber_margin_db_is_the_gaussian_q_ratio() -> None:
    # textbook Gaussian decision: Q = 3 gives BER 1.3499e-3, Q = 6 gives 9.8659e-10, Q = 7 1.2798e-12;
    # Q is proportional to OMA, an optical power (photocurrent): doubling Q is +3.01 optical dB of OMA
    # (the 20 log10 of an electrical amplitude read every BER margin twice as large)
    b3, b6, b7 = 0.5 * math.erfc(3 / math.sqrt(2)), 9.8659e-10, 1.2798e-12
    assert float(ber_margin_db(b6, b3)) == pytest.approx(10 * math.log10(2), abs=1e-3)
    assert float(ber_margin_db(b7, b3)) == pytest.approx(10 * math.log10(7 / 3), abs=1e-3)
    assert float(q_from_ber(b6)) == pytest.approx(6.0, abs=1e-4)
    assert float(ber_from_q(7.0)) == pytest.approx(b7, rel=1e-4)
    # at the limit: zero margin; round trip through the inverse, and nothing from a zero BER
    assert float(ber_margin_db(2.4e-4, 2.4e-4)) == pytest.approx(0.0, abs=1e-9)
    m = np.array([-2.0, -0.5, 0.3, 1.0, 4.0])
    np.testing.assert_allclose(ber_margin_db(ber_at_margin_db(m, 2.4e-4), 2.4e-4), m, atol=1e-4)
    assert math.isnan(float(ber_margin_db(0.0, 2.4e-4)))
    # near the KP4 limit one dB is about 1.6 decades
    assert math.log10(2.4e-4 / float(ber_at_margin_db(1.0, 2.4e-4))) == pytest.approx(1.63, abs=0.02)


def test_ber_from_corrected_fraction_inverts_the_forward_model() -> None:
    b = np.array([1e-9, 1e-6, 1e-4, 2.4e-4, 1e-3])
    p_cw = 1 - (1 - b) ** 5440  # 544 symbols of 10 bits
    np.testing.assert_allclose(ber_from_corrected_fraction(p_cw, 544, 10), b, rtol=1e-6)


def test_ber_from_counts() -> None:
    rate, dt = SR8.port_rate_bps, 10.0
    bits = rate * dt  # 4.25e12
    assert ber_from_symbol_errors(4250, dt, rate) == pytest.approx(1e-9)
    assert ber_floor(dt, rate) == pytest.approx(1 / 4.25e12)
    # forward model: random bit errors at BER b make a codeword errored with 1-(1-b)^5440
    b = 1e-7
    total_cw = bits / 5440
    corrected = (1 - (1 - b) ** 5440) * total_cw
    assert ber_from_corrected_cw(corrected, dt, rate, KP4) == pytest.approx(b, rel=1e-3)
    # tiny rates: corrected / bits
    assert ber_from_corrected_cw(42.5, dt, rate, KP4) == pytest.approx(42.5 / bits, rel=1e-3)
    assert ber_from_corrected_cw(0, dt, rate, KP4) == 0.0
    with pytest.raises(ValueError):
        ber_from_corrected_cw(1, 0.0, rate, KP4)


# codeword failure probability, binomial tail by hand (docs/ARCHITECTURE.md "Optical conventions")
@pytest.mark.parametrize(
    ("ber", "code", "p"),
    [
        (5e-5, "KR4", 4.4e-10),
        (2.4e-4, "KR4", 5.2e-5),
        (1e-3, "KR4", 0.16),
        (2.4e-4, "KP4", 8.2e-13),
        (1e-3, "KP4", 1.5e-4),
        (2e-3, "KP4", 0.08),
    ],
)
def test_uncorrectable_table(ber: float, code: str, p: float) -> None:
    assert p_uncorrectable_cw(ber, fec(code)) == pytest.approx(p, rel=0.1)


@given(
    st.floats(min_value=0.5, max_value=100.0),
    st.floats(min_value=0.0, max_value=50.0),
    st.lists(st.sampled_from(["MTP-16", "MPO-16", "MMC", "FUSION", "LC-UPC"]), max_size=6),
)
def test_loss_properties(length: float, extra: float, names: list[str]) -> None:
    conns = [connector(n) for n in names]
    base = expected_channel_loss(SR8, "OM4", length, conns)
    longer = expected_channel_loss(SR8, "OM4", length + extra, conns)
    more = expected_channel_loss(SR8, "OM4", length, [*conns, connector("MTP-16")])
    assert 0 <= base.typical_db <= base.max_db
    assert longer.max_db >= base.max_db and more.max_db > base.max_db
    # headroom falls exactly as loss rises
    h0, h1 = headroom_db(SR8, "OM4", base.max_db), headroom_db(SR8, "OM4", more.max_db)
    assert h0 is not None and h1 is not None
    assert h0 - h1 == pytest.approx(more.max_db - base.max_db)


def test_q_from_ber_is_np_interp_on_the_table_to_the_bit() -> None:
    """The cell lookup by arithmetic gives np.interp's answer on the same table, at the table's own
    points, between them, past both ends, and for BER 0, NaN, negative and >= 0.5."""
    from linkmargin import budget

    rng = np.random.default_rng(5)
    ber = 10 ** rng.uniform(-250, 0.5, (300, 400))
    edges = [0.0, np.nan, 0.5, 1.0, 2.0, -1.0, np.inf, 1e-300, 1e-198, 1e-199]
    ber.flat[: len(edges)] = edges
    on_table = budget._LOG_BER[rng.integers(0, budget._LOG_BER.size, 500)]
    ber.flat[len(edges) : len(edges) + 500] = 10**on_table
    with np.errstate(divide="ignore", invalid="ignore"):
        want = np.where(ber > 0, np.interp(-np.log10(ber), -budget._LOG_BER, budget._Q_GRID), np.nan)
    np.testing.assert_array_equal(budget.q_from_ber(ber), want)
    assert budget.q_from_ber(2.4e-4).shape == ()
