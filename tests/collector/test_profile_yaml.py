"""Profiles are data: a new vendor whose table shape exists is a YAML file (no Python), and a broken
profile is reported as FILE:LINE:COL like the inventory."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

from collector.api import poll_once
from collector.decode import LAYOUTS
from collector.layout import UnknownLayout
from collector.profile import PROFILE_PATH_ENV, ProfileError, load_profile, profile_names
from collector.transport import SnmpCredentials, Target

# A vendor the packaged profiles do not know (recordings/acme.snmprec, make_recordings.acme):
# ENTITY-SENSOR-MIB rows, its own sysObjectID, "Optic <port> <quantity> Channel <0-based lane>".
ACME = r"""
name: acme
includes: [if-mib]
match: {sys_object_id: [1.3.6.1.4.1.99998], priority: 5}
tables:
  - name: acmeSensors
    layout: entity_sensor
    group: dom
    root: 1.3.6.1.2.1.99.1.1.1
    columns: {type: 1, scale: 2, precision: 3, value: 4, status: 5}
    classify:
      - {pattern: '(?i)receive optical power', metric: rx_power_dbm}
      - {pattern: '(?i)transmit optical power', metric: tx_power_dbm}
      - {pattern: '(?i)laser current', metric: tx_bias_ma}
      - {pattern: '(?i)module temp', metric: temperature_c}
    lane_pattern: '(?i)\bchannel\s*(?P<lane>\d+)'
    lane_base: 0
    port_pattern: '^Optic\s+(?P<port>\S+)'
"""


def dbm(mw: float) -> float:
    return 10 * math.log10(mw)


def value(f: pl.DataFrame, port: str, lane: int | None, metric: str) -> tuple[float | None, str | None]:
    lane_f = pl.col("lane").is_null() if lane is None else pl.col("lane") == lane
    row = f.filter((pl.col("port") == port) & lane_f & (pl.col("metric") == metric))
    assert row.height == 1, (port, lane, metric, row)
    return row["value"][0], row["reason"][0]


async def test_new_vendor_is_a_yaml_file(
    snmpsim: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tgt = Target("acme", "127.0.0.1", snmpsim, SnmpCredentials.v2c("acme"))
    # without its profile the device falls to the generic one, whose names do not match: no DOM
    before = await poll_once(tgt, profile="auto", groups=["dom"])
    assert before.filter(pl.col("metric") == "rx_power_dbm").height == 0

    (tmp_path / "acme.yaml").write_text(ACME)
    monkeypatch.setenv(PROFILE_PATH_ENV, str(tmp_path))
    assert "acme" in profile_names()
    f = await poll_once(tgt, profile="auto", groups=["counters", "dom"])
    assert value(f, "eth1/1", 1, "rx_power_dbm") == (pytest.approx(dbm(0.5012)), None)  # channel 0
    assert value(f, "eth1/1", 2, "rx_power_dbm") == (None, "no_light")  # 0 mW
    assert value(f, "eth1/1", 1, "tx_power_dbm") == (pytest.approx(dbm(0.6310)), None)
    assert value(f, "eth1/1", 1, "tx_bias_ma") == (pytest.approx(7.2), None)  # 72 milli prec 1
    assert value(f, "eth1/1", None, "temperature_c") == (pytest.approx(41.2), None)
    assert value(f, "eth1/2", 4, "rx_power_dbm") == (pytest.approx(dbm(0.1259)), None)  # channel 3
    assert value(f, "eth1/1", None, "in_octets") == (1000.0, None)  # the included if-mib tables too


def test_profile_dir_overrides_nothing_it_does_not_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "acme.yaml").write_text(ACME)
    monkeypatch.setenv(PROFILE_PATH_ENV, str(tmp_path))
    acme = load_profile("acme")
    assert [t.name for t in acme.tables][-1] == "acmeSensors"
    assert acme.sys_object_ids == ("1.3.6.1.4.1.99998",)
    assert load_profile("arista").name == "arista"  # packaged ones still there


def _errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> list[str]:
    (tmp_path / "acme.yaml").write_text(text)
    monkeypatch.setenv(PROFILE_PATH_ENV, str(tmp_path))
    with pytest.raises(ProfileError) as exc:
        load_profile("acme")
    return [str(e) for e in exc.value.errors]


def test_malformed_profile_gives_file_line_col(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = (
        ACME.replace("    lane_pattern:", "    lane_patern:")
        .replace("lane_base: 0", "lane_base: zero")
        .replace("metric: tx_bias_ma", "metric: tx_bias_mA")
        .replace("(?P<port>", "(?P<prt>")
    )
    f = tmp_path / "acme.yaml"
    assert _errors(tmp_path, monkeypatch, bad) == [
        f"{f}:14:48: tables[0].classify[2].metric: unknown metric 'tx_bias_mA' (did you mean 'tx_bias_ma'?)",
        f"{f}:16:5: tables[0].lane_patern: unknown key 'lane_patern' (did you mean 'lane_pattern'?)",
        f"{f}:17:16: tables[0].lane_base: Input should be a valid integer, unable to parse string as an "
        "integer, got 'zero'",
        f"{f}:18:19: tables[0].port_pattern: the pattern needs a named group (?P<port>...)",
    ]
    broken = ACME.replace("classify:", "classify: [")  # not YAML at all
    assert _errors(tmp_path, monkeypatch, broken) == [
        f"{f}:12:7: (yaml): while parsing a flow node: did not find expected node content"
    ]


def test_unknown_layout_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "acme.yaml"
    assert _errors(tmp_path, monkeypatch, ACME.replace("layout: entity_sensor", "layout: entity_sensr")) == [
        f"{f}:7:13: tables[0].layout: unknown layout 'entity_sensr' (did you mean 'entity_sensor'?); "
        "known: entity_sensor, ifindex, module"
    ]
    with pytest.raises(UnknownLayout, match="unknown layout 'nope'; known: entity_sensor, ifindex, module"):
        LAYOUTS.get("nope")


def test_document_level_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "acme.yaml"
    bad = ACME.replace("name: acme\n", "name: acme2\n").replace("[if-mib]", "[if-mbi]")
    bad = bad.replace("priority: 5", "priority: 5, sysoid: [1.2]").replace(
        "root: 1.3.6.1.2.1.99.1.1.1", "root: x"
    )
    assert _errors(tmp_path, monkeypatch, bad) == [
        f"{f}:2:7: name: the profile in acme.yaml must be named 'acme'",
        f"{f}:3:12: includes[0]: unknown profile 'if-mbi' (did you mean 'if-mib'?)",
        f"{f}:4:58: match.sysoid: unknown key 'sysoid' (did you mean 'sys_object_id'?)",
        f"{f}:9:11: tables[0].root: String should match pattern '^\\d+(\\.\\d+)+$', got 'x'",
    ]
