"""Rate math: wraps vs resets, no spike at a reboot, discontinuity, flaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from collector.counters import flaps, rates
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
