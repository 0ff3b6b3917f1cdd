"""The demo's story in its first hours: a failing laser named against its own first readings (before it
has a day's baseline), and a device's counter reset reported as evidence, with its rates checked."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from analyzer.evidence import counter_resets
from analyzer.laser import EARLY_RISE, early_rise, failing_early
from analyzer.state import LaneState

from .helpers import T0, one_link_spec, samples


def _fleet(hours: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """40 healthy lasers warming 5 °C over the hours, each with its own bias and tempco (0.3-2 %/°C)."""
    rng = np.random.default_rng(seed)
    h = np.arange(hours, dtype=np.float64)
    temp = 42.0 + 5.0 * np.sin(np.pi * h / 24.0)[None, :] + rng.normal(0, 0.1, (40, hours))
    base = rng.uniform(5.0, 10.0, 40)[:, None]
    tc = rng.uniform(0.003, 0.02, 40)[:, None]
    bias = base * (1 + tc * (temp - 42.0)) * (1 + rng.normal(0, 0.003, (40, hours)))
    return bias, temp


def test_a_laser_climbing_off_its_first_readings_is_failing_within_hours() -> None:
    # lane 0's APC loop raises bias +50 %/day from hour 2 (the demo's scripted failure) while every
    # module warms ~5 °C: flagged once the climb outruns what warming can add (2.5 %/°C at most)
    for hours, flagged in ((5, False), (14, True), (20, True)):
        bias, temp = _fleet(hours)
        h = np.arange(hours)
        bias[0] *= 1 + 0.5 * np.maximum(h - 2, 0) / 24.0
        rise, climb, gradual = early_rise(bias, temp)
        fail = failing_early(rise, gradual)
        assert bool(fail[0]) is flagged, (hours, rise[0], gradual[0])
        assert not fail[1:].any(), rise[1:].max()  # no healthy laser, whatever its tempco up to 2 %/°C
        own = bias[0, -2:].mean() / bias[0, :2].mean() - 1
        assert rise[0] < own  # the bound only ever takes away
        if flagged:
            assert climb[0] > 0.3  # +50 %/day of the first readings, plus the warming
    assert np.isfinite(rise).all()


def test_temperature_a_swap_and_a_fleet_wide_move_are_not_a_failing_laser() -> None:
    bias, temp = _fleet(12)
    # a module with a 2.4 %/°C tempco (the bound) warming 5 °C: +12 % of bias, all temperature
    bias[1] = 7.0 * (1 + 0.024 * (temp[1] - 42.0))
    # a module swapped at hour 5 for one running 30 % higher: above its "first readings", in one go
    bias[2, 5:] *= 1.3
    rise, _, gradual = early_rise(bias, temp)
    assert rise[1] < EARLY_RISE and not failing_early(rise, gradual)[1]
    assert rise[2] > EARLY_RISE and not gradual[2] and not failing_early(rise, gradual)[2]
    # the whole fleet +15 % (a firmware change, a hot aisle the sensors miss): the common move
    rise_all, _, gradual_all = early_rise(bias * np.linspace(1.0, 1.15, 12)[None, :], temp)
    assert not failing_early(rise_all, gradual_all)[3:].any()
    # no first readings apart from the recent ones, or no temperature: no judgement
    assert np.isnan(early_rise(bias[:, :3], temp[:, :3])[0]).all()
    assert np.isnan(early_rise(bias, None)[0]).all()


def _ctr(
    t_s: float, value: int, up_cs: int, metric: str = "fec_corrected_cw", port: str = "p1"
) -> dict[str, object]:
    return {
        "t": t_s / 3600,
        "device": "dev-b",
        "port": port,
        "metric": metric,
        "counter": value,
        "counter_bits": 64,
        "uptime_cs": up_cs,
        "value": float(value),
    }


def test_a_reboot_is_kept_per_device_with_its_boot_time_and_rates_not_spiked() -> None:
    st = LaneState(one_link_spec(lanes=4))
    up0 = 1_000_000
    for i in range(12):  # 3 h of polls every 15 min: 2.125e6 corrected codewords per 100 s (BER 1e-7)
        t = i * 900.0
        up = up0 + int(t * 100)
        st.ingest(samples([_ctr(t, 1000 + int(21_250 * t), up), _ctr(t, 7, up, metric="fec_uncorrected_cw")]))
    assert st.resets.is_empty() and counter_resets(st.resets, st.hourly()).is_empty()
    # the agent reboots at 3 h 10 min; the next poll, at 3 h 15 min, finds sysUpTime 300 s, counters low
    t = 3 * 3600 + 900.0
    for i in range(6):
        t2, up = t + i * 900.0, 30_000 + i * 90_000
        st.ingest(samples([_ctr(t2, 21_250 * (up // 100), up), _ctr(t2, 0, up, metric="fec_uncorrected_cw")]))
    row = st.resets.row(0, named=True)
    assert st.resets.height == 1 and row["device"] == "dev-b" and row["rebooted"]
    assert row["at"] == T0 + timedelta(hours=3, minutes=10)  # the poll's time less the new sysUpTime
    assert row["counters"] == 2 and row["ports"] == 1  # both counters went back with sysUpTime
    dev = counter_resets(st.resets, st.hourly()).row(0, named=True)
    assert not dev["spiked"], dev  # BER stayed 1e-7: no delta was taken across the reset
    assert dev["text"] == (
        "dev-b rebooted at 2026-01-01 03:10Z: 2 counters on 1 ports reset, rates not spiked"
        " (evidence, not a fault)"
    )
    assert st.latest.filter(pl.col("metric") == "pre_fec_ber")["value"].to_list() == pytest.approx(
        [1e-7], rel=1e-3
    )


def test_a_cleared_counter_is_not_a_reboot_and_a_spike_after_a_reset_is_told() -> None:
    st = LaneState(one_link_spec(lanes=4))
    st.ingest(samples([_ctr(0, 5_000_000, 100_000)]))
    st.ingest(samples([_ctr(900, 10, 190_000)]))  # down with sysUpTime going on: counters cleared
    row = st.resets.row(0, named=True)
    assert not row["rebooted"] and row["at"] == T0 + timedelta(seconds=900)
    assert (
        "dev-b cleared its counters at 2026-01-01 00:15Z" in counter_resets(st.resets, st.hourly())["text"][0]
    )
    # a reset a reader took for a wrap would show as a spike after it: told, not hidden
    h0 = int(T0.timestamp() // 3600)
    hourly = pl.DataFrame(
        {
            "device": ["dev-b"] * 4,
            "port": ["p1"] * 4,
            "lane": [None] * 4,
            "metric": ["pre_fec_ber"] * 4,
            "hour": [h0 - 2, h0 - 1, h0, h0 + 1],
            "mean": [1e-7, 1e-7, 5e-3, 1e-7],
            "sum": [0.0] * 4,
        }
    )
    dev = counter_resets(st.resets, hourly).row(0, named=True)
    assert dev["spiked"] and "rates spiked after it" in dev["text"]
