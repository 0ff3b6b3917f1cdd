from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from analyzer.state import LaneState
from linkmargin.samples import Metric

from .helpers import T0, one_link_spec, samples


def _ctr(t: float, value: int, up: int, bits: int = 64) -> dict[str, object]:
    return {
        "t": t,
        "device": "dev-b",
        "port": "p1",
        "metric": "fec_corrected_cw",
        "counter": value,
        "counter_bits": bits,
        "uptime_cs": up,
        "value": float(value),
    }


def _disc(t: float, value: float) -> dict[str, object]:
    return {"t": t, "device": "dev-b", "port": "p1", "metric": "counter_discontinuity_cs", "value": value}


def _ber(st: LaneState) -> list[float]:
    return st.latest.filter(pl.col("metric") == "pre_fec_ber")["value"].to_list()


def test_counter_discontinuity_and_wraps_through_the_core_checks() -> None:
    """The state's counters go through linkmargin.counters: a changed ifCounterDiscontinuityTime is a
    reset even though the counter grew; a 32-bit wrap is a wrap; a 32-bit "wrap" implying more corrected
    codewords than the port carries is a reset; a 64-bit decrease is a reset."""
    st = LaneState(one_link_spec(lanes=4))
    st.ingest(samples([_ctr(0, 1000, 10_000, bits=32), _disc(0, 500)]))
    st.ingest(samples([_ctr(100 / 3600, 1000 + 2_125_000, 20_000, bits=32), _disc(100 / 3600, 500)]))
    assert _ber(st) == pytest.approx([1e-7], rel=1e-3)
    # the counter grew by 10x as much, but the port announced a discontinuity: no BER from it
    st.ingest(samples([_ctr(200 / 3600, 1000 + 23_375_000, 30_000, bits=32), _disc(200 / 3600, 25_000)]))
    assert _ber(st) == pytest.approx([1e-7], rel=1e-3)
    # a 32-bit wrap: 2**32 - c0 + c1 = 212_500 codewords in 100 s -> 1e-8
    c0 = 2**32 - 100_000
    st.ingest(samples([_ctr(300 / 3600, c0, 40_000, bits=32), _disc(300 / 3600, 25_000)]))
    st.ingest(samples([_ctr(400 / 3600, 112_500, 50_000, bits=32)]))
    assert _ber(st) == pytest.approx([1e-8], rel=1e-3)
    st.ingest(samples([_ctr(500 / 3600, 112_500 + 212_500, 60_000, bits=32)]))
    assert _ber(st) == pytest.approx([1e-8], rel=1e-3)
    # a decrease a wrap would explain only by 2**32 - 325_000 + 50 codewords in 50 s, twice what the port
    # carries (4 x 53.125 Gb/s / 5440 bits = 3.9e7 codewords/s): an unannounced reset, no BER from it
    st.ingest(samples([_ctr(550 / 3600, 50, 65_000, bits=32)]))
    assert _ber(st) == pytest.approx([1e-8], rel=1e-3)
    st.ingest(samples([_ctr(650 / 3600, 50 + 425_000, 75_000, bits=64)]))
    assert _ber(st) == pytest.approx([2e-8], rel=1e-3)
    # 64-bit counter going down: a reset, never a 2**64 spike
    st.ingest(samples([_ctr(750 / 3600, 10, 85_000)]))
    assert _ber(st) == pytest.approx([2e-8], rel=1e-3)
    assert st.latest.filter(pl.col("metric") == "pre_fec_ber")["ts"].dt.epoch("s").to_list() == [
        int((T0 + timedelta(seconds=650)).timestamp())
    ]


def test_ber_from_corrected_codewords_known_answer() -> None:
    st = LaneState(one_link_spec(lanes=4))
    # port rate 4 x 53.125 Gb/s; 2.125e6 corrected cw in 100 s -> 21250 cw/s -> BER 1e-7 (far from the
    # limit, one errored bit per corrected codeword)
    st.ingest(samples([_ctr(0, 1000, 10_000)]))
    st.ingest(samples([_ctr(100 / 3600, 1000 + 2_125_000, 20_000)]))
    ber = st.latest.filter(pl.col("metric") == "pre_fec_ber")["value"].to_list()
    assert ber == pytest.approx([1e-7], rel=1e-3)
    # reboot: uptime goes back; no BER from that interval, next interval fine again
    st.ingest(samples([_ctr(200 / 3600, 10, 500)]))
    assert st.latest.filter(pl.col("metric") == "pre_fec_ber")["value"].to_list() == pytest.approx(
        [1e-7], rel=1e-3
    )
    st.ingest(samples([_ctr(300 / 3600, 10 + 212_500, 10_500)]))
    assert st.latest.filter(pl.col("metric") == "pre_fec_ber")["value"].to_list() == pytest.approx(
        [1e-8], rel=1e-3
    )
    lat = st.lane_latest()
    assert lat["ber"].to_list() == pytest.approx([1e-8] * 4, rel=1e-3)


def test_ber_near_the_fec_limit_counts_every_errored_bit() -> None:
    # forward model at BER 2e-4 on KP4 (RS(544,514), 10-bit symbols): a codeword is corrected with
    # P = 1 - (1 - p_sym)^544, p_sym = 1 - (1 - b)^10 -> 66 % of codewords; one bit per corrected
    # codeword would read 1.2e-4
    b, rate = 2e-4, 4 * 53.125e9
    p_cw = 1 - (1 - (1 - (1 - b) ** 10)) ** 544
    per_s = p_cw * rate / 5440
    st = LaneState(one_link_spec(lanes=4))
    st.ingest(samples([_ctr(0, 0, 10_000)]))
    st.ingest(samples([_ctr(10 / 3600, round(per_s * 10), 11_000)]))
    got = st.latest.filter(pl.col("metric") == "pre_fec_ber")["value"][0]
    assert got == pytest.approx(b, rel=1e-6)
    assert per_s / rate < 0.65 * b


def test_hourly_matrix_and_module_broadcast(tmp_path: object) -> None:
    spec = one_link_spec(lanes=2)
    st = LaneState(spec)
    rows = []
    for h in range(5):
        for q in range(4):  # four polls an hour
            t = h + q / 4
            rows.append(
                {
                    "t": t,
                    "device": "dev-b",
                    "port": "p1",
                    "lane": 1,
                    "metric": "rx_power_dbm",
                    "value": -3.0 - h,
                }
            )
            rows.append(
                {
                    "t": t,
                    "device": "dev-b",
                    "port": "p1",
                    "lane": 2,
                    "metric": "rx_power_dbm",
                    "value": -4.0 + q,
                }
            )
            rows.append(
                {"t": t, "device": "dev-b", "port": "p1", "metric": "temperature_c", "value": 40.0 + h}
            )
    batch = samples(rows)
    for h in range(5):  # one batch per hour, as a stream would arrive
        st.ingest(batch.slice(h * 12, 12))
    _hours, rx = st.matrix(Metric.RX_POWER_DBM)
    assert rx.shape == (2, 5)
    assert rx[0].tolist() == [-3.0, -4.0, -5.0, -6.0, -7.0]
    assert rx[1].tolist() == pytest.approx([-2.5] * 5)
    _, temp = st.matrix(Metric.TEMPERATURE_C, module=True)
    assert temp[1].tolist() == [40.0, 41.0, 42.0, 43.0, 44.0]
    # rebuilding from Parquet history gives the same matrix
    import pathlib

    d = pathlib.Path(str(tmp_path)) / "hist" / "day=1"
    d.mkdir(parents=True)
    batch.slice(0, 30).write_parquet(d / "a.parquet")
    batch.slice(30).write_parquet(d / "b.parquet")
    st2 = LaneState(spec)
    assert st2.rebuild(str(d.parent)) == batch.height
    _, rx2 = st2.matrix(Metric.RX_POWER_DBM)
    np.testing.assert_array_equal(rx2, rx)
    lat = st2.lane_latest()
    assert lat["rx_dbm"].to_list() == [-7.0, -1.0]
    assert lat["low_warn_used_dbm"].to_list() == [-8.0, -8.0]
