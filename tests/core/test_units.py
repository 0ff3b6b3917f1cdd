"""Unit conversions against known values and physical properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkmargin.units import (
    avg_to_oma_dbm,
    dbm_to_mw,
    dbm_to_mw_array,
    mw_to_dbm,
    mw_to_dbm_array,
    oma_correction_db,
    oma_to_avg_dbm,
)

powers = st.floats(min_value=1e-9, max_value=1e3, allow_nan=False)
dbms = st.floats(min_value=-90.0, max_value=30.0, allow_nan=False)
ers = st.floats(min_value=0.1, max_value=20.0, allow_nan=False)


def test_known_values() -> None:
    assert mw_to_dbm(0.5) == pytest.approx(-3.0103, abs=1e-4)
    assert mw_to_dbm(1.0) == 0.0
    assert mw_to_dbm(0.0001) == pytest.approx(-40.0)  # DOM floor, 0.1 uW
    assert dbm_to_mw(-3.0103) == pytest.approx(0.5, rel=1e-5)
    assert dbm_to_mw(10.0) == pytest.approx(10.0)


# OMA - Pavg by ER, computed by hand (docs/ARCHITECTURE.md "Optical conventions")
@pytest.mark.parametrize(
    ("er_db", "corr"),
    [(2, -3.44), (3, -1.77), (3.5, -1.16), (4, -0.65), (4.5, -0.21), (5, 0.17), (6, 0.78)],
)
def test_er_table(er_db: float, corr: float) -> None:
    assert oma_correction_db(er_db) == pytest.approx(corr, abs=0.006)


@pytest.mark.parametrize("bad", [0.0, -1.0, -1e-12, float("nan"), float("inf"), float("-inf")])
def test_no_light_is_no_reading(bad: float) -> None:
    assert mw_to_dbm(bad) is None
    assert np.isnan(mw_to_dbm_array([bad])[0])


def test_er_must_be_positive() -> None:
    with pytest.raises(ValueError):
        oma_correction_db(0.0)


@given(powers)
def test_round_trip_mw(mw: float) -> None:
    dbm = mw_to_dbm(mw)
    assert dbm is not None
    assert dbm_to_mw(dbm) == pytest.approx(mw, rel=1e-9)


@given(dbms)
def test_round_trip_dbm(dbm: float) -> None:
    back = mw_to_dbm(dbm_to_mw(dbm))
    assert back is not None
    assert back == pytest.approx(dbm, abs=1e-9)


@given(powers, powers)
def test_monotone(a: float, b: float) -> None:
    da, db = mw_to_dbm(a), mw_to_dbm(b)
    assert da is not None and db is not None
    if a < b:
        assert da <= db
    # doubling power adds 3.0103 dB
    d2 = mw_to_dbm(2 * a)
    assert d2 is not None
    assert d2 - da == pytest.approx(10 * math.log10(2), abs=1e-9)


@given(dbms, ers)
def test_oma_round_trip(avg: float, er: float) -> None:
    assert oma_to_avg_dbm(avg_to_oma_dbm(avg, er), er) == pytest.approx(avg, abs=1e-9)


@given(ers, ers)
def test_oma_correction_monotone_in_er(a: float, b: float) -> None:
    if a < b:  # monotone; strictly so where the difference is more than float rounding
        assert oma_correction_db(a) <= oma_correction_db(b)
        if b - a > 1e-6:
            assert oma_correction_db(a) < oma_correction_db(b)
    # OMA can never exceed twice the average power (ER -> inf): +3.01 dB bound
    assert oma_correction_db(a) < 10 * math.log10(2)


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=50))
def test_array_matches_scalar(xs: list[float]) -> None:
    arr = mw_to_dbm_array(xs)
    assert arr.shape == (len(xs),)
    for x, y in zip(xs, arr, strict=True):
        s = mw_to_dbm(x)
        if s is None:
            assert np.isnan(y)  # no light never becomes a number
        else:
            assert y == pytest.approx(s, rel=1e-12, abs=1e-12)
            assert np.isfinite(y)


def test_dbm_array_round_trip() -> None:
    x = np.array([0.5, 1.0, 2.0])
    assert np.allclose(dbm_to_mw_array(mw_to_dbm_array(x)), x)
