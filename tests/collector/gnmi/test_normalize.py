"""gNMI leaves to samples: module prefixes or not, every encoding, the SNMP path's absence rules."""

from __future__ import annotations

import time

import polars as pl
import pytest

from collector.gnmi.normalize import normalize
from collector.gnmi.paths import to_path
from collector.gnmi.profile import ProfileError, load_file, load_gnmi_profile
from collector.gnmi.updates import UpdateSink
from linkmargin.gnmi import gnmi_pb2 as g
from linkmargin.samples import SAMPLE_SCHEMA

CH = "/components/component[name={c}]/transceiver/physical-channels/channel[index={i}]/state/{leaf}/instant"
PFX = (
    "/openconfig-platform:components/component[name={c}]/openconfig-platform-transceiver:transceiver"
    "/physical-channels/channel[index={i}]/state/{leaf}/instant"
)


def upd(p: str, **kw: object) -> g.Update:
    return g.Update(path=to_path(p), val=g.TypedValue(**kw))


def run(
    updates: list[g.Update], group: str = "dom", profile: str = "openconfig"
) -> tuple[pl.DataFrame, dict]:
    s = UpdateSink(load_gnmi_profile(profile))
    s.add(g.Notification(timestamp=time.time_ns(), update=updates))
    r = normalize(s.table, "sw1", s.take(group), s.port_map)
    return r.samples, {**dict(s.rejects), **r.rejects}


MAP = upd("/interfaces/interface[name=Ethernet1/1]/state/transceiver", string_val="Xcvr1")


@pytest.mark.parametrize("template", [CH, PFX])
def test_every_encoding_gives_the_same_reading(template: str) -> None:
    vals = {
        0: {"double_val": -2.31},
        1: {"decimal_val": g.Decimal64(digits=-231, precision=2)},
        2: {"json_ietf_val": b'"-2.31"'},
        3: {"json_val": b"-2.31"},
        4: {"string_val": "-2.31"},
    }
    got, rejects = run(
        [MAP] + [upd(template.format(c="Xcvr1", i=i, leaf="input-power"), **v) for i, v in vals.items()]
    )
    assert got.schema == SAMPLE_SCHEMA
    assert got["port"].unique().to_list() == ["Ethernet1/1"]  # through the component-to-interface map
    assert sorted(got["lane"].to_list()) == [1, 2, 3, 4, 5]  # index 0 is lane 1
    assert got["value"].to_list() == [-2.31] * 5
    assert rejects == {}


def test_absent_readings_are_never_zero_or_floor() -> None:
    got, rejects = run(
        [
            MAP,
            upd(CH.format(c="Xcvr1", i=0, leaf="input-power"), double_val=-40.0),
            upd(CH.format(c="Xcvr1", i=1, leaf="input-power"), string_val="-inf"),
            upd(CH.format(c="Xcvr1", i=2, leaf="laser-bias-current"), string_val="N/A"),
            upd(CH.format(c="Xcvr1", i=3, leaf="laser-bias-current"), double_val=float("nan")),
            upd(CH.format(c="Xcvr1", i=4, leaf="output-power"), json_val=b"{garbage"),
            upd(CH.format(c="Xcvr1", i=5, leaf="laser-bias-current"), double_val=1e9),
        ]
    )
    by_lane = {r["lane"]: r for r in got.iter_rows(named=True)}
    assert all(r["value"] is None for r in by_lane.values())
    assert by_lane[1]["reason"] == "no_light" and by_lane[2]["reason"] == "no_light"
    assert by_lane[3]["reason"] == "decode_error" and by_lane[5]["reason"] == "decode_error"
    assert by_lane[4]["reason"] == "sentinel" and by_lane[6]["reason"] == "sentinel"
    assert rejects == {"bad_text": 1, "value_bad_json": 1}


def test_thresholds_severity_and_counters() -> None:
    thr = "/components/component[name=Xcvr1]/transceiver/thresholds/threshold[severity={s}]/state/{leaf}"
    got, _ = run(
        [
            MAP,
            upd(thr.format(s="openconfig-alarm-types:CRITICAL", leaf="input-power-lower"), double_val=-14.0),
            upd(thr.format(s="WARNING", leaf="input-power-lower"), double_val=-12.0),
            upd(thr.format(s="WARNING", leaf="input-power-upper"), double_val=3.0),
        ]
    )
    m = dict(zip(got["metric"].cast(pl.String), got["value"], strict=True))
    assert m == {
        "thr_rx_power_dbm_low_alarm": -14.0,
        "thr_rx_power_dbm_low_warn": -12.0,
        "thr_rx_power_dbm_high_warn": 3.0,
    }
    c, _ = run(
        [
            upd(
                "/interfaces/interface[name=Ethernet1/1]/state/counters/in-fcs-errors",
                json_ietf_val=b'"18446744073709551615"',
            ),
            upd("/interfaces/interface[name=Ethernet1/1]/state/oper-status", string_val="LOWER_LAYER_DOWN"),
        ],
        "counters",
    )
    row = c.filter(pl.col("metric") == "fcs_errors").row(0, named=True)
    assert row["counter"] == 2**64 - 1 and row["counter_bits"] == 64
    assert c.filter(pl.col("metric") == "oper_status")["value"].item() == 7.0


def test_unmapped_component_is_counted_not_guessed() -> None:
    got, rejects = run([upd(CH.format(c="Nowhere", i=0, leaf="input-power"), double_val=-1.0)])
    assert got.is_empty() and rejects == {"unmapped_component": 1}


def test_sonic_native_fallback() -> None:
    got, _ = run(
        [
            g.Update(
                path=to_path("/TRANSCEIVER_DOM_SENSOR/Ethernet8"),
                val=g.TypedValue(
                    json_ietf_val=b'{"rx1power": "-3.5", "rx2power": "-inf", "tx1bias": "6.5", '
                    b'"temperature": "31.2"}'
                ),
            )
        ],
        profile="sonic-native",
    )
    m = {(r["metric"], r["lane"]): (r["value"], r["reason"]) for r in got.iter_rows(named=True)}
    assert m[("rx_power_dbm", 1)] == (-3.5, None)
    assert m[("rx_power_dbm", 2)] == (None, "no_light")
    assert m[("tx_bias_ma", 1)] == (6.5, None)
    assert m[("temperature_c", None)] == (31.2, None)


def test_profile_errors_have_positions(tmp_path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(
        "name: bad\nsubscribe:\n  - {path: /a, group: dom}\nleaves:\n"
        '  - {path: "/a/{port}/x", metric: rx_power_dbmm}\n  - {path: "/a/{prt}/y", metric: rx_power_dbm}\n'
    )
    with pytest.raises(ProfileError) as e:
        load_file(p)
    text = str(e.value)
    assert f"{p}:5:" in text and "rx_power_dbm" in text
    assert f"{p}:6:" in text and "unknown placeholder {prt}" in text
