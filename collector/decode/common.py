"""Normalization shared by every layout: sentinels, no-light floors, units, thresholds, port state.

All functions take and return polars frames, eager or lazy (a poll chains them lazily and collects
once: polars' cost at these sizes is per operation); no per-row Python.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

import polars as pl
from pydantic import AfterValidator

from linkmargin.samples import METRIC_NAMES, Metric, Reason
from linkmargin.yamlcheck import did_you_mean

# Values agents use for "no reading" (RFC 3433 entPhySensorValue range; librenms Comware dbm):
# RFC 3433 clamp +-1e9, Comware/Integer32 max, and Integer32 min some agents use the same way.
SENTINELS = [1e9, -1e9, 2147483647.0, -2147483648.0]
DBM_FLOOR = -40.0  # DOM floor = "no light" (Cisco -40.0 dBm, librenms#1065 [V])
POWER_METRICS = ("rx_power_dbm", "tx_power_dbm")
F = TypeVar("F", pl.DataFrame, pl.LazyFrame)
DOM_METRICS = (
    Metric.RX_POWER_DBM.value,
    Metric.TX_POWER_DBM.value,
    Metric.TX_BIAS_MA.value,
    Metric.TEMPERATURE_C.value,
    Metric.LASER_TEMPERATURE_C.value,
    Metric.VOLTAGE_V.value,
)


def _known_metric(name: str) -> str:
    if name not in METRIC_NAMES:
        raise ValueError(f"unknown metric {name!r}{did_you_mean(name, METRIC_NAMES)}")
    return name


# a profile field naming a sample metric (one of linkmargin.samples.Metric)
MetricName = Annotated[str, AfterValidator(_known_metric)]


def reason_lit(r: Reason) -> pl.Expr:
    """A literal Reason as a string expression (cast to the enum by ``conform``)."""
    return pl.lit(r.value, dtype=pl.String)


def null_if(frame: F, cond: pl.Expr, reason: Reason) -> F:
    """Where ``cond`` holds and no reason is set yet: value -> null, reason -> ``reason``."""
    hit = cond.fill_null(False) & pl.col("reason").is_null()
    return frame.with_columns(
        pl.when(hit).then(None).otherwise(pl.col("value")).alias("value"),
        pl.when(hit).then(reason_lit(reason)).otherwise(pl.col("reason")).alias("reason"),
    )


def is_power(metric_col: str = "metric") -> pl.Expr:
    """Power readings and their thresholds (everything in dBm)."""
    return pl.col(metric_col).cast(pl.String).str.contains("power_dbm")


def dbm_floor(frame: F) -> F:
    """Power at or below the DOM floor is no light, not a number (readings only, not thresholds)."""
    m = pl.col("metric").cast(pl.String)
    return null_if(frame, m.is_in(POWER_METRICS) & (pl.col("value") <= DBM_FLOOR), Reason.NO_LIGHT)


def validate_thresholds(frame: F) -> F:
    """Drop (null + BOGUS_THRESHOLD) impossible thresholds: -inf/absent, all-zero sets, low above high.

    A set is the thresholds of one quantity on one (device, port, lane).
    """
    m = pl.col("metric").cast(pl.String)
    is_thr = m.str.starts_with("thr_")
    qty = m.str.extract(r"^thr_(.+)_(?:high|low)_(?:alarm|warn)$", 1)
    f = frame.with_columns(qty.alias("_q"), m.str.contains("_high_").alias("_hi"))
    keys: list[str] = ["device", "port", "lane", "_q"]
    grp = (
        f.filter(is_thr & pl.col("value").is_not_null())
        .group_by(keys)
        .agg(
            (pl.col("value") == 0).all().alias("_allzero"),
            pl.col("value").filter(~pl.col("_hi")).max().alias("_lowmax"),
            pl.col("value").filter(pl.col("_hi")).min().alias("_highmin"),
        )
        .with_columns(
            (pl.col("_allzero") | (pl.col("_lowmax") > pl.col("_highmin")).fill_null(False)).alias("_bogus")
        )
        .select([*keys, "_bogus"])
    )
    f = f.join(grp, on=keys, how="left", nulls_equal=True)
    f = null_if(f, is_thr & pl.col("_bogus"), Reason.BOGUS_THRESHOLD)
    # a power threshold at the floor or non-finite is "not set", not a limit
    f = null_if(
        f,
        is_thr & (~pl.col("value").is_finite() | (is_power() & (pl.col("value") <= DBM_FLOOR))),
        Reason.BOGUS_THRESHOLD,
    )
    return f.drop("_q", "_hi", "_bogus")


def mark_port_state(samples: F, state: pl.DataFrame) -> F:
    """Absent DOM readings on admin-down ports get ADMIN_DOWN, on oper-down ports DARK_PORT.

    ``state``: (port, admin_status, oper_status). Readings that have a value keep it.
    """
    if state.is_empty():
        return samples
    st = state.select("port", "admin_status", "oper_status")
    f = samples.join(st.lazy() if isinstance(samples, pl.LazyFrame) else st, on="port", how="left")
    dom = pl.col("metric").cast(pl.String).is_in(DOM_METRICS) & pl.col("value").is_null()
    admin_down = dom & (pl.col("admin_status") == 2)
    dark = dom & (pl.col("admin_status") == 1) & (pl.col("oper_status") != 1)
    f = f.with_columns(
        pl.when(admin_down)
        .then(reason_lit(Reason.ADMIN_DOWN))
        .when(dark & (pl.col("reason") == Reason.NO_LIGHT.value))
        .then(reason_lit(Reason.DARK_PORT))
        .otherwise(pl.col("reason"))
        .alias("reason")
    )
    return f.drop("admin_status", "oper_status")
