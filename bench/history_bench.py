"""History queries at scale: ``query cohorts`` and ``query trending`` (analyzer/queries.py) over 100 M
lane-samples, side by side with DuckDB on the same Parquet files in the same run.

Run: ``.venv/bin/python bench/history_bench.py`` (defaults: 2048 ports x 8 lanes, 32 days, a poll
every 7.5 min: 100,663,296 Rx lane-samples plus 12.6 M module temperatures, in
``var/bench-history``, generated once, deterministic, not tracked in git). ``--ports 256 --days 4``
for a quick run. The data is written in the history's own layout (:mod:`linkmargin.history`, the
object-store layout ``date=D/group=NN``, one file per day and device group as compaction leaves it).

Each round times, for each query, polars (the code ``linkmargin query`` runs) and DuckDB (the same
question in SQL over ``read_parquet``), alternating which goes first, so machine load (2 shared
cores here) hits both alike; the ratio polars/DuckDB is taken per round and its median reported.
``trending``'s engine part is its two scans (hourly median margin per lane, hourly mean temperature
per port); its fit (numpy, the same whichever engine aggregated) is timed separately. Both engines'
answers are compared before anything is timed. Writes nothing but the data; bench/results/history.md
records the numbers of a run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import duckdb
import numpy as np
import polars as pl

from analyzer import queries
from analyzer.spec import LinkSpec
from linkmargin import history
from linkmargin.samples import conform

T0 = datetime(2026, 1, 15, tzinfo=UTC)
GROUPS = 16
LANES = 8
SENS = -8.0
FAMILIES = [("MTP-16", "factory"), ("MMC", "field"), ("LC", "factory"), ("MTP-16", "field")]


def fleet(n_ports: int) -> LinkSpec:
    """``n_ports`` receiving ports of 8 lanes, one link each, 64 ports per leaf, four cohorts."""
    port = np.repeat(np.arange(n_ports), LANES)
    lanes = pl.DataFrame(
        {
            "link": [f"L{p}" for p in port],
            "device": [f"leaf{p // 64}" for p in port],
            "port": [f"Ethernet{p % 64}" for p in port],
            "lane": np.tile(np.arange(1, LANES + 1), n_ports),
            "direction": "rx",
            "far_device": [f"spine{p // 64}" for p in port],
            "far_port": [f"Ethernet{p % 64}" for p in port],
            "sensitivity_dbm": SENS,
            "fec_limit_ber": 2.4e-4,
            "lane_rate_bps": 53.125e9,
        }
    )
    fam = [FAMILIES[p % len(FAMILIES)] for p in range(n_ports)]
    points = pl.DataFrame(
        {
            "link": [f"L{p}" for p in range(n_ports)],
            "point": [f"L{p}-p" for p in range(n_ports)],
            "position": 1,
            "family": [f for f, _ in fam],
            "termination": [t for _, t in fam],
        }
    )
    return LinkSpec.build(lanes, points)


def generate(root: Path, spec: LinkSpec, days: int, polls_per_day: int) -> int:
    """Write ``days`` days of polls in the history layout; returns the Rx lane-samples written."""
    store = history.LocalStore(root)
    lanes = spec.lanes.select("device", "port", "lane")
    ports = lanes.select("device", "port").unique(maintain_order=True)
    n_lanes = lanes.height
    base = np.random.default_rng(0).normal(3.0, 1.0, n_lanes)  # margin over the sensitivity, dB
    drift = np.where(np.random.default_rng(1).random(n_lanes) < 0.02, -0.05, 0.0)  # dB/day, 2 % of lanes
    port_off = np.random.default_rng(2).normal(0.0, 2.0, ports.height)
    lane_port = lanes.join(ports.with_row_index("pi"), on=["device", "port"], how="left")["pi"].to_numpy()
    step = 86400 / polls_per_day
    rx_total = 0
    for d in range(days):
        rng = np.random.default_rng(100 + d)
        t = np.arange(polls_per_day) * step + d * 86400.0  # seconds since T0
        temp = 40.0 + 8.0 * np.sin(2 * np.pi * t / 86400)[:, None] + port_off[None, :]  # polls x ports
        rx = (
            SENS
            + base[None, :]
            + drift[None, :] * (t / 86400)[:, None]
            - 0.02 * (temp[:, lane_port] - 40.0)
            + rng.normal(0.0, 0.02, (polls_per_day, n_lanes))
        )
        ts = pl.Series("ts", (T0.timestamp() + t) * 1e6).cast(pl.Int64).cast(pl.Datetime("us", "UTC"))
        times = ts.to_frame().with_row_index("poll")
        rx_f = times.join(lanes.with_row_index("li"), how="cross").with_columns(
            pl.lit("rx_power_dbm").alias("metric"), pl.Series("value", rx.ravel())
        )
        t_f = times.join(ports, how="cross").with_columns(
            pl.lit("temperature_c").alias("metric"), pl.Series("value", temp.ravel())
        )
        frame = conform(pl.concat([rx_f.drop("poll", "li"), t_f.drop("poll")], how="diagonal"))
        frame = frame.with_columns(history.device_group(frame["device"], GROUPS).alias("_g"))
        for (g,), part in frame.group_by("_g", maintain_order=True):
            key = history.partition_key((T0 + timedelta(days=d)).date(), int(g))
            store.write(part.drop("_g").sort("ts", "device", "port", "lane"), f"{key}/{history.new_name(1)}")
        rx_total += rx.size
        print(f"  day {d + 1}/{days}: {frame.height:,} rows", flush=True)
    return rx_total


# --- the same questions in DuckDB --------------------------------------------------------------


def duck(root: Path, spec: LinkSpec) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    lanes = spec.lanes.select("link", "device", "port", "lane", "sensitivity_dbm").to_arrow()
    cohort = spec.link_cohort().to_arrow()
    con.register("lanes", lanes)
    con.register("cohort", cohort)
    glob = str(root / "**" / "*.parquet")
    con.execute(f"CREATE VIEW samples AS SELECT * FROM read_parquet('{glob}', hive_partitioning = false)")
    return con


COHORTS_SQL = """
SELECT date_trunc('month', s.ts) AS period, c.family, c.termination,
       median(s.value - l.sensitivity_dbm) AS median_margin_db,
       quantile_cont(s.value - l.sensitivity_dbm, 0.05) AS p5_margin_db,
       count(DISTINCT (s.device, s.port, s.lane)) AS lanes,
       count(DISTINCT l.link) AS links
FROM samples s JOIN lanes l ON s.device = l.device AND s.port = l.port AND s.lane = l.lane
LEFT JOIN cohort c ON c.link = l.link
WHERE s.metric = 'rx_power_dbm' AND s.value IS NOT NULL
GROUP BY ALL ORDER BY ALL
"""

HOURLY_RX_SQL = """
SELECT s.device, s.port, s.lane, epoch(s.ts)::BIGINT // 3600 AS hour,
       median(s.value - l.sensitivity_dbm) AS margin_db
FROM samples s JOIN lanes l ON s.device = l.device AND s.port = l.port AND s.lane = l.lane
WHERE s.metric = 'rx_power_dbm' AND s.value IS NOT NULL
GROUP BY ALL
"""

HOURLY_TEMP_SQL = """
SELECT device, port, epoch(ts)::BIGINT // 3600 AS hour, avg(value) AS value
FROM samples
WHERE metric = 'temperature_c' AND lane IS NULL AND value IS NOT NULL AND epoch(ts)::BIGINT // 3600 >= $first
GROUP BY ALL
"""


def duck_cohorts(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return con.sql(COHORTS_SQL).pl()


def duck_trending(con: duckdb.DuckDBPyConnection, first: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    return con.sql(HOURLY_RX_SQL).pl(), con.sql(HOURLY_TEMP_SQL.replace("$first", str(first))).pl()


def polars_cohorts(root: Path, spec: LinkSpec) -> pl.DataFrame:
    return queries.margin_by_cohort(queries.scan_history(root), spec, "1mo")


def polars_trending(root: Path, spec: LinkSpec, first: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    scans = queries.hourly(queries.scan_partitions(root), spec)  # as queries.trending reads them
    return scans.rx, scans.temp.filter(pl.col("hour") >= first)


def check(out: dict[str, dict[str, object]]) -> None:
    """Both engines gave the same answers (round 1's results, compared outside the timing)."""
    a, b = out["cohorts"]["polars"], out["cohorts"]["duckdb"]
    assert isinstance(a, pl.DataFrame) and isinstance(b, pl.DataFrame)
    assert a.height == b.height, (a, b)
    for col in ("lanes", "links"):
        assert a[col].to_list() == b[col].cast(pl.UInt32).to_list(), col
    assert np.allclose(a["median_margin_db"], b["median_margin_db"], atol=1e-9)
    assert np.allclose(a["p5_margin_db"], b["p5_margin_db"], atol=1e-3)  # nearest vs interpolated
    keys = ["device", "port", "lane", "hour"]
    pr, pt = cast(tuple[pl.DataFrame, pl.DataFrame], out["trending"]["polars"])
    dr, dt = cast(tuple[pl.DataFrame, pl.DataFrame], out["trending"]["duckdb"])
    j = pr.join(dr.with_columns(pl.col("lane").cast(pl.Int8)), on=keys, how="full", coalesce=True)
    assert pr.height == dr.height == j.height and np.allclose(j["margin_db"], j["margin_db_right"], atol=1e-9)
    assert pt.height == dt.height and np.isclose(float(pt["value"].sum()), float(dt["value"].sum()))


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=Path("var/bench-history"))
    ap.add_argument("--ports", type=int, default=2048)
    ap.add_argument("--days", type=int, default=32)
    ap.add_argument("--polls-per-day", type=int, default=192)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    spec = fleet(a.ports)
    params = {"ports": a.ports, "days": a.days, "polls_per_day": a.polls_per_day, "groups": GROUPS}
    marker = a.root / "bench-params.json"
    if not marker.exists() or json.loads(marker.read_text()) != params:
        if a.root.exists():
            import shutil

            shutil.rmtree(a.root)
        print(f"generating {a.root} ...", flush=True)
        t = time.perf_counter()
        rx = generate(a.root, spec, a.days, a.polls_per_day)
        print(f"generated {rx:,} Rx lane-samples in {time.perf_counter() - t:.0f} s")
        marker.write_text(json.dumps(params))
    files = history.list_history(a.root)
    size = sum(Path(p).stat().st_size for p in files.good)
    rx_rows = a.ports * LANES * a.days * a.polls_per_day
    print(
        f"data: {files.rows:,} rows ({rx_rows:,} Rx lane-samples), {len(files.good)} files, "
        f"{size / 2**30:.2f} GiB; polars {pl.__version__}, duckdb {duckdb.__version__}, "
        f"POLARS_MAX_THREADS={os.environ.get('POLARS_MAX_THREADS', '-')}, cores {os.cpu_count()}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    con = duck(a.root, spec)
    last_hour = int((T0 + timedelta(days=a.days)).timestamp() // 3600) - 1
    first = max(int(T0.timestamp() // 3600), last_hour - 30 * 24 + 1)  # trending's 30-day lookback
    runs: dict[str, dict[str, list[float]]] = {"cohorts": {}, "trending": {}}
    jobs: dict[str, dict[str, Callable[[], object]]] = {
        "cohorts": {"polars": lambda: polars_cohorts(a.root, spec), "duckdb": lambda: duck_cohorts(con)},
        "trending": {
            "polars": lambda: polars_trending(a.root, spec, first),
            "duckdb": lambda: duck_trending(con, first),
        },
    }
    first_out: dict[str, dict[str, object]] = {"cohorts": {}, "trending": {}}
    for r in range(a.rounds):
        for q, engines in jobs.items():
            order = list(engines) if r % 2 == 0 else list(reversed(engines))
            for e in order:
                s, out = timed(engines[e])
                if r == 0:
                    first_out[q][e] = out
                del out
                runs[q].setdefault(e, []).append(s)
                load = os.getloadavg()[0]
                print(f"  round {r + 1} {q:8s} {e:6s} {s:7.2f} s  (load {load:.1f})", flush=True)
        if r == 0:
            check(first_out)
            first_out.clear()
            print("  answers agree", flush=True)
    fit, _ = timed(lambda: queries.trending(queries.scan_partitions(a.root), spec, 30.0))
    print(
        "\n| query | polars s (median) | DuckDB s (median) | ratio polars/DuckDB per round | median ratio |"
    )
    print("|---|---|---|---|---|")
    for q, by in runs.items():
        ratios = [p / d for p, d in zip(by["polars"], by["duckdb"], strict=True)]
        print(
            f"| {q} | {statistics.median(by['polars']):.2f} | {statistics.median(by['duckdb']):.2f} | "
            f"{', '.join(f'{x:.2f}' for x in ratios)} | **{statistics.median(ratios):.2f}** |"
        )
    print(f"\nfull `query trending` (scans + fit, polars), once: {fit:.2f} s")


if __name__ == "__main__":
    main()
