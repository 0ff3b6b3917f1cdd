"""Counter deltas (linkmargin.counters): wraps vs resets, no spike at a reboot, discontinuity, flaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from linkmargin.counters import counter_deltas, flaps, rates
from linkmargin.samples import conform

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def batch(
    t: float, counter: int, bits: int, uptime: int, disc: float = 0.0, last_change: float = 5.0
) -> pl.DataFrame:
    ts = T0 + timedelta(seconds=t)
    return conform(
        pl.DataFrame(
            {
                "ts": [ts] * 3,
                "device": ["d"] * 3,
                "port": ["e1"] * 3,
                "metric": ["in_octets", "counter_discontinuity_cs", "last_change_cs"],
                "value": [float(counter), disc, last_change],
                "counter": [counter, None, None],
                "counter_bits": [bits, None, None],
                "uptime_cs": [uptime] * 3,
            },
            schema_overrides={"counter": pl.UInt64},
        )
    )


def test_plain_delta() -> None:
    r = rates(batch(0, 1000, 64, 100), batch(10, 6000, 64, 1100))
    assert r["rate"][0] == pytest.approx(500.0) and not r["reset"][0]


def test_32bit_wrap_is_a_wrap() -> None:
    r = rates(batch(0, 2**32 - 100, 32, 100), batch(10, 900, 32, 1100))
    assert r["wrapped"][0] and r["rate"][0] == pytest.approx(100.0)


def test_64bit_wrap() -> None:
    r = rates(batch(0, 2**64 - 10, 64, 100), batch(1, 10, 64, 200))
    assert r["wrapped"][0] and r["rate"][0] == pytest.approx(20.0)


def test_reboot_is_a_reset_not_a_spike() -> None:
    r = rates(batch(0, 10**12, 64, 10**6), batch(15, 5000, 64, 300))
    assert r["reset"][0] and r["rate"][0] is None


def test_discontinuity_time_marks_reset_even_if_counter_grew() -> None:
    r = rates(batch(0, 100, 64, 1000, disc=0), batch(15, 200, 64, 2500, disc=2000))
    assert r["reset"][0] and r["rate"][0] is None


def test_implausible_64bit_decrease_is_a_reset() -> None:
    r = rates(batch(0, 10**9, 64, 1000), batch(15, 10, 64, 2500))
    assert r["reset"][0] and r["rate"][0] is None


def test_flap_from_last_change() -> None:
    f = flaps(batch(0, 1, 64, 1, last_change=5), batch(15, 2, 64, 2, last_change=900))
    assert f["flapped"][0]
    f = flaps(batch(0, 1, 64, 1, last_change=5), batch(15, 2, 64, 2, last_change=5))
    assert not f["flapped"][0]


def test_32bit_wrap_implausible_for_the_elapsed_time_is_a_reset() -> None:
    """The same decrease is a wrap over 10 s, but not over 0.01 s at a 1000/s ceiling."""
    prev, cur = np.array([2**32 - 100, 2**32 - 100]), np.array([900, 900])
    d = counter_deltas(prev, cur, np.array([32, 32]), np.zeros(2), np.array([10.0, 0.01]), max_rate=1e3)
    assert d.wrapped.tolist() == [True, False] and d.reset.tolist() == [False, True]
    assert d.rate[0] == pytest.approx(100.0) and np.isnan(d.rate[1])


def test_vectorized_mix_uptime_interval_and_unknowns() -> None:
    """One call, many pairs: plain, 32/64-bit wraps, reboot, discontinuity, no interval; NaN = unknown."""
    nan = np.nan
    d = counter_deltas(
        prev=np.array([1000, 2**32 - 10, 2**64 - 10, 10**12, 100, 5], dtype=np.uint64),
        cur=np.array([6000, 10, 10, 5000, 200, 7], dtype=np.uint64),
        bits=np.array([64, 32, 64, 64, 64, 64]),
        prev_ts_s=np.zeros(6),
        cur_ts_s=np.array([12.0, 10.0, 10.0, 10.0, 10.0, 0.0]),
        prev_uptime_cs=np.array([100, nan, 100, 10**6, 100, nan]),
        cur_uptime_cs=np.array([1100, nan, 1100, 300, 1100, nan]),
        prev_disc=np.array([nan, nan, nan, nan, 0.0, nan]),
        cur_disc=np.array([nan, nan, nan, nan, 50.0, nan]),
    )
    # the agent's clock (10 s) wins over the 12 s between receive timestamps; NaN uptime falls back
    assert d.dt_s[:3].tolist() == [10.0, 10.0, 10.0]
    assert d.rate[:3].tolist() == [500.0, 2.0, 2.0]
    assert d.wrapped.tolist() == [False, True, True, False, False, False]
    assert d.reset.tolist() == [False, False, False, True, True, False]
    assert d.valid.tolist() == [True, True, True, False, False, False]  # last: no positive interval
