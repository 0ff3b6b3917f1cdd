"""Prometheus conventions on the collector's /metrics: base units in the names, values scaled to them,
HELP that says what and in which unit, no ``_created`` series, devices that never answered visible."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from collector.exposition.names import FAMILIES, exposition_name, help_of
from collector.selfmetrics import SelfMetrics
from collector.sinks.prometheus import PrometheusSink
from linkmargin.exposition.scrape import render_registry
from linkmargin.samples import METRIC_NAMES, conform, metric_kind

UNIT_WORDS = (
    "dBm",
    "milliamperes",
    "Celsius",
    "volts",
    "seconds",
    "bits per second",
    "counter",
    "ratio",
    "IF-MIB",
)


def test_every_metric_has_a_base_unit_name_and_a_help_with_its_unit() -> None:
    names = {}
    for m in METRIC_NAMES:
        name, text = exposition_name(m), help_of(m, metric_kind(m))
        assert not name.endswith(("_cs", "_centiseconds", "_mbps", "_ma", "_c")), name
        assert text != m and len(text) > 25, (m, text)  # not the field name
        assert any(w in text for w in UNIT_WORDS), (m, text)
        if not m.startswith("thr_"):
            names[name] = m
    assert len(names) == len(FAMILIES)  # one family per metric


def _batch() -> pl.DataFrame:
    ts = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        ("sw1", "Ethernet1", None, "last_change_cs", 6001.0),
        ("sw1", "Ethernet1", None, "speed_mbps", 400000.0),
        ("sw1", None, None, "sys_uptime_cs", 123456.0),
        ("sw1", "Ethernet1", 1, "rx_power_dbm", -2.5),
    ]
    cols = ["device", "port", "lane", "metric", "value"]
    f = pl.DataFrame([dict(zip(cols, r, strict=True)) for r in rows], schema_overrides={"lane": pl.Int8})
    return conform(f.with_columns(pl.lit(ts).alias("ts"), pl.lit(None, pl.String).alias("reason")))


async def test_values_are_scaled_to_the_unit_of_the_name() -> None:
    reg = CollectorRegistry()
    sink = PrometheusSink(reg)
    await sink("sw1", "counters", _batch())
    got = {
        s.name: s.value
        for fam in text_string_to_metric_families(render_registry(reg).decode())
        for s in fam.samples
    }
    assert got["linkmargin_last_change_seconds"] == 60.01
    assert got["linkmargin_speed_bits_per_second"] == 4e11
    assert got["linkmargin_sys_uptime_seconds"] == 1234.56
    assert got["linkmargin_rx_power_dbm"] == -2.5
    assert not any("centiseconds" in n or "mbps" in n for n in got)


def test_no_created_series_and_devices_that_never_answered_show() -> None:
    m = SelfMetrics()
    m.register_device("leaf01")
    m.timeouts.labels("leaf01").inc()
    m.poll_seconds.labels("dom").observe(0.2)
    m.watch_devices(lambda: [("leaf01", True, False), ("leaf02", False, True)])
    text = render_registry(m.registry).decode()
    assert "_created" not in text
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    answered = {s.labels["device"]: s.value for s in fams["linkmargin_collector_device_answered"].samples}
    breaker = {s.labels["device"]: s.value for s in fams["linkmargin_collector_breaker_open"].samples}
    assert answered == {"leaf01": 0.0, "leaf02": 1.0}
    assert breaker == {"leaf01": 1.0, "leaf02": 0.0}
    assert "seconds" in fams["linkmargin_collector_poll_duration_seconds"].documentation
