"""Layout ``ifindex``: tables indexed by ifIndex (optionally ifIndex.lane) — IF-MIB, EtherLike,
IEEE8023-MAU FEC, ARISTA-PHY-MIB, JUNIPER-DOM module and lane tables."""

from __future__ import annotations

import polars as pl

from collector.decode.common import SENTINELS, null_if
from collector.profile import Table
from collector.tables import to_long, to_wide
from collector.transport.base import VarBinds
from linkmargin.samples import Reason


def decode(table: Table, vb: VarBinds) -> pl.DataFrame:
    """Long samples (ifindex, lane, metric, value, counter, counter_bits, aggregate, reason) + labels.

    Label columns (if_name ...) come back as metric-less rows with ``label``/``text`` set.
    """
    long = to_long(vb, table.root)
    names = {c.num: (c.metric or c.name or str(c.num)) for c in table.columns}
    kinds = {(c.metric or c.name or str(c.num)): c.kind for c in table.columns}
    wide = to_wide(long, names, kinds)
    index = table.spec.get("index", "ifindex")
    parts = pl.col("idx").str.split(".")
    wide = wide.with_columns(
        parts.list.get(0, null_on_oob=True).cast(pl.Int64, strict=False).alias("ifindex")
    )
    lane_base = int(table.spec.get("lane_base", 1))
    if index == "ifindex.lane":
        sub = parts.list.get(1, null_on_oob=True).cast(pl.Int64, strict=False)
        wide = wide.with_columns((sub - lane_base + 1).cast(pl.Int64).alias("lane"))
    else:
        wide = wide.with_columns(pl.lit(None, dtype=pl.Int64).alias("lane"))
    # a lane index outside what any optic has is garbage, not lane 128 (the core's lane is Int8)
    wide = wide.filter(
        pl.col("ifindex").is_not_null() & (pl.col("lane").is_null() | pl.col("lane").is_between(1, 64))
    )
    lanes_col = next((c.name for c in table.columns if c.name == "lanes"), None)
    frames = []
    present = set(long.get_column("col").unique().to_list())
    for c in table.columns:
        if c.metric is None or c.num not in present:  # a column the agent lacks yields no samples
            continue
        col = pl.col(c.metric)
        raw = col.cast(pl.Float64)
        if c.unit == "mw":  # milliwatts -> dBm; 0 mW is no light, handled below
            value = pl.when(raw > 0).then(10.0 * (raw * c.scale).log10()).otherwise(None)
        else:
            value = raw * c.scale
        f = wide.select(
            "ifindex",
            "lane",
            pl.lit(c.metric).alias("metric"),
            value.alias("value"),
            (col.cast(pl.UInt64, strict=False) if c.bits else pl.lit(None, dtype=pl.UInt64)).alias("counter"),
            pl.lit(c.bits, dtype=pl.UInt8).alias("counter_bits"),
            pl.lit(False).alias("aggregate"),
            pl.lit(None, dtype=pl.String).alias("reason"),
            raw.alias("_raw"),
            (pl.col(lanes_col).cast(pl.Int64) if lanes_col else pl.lit(None, dtype=pl.Int64)).alias("_lanes"),
        )
        if not c.bits:
            f = null_if(
                f, pl.col("_raw").is_in(pl.lit(SENTINELS, dtype=pl.List(pl.Float64)).first()), Reason.SENTINEL
            )
        if c.unit == "mw":
            f = null_if(f, pl.col("_raw") <= 0, Reason.NO_LIGHT)
        if c.aggregate_zero:
            agg = (pl.col("_raw") == 0) & (pl.col("_lanes") > 1)
            f = null_if(f, agg, Reason.LANE_AGGREGATE).with_columns(
                (pl.col("aggregate") | agg.fill_null(False)).alias("aggregate")
            )
        f = f.with_columns(
            pl.when(pl.col("_raw").is_null() & pl.col("reason").is_null())
            .then(pl.lit(Reason.DECODE_ERROR.value))
            .otherwise(pl.col("reason"))
            .alias("reason")
        )
        frames.append(f.drop("_raw", "_lanes"))
    if not frames:
        return pl.DataFrame()
    out = pl.concat(frames, how="vertical_relaxed")
    if table.spec.get("lane_index") == "sum":  # PCS lanes are not optical lanes: one port total
        out = (
            out.group_by("ifindex", "metric", "counter_bits", maintain_order=True)
            .agg(
                pl.col("value").sum(),
                pl.col("counter").sum(),
                pl.lit(False).alias("aggregate"),
                pl.lit(None, dtype=pl.String).alias("reason"),
            )
            .with_columns(pl.lit(None, dtype=pl.Int64).alias("lane"))
            .select(frames[0].columns)
        )
    return out


def labels(table: Table, vb: VarBinds) -> pl.DataFrame:
    """The label columns of a table (if_name, if_alias ...) per ifindex."""
    long = to_long(vb, table.root)
    cols = {c.num: c.name for c in table.columns if c.name}
    kinds = {c.name: c.kind for c in table.columns if c.name}
    if not cols:
        return pl.DataFrame()
    wide = to_wide(long, cols, kinds)
    return wide.with_columns(
        pl.col("idx").str.split(".").list.get(0).cast(pl.Int64, strict=False).alias("ifindex")
    ).drop("idx")
