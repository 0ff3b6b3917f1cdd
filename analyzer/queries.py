"""History queries for capacity reviewers: lazy polars scans over the Parquet history.

The history is the collector's day-partitioned Parquet (``date=YYYY-MM-DD/part-*.parquet``, laid out
by :mod:`linkmargin.history`, which also says which files are readable); the same files are readable
as they are by DuckDB, Trino or Spark. Each query joins the samples with the analyzer's
:class:`~analyzer.spec.LinkSpec`, so margins and cohorts mean what the live analyzer means.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from analyzer.spec import LinkSpec
from analyzer.steps import detect_steps
from analyzer.trend import TrendFit, fit_trends, step_design
from linkmargin.history import Store, list_history, open_store
from linkmargin.samples import Metric


def scan_history(root: str | Path, *, since: date | None = None, until: date | None = None) -> pl.LazyFrame:
    """All samples under ``root`` (a directory or ``s3://bucket/prefix``) as one lazy frame.

    ``since``/``until`` (days, inclusive) prune by partition: only those days' files are listed and
    scanned. Unreadable files are skipped with one warning each (:func:`linkmargin.history.list_history`).
    The partition columns are not read: every column a query needs is in the files.
    """
    store, keys = _history_keys(root, since, until)
    return _scan(store, keys)


def scan_partitions(
    root: str | Path, *, since: date | None = None, until: date | None = None
) -> list[pl.LazyFrame]:
    """The samples under ``root`` as one lazy frame per partition directory (``date=D`` or
    ``date=D/group=NN``: one file each once compacted), in key order; ``since``/``until`` as in
    :func:`scan_history`.

    :func:`hourly` aggregates them one by one: an hour never spans two days, and a device stays in
    one group, so each partition's groups are whole (and partitions that break this are merged).
    """
    store, keys = _history_keys(root, since, until)
    by_dir: dict[str, list[str]] = {}
    for k in keys:
        by_dir.setdefault(k.rpartition("/")[0], []).append(k)
    return [_scan(store, ks) for _, ks in sorted(by_dir.items())]


def _history_keys(root: str | Path, since: date | None, until: date | None) -> tuple[Store, list[str]]:
    files = list_history(root, since=since, until=until)
    if not files.good:
        bad = f" but {len(files.bad)} unreadable ones" if files.bad else ""
        days = f" for {since or '...'} to {until or '...'}" if since or until else ""
        raise FileNotFoundError(f"no Parquet files under {root}{days}{bad}")
    store = files.store or open_store(root)
    return store, [store.key(p) for p in files.good]


def _scan(store: Store, keys: list[str]) -> pl.LazyFrame:
    sources, options = store.scan_source(keys)
    return pl.scan_parquet(
        sources, hive_partitioning=False, missing_columns="insert", storage_options=options
    )


def lane_margins(history: pl.LazyFrame, spec: LinkSpec) -> pl.LazyFrame:
    """Every Rx reading as a power margin (dB over the PMD sensitivity), with link and cohort."""
    lanes = spec.lanes.lazy().select("link", "device", "port", "lane", "direction", "sensitivity_dbm")
    cohort = spec.link_cohort().lazy()
    return (
        history.filter(pl.col("metric") == Metric.RX_POWER_DBM.value)
        .drop_nulls("value")
        .select("ts", "device", "port", "lane", "value")
        .join(lanes, on=["device", "port", "lane"], how="inner")
        .join(cohort, on="link", how="left")
        .with_columns((pl.col("value") - pl.col("sensitivity_dbm")).alias("margin_db"))
    )


def _keyed_lanes(spec: LinkSpec) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every lane of the spec with an integer id ``li`` (its row) and its cohort's id ``ci``; and the
    cohorts (``ci``, family, termination). The scans group by these integers, not by strings."""
    lanes = (
        spec.lanes.with_row_index("li")
        .select("li", "link", "device", "port", "lane", "sensitivity_dbm")
        .join(spec.link_cohort(), on="link", how="left")
    )
    cohorts = lanes.select("family", "termination").unique(maintain_order=True).with_row_index("ci")
    keyed = lanes.join(cohorts, on=["family", "termination"], how="left", nulls_equal=True)
    return keyed, cohorts


def _rx_margins(history: pl.LazyFrame, keyed: pl.DataFrame) -> pl.LazyFrame:
    """Rx readings of the spec's lanes as (ts, li, ci, margin_db): the one wide scan of both queries."""
    return (
        history.filter(pl.col("metric") == Metric.RX_POWER_DBM.value)
        .drop_nulls("value")
        .select("ts", "device", "port", "lane", "value")
        .join(
            keyed.lazy().select("li", "ci", "device", "port", "lane", "sensitivity_dbm"),
            on=["device", "port", "lane"],
            how="inner",
        )
        .select("ts", "li", "ci", (pl.col("value") - pl.col("sensitivity_dbm")).alias("margin_db"))
    )


def margin_by_cohort(history: pl.LazyFrame, spec: LinkSpec, every: str = "1mo") -> pl.DataFrame:
    """Margin by connector family x termination per period: median, 5th percentile, lanes, links.

    Exact order statistics in bounded memory, in two streaming passes over integer ids (a group of a
    month holds millions of readings; keeping them all to take the median cost 8.7 GB at 100 M,
    bench/history_bench.py): the first counts each group's readings per :data:`_BIN_DB` bin of
    margin (and collects its lane ids), which says in which bin each wanted rank falls; the second
    reads only the readings of those bins and picks the ranks. The median is half way between the
    two middle readings, the 5th percentile the nearest-rank one, as polars' own.
    """
    keyed, cohorts = _keyed_lanes(spec)
    group = ["period", "ci"]
    rows = _rx_margins(history, keyed).select(
        pl.col("ts").dt.truncate(every).alias("period"),
        "ci",
        "li",
        "margin_db",
        (pl.col("margin_db") / _BIN_DB).floor().cast(pl.Int64).alias("bin"),
    )
    bins, lanes = pl.collect_all(
        [
            rows.group_by(*group, "bin").agg(pl.len().alias("n")),
            rows.group_by(*group).agg(pl.col("li").unique().alias("_li")),
        ],
        engine="streaming",
    )
    n = pl.col("n").cast(pl.Int64).sum().over(group)
    wanted = pl.concat(  # the ranks (0-based, over the group sorted by margin) each statistic needs
        [
            bins.select(*group, ((n - 1) // 2).alias("rank"), pl.lit("lo").alias("stat")),
            bins.select(*group, (n // 2).alias("rank"), pl.lit("hi").alias("stat")),
            bins.select(
                *group,
                ((n - 1) * 0.05 + 0.5).floor().cast(pl.Int64).alias("rank"),
                pl.lit("p5").alias("stat"),
            ),
        ]
    ).unique()
    cum = bins.sort(*group, "bin").with_columns(
        pl.col("n").cast(pl.Int64).cum_sum().over(group).alias("upto")
    )
    where = (
        wanted.sort("rank")
        .join_asof(
            cum.sort("upto").with_columns((pl.col("upto") - pl.col("n")).alias("before")),
            left_on="rank",
            right_on="upto",
            by=group,
            strategy="forward",
            allow_exact_matches=False,
            check_sortedness=False,  # sorted by rank and by upto as a whole, so within each group too
        )
        .select(*group, "stat", "bin", (pl.col("rank") - pl.col("before")).alias("k"))
    )
    picked = (
        rows.join(where.select(*group, "bin").unique().lazy(), on=[*group, "bin"], how="semi")
        .group_by(*group, "bin")
        .agg(pl.col("margin_db").sort().alias("_v"))
        .collect(engine="streaming")
        .join(where, on=[*group, "bin"])
        .select(*group, "stat", pl.col("_v").list.get(pl.col("k")).alias("v"))
        .pivot("stat", index=group, values="v")
    )
    agg = picked.select(
        *group,
        (pl.col("lo") + (pl.col("hi") - pl.col("lo")) / 2).alias("median_margin_db"),
        pl.col("p5").alias("p5_margin_db"),
    ).join(lanes, on=group)
    counts = (
        agg.select(*group, "_li")
        .explode("_li")
        .join(keyed.select("li", "link"), left_on="_li", right_on="li")
        .group_by(*group)
        .agg(pl.col("_li").n_unique().alias("lanes"), pl.col("link").n_unique().alias("links"))
    )
    return (
        agg.drop("_li")
        .join(counts, on=group)
        .join(cohorts, on="ci")
        .select("period", "family", "termination", "median_margin_db", "p5_margin_db", "lanes", "links")
        .sort("period", "family", "termination")
    )


_BIN_DB = 1 / 1024
"""Width of the margin bins the cohort query counts readings in (dB): a bin holds few readings, so
the second pass reads few."""


MIN_TREND_HOURS = 12
"""Hours with readings a lane needs before its trend means anything: with the module temperature as
a regressor, half a daily cycle keeps the thermal swing out of the slope."""
TREND_Z = 2.0
"""A lane is heading to zero only if its slope is below zero by this many standard errors."""


@dataclass(frozen=True, slots=True)
class Trending:
    """Lanes already below zero margin and lanes heading there, and why the list is empty if it is."""

    lanes: pl.DataFrame
    note: str | None
    span_hours: int
    fitted: int


def trending(
    history: pl.LazyFrame | Sequence[pl.LazyFrame],
    spec: LinkSpec,
    within_days: float = 30.0,
    *,
    lookback_days: float = 30.0,
) -> Trending:
    """Lanes below zero margin now, and lanes whose margin trends to zero within ``within_days``.

    The trend is the analyzer's (:mod:`analyzer.trend`): a robust fit to hourly medians of the last
    ``lookback_days`` with the module's temperature and every detected loss step
    (:mod:`analyzer.steps`) as regressors, so neither a mating step nor the daily swing reads as a
    slope. ``margin_now_db`` is the fitted level at the lane's last hour (after its steps);
    ``days_to_zero`` extrapolates it along the slope (0 for a lane already below zero). A lane
    heads to zero only when its slope is below zero by :data:`TREND_Z` standard errors.
    """
    lanes = spec.lanes.with_row_index("li").select("li", "device", "port", "lane")
    scans = hourly(history, spec)
    rx = scans.rx
    keys = ["link", "device", "port", "lane", "direction", "family", "termination"]
    cols = [
        "status",
        *keys,
        "margin_now_db",
        "slope_db_per_day",
        "slope_se",
        "steps",
        "hours",
        "days_to_zero",
    ]
    if rx.height == 0:
        none = (
            _trend_frame(spec, keys, None)
            .head(0)
            .with_columns(
                pl.lit(None, pl.String).alias("status"),
                pl.lit(0, pl.Int64).alias("steps"),
                pl.lit(None, pl.Float64).alias("days_to_zero"),
            )
        )
        why = "no Rx power readings of the inventory's lanes in the history (do device and port names match?)"
        return Trending(none.select(cols), why, 0, 0)
    last = int(rx["hour"].max())  # type: ignore[arg-type]
    first = max(int(rx["hour"].min()), last - int(lookback_days * 24) + 1)  # type: ignore[arg-type]
    n_hours = last - first + 1
    rx = rx.filter(pl.col("hour") >= first)
    y = np.full((spec.lanes.height, n_hours), np.nan)
    y[rx["li"].to_numpy(), rx["hour"].to_numpy() - first] = rx["margin_db"].to_numpy()
    temp = np.full_like(y, np.nan)
    tk = scans.temp.filter(pl.col("hour") >= first).join(lanes, on=["device", "port"])
    temp[tk["li"].to_numpy(), tk["hour"].to_numpy() - first] = tk["value"].to_numpy()
    has_temp = np.isfinite(temp).any()
    steps = detect_steps(y, temp if has_temp else None)
    pairs = list(zip(steps["li"].to_list(), steps["hour_idx"].to_list(), strict=True))
    fit = fit_trends(y, temp if has_temp else None, steps=step_design(y.shape[0], n_hours, pairs))
    n_steps = np.bincount(steps["li"].to_numpy().astype(np.int64), minlength=y.shape[0])
    enough = (fit.n_hours >= MIN_TREND_HOURS) & np.isfinite(fit.drift_db_per_day)
    table = _trend_frame(spec, keys, fit).with_columns(pl.Series("steps", n_steps), pl.Series("ok", enough))
    fitted = int(enough.sum())
    slope, se, m = pl.col("slope_db_per_day"), pl.col("slope_se"), pl.col("margin_now_db")
    out = (
        table.filter(pl.col("ok"))
        .with_columns(
            pl.when(m <= 0)
            .then(pl.lit("below zero"))
            .when((slope + TREND_Z * se < 0) & (-m / slope <= within_days))
            .then(pl.lit("heading to zero"))
            .alias("status"),
            pl.when(m <= 0).then(0.0).otherwise(-m / slope).alias("days_to_zero"),
        )
        .drop_nulls("status")
        .sort(pl.col("status") != "below zero", "days_to_zero", "margin_now_db")
        .select(
            "status", *keys, "margin_now_db", "slope_db_per_day", "slope_se", "steps", "hours", "days_to_zero"
        )
    )
    note: str | None = None
    if fitted == 0:
        note = (
            f"a trend needs {MIN_TREND_HOURS} hours of readings per lane; "
            f"the history spans {n_hours} hour{'s' if n_hours != 1 else ''}"
        )
    elif out.height == 0:
        note = (
            f"none of the {fitted} lanes with a trend is below zero "
            f"or heading there within {within_days:g} days"
        )
    elif fitted < table.height:
        short = table.height - fitted
        note = f"{short} lanes have fewer than {MIN_TREND_HOURS} hours of readings and are left out"
    return Trending(out, note, n_hours, fitted)


@dataclass(frozen=True, slots=True)
class Hourly:
    """The two hourly scans :func:`trending` fits: the median margin of each lane (``li``: its row in
    ``spec.lanes``) and hour (epoch hours), with the lane's device, port and lane; and the mean module
    temperature of each port (``device``, ``port``) and hour."""

    rx: pl.DataFrame
    temp: pl.DataFrame


@dataclass(frozen=True, slots=True)
class _Part:
    """One part's hourly medians (li, hour, margin_db) and temperatures (device, port, hour, value),
    the first and last hour it holds, and its devices."""

    rx: pl.DataFrame
    temp: pl.DataFrame
    first: int
    last: int
    devices: frozenset[str]


def hourly(history: pl.LazyFrame | Sequence[pl.LazyFrame], spec: LinkSpec) -> Hourly:
    """The hourly median margins and mean temperatures over ``history``: one lazy frame, or its
    partitions (:func:`scan_partitions`), aggregated each on its own, two at a time.

    The medians are taken by one sort of each part's rows (:func:`_medians`), not by polars'
    group-by median, which is slow over millions of groups of a few values; small parts keep the
    sort in the cache and memory bounded (bench/history_bench.py). A group must not continue from one
    part into another: parts that hold the same device in overlapping hours (a device that changed
    group, a file outside the day partitions) are aggregated again as one, so the answer does not
    depend on how the history is cut.
    """
    parts = [history] if isinstance(history, pl.LazyFrame) else list(history)
    if not parts:
        raise ValueError("hourly() needs at least one part of the history")
    keyed, _ = _keyed_lanes(spec)
    devices = keyed["device"].to_numpy()
    workers = min(len(parts), max(pl.thread_pool_size(), 1))
    with ThreadPoolExecutor(workers) as pool:
        done = list(pool.map(lambda p: _hourly_part(p, keyed, devices), parts))
    out = []
    for cluster in _overlapping(done):
        if len(cluster) == 1:
            out.append(done[cluster[0]])
        else:
            merged = pl.concat([parts[i] for i in cluster], how="diagonal_relaxed")
            out.append(_hourly_part(merged, keyed, devices))
    out = out or done[:1]  # no rows at all: the first part's empty frames
    rx = pl.concat([o.rx for o in out]).join(keyed.select("li", "device", "port", "lane"), on="li")
    return Hourly(rx, pl.concat([o.temp for o in out]))


def _overlapping(done: list[_Part]) -> list[list[int]]:
    """The parts (indices) to aggregate together: those sharing a device in overlapping hours, joined
    transitively; each part with rows is in exactly one cluster."""
    parent = list(range(len(done)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    order = sorted((i for i, d in enumerate(done) if d.devices), key=lambda i: done[i].first)
    for n, i in enumerate(order):
        for j in order[n + 1 :]:
            if done[j].first > done[i].last:
                break
            if done[i].devices & done[j].devices:
                parent[root(j)] = root(i)
    clusters: dict[int, list[int]] = {}
    for i in order:
        clusters.setdefault(root(i), []).append(i)
    return [sorted(c) for c in clusters.values()]


def _hourly_part(part: pl.LazyFrame, keyed: pl.DataFrame, devices: np.ndarray) -> _Part:
    hour = (pl.col("ts").dt.epoch("s") // 3600).alias("hour")
    rx, temp = pl.collect_all(  # one read of the part for both
        [
            _rx_margins(part, keyed).select("li", hour, "margin_db"),
            part.filter((pl.col("metric") == Metric.TEMPERATURE_C.value) & pl.col("lane").is_null())
            .drop_nulls("value")
            .group_by("device", "port", hour)
            .agg(pl.col("value").mean()),
        ]
    )
    medians = _medians(rx["li"].to_numpy(), rx["hour"].to_numpy(), rx["margin_db"].to_numpy())
    hours = pl.concat([medians["hour"], temp["hour"]])
    names = frozenset(devices[medians["li"].unique().to_numpy()].tolist()) | frozenset(
        temp["device"].unique()
    )
    return _Part(
        medians,
        temp,
        int(hours.min() or 0),  # type: ignore[arg-type]
        int(hours.max() or 0),  # type: ignore[arg-type]
        names,
    )


def _medians(li: np.ndarray, hour: np.ndarray, value: np.ndarray) -> pl.DataFrame:
    """The median ``value`` of each (``li``, ``hour``), by one sort of one 64-bit key per row.

    The key packs the group (lane x hour, dense over the part's hours) above the value's rank in the
    part, so sorting the keys sorts the rows by group and, within a group, by value; a group's
    median is then its middle row (half way between the two middle ones for an even count), found by the
    group's offset and count. Exactly polars' and DuckDB's median, in a fraction of a hash group-by's
    time. A part too large to pack (more than 2**63 lane-hours x rows) falls back to polars.
    """
    n = value.size
    schema = {"li": pl.UInt32, "hour": pl.Int64, "margin_db": pl.Float64}
    if n == 0:
        return pl.DataFrame(schema=schema)
    first = int(hour.min())
    span = int(hour.max()) - first + 1
    rank_bits = max((n - 1).bit_length(), 1)
    if ((int(li.max()) + 1) * span - 1).bit_length() + rank_bits > 63:
        frame = pl.DataFrame({"li": li, "hour": hour, "margin_db": value}, schema=schema)
        return frame.group_by("li", "hour").agg(pl.col("margin_db").median())
    by_value = np.argsort(value)
    key = li.astype(np.int64)  # lane x hour, then shifted above the value's rank (in place: no copies)
    key *= span
    key += hour
    key -= first
    key <<= rank_bits
    rank = np.empty(n, dtype=np.int64)
    rank[by_value] = np.arange(n, dtype=np.int64)
    key |= rank
    key.sort()
    ordered = value[by_value[key & ((1 << rank_bits) - 1)]]
    key >>= rank_bits
    change = np.empty(n, dtype=np.bool_)
    change[0] = True
    np.not_equal(key[1:], key[:-1], out=change[1:])
    start = np.flatnonzero(change)
    count = np.diff(start, append=n)
    low, high = ordered[start + (count - 1) // 2], ordered[start + count // 2]
    median = low + (high - low) / 2  # as polars interpolates (the mean of the two can differ in the last bit)
    group = key[start]
    return pl.DataFrame(
        {"li": (group // span).astype(np.uint32), "hour": group % span + first, "margin_db": median},
        schema=schema,
    )


def _trend_frame(spec: LinkSpec, keys: list[str], fit: TrendFit | None) -> pl.DataFrame:
    """Every lane of the spec with its cohort and the fit's slope, its error, level and hours."""
    base = spec.lanes.select("link", "device", "port", "lane", "direction").join(
        spec.link_cohort(), on="link", how="left"
    )
    n = base.height
    nan = np.full(n, np.nan)
    return base.select(keys).with_columns(
        pl.Series("slope_db_per_day", nan if fit is None else fit.drift_db_per_day).fill_nan(None),
        pl.Series("slope_se", nan if fit is None else fit.drift_se).fill_nan(None),
        pl.Series("margin_now_db", nan if fit is None else fit.level_db).fill_nan(None),
        pl.Series("hours", np.zeros(n, dtype=np.int64) if fit is None else fit.n_hours.astype(np.int64)),
    )


def sql(history: pl.LazyFrame, spec: LinkSpec, query: str) -> pl.DataFrame:
    """Run SQL over tables ``samples``, ``margins``, ``lanes``, ``points`` and ``events``."""
    ctx = pl.SQLContext(
        {
            "samples": history,
            "margins": lane_margins(history, spec),
            "lanes": spec.lanes.lazy(),
            "points": spec.points.lazy(),
            "events": spec.events.lazy(),
        }
    )
    return ctx.execute(query, eager=True)
