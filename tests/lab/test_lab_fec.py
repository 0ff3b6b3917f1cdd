"""The receiver and RS-FEC model against binomial-tail numbers (ARCHITECTURE.md "Optical conventions")."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lab.physics.receiver import (
    codeword_failure_prob,
    codeword_failure_prob_fast,
    lab_ber,
    mpi_penalty_db,
)

# pre-FEC BER -> (KR4, KP4) P(uncorrectable codeword), binomial tail over 10-bit symbols, by hand
TABLE = [
    (1e-5, "1.4e-15", "2e-34"),
    (5e-5, "4.4e-10", "3e-23"),
    (1e-4, "8.9e-8", "1.4e-18"),
    (2.4e-4, "5.2e-5", "8.2e-13"),
    (5e-4, "5.6e-3", "2.8e-8"),
    (1e-3, "0.16", "1.5e-4"),
    (2e-3, "0.82", "0.08"),
]


def _sig(text: str) -> int:
    mant = text.split("e")[0].replace("0.", "").replace(".", "").lstrip("0")
    return max(1, len(mant))


@pytest.mark.parametrize(("ber", "kr4", "kp4"), TABLE)
def test_binomial_tail_reproduces_reference_table(ber: float, kr4: str, kp4: str) -> None:
    # rounding our value to the table's printed significant digits must give the table's value
    for fec, printed in (("KR4", kr4), ("KP4", kp4)):
        got = float(codeword_failure_prob(ber, fec))
        digits = _sig(printed)
        exp = math.floor(math.log10(got))
        rounded = round(got / 10**exp, digits - 1) * 10**exp
        assert rounded == pytest.approx(float(printed), rel=1e-9), (fec, ber, got, printed)


def test_fast_path_matches_exact_tail() -> None:
    bers = 10 ** np.random.default_rng(0).uniform(-8, -0.5, 500)
    for fec in ("KR4", "KP4"):
        exact = codeword_failure_prob(bers, fec)
        fast = codeword_failure_prob_fast(bers, fec)
        ok = exact > 1e-200
        np.testing.assert_allclose(fast[ok], exact[ok], rtol=2e-3)


@pytest.mark.parametrize("limit", [5e-5, 2.4e-4])
def test_receiver_calibrated_to_fec_limit_at_sensitivity(limit: float) -> None:
    assert float(lab_ber(0.0, limit, 0.0, 0.0)) == pytest.approx(limit, rel=1e-6)
    above, below = lab_ber(np.array([1.0, -1.0]), limit, 0.0, 0.0)
    # ~1 decade per 0.5-1 dB near the limit (a rule of thumb, unverified): one dB is 0.5..2.5 decades
    assert 0.5 < math.log10(limit / above) < 2.5
    assert 0.3 < math.log10(below / limit) < 2.0


def test_the_lab_receiver_has_an_error_floor_and_a_reflection_penalty() -> None:
    limit = 2.4e-4
    # far above sensitivity the BER is the module's floor, not an ever-falling tail
    assert float(lab_ber(15.0, limit, 0.0, 1e-12)) == pytest.approx(1e-12, rel=0.05)
    # reflections raise the BER at the same received power ...
    clean, reflective = lab_ber(np.array([1.0, 1.0]), limit, np.array([0.0, 10**-3.5]), 0.0)
    assert reflective > 10 * clean
    # ... and the penalty is the extra power that brings it back to the limit
    pen = float(mpi_penalty_db(10**-3.5))
    assert 0.5 < pen < 2.0
    assert float(lab_ber(pen, limit, 10**-3.5, 0.0)) == pytest.approx(limit, rel=1e-3)
