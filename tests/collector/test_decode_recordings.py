"""snmpsim serving vendor-layout recordings decodes to the values computed by hand from the raw rows.

Each expected value is derived in the comment beside it from the recording (make_recordings.py), with
the vendor's encoding (collector/profiles/*.yaml cite the MIBs).
"""

from __future__ import annotations

import math

import polars as pl
import pytest

from collector.api import poll_once
from collector.transport import SnmpCredentials, Target

NULL = None


def dbm(mw: float) -> float:
    return 10 * math.log10(mw)


# (port, lane, metric) -> value | reason string
EXPECTED: dict[str, dict[tuple[str, int | None, str], float | str]] = {
    "arista": {
        ("Ethernet1/1", None, "temperature_c"): 25.2,  # 252 prec 1
        ("Ethernet1/1", None, "voltage_v"): 3.35,  # 335 prec 2
        ("Ethernet1/1", 1, "tx_bias_ma"): 8.47,  # 847 amperes milli prec 2
        ("Ethernet1/1", 1, "tx_power_dbm"): dbm(0.6582),  # 6582 watts milli prec 4 = 0.6582 mW
        ("Ethernet1/1", 1, "rx_power_dbm"): dbm(0.5012),  # -3.0 dBm
        ("Ethernet1/1", 2, "tx_power_dbm"): "sentinel",  # +1e9
        ("Ethernet1/1", 2, "rx_power_dbm"): "no_light",  # 0 mW
        ("Ethernet1/1", 3, "rx_power_dbm"): "unavailable",  # operStatus 2
        ("Ethernet1/1", 4, "rx_power_dbm"): 0.0,  # 10000 -> 1 mW = a real 0 dBm, kept
        ("Ethernet1/1", 5, "rx_power_dbm"): "no_light",  # raw 1 at milli/prec 4 = 0.0001 mW = the floor
        ("Ethernet2/1", 1, "rx_power_dbm"): "dark_port",  # 0 mW, admin up, oper down
        ("Ethernet3/1", 1, "rx_power_dbm"): "admin_down",
        ("Ethernet1/1", 1, "thr_rx_power_dbm_low_warn"): -10.0,  # 1000 -> 0.1 mW
        ("Ethernet1/1", 1, "thr_rx_power_dbm_low_alarm"): dbm(0.05),  # 500
        ("Ethernet1/1", 1, "thr_rx_power_dbm_high_warn"): "sentinel",  # 1e9 = not set
        ("Ethernet1/1", 1, "thr_rx_power_dbm_high_alarm"): dbm(2.5119),
        ("Ethernet1/1", 1, "thr_tx_power_dbm_low_warn"): "bogus_threshold",  # low 0.5 mW above high 0.2 mW
        ("Ethernet1/1", 1, "thr_tx_power_dbm_high_alarm"): "bogus_threshold",
        ("Ethernet1/1", None, "thr_temperature_c_high_alarm"): "bogus_threshold",  # all zero
        ("Ethernet1/1", None, "pcs_bit_errors"): 123456789012.0,
    },
    "cisco": {
        ("Ethernet1/1", 1, "rx_power_dbm"): -0.9,  # dBm(14) prec 1: -9
        ("Ethernet1/1", 2, "rx_power_dbm"): "no_light",  # -400 -> -40.0 floor
        ("Ethernet1/1", 3, "rx_power_dbm"): 0.0,  # 0 -> 0.0 dBm on an up port: a real reading
        ("Ethernet1/2", 1, "rx_power_dbm"): "placeholder",  # 0 -> 0.0 dBm on an oper-down port
        ("Ethernet1/1", 1, "tx_power_dbm"): -2.3,
        ("Ethernet1/1", None, "temperature_c"): 31.5,
        ("Ethernet1/1", 1, "tx_bias_ma"): 7.5,  # 75 amperes milli prec 1
        # thrIdx order is shuffled in the recording: classified by severity + relation
        ("Ethernet1/1", 1, "thr_rx_power_dbm_low_alarm"): -12.2,  # sev 30 rel lt
        ("Ethernet1/1", 1, "thr_rx_power_dbm_high_warn"): 0.4,  # sev 10 rel gt
        ("Ethernet1/1", 1, "thr_rx_power_dbm_high_alarm"): 3.4,  # sev 30 rel ge
        ("Ethernet1/1", 1, "thr_rx_power_dbm_low_warn"): -8.2,  # sev 10 rel le
    },
    "juniper": {
        ("et-0/0/0", None, "rx_power_dbm"): "lane_aggregate",  # module 0 on a 4-lane optic
        ("et-0/0/0", None, "tx_power_dbm"): "lane_aggregate",
        ("xe-0/0/1", None, "rx_power_dbm"): -3.12,  # -312 x 0.01 dBm; 1 lane, so a reading
        ("xe-0/0/1", None, "tx_bias_ma"): 7.12,  # 7120 uA
        ("et-0/0/0", None, "voltage_v"): 3.281,
        ("et-0/0/0", 1, "rx_power_dbm"): -2.10,  # lane index 0 -> lane 1
        ("et-0/0/0", 2, "rx_power_dbm"): -1.98,
        ("et-0/0/0", 3, "rx_power_dbm"): "no_light",  # -4000 -> -40 dBm
        ("et-0/0/0", 4, "rx_power_dbm"): -2.25,
        ("et-0/0/0", 4, "tx_bias_ma"): 6.53,
        ("et-0/0/0", None, "thr_rx_power_dbm_high_warn"): 0.0,  # a real 0 dBm threshold, kept
        ("et-0/0/0", None, "thr_rx_power_dbm_low_alarm"): -14.0,
    },
    "generic": {
        ("swp1", 1, "rx_power_dbm"): -3.12,  # type other, units dBm, prec 2; mapped via entAliasMapping
        ("swp1", 2, "rx_power_dbm"): "sentinel",  # the string "-inf"
        ("swp1", 3, "rx_power_dbm"): "sentinel",  # -1e9
        ("swp1", 1, "tx_bias_ma"): 6.8,  # 6800 micro-amperes
        ("swp1", None, "temperature_c"): 35.25,  # 35250000 prec 6
        ("swp1", None, "voltage_v"): 3.3,  # 3300 milli-volts
        ("swp1", None, "fcs_errors"): 4294967295.0,
        ("swp1", None, "in_octets"): 18446744073709551000.0,
    },
    "sonic": {
        ("Ethernet0", 1, "rx_power_dbm"): dbm(0.7943),  # alias etp1/1
        ("Ethernet0", 2, "rx_power_dbm"): "unavailable",  # value 0 + status unavailable
        ("Ethernet0", 8, "rx_power_dbm"): dbm(0.1259),  # lane 8 of a QSFP-DD
        ("Ethernet0", None, "temperature_c"): 30.5,  # prec 6
        ("Ethernet0", 1, "tx_bias_ma"): 6.75,  # prec 3 milli
        ("Ethernet0", None, "voltage_v"): 3.29,  # prec 4
        ("Ethernet4", 1, "rx_power_dbm"): dbm(0.5012),  # old index scheme 5011, same result
    },
}


@pytest.mark.parametrize("kind", ["gufo", "pysnmp"])
@pytest.mark.parametrize("vendor", sorted(EXPECTED))
async def test_recording_decodes(snmpsim: int, vendor: str, kind: str) -> None:
    tgt = Target(vendor, "127.0.0.1", snmpsim, SnmpCredentials.v2c(vendor))
    f = await poll_once(tgt, profile="auto", groups=["counters", "dom"], transport=kind)
    for (port, lane, metric), want in EXPECTED[vendor].items():
        lane_f = pl.col("lane").is_null() if lane is None else pl.col("lane") == lane
        row = f.filter((pl.col("port") == port) & lane_f & (pl.col("metric") == metric))
        assert row.height == 1, (port, lane, metric, row)
        value, reason = row["value"][0], row["reason"][0]
        if isinstance(want, str):
            assert value is None and reason == want, (port, lane, metric, value, reason)
        else:
            assert reason is None and value == pytest.approx(want, abs=1e-6), (port, lane, metric, value)
    # nothing absent is ever reported as 0 or -inf, and every null has a reason
    assert f.filter(pl.col("value").is_null() & pl.col("reason").is_null()).height == 0
    assert f.filter(pl.col("value").is_infinite()).height == 0


async def test_auto_profile_picks_by_sys_object_id_and_probe(snmpsim: int) -> None:
    from collector.poller import DeviceState, discover
    from collector.transport import open_transport

    for community, want in [
        ("arista", "arista"),
        ("cisco", "cisco"),
        ("juniper", "juniper"),
        ("sonic", "sonic"),
        ("generic", "entity-sensor"),
    ]:
        st = DeviceState(name=community)
        async with open_transport(
            Target(community, "127.0.0.1", snmpsim, SnmpCredentials.v2c(community))
        ) as tr:
            await discover(tr, st)
        assert st.profile is not None and st.profile.name == want
