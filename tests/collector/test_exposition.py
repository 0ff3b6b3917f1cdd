"""The column-rendered exposition (what scrapes get) parses to the same families as the
prometheus-client Metric path, on batches of every vendor recording plus nasty label values;
series of a replaced or forgotten batch go away; the HTTP server answers with it."""

from __future__ import annotations

import urllib.request
from datetime import UTC, datetime

import polars as pl
import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from collector.poller import DeviceState, poll_group
from collector.sinks.prometheus import PrometheusSink
from linkmargin.exposition.http import serve
from linkmargin.exposition.scrape import render_registry
from linkmargin.samples import conform
from tests.collector.test_identity import RECORDING_PROFILES, RECS, load_snmprec
from tests.collector.test_scheduler import ScriptedTransport

VENDORS = RECORDING_PROFILES


def families(text: str) -> dict[str, tuple[str, str, list[tuple[str, tuple[tuple[str, str], ...], float]]]]:
    """name -> (type, help, sorted samples): what a scraper sees, independent of order and spelling."""
    out = {}
    for fam in text_string_to_metric_families(text):
        samples = sorted((s.name, tuple(sorted(s.labels.items())), s.value) for s in fam.samples)
        out[fam.name] = (fam.type, fam.documentation, samples)
    return out


async def vendor_batches() -> list[tuple[str, str, pl.DataFrame]]:
    out = []
    for rec, profile in VENDORS.items():
        tr = ScriptedTransport(load_snmprec(RECS / f"{rec}.snmprec"))
        st = DeviceState(name=rec)
        for group in ("counters", "dom"):
            out.append((rec, group, await poll_group(tr, st, group, profile)))
    return out


def nasty_batch() -> pl.DataFrame:
    """Label values that need escaping, a null port, huge and tiny values, every absent path."""
    ts = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        ('dev"q', 'Eth\\1 "x"', 1, "rx_power_dbm", -2.5, None),
        ('dev"q', "line\nbreak", None, "temperature_c", 1e-7, None),
        ('dev"q', "p", 2, "rx_power_dbm", None, "no_light"),
        ('dev"q', "p", 3, "tx_power_dbm", None, None),  # absent without a reason
        ('dev"q', None, None, "sys_uptime_cs", 4294967295.0, None),
        ('dev"q', "p", None, "in_octets", 1.8446744073709552e19, None),
        ('dev"q', "p", None, "in_errors", 123456789012.0, None),
        ('dev"q', "p", 1, "thr_rx_power_dbm_low_warn", -10.0, None),
        ('dev"q', "p", 1, "thr_rx_power_dbm_high_alarm", None, "bogus_threshold"),
        ('dev"q', "p", None, "voltage_v", None, "sentinel"),  # a family with no value line
    ]
    cols = ["device", "port", "lane", "metric", "value", "reason"]
    f = pl.DataFrame([dict(zip(cols, r, strict=True)) for r in rows], schema_overrides={"lane": pl.Int8})
    return conform(f.with_columns(pl.lit(ts).alias("ts")))


def both(sink: PrometheusSink) -> tuple[str, str]:
    old = CollectorRegistry()
    old.register(sink)
    return generate_latest(old).decode(), render_registry(old).decode()


@pytest.mark.parametrize("identity", [False, True])
async def test_column_rendering_equals_metric_path(identity: bool) -> None:
    sink = PrometheusSink()
    for device, group, frame in await vendor_batches():
        await sink(device, group, frame)
    await sink('dev"q', "dom", nasty_batch())
    if identity:
        sink.identity = lambda: [("arista", "Ethernet1/1", 'Ac"me', "QSFP-DD", "SN\\1", 2)]
    old, new = both(sink)
    fo, fn = families(old), families(new)
    assert fo == fn
    assert len(fo) > 15 and sum(len(f[2]) for f in fo.values()) > 100  # the batches are not trivial
    assert 'linkmargin_rx_power_dbm{device="dev\\"q",lane="1",port="Eth\\\\1 \\"x\\""} -2.5' in new
    assert 'reason="unknown"' in new and "linkmargin_in_octets_total{" in new
    # an absent reading is a reason, never a number
    assert not [s for s in fn["linkmargin_voltage_volts"][2] if ("device", 'dev"q') in s[1]]
    absent = fn["linkmargin_reading_absent"][2]
    assert [s for s in absent if {("metric", "voltage_v"), ("reason", "sentinel")} <= set(s[1])]


async def test_replaced_and_forgotten_batches_leave() -> None:
    sink = PrometheusSink()
    batches = await vendor_batches()
    for device, group, frame in batches:
        await sink(device, group, frame)
    reg = CollectorRegistry()
    reg.register(sink)
    assert 'device="juniper"' in render_registry(reg).decode()
    sink.forget("juniper")
    text = render_registry(reg).decode()
    assert 'device="juniper"' not in text and 'device="arista"' in text
    # a port gone from the next batch is gone from the exposition (the cached text is not reused)
    dom = next(f for d, g, f in batches if (d, g) == ("arista", "dom"))
    kept = dom.filter(pl.col("port") != "Ethernet1/1")
    await sink("arista", "dom", kept)
    text = render_registry(reg).decode()
    assert 'linkmargin_rx_power_dbm{device="arista",lane="1",port="Ethernet1/1"}' not in text
    assert families(text) == families(generate_latest(reg).decode())


async def test_server_serves_registry_with_other_collectors() -> None:
    reg = CollectorRegistry()
    sink = PrometheusSink(reg)
    c = Counter("linkmargin_collector_varbinds", "Varbinds received", registry=reg)
    c.inc(7)
    for device, group, frame in await vendor_batches():
        await sink(device, group, frame)
    server, _t = serve(reg, 0)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/metrics", timeout=10) as r:
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = r.read().decode()
    finally:
        server.shutdown()
    fams = families(text)
    assert fams["linkmargin_collector_varbinds"][2][0][2] == 7.0
    assert fams == families(generate_latest(reg).decode())  # the registry's own rendering agrees
