"""The analyzer's /metrics served from a cache: a new analysis re-renders only the families whose
rows changed, and what is served (text or gzip) is what a fresh render gives."""

from __future__ import annotations

import gzip
import urllib.request
from dataclasses import replace

import polars as pl
import pytest
from prometheus_client import CollectorRegistry, Gauge

from analyzer.exporter import AnalyzerCollector
from bench.analyzer_scrape_bench import synthetic_analysis
from linkmargin.exposition.http import accepts_gzip, serve
from linkmargin.exposition.scrape import render_registry, render_registry_gzip

from .test_exporter_text import parse


def fresh_text(an, sus, samples: int = 0) -> bytes:
    col = AnalyzerCollector(prerender=False)
    reg = CollectorRegistry()
    reg.register(col)
    col.update(an, suspects=sus, samples_seen=samples)
    return render_registry(reg)


def test_a_new_analysis_rerenders_only_what_changed() -> None:
    an, sus = synthetic_analysis(1600)
    col = AnalyzerCollector(prerender=False)
    col.update(an, suspects=sus, samples_seen=5)
    first = {r.head: r for r in col._rendered(gz=True)[1]}
    before = col._body
    # margins move, everything else stays: the margin family is new text, the others the same objects
    moved = an.lanes.with_columns(pl.col("margin_db") + 0.25)
    an2 = replace(an, lanes=moved)
    col.update(an2, suspects=sus, samples_seen=9)
    text = col.render_text()
    after = col._body
    assert len(first) == len(before) == len(after)
    same = [a is b for a, b in zip(before, after, strict=True)]
    assert same.count(False) == 1 and not same[0]  # linkmargin_margin_db comes first
    assert after[0].gz is None and all(r.gz is not None for r in after[1:])
    assert text == fresh_text(an2, sus, 9)
    assert gzip.decompress(col.render_gzip()) == text
    # a lane gone: its series go, whatever the cache held
    an3 = replace(an2, lanes=moved.filter(pl.col("link") != "L000003"))
    col.update(an3, suspects=sus)
    t3 = col.render_text()
    assert t3 == fresh_text(an3, sus)
    assert b'linkmargin_margin_db{device="leaf0000",direction="a",lane="1",link="L000003"' not in t3
    assert b'linkmargin_margin_db{device="leaf0000",direction="a",lane="1",link="L000003"' in text


def test_gzip_scrape_is_the_same_text() -> None:
    an, sus = synthetic_analysis(800)
    reg = CollectorRegistry()
    col = AnalyzerCollector()  # rendered in the background after update
    reg.register(col)
    g = Gauge("other_gauge", "a prometheus-client metric beside", registry=reg)
    g.set(3.5)
    col.update(an, suspects=sus, samples_seen=11)
    server, _ = serve(reg, 0)
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    try:
        req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.headers["Content-Encoding"] == "gzip"
            zipped = r.read()
        with urllib.request.urlopen(url, timeout=30) as r:
            assert r.headers["Content-Encoding"] is None
            plain = r.read()
    finally:
        server.shutdown()
    assert gzip.decompress(zipped) == plain
    assert len(zipped) * 4 < len(plain)
    assert b"other_gauge 3.5" in plain
    ours = {k: v for k, v in parse(plain.decode()).items() if k[0] != "other_gauge"}
    assert ours == parse(fresh_text(an, sus, 11).decode())


class _PlainText:
    """A column-rendered collector without a compressed copy (as the collector's sink)."""

    def collect(self):
        from linkmargin.exposition.scrape import claim

        if claim(self):
            return
        yield from ()

    def render_text(self) -> str:
        return "# HELP x_total x\n# TYPE x_total counter\nx_total 1.0\n"


def test_gzip_only_when_every_column_collector_keeps_it() -> None:
    reg = CollectorRegistry()
    reg.register(_PlainText())  # type: ignore[arg-type]
    assert render_registry_gzip(reg) is None
    assert render_registry(reg).endswith(b"x_total 1.0\n")


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("gzip", True),
        ("gzip, deflate", True),
        ("deflate, GZIP;q=0.5", True),
        ("gzip;q=0", False),
        ("gzip; q=0.0", False),
        ("gzip;q=zz", False),
        ("identity", False),
        ("", False),
    ],
)
def test_accept_encoding(header: str, ok: bool) -> None:
    assert accepts_gzip(header) is ok


def test_prometheus_reads_the_gzip_members(tmp_path) -> None:
    """A real Prometheus (asks for gzip) scrapes every series of the multi-member gzip answer."""
    from tests.services import prometheus

    an, sus = synthetic_analysis(800)
    reg = CollectorRegistry()
    col = AnalyzerCollector()
    reg.register(col)
    col.update(an, suspects=sus, samples_seen=11)
    asked: list[bool] = []
    parts = col.render_parts
    col.render_parts = lambda gz: asked.append(gz) or parts(gz)  # type: ignore[method-assign]
    want = sum(len(v) for v in parse(fresh_text(an, sus, 11).decode()).values())
    server, _ = serve(reg, 0)
    try:
        with prometheus(tmp_path, [f"127.0.0.1:{server.server_port}"]) as prom:
            got = prom.wait_for("scrape_samples_scraped > 0", timeout=60)
            margin = prom.wait_for("count(linkmargin_margin_db)", timeout=30)
    finally:
        server.shutdown()
    assert asked and all(asked)  # every scrape answered with the gzip members
    assert float(got[0]["value"][1]) == want
    assert float(margin[0]["value"][1]) == an.lanes["margin_db"].is_not_nan().sum()
