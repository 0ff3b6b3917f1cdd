"""The analyzer's /metrics at fleet scale: one HTTP GET of a scrape with N lanes, timed.

A synthetic :class:`~analyzer.analysis.Analysis` (N lanes, 8 per link, two horizons, a cohort table,
a suspect point per link) is handed to :class:`~analyzer.exporter.AnalyzerCollector` on a registry
served by :func:`linkmargin.exposition.http.serve` (what ``linkmargin analyze`` and ``linkmargin run``
serve), and scraped over loopback like Prometheus does.

The collector renders each analysis once (every family's text and gzip member, re-rendering only
the families whose rows changed), so the bench times that render apart, then cached scrapes
uncompressed and with ``Accept-Encoding: gzip`` (what Prometheus sends).

Run: ``POLARS_MAX_THREADS=1 .venv/bin/python bench/analyzer_scrape_bench.py --lanes 500000``.
Writes nothing; bench/results/analyzer.md records the numbers of a run.
"""

from __future__ import annotations

import argparse
import gzip
import os
import time
import urllib.request
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import polars as pl
from prometheus_client.registry import CollectorRegistry

from analyzer.analysis import Analysis
from analyzer.cohorts import CohortModel
from analyzer.exporter import AnalyzerCollector
from linkmargin.exposition.http import serve


def synthetic_analysis(n_lanes: int, lanes_per_link: int = 8, seed: int = 0) -> tuple[Analysis, pl.DataFrame]:
    """An analysis of ``n_lanes`` lanes with every exported column filled (a few NaN/null), and advice."""
    rng = np.random.default_rng(seed)
    n_links = n_lanes // lanes_per_link
    n = n_links * lanes_per_link
    link_i = np.repeat(np.arange(n_links), lanes_per_link)
    link = pl.Series("link", [f"L{i:06d}" for i in range(n_links)]).gather(link_i)

    def col(mu: float, sd: float) -> np.ndarray:
        v = rng.normal(mu, sd, n)
        v[rng.random(n) < 0.01] = np.nan  # unknowns the exporter leaves out
        return v

    lanes = pl.DataFrame(
        {
            "li": np.arange(n),
            "link": link,
            "device": [f"leaf{i // 32:04d}" for i in link_i],
            "port": [f"Ethernet{(i % 32) * 8}" for i in link_i],
            "lane": np.tile(np.arange(1, lanes_per_link + 1), n_links),
            "direction": "a",
            "margin_db": col(4.0, 1.0),
            "warn_margin_db": col(2.0, 1.0),
            "ber_margin_dec": col(3.0, 0.5),
            "ber_margin_db": col(3.0, 0.5),
            "rx_offset_db": col(0.0, 0.3),
            "drift_shrunk": col(-0.01, 0.01),
            "flaps": rng.poisson(0.01, n).astype(np.float64),
            "uncorrectable_rate": rng.exponential(1e-6, n),
        }
    )
    links = pl.DataFrame(
        {
            "link": [f"L{i:06d}" for i in range(n_links)],
            "link_margin_db": rng.normal(3.0, 1.0, n_links),
            "excess_loss_db": rng.normal(0.2, 0.3, n_links),
        }
    )
    forecasts: dict[str, pl.DataFrame] = {}
    lane_fc: dict[str, pl.DataFrame] = {}
    for h in ("7d", "21d"):
        lane_fc[h] = lanes.select("li", "link", "device", "port", "lane", "direction").with_columns(
            pl.Series("forecast_db", rng.normal(3, 1, n)),
            pl.Series("forecast_lo_db", rng.normal(2, 1, n)),
            pl.Series("p_cross", rng.uniform(0, 0.05, n)),
            pl.Series("days_to_cross", np.where(rng.random(n) < 0.1, rng.uniform(10, 5000, n), np.inf)),
        )
        forecasts[h] = lane_fc[h].group_by("link", maintain_order=True).first().drop("li")
    fams = ["LC", "MPO-12", "MPO-16", "*"]
    table = pl.DataFrame(
        {
            "family": fams,
            "termination": ["UPC", "APC", "APC", "*"],
            "p_step": [0.02, 0.05, 0.04, 0.03],
            "step_db": [0.5, 0.8, 0.7, 0.6],
            "drift_db_per_day": [-0.001, -0.002, np.nan, -0.001],
            "thermal_db_per_c": [0.01, 0.02, 0.015, 0.01],
            "matings": [100.0, 200.0, 50.0, 350.0],
        }
    )
    cohorts = CohortModel(table, pl.DataFrame(), pl.DataFrame())
    suspects = links.select(
        "link",
        pl.when(pl.int_range(pl.len()) % 7 == 0).then(pl.lit("patch-A:3")).alias("point"),
        pl.lit(None, dtype=pl.String).alias("optic"),
        pl.lit("contamination").alias("cause"),
        pl.lit("clean").alias("action"),
    )
    return Analysis(lanes, links, pl.DataFrame(), cohorts, forecasts, lane_fc), suspects


def _timed(label: str, fn: Callable[[], object]) -> None:
    t, c = time.perf_counter(), time.process_time()
    fn()
    print(f"{label}: {time.perf_counter() - t:.2f} s wall, {time.process_time() - c:.2f} s CPU")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lanes", type=int, default=500_000)
    ap.add_argument("--scrapes", type=int, default=3)
    a = ap.parse_args()
    print(f"POLARS_MAX_THREADS={os.environ.get('POLARS_MAX_THREADS', 'unset')}, load {os.getloadavg()}")
    an, suspects = synthetic_analysis(a.lanes)
    reg = CollectorRegistry()
    col = AnalyzerCollector(prerender=False)  # rendered below, timed apart from the scrapes
    reg.register(col)
    col.update(an, suspects=suspects, samples_seen=123)
    # what update() starts in the background after each pass (prerender): every family, text and gzip
    _timed("render on a new analysis, text (every family changed)", col.render_text)
    _timed("  + gzip members", col.prerender)
    moved = replace(an, lanes=an.lanes.with_columns(pl.col("margin_db") + 0.01, pl.col("drift_shrunk") * 1.1))
    col.update(moved, suspects=suspects, samples_seen=456)
    _timed("render + gzip on a new analysis, two per-lane families changed", col.prerender)
    parts = col.render_parts(False)
    for head, lines in zip(parts[1::2], parts[2::2], strict=True):
        name = head.split(b" ", 3)[2].decode()
        n = lines.count(b"\n")
        print(f"  {name}: {n:,} series, {len(lines) / 1e6:.1f} MB")
    server, _ = serve(reg, 0)
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    try:
        for enc in ("identity", "gzip"):
            req = urllib.request.Request(url, headers={"Accept-Encoding": enc})
            for i in range(a.scrapes):
                t, c = time.perf_counter(), time.process_time()
                with urllib.request.urlopen(req, timeout=600) as r:
                    body = r.read()
                dt, cpu = time.perf_counter() - t, time.process_time() - c
                text = gzip.decompress(body) if enc == "gzip" else body
                series = sum(1 for ln in text.splitlines() if ln and not ln.startswith(b"#"))
                print(
                    f"scrape {i + 1} ({enc}, cached): {a.lanes:,} lanes, {series:,} series,"
                    f" {len(body) / 1e6:.1f} MB on the wire in {dt:.2f} s wall,"
                    f" {cpu:.2f} s CPU (server and client), load {os.getloadavg()[0]:.1f}"
                )
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
