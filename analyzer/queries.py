"""History queries for capacity reviewers: lazy polars scans over the Parquet history.

The history is the collector's day-partitioned Parquet (``date=YYYY-MM-DD/part-*.parquet``, laid out
by :mod:`linkmargin.history`, which also says which files are readable); the same files are readable
as they are by DuckDB, Trino or Spark. Each query joins the samples with the analyzer's
:class:`~analyzer.spec.LinkSpec`, so margins and cohorts mean what the live analyzer means.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from analyzer.spec import LinkSpec
from linkmargin.history import list_history
from linkmargin.samples import Metric


def scan_history(root: str | Path) -> pl.LazyFrame:
    """All samples under ``root`` as one lazy frame (the partition column is dropped).

    Unreadable files are skipped with one warning each (:func:`linkmargin.history.list_history`).
    """
    files = list_history(root)
    if not files.good:
        bad = f" but {len(files.bad)} unreadable ones" if files.bad else ""
        raise FileNotFoundError(f"no Parquet files under {root}{bad}")
    return pl.scan_parquet(files.good, hive_partitioning=False, missing_columns="insert")


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


def margin_by_cohort(history: pl.LazyFrame, spec: LinkSpec, every: str = "1mo") -> pl.DataFrame:
    """Margin by connector family x termination per period: median, 5th percentile, lanes, links."""
    return (
        lane_margins(history, spec)
        .with_columns(pl.col("ts").dt.truncate(every).alias("period"))
        .group_by("period", "family", "termination")
        .agg(
            pl.col("margin_db").median().alias("median_margin_db"),
            pl.col("margin_db").quantile(0.05).alias("p5_margin_db"),
            pl.struct("device", "port", "lane").n_unique().alias("lanes"),
            pl.col("link").n_unique().alias("links"),
        )
        .sort("period", "family", "termination")
        .collect()
    )


def trending(history: pl.LazyFrame, spec: LinkSpec, within_days: float = 30.0) -> pl.DataFrame:
    """Lanes whose daily-median margin falls fast enough to reach zero within ``within_days``.

    The slope is a least-squares fit to daily medians (medians keep the daily thermal swing and
    single bad readings out); ``days_to_zero`` extrapolates the last day's margin along it.
    """
    daily = (
        lane_margins(history, spec)
        .with_columns(pl.col("ts").dt.truncate("1d").alias("day"))
        .group_by("link", "device", "port", "lane", "direction", "family", "termination", "day")
        .agg(pl.col("margin_db").median())
        .with_columns(((pl.col("day") - pl.col("day").min()).dt.total_seconds() / 86400).alias("x"))
    )
    keys = ["link", "device", "port", "lane", "direction", "family", "termination"]
    x, y = pl.col("x"), pl.col("margin_db")
    fit = (
        daily.group_by(keys)
        .agg(
            pl.len().alias("days"),
            (((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()).alias("slope_db_per_day"),
            y.sort_by("x").last().alias("margin_now_db"),
        )
        .filter(pl.col("days") >= 3)
        .with_columns((-pl.col("margin_now_db") / pl.col("slope_db_per_day")).alias("days_to_zero"))
        .filter((pl.col("slope_db_per_day") < 0) & (pl.col("days_to_zero") <= within_days))
        .sort("days_to_zero")
    )
    return fit.collect()


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
