"""Each vendor profile against snmpsim serving a recording written from the vendor's MIB text
(tests/collector/make_recordings.py): every DOM reading equals the value decoded by hand from the raw
cell and the MIB's unit (the comment beside it), every no-light or placeholder row is absent with its
reason, and a lane a broken-out sub-port does not own is not reported there (``MISSING``).
"""

from __future__ import annotations

import logging
import math

import polars as pl
import pytest

from collector.api import poll_once
from collector.transport import SnmpCredentials, Target


def dbm(mw: float) -> float:
    return 10 * math.log10(mw)


MISSING = object()  # no sample at all for this (port, lane, metric)
Want = float | str | object

EXPECTED: dict[str, dict[tuple[str, int | None, str], Want]] = {
    # DELL-NETWORKING-IF-EXTENSION-MIB: DisplayStrings in dBm / degree Celsius / volts / mA
    "dell-os9": {
        ("fortyGigE 1/1", 1, "rx_power_dbm"): -2.34,  # "-2.34"
        ("fortyGigE 1/1", 2, "rx_power_dbm"): -1.87,  # "-1.87 " (trailing blank)
        ("fortyGigE 1/1", 3, "rx_power_dbm"): "sentinel",  # "N/A"
        ("fortyGigE 1/1", 4, "rx_power_dbm"): "no_light",  # "-40.00": the floor
        ("fortyGigE 1/1", 1, "tx_power_dbm"): 0.51,
        ("fortyGigE 1/1", 4, "tx_power_dbm"): 0.55,
        ("fortyGigE 1/1", 1, "tx_bias_ma"): 6.512,
        ("fortyGigE 1/1", 3, "tx_bias_ma"): "sentinel",  # "": an empty lane column
        ("fortyGigE 1/1", None, "temperature_c"): 31.25,
        ("fortyGigE 1/1", None, "voltage_v"): 3.29,
        # 4x breakout: every sub-port row repeats the module's lanes; lane k belongs to sub-port k
        ("TenGigabitEthernet 1/49/1", 1, "rx_power_dbm"): -3.01,
        ("TenGigabitEthernet 1/49/2", 2, "rx_power_dbm"): -3.12,
        ("TenGigabitEthernet 1/49/3", 3, "rx_power_dbm"): -3.23,
        ("TenGigabitEthernet 1/49/4", 4, "rx_power_dbm"): -3.34,
        ("TenGigabitEthernet 1/49/3", 3, "tx_bias_ma"): 7.3,
        ("TenGigabitEthernet 1/49/2", 1, "rx_power_dbm"): MISSING,  # lane 1 is 1/49/1's
        ("TenGigabitEthernet 1/49/1", 4, "tx_power_dbm"): MISSING,
        ("TenGigabitEthernet 1/49/2", None, "temperature_c"): 29.5,  # module-level: on every sub-port
        ("TenGigabitEthernet 1/2", 1, "rx_power_dbm"): 0.0,  # "0.00" on an up port: a real 1 mW
        ("TenGigabitEthernet 1/2", 2, "rx_power_dbm"): "sentinel",  # SFP: empty lanes 2-4
        ("TenGigabitEthernet 1/2", 1, "tx_bias_ma"): 5.5,
    },
    "dell-os10": {
        ("ethernet1/1/1", 3, "rx_power_dbm"): -1.70,
        ("ethernet1/1/1", 2, "tx_power_dbm"): 0.98,
        ("ethernet1/1/1", 4, "tx_bias_ma"): 8.3,
        ("ethernet1/1/1", None, "temperature_c"): 33.0,
        ("ethernet1/1/1", None, "voltage_v"): 3.28,
        # sub-ports numbering their own lane as Lane1 (Lane2-4 "N/A"): left as the agent says
        ("ethernet1/1/49:3", 1, "rx_power_dbm"): -2.30,
        ("ethernet1/1/49:3", 1, "tx_power_dbm"): -0.30,
        ("ethernet1/1/49:3", 1, "tx_bias_ma"): 6.3,
        ("ethernet1/1/49:3", 2, "rx_power_dbm"): "sentinel",
        ("ethernet1/1/49:1", 1, "rx_power_dbm"): -2.10,
    },
    # IPI-CMM-CHASSIS-MIB cmmTransDDMTable: 0.001 dBm, 0.001 mA, 0.01 C, 0.001 V; channels from 1
    "ocnos": {
        ("ce0", 1, "rx_power_dbm"): -2.1,  # -2100
        ("ce0", 2, "rx_power_dbm"): -2.345,  # -2345
        ("ce0", 3, "rx_power_dbm"): "sentinel",  # -100001 unavailable
        ("ce0", 4, "rx_power_dbm"): "no_light",  # -40000 = -40.000 dBm
        ("ce0", 1, "tx_power_dbm"): 1.02,  # 1020
        ("ce0", 3, "tx_power_dbm"): "sentinel",  # -100002 not applicable
        ("ce0", 4, "tx_power_dbm"): 1.011,
        ("ce0", 1, "tx_bias_ma"): 6.512,  # 6512
        ("ce0", 3, "tx_bias_ma"): 6.48,
        ("ce0", None, "temperature_c"): 31.25,  # 3125, repeated on each channel row: once
        ("ce0", None, "voltage_v"): 3.291,  # 3291
        ("ce0", 1, "thr_rx_power_dbm_low_alarm"): -14.0,  # critical min -14000
        ("ce0", 1, "thr_rx_power_dbm_high_alarm"): 3.5,  # critical max 3500
        ("ce0", 1, "thr_rx_power_dbm_low_warn"): -11.0,  # alert min
        ("ce0", 1, "thr_rx_power_dbm_high_warn"): 2.5,
        ("ce0", 2, "thr_tx_power_dbm_low_alarm"): -8.0,
        ("ce0", 2, "thr_tx_bias_ma_high_alarm"): 12.0,  # 12000 x 0.001 mA
        ("ce0", None, "thr_temperature_c_low_warn"): 0.0,  # a real 0.00 C limit
        ("ce0", None, "thr_temperature_c_high_alarm"): 75.0,
        ("ce0", None, "thr_voltage_v_low_alarm"): 2.97,
        ("ce0", None, "thr_voltage_v_high_warn"): 3.465,
        ("xe49/1", 1, "rx_power_dbm"): -3.0,  # module 1.50, front panel 49, broken out: channel k -> xe49/k
        ("xe49/3", 3, "rx_power_dbm"): -3.2,
        ("xe49/4", 4, "rx_power_dbm"): -3.3,
        ("xe49/1", None, "temperature_c"): 30.0,  # a broken-out module's own values: its first sub-port
        ("xe2", 1, "rx_power_dbm"): 0.0,  # 0 = 0.000 dBm on an up port: a reading
        ("xe2", 1, "tx_power_dbm"): -0.001,
    },
    # HUAWEI-ENTITY-EXTENT-MIB, VRP5: module power in uW; lanes as strings in dBm / mA; -1 = none
    "huawei-vrp": {
        ("XGigabitEthernet0/0/1", None, "rx_power_dbm"): dbm(0.501),  # 501 uW
        ("XGigabitEthernet0/0/1", None, "tx_power_dbm"): dbm(0.612),
        ("XGigabitEthernet0/0/1", None, "tx_bias_ma"): 6.512,  # 6512 uA
        ("XGigabitEthernet0/0/1", None, "temperature_c"): 36.0,
        ("XGigabitEthernet0/0/1", None, "voltage_v"): 3.3,  # 3300 mV
        ("XGigabitEthernet0/0/1", None, "thr_rx_power_dbm_low_alarm"): -17.0,  # -1700 x 0.01 dBm
        ("XGigabitEthernet0/0/1", None, "thr_rx_power_dbm_high_alarm"): 0.5,
        ("XGigabitEthernet0/0/1", None, "thr_rx_power_dbm_low_warn"): -15.0,
        ("XGigabitEthernet0/0/1", None, "thr_rx_power_dbm_high_warn"): -1.0,
        ("XGigabitEthernet0/0/1", None, "thr_tx_power_dbm_low_alarm"): -9.0,
        ("XGigabitEthernet0/0/1", None, "thr_tx_power_dbm_high_warn"): 3.0,
        ("XGigabitEthernet0/0/2", None, "rx_power_dbm"): "no_light",  # 0 uW
        ("XGigabitEthernet0/0/2", None, "tx_power_dbm"): "sentinel",  # -1
        ("XGigabitEthernet0/0/2", None, "tx_bias_ma"): "sentinel",  # -1
        ("XGigabitEthernet0/0/2", None, "thr_rx_power_dbm_low_alarm"): "sentinel",  # -1
        ("40GE0/0/1", None, "rx_power_dbm"): "lane_aggregate",  # module 0 beside the lanes
        ("40GE0/0/1", None, "tx_power_dbm"): "lane_aggregate",
        ("40GE0/0/1", 1, "rx_power_dbm"): -1.21,  # "-1.21,-1.51,-1.83,-2.18"
        ("40GE0/0/1", 4, "rx_power_dbm"): -2.18,
        ("40GE0/0/1", 3, "tx_power_dbm"): "no_light",  # "-40.00"
        ("40GE0/0/1", 4, "tx_power_dbm"): -0.23,
        ("40GE0/0/1", 2, "tx_bias_ma"): 5.9,  # "5.90,5.90,,5.88"
        ("40GE0/0/1", 3, "tx_bias_ma"): "sentinel",  # the empty lane
        ("40GE0/0/1", 4, "tx_bias_ma"): 5.88,
        ("40GE0/0/1", None, "tx_bias_ma"): 6.0,  # 6000 uA
        ("40GE0/0/1", None, "temperature_c"): 40.0,  # port found by entAliasMapping
    },
    # CloudEngine, VRP8: module power in 0.01 dBm (the release switch)
    "huawei-ce": {
        ("100GE1/0/1", None, "rx_power_dbm"): "lane_aggregate",  # -121 repeats lane 1: left to the lanes
        ("100GE1/0/1", 2, "rx_power_dbm"): -1.51,
        ("100GE1/0/1", 3, "tx_power_dbm"): -0.27,
        ("100GE1/0/1", 4, "tx_bias_ma"): 5.93,
        ("100GE1/0/1", None, "thr_rx_power_dbm_low_alarm"): -18.01,  # -1801
        ("100GE1/0/1", None, "thr_rx_power_dbm_high_alarm"): 4.0,
        ("100GE1/0/1", None, "voltage_v"): 3.31,
        ("10GE1/0/2", None, "rx_power_dbm"): -3.12,  # -312 x 0.01 dBm
        ("10GE1/0/2", None, "tx_power_dbm"): "sentinel",  # -1
        ("10GE1/0/2", None, "tx_bias_ma"): 7.1,  # 7100 uA
        ("10GE1/0/3", None, "rx_power_dbm"): 0.0,  # 0 = 0.00 dBm on an up port: a reading
        ("10GE1/0/3", None, "tx_power_dbm"): -2.05,
    },
    # FS-FIBER-MIB fsFiberTable: 0.01 dBm
    "fs": {
        ("HundredGigabitEthernet 0/1", None, "rx_power_dbm"): "lane_aggregate",  # module 0, lanes beside
        ("HundredGigabitEthernet 0/1", None, "tx_power_dbm"): "lane_aggregate",
        ("HundredGigabitEthernet 0/1", 1, "rx_power_dbm"): -2.10,
        ("HundredGigabitEthernet 0/1", 2, "rx_power_dbm"): -1.98,
        ("HundredGigabitEthernet 0/1", 3, "rx_power_dbm"): "no_light",  # -4000
        ("HundredGigabitEthernet 0/1", 4, "rx_power_dbm"): -2.25,
        ("HundredGigabitEthernet 0/1", 3, "tx_power_dbm"): 1.12,
        ("HundredGigabitEthernet 0/1", None, "thr_rx_power_dbm_low_warn"): -13.0,
        ("HundredGigabitEthernet 0/1", None, "thr_rx_power_dbm_high_warn"): 3.0,
        ("HundredGigabitEthernet 0/1", None, "thr_rx_power_dbm_low_alarm"): -15.0,
        ("HundredGigabitEthernet 0/1", None, "thr_rx_power_dbm_high_alarm"): 5.0,
        ("HundredGigabitEthernet 0/1", None, "thr_tx_power_dbm_low_alarm"): -10.0,
        ("HundredGigabitEthernet 0/1", None, "thr_tx_power_dbm_high_alarm"): 6.0,
        ("TenGigabitEthernet 0/2", None, "rx_power_dbm"): -3.12,  # single lane: the module column
        ("TenGigabitEthernet 0/2", None, "tx_power_dbm"): -2.5,
        ("TenGigabitEthernet 0/2", None, "thr_rx_power_dbm_low_alarm"): "bogus_threshold",  # all zero
        ("TenGigabitEthernet 0/3", None, "rx_power_dbm"): "dark_port",  # -40.00, oper down
    },
    # RFC 3433 rows: type/scale/precision per row
    "cumulus": {
        ("swp1", 1, "rx_power_dbm"): dbm(0.5012),  # 5012 watts micro prec 1 = 501.2 uW
        ("swp1", 2, "rx_power_dbm"): "no_light",  # raw 1 at micro prec 1 = 0.1 uW: the floor
        ("swp1", 3, "rx_power_dbm"): "sentinel",  # "N/A"
        ("swp1", 4, "rx_power_dbm"): -3.25,  # type other, units dBm, prec 2
        ("swp1", 1, "tx_power_dbm"): dbm(0.631),  # 6310 watts milli prec 4
        ("swp1", 1, "tx_bias_ma"): 6.8,  # 6800 amperes micro
        ("swp1", None, "temperature_c"): 35.125,  # 35125 prec 3
        ("swp1", None, "voltage_v"): 3.3,  # 3300 volts milli
        ("swp2", 1, "rx_power_dbm"): "dark_port",  # 0 W, oper down
    },
    "onyx": {
        ("Eth1/1", 1, "rx_power_dbm"): dbm(0.7943),  # 7943 watts milli prec 4
        ("Eth1/1", 2, "rx_power_dbm"): "no_light",  # 0 W
        ("Eth1/1", 3, "rx_power_dbm"): "unavailable",  # status nonoperational(3)
        ("Eth1/1", 4, "rx_power_dbm"): dbm(0.5012),
        ("Eth1/1", 1, "tx_bias_ma"): 7.125,  # 7125 amperes milli prec 3
        ("Eth1/1", None, "temperature_c"): 34.5,
        ("Eth1/1", None, "voltage_v"): 3.28,
        # a 2x split of a 4-lane module, both sub-ports reporting all four lanes
        ("Eth1/2/1", 1, "rx_power_dbm"): dbm(0.1),
        ("Eth1/2/1", 2, "rx_power_dbm"): dbm(0.2),
        ("Eth1/2/2", 3, "rx_power_dbm"): dbm(0.3),
        ("Eth1/2/2", 4, "rx_power_dbm"): dbm(0.4),
        ("Eth1/2/1", 3, "rx_power_dbm"): MISSING,
        ("Eth1/2/2", 1, "rx_power_dbm"): MISSING,
        ("Eth1/3", 1, "rx_power_dbm"): "admin_down",
    },
    # sonic-snmpagent on Spectrum: "DOM RX Power Sensor for etp1/<lane>", alias in ifDescr
    "sonic-mlnx": {
        ("Ethernet0", 1, "rx_power_dbm"): dbm(0.7943),
        ("Ethernet0", 3, "rx_power_dbm"): dbm(0.6310),
        ("Ethernet0", 7, "rx_power_dbm"): dbm(0.3981),
        ("Ethernet0", 8, "rx_power_dbm"): "no_light",  # raw 1 at milli prec 4 = 0.0001 mW
        ("Ethernet0", 3, "tx_bias_ma"): 6.75,
        ("Ethernet0", None, "temperature_c"): 30.5,
        ("Ethernet0", None, "voltage_v"): 3.29,
        ("Ethernet0", None, "rx_power_dbm"): MISSING,  # the lanes no longer collapse into the port
        ("Ethernet8", 1, "rx_power_dbm"): dbm(0.5012),  # etp2a owns lane 1 of etp2
        ("Ethernet10", 2, "rx_power_dbm"): dbm(0.3981),  # etp2b: lane 2
        ("Ethernet12", 3, "rx_power_dbm"): dbm(0.3162),
        ("Ethernet14", 4, "rx_power_dbm"): dbm(0.2512),
        ("Ethernet10", 1, "rx_power_dbm"): MISSING,
        ("Ethernet16", 1, "rx_power_dbm"): dbm(0.6310),  # named EthernetN in its sensors
        ("Ethernet16", 2, "rx_power_dbm"): "unavailable",
    },
}


def check(f: pl.DataFrame, want: dict[tuple[str, int | None, str], Want]) -> None:
    for (port, lane, metric), w in want.items():
        lane_f = pl.col("lane").is_null() if lane is None else pl.col("lane") == lane
        row = f.filter((pl.col("port") == port) & lane_f & (pl.col("metric") == metric))
        if w is MISSING:
            assert row.height == 0, (port, lane, metric, row)
            continue
        assert row.height == 1, (port, lane, metric, row)
        value, reason = row["value"][0], row["reason"][0]
        if isinstance(w, str):
            assert value is None and reason == w, (port, lane, metric, value, reason)
        else:
            assert reason is None and value == pytest.approx(w, abs=1e-6), (port, lane, metric, value)
    assert f.filter(pl.col("value").is_null() & pl.col("reason").is_null()).height == 0
    assert f.filter(pl.col("value").is_infinite()).height == 0
    # one sample per (port, lane, metric): no lanes collapsed onto each other
    keyed = f.filter(pl.col("port").is_not_null())
    assert keyed.height == keyed.unique(["port", "lane", "metric"]).height


@pytest.mark.parametrize("kind", ["gufo", "pysnmp"])
@pytest.mark.parametrize("vendor", sorted(EXPECTED))
async def test_vendor_recording_decodes(snmpsim: int, vendor: str, kind: str) -> None:
    tgt = Target(vendor, "127.0.0.1", snmpsim, SnmpCredentials.v2c(vendor))
    f = await poll_once(tgt, profile="auto", groups=["counters", "dom"], transport=kind)
    check(f, EXPECTED[vendor])


PICKED = {
    "dell-os9": "dell-os9",
    "dell-os10": "dell-os10",
    "ocnos": "ocnos",
    "huawei-vrp": "huawei-vrp",
    "huawei-ce": "huawei-ce",
    "fs": "fs",
    "cumulus": "cumulus",
    "onyx": "onyx",
    "sonic-mlnx": "sonic",
}


async def test_auto_profile_picks_each_vendor(snmpsim: int, caplog: pytest.LogCaptureFixture) -> None:
    from collector.poller import DeviceState, discover
    from collector.transport import open_transport

    for community, want in PICKED.items():
        st = DeviceState(name=community)
        async with open_transport(
            Target(community, "127.0.0.1", snmpsim, SnmpCredentials.v2c(community))
        ) as tr:
            with caplog.at_level(logging.WARNING, logger="collector.poller"):
                await discover(tr, st)
        assert st.profile is not None and st.profile.name == want, community
        assert st.selection is not None and "sysObjectID" in st.selection.why
        assert not st.selection.generic
    assert not [r for r in caplog.records if "matches no device profile" in r.message]


async def test_release_switch_picks_the_unit_by_sys_descr(snmpsim: int) -> None:
    from collector.poller import DeviceState, discover
    from collector.transport import open_transport

    tables = {}
    for community in ("huawei-vrp", "huawei-ce"):
        st = DeviceState(name=community)
        async with open_transport(
            Target(community, "127.0.0.1", snmpsim, SnmpCredentials.v2c(community))
        ) as tr:
            await discover(tr, st)
        assert st.profile is not None
        tables[community] = {t.name for t in st.profile.tables_in("dom", st.sys_descr)}
    assert "hwOpticalModulePower-uW" in tables["huawei-vrp"]
    assert "hwOpticalModulePower-dBm" not in tables["huawei-vrp"]
    assert "hwOpticalModulePower-dBm" in tables["huawei-ce"]
    assert "hwOpticalModulePower-uW" not in tables["huawei-ce"]


async def test_unknown_device_gets_generic_profile_and_one_warning(
    snmpsim: int, caplog: pytest.LogCaptureFixture
) -> None:
    from collector.poller import DeviceState, discover
    from collector.transport import open_transport

    st = DeviceState(name="mystery")
    async with open_transport(Target("mystery", "127.0.0.1", snmpsim, SnmpCredentials.v2c("generic"))) as tr:
        with caplog.at_level(logging.WARNING, logger="collector.poller"):
            await discover(tr, st)
    assert st.profile is not None and st.profile.name == "entity-sensor"
    assert st.selection is not None and st.selection.generic
    lines = [r.getMessage() for r in caplog.records if "matches no device profile" in r.getMessage()]
    assert len(lines) == 1 and "1.3.6.1.4.1.99999.1" in lines[0] and "mystery" in lines[0]
