from __future__ import annotations

import math

import polars as pl
import pytest

from analyzer.margin import lane_margins, link_margins
from analyzer.state import LaneState

from .helpers import one_link_spec, samples


def test_margins_known_db_and_decades() -> None:
    st = LaneState(one_link_spec(lanes=2, sens=-10.0, low_warn=-8.0))
    rows = [
        {"t": 0, "device": "dev-b", "port": "p1", "lane": 1, "metric": "rx_power_dbm", "value": -4.0},
        {"t": 0, "device": "dev-b", "port": "p1", "lane": 2, "metric": "rx_power_dbm", "value": -6.5},
        {"t": 0, "device": "dev-a", "port": "p1", "lane": 1, "metric": "tx_power_dbm", "value": 1.0},
        {"t": 0, "device": "dev-a", "port": "p1", "lane": 2, "metric": "tx_power_dbm", "value": 1.0},
        {
            "t": 0,
            "device": "dev-b",
            "port": "p1",
            "lane": 2,
            "metric": "thr_rx_power_dbm_low_warn",
            "value": -9.0,
        },
        {"t": 0, "device": "dev-b", "port": "p1", "lane": 1, "metric": "pre_fec_ber", "value": 2.4e-7},
    ]
    st.ingest(samples(rows))
    lanes = lane_margins(st.lane_latest()).sort("lane")
    assert lanes["margin_db"].to_list() == pytest.approx([6.0, 3.5])
    assert lanes["warn_margin_db"].to_list() == pytest.approx([4.0, 2.5])  # lane 2 uses published -9
    assert lanes["ber_margin_dec"][0] == pytest.approx(3.0)
    assert lanes["ber_margin_dec"][1] is None
    # loss 5 dB and 7.5 dB against 1.5 expected
    assert lanes["excess_loss_db"].to_list() == pytest.approx([3.5, 6.0])
    # lane 1: BER 2.4e-7 is Q 5.034 against Q 3.492 at the KP4 limit: 10 log10(5.034/3.492) = 1.59 dB of
    # OMA margin (Q is proportional to an optical power), under its 6.0 dB power margin; lane 2: 3.5 ->
    # link margin 1.59 on lane 1
    q_lim, q_ber = 3.4917, 5.0341  # 0.5 erfc(q / sqrt 2) = 2.4e-4 and 2.4e-7
    assert lanes["ber_margin_db"][0] == pytest.approx(10 * math.log10(q_ber / q_lim), abs=2e-3)
    link = link_margins(lanes)
    assert link["link_margin_db"][0] == pytest.approx(10 * math.log10(q_ber / q_lim), abs=2e-3)
    assert link["worst_lane"][0] == 1
    assert link["excess_loss_db"][0] == pytest.approx(6.0)
    assert not math.isnan(link["power_margin_db"][0]) and link["power_margin_db"][0] == pytest.approx(3.5)
    assert isinstance(link, pl.DataFrame)
