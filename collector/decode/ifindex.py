"""Layout ``ifindex``: tables indexed by ifIndex (optionally ifIndex.lane) — IF-MIB, EtherLike,
IEEE8023-MAU FEC, ARISTA-PHY-MIB, JUNIPER-DOM module and lane tables, and tables with one column
per lane (``lane:`` on the column) holding numbers as text (``kind: float``: DELL-NETWORKING-IF-
EXTENSION-MIB, FS-FIBER-MIB)."""

from __future__ import annotations

from typing import ClassVar, Literal, Self

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from collector.decode.common import MW_FACTOR, SENTINELS, MetricName, number_in_text, scaled_value
from collector.layout import Decoded, TableSpec
from collector.state import DiscoveryState
from collector.tables import collect, to_long, to_long_lazy, to_wide
from collector.transport.base import Transport, VarBinds, walk_columns
from linkmargin.samples import Reason


class IfColumn(BaseModel):
    """One walked column: a metric (``metric``) or a label (``name``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: MetricName | None = None
    name: Literal["if_name", "if_alias", "if_descr", "lanes"] | None = None  # label columns
    # int/u64: the integer; text: a label; float: a number sent as text ("-2.34"); list: numbers
    # as text, one per lane, comma separated ("-1.21,-1.51,-1.83,-2.18")
    kind: Literal["int", "u64", "text", "float", "list"] = "int"
    bits: Literal[32, 64] | None = None  # counters: 32 or 64
    scale: float = 1.0  # raw * scale = value in the metric's unit (gauges)
    # how to read power before scaling: dbm (already dBm), mw or uw (linear, converted to dBm)
    unit: Literal["dbm", "mw", "uw", "ua"] | None = None
    aggregate_zero: bool = False  # a 0 on a multi-lane optic is a lane aggregate (Juniper)
    lane: int | None = Field(default=None, ge=1, le=64)  # the lane this column holds (1 = first)
    # a module-level value every channel row repeats (module tables: temperature, voltage)
    module_level: bool = False

    @model_validator(mode="after")
    def _metric_or_label(self) -> Self:
        if (self.metric is None) == (self.name is None):
            raise ValueError("a column has either a metric or a (label) name")
        if self.lane is not None and self.metric is None:
            raise ValueError("only a metric column has a lane")
        if self.kind == "list" and self.lane is not None:
            raise ValueError("a list column holds every lane; it has no lane of its own")
        return self


class IfIndexSpec(TableSpec):
    """A table whose rows are indexed by ifIndex, or ifIndex.lane (``index: ifindex.lane``)."""

    layout: Literal["ifindex"]
    columns: dict[int, IfColumn] = Field(min_length=1)  # column number -> what it holds
    index: Literal["ifindex", "ifindex.lane"] = "ifindex"
    lane_base: int = 1  # the agent's number of the first lane (Juniper: 0)
    lane_index: Literal["sum"] | None = None  # sum: PCS lanes, not optical lanes, summed per port

    @model_validator(mode="after")
    def _no_lists(self) -> Self:
        if any(c.kind == "list" for c in self.columns.values()):
            raise ValueError("kind list (one value per lane in a string) is read by layout: module")
        return self


class IfIndexLayout:
    """Decoder of ``ifindex`` tables: discovery reads the label columns (port names), polls decode all
    the group's ifindex tables in one pass."""

    name: ClassVar[str] = "ifindex"
    spec: ClassVar[type[TableSpec]] = IfIndexSpec
    stage: ClassVar[int] = 0

    def poll_oids(self, table: IfIndexSpec, walk_metadata: bool) -> list[str]:
        return [f"{table.root}.{n}" for n in table.columns]

    def metrics(self, table: IfIndexSpec) -> frozenset[str]:
        return frozenset(c.metric for c in table.columns.values() if c.metric)

    def threshold_oids(self, table: IfIndexSpec) -> list[str]:
        return [
            f"{table.root}.{n}" for n, c in table.columns.items() if c.metric and c.metric.startswith("thr_")
        ]

    async def discover(self, tr: Transport, tables: list[IfIndexSpec], state: DiscoveryState) -> None:
        """Port names (ifName) and their aliases (ifDescr, ifAlias) from the discovery group's label
        columns, joined by ifIndex across tables (ifName is in ifXTable, ifDescr in ifTable)."""
        lab: pl.DataFrame | None = None
        for t in tables:
            if t.group != "discovery":
                continue
            vb = VarBinds()
            for part in await walk_columns(tr, self.poll_oids(t, False)):
                vb.extend(part)
            state.varbinds += len(vb)
            got = labels(t, vb)
            if got.is_empty() or "ifindex" not in got.columns:
                continue
            lab = got if lab is None else lab.join(got, on="ifindex", how="full", coalesce=True)
        if lab is None or "if_name" not in lab.columns:
            return
        lab = lab.with_columns(pl.col("if_name").alias("port"))
        state.ports = lab.select("ifindex", "port")
        state.aliases = {}
        for row in lab.iter_rows(named=True):  # discovery only, hourly: a few hundred rows
            if row["port"]:
                state.aliases[row["port"]] = row["port"]
        for row in lab.iter_rows(named=True):
            for label in ("if_descr", "if_alias"):  # SONiC: the port alias is ifDescr
                if row["port"] and row.get(label):
                    state.aliases.setdefault(row[label], row["port"])

    def decode(
        self, tables: list[IfIndexSpec], walked: list[dict[str, VarBinds]], state: DiscoveryState
    ) -> Decoded:
        """All the group's ifindex tables in one pass (polars costs are per operation), ports named."""
        vbs = []
        for cols in walked:
            vb = VarBinds()
            for part in cols.values():
                vb.extend(part)
            vbs.append(vb)
        q = decode_group(tables, vbs, tag=state.tag_tables)
        port = pl.coalesce(pl.col("port"), pl.lit("ifIndex") + pl.col("ifindex").cast(pl.String))
        return Decoded(
            q.join(state.ports.lazy(), on="ifindex", how="left")
            .with_columns(port.alias("port"))
            .drop("ifindex")
        )


def decode(table: IfIndexSpec, vb: VarBinds) -> pl.DataFrame:
    """Long samples (ifindex, lane, metric, value, counter, counter_bits, aggregate, reason) of one table."""
    return collect(decode_group([table], [vb]))


_SPEC_SCHEMA = {
    "tid": pl.Int64,
    "col": pl.Int64,
    "metric": pl.String,
    "is_u64": pl.Boolean,
    "bits": pl.UInt8,
    "scale": pl.Float64,
    "mw": pl.Float64,
    "is_float": pl.Boolean,
    "col_lane": pl.Int64,
    "agg_zero": pl.Boolean,
    "by_lane": pl.Boolean,
    "lane_base": pl.Int64,
    "sum": pl.Boolean,
}
_OUT_SCHEMA = {
    "ifindex": pl.Int64,
    "lane": pl.Int64,
    "metric": pl.String,
    "value": pl.Float64,
    "counter": pl.UInt64,
    "counter_bits": pl.UInt8,
    "aggregate": pl.Boolean,
    "reason": pl.String,
    "_raw": pl.Float64,
    "_text": pl.String,
}
_SPECS: dict[tuple[tuple[str, str], ...], pl.DataFrame] = {}


def _spec(tables: list[IfIndexSpec]) -> pl.DataFrame:
    """One row per walked metric column of ``tables`` (tid = the table's position): how it decodes.

    Made once per set of tables (profiles are immutable).
    """
    key = tuple((t.name, t.root) for t in tables)
    got = _SPECS.get(key)
    if got is not None:
        return got
    rows: dict[str, list[object]] = {k: [] for k in _SPEC_SCHEMA}
    for tid, t in enumerate(tables):
        for num, c in t.columns.items():
            if c.metric is None:
                continue
            vals = (
                tid,
                num,
                c.metric,
                c.kind == "u64",
                c.bits,
                c.scale,
                MW_FACTOR.get(c.unit or ""),
                c.kind == "float",
                c.lane,
                c.aggregate_zero,
                t.index == "ifindex.lane",
                t.lane_base,
                t.lane_index == "sum",
            )
            for k, v in zip(_SPEC_SCHEMA, vals, strict=True):
                rows[k].append(v)
    spec = _SPECS[key] = pl.DataFrame(rows, schema=_SPEC_SCHEMA)
    return spec


def decode_group(tables: list[IfIndexSpec], vbs: list[VarBinds], tag: bool = False) -> pl.LazyFrame:
    """Samples of several ifindex tables walked in one poll, decoded in one pass (long form: every
    varbind of a metric column is one sample, so there is no pivot and no per-column frame).

    Per table as before: a column the agent lacks yields no samples; garbage indexes are dropped; a
    value is scaled (milliwatts -> dBm); sentinels, 0 mW, lane aggregates (a module-level 0 on a
    multi-lane optic) and undecodable values are absent with a reason; PCS-lane tables are summed
    per port. Returns (ifindex, lane, metric, value, counter, counter_bits, aggregate, reason), as a
    lazy query: the poll collects it once with the rest of its normalize chain.
    """
    tids: list[int] = []
    prefixes: list[str] = []
    oids: list[str] = []
    values: list[int | bytes | str | None] = []
    for tid, (t, vb) in enumerate(zip(tables, vbs, strict=True)):
        n = len(vb)
        tids += [tid] * n
        prefixes += [t.root.strip(".") + "."] * n
        oids += vb.oids
        values += vb.values
    spec = _spec(tables)
    if not oids or spec.is_empty():
        return pl.LazyFrame(schema=_OUT_SCHEMA)
    long = to_long_lazy(VarBinds(oids, values), "", tids=tids, prefixes=prefixes)
    # a table's module-level "lanes" label (Juniper): a 0 there is a lane aggregate, not a reading
    lanes_cols = [(tid, n) for tid, t in enumerate(tables) for n, c in t.columns.items() if c.name == "lanes"]
    agg = spec.get_column("agg_zero").any() and lanes_cols
    if agg:
        lanes = long.filter(
            pl.struct("tid", "col").is_in(
                pl.DataFrame(lanes_cols, schema=["tid", "col"], orient="row").to_struct().implode()
            )
        ).select("tid", "idx", pl.col("int").alias("_lanes"))
        lanes = lanes.unique(["tid", "idx"], keep="first", maintain_order=True)
    f = long.join(spec.lazy(), on=["tid", "col"], how="inner").unique(
        ["tid", "col", "idx"], keep="first", maintain_order=True
    )
    if agg:
        f = f.join(lanes, on=["tid", "idx"], how="left")
    else:
        f = f.with_columns(pl.lit(None, dtype=pl.Int64).alias("_lanes"))
    parts = pl.col("idx").str.split(".")
    sub = parts.list.get(1, null_on_oob=True).cast(pl.Int64, strict=False)
    # the typed value the column's kind says (an int column holding a string is undecodable)
    # (the text parse and the column lanes only where a table has them: each costs per poll)
    raw = pl.when(pl.col("is_u64")).then(pl.col("u64")).otherwise(pl.col("int")).cast(pl.Float64)
    if spec.get_column("is_float").any():
        raw = pl.when(pl.col("is_float")).then(number_in_text(pl.col("text"))).otherwise(raw)
    f = f.with_columns(
        parts.list.get(0, null_on_oob=True).cast(pl.Int64, strict=False).alias("ifindex"),
        pl.when(pl.col("by_lane"))
        .then(sub - pl.col("lane_base") + 1)
        .otherwise(pl.col("col_lane"))
        .alias("lane"),
        raw.alias("_raw"),
    )
    # a lane index outside what any optic has is garbage, not lane 128 (the core's lane is Int8)
    f = f.filter(
        pl.col("ifindex").is_not_null() & (pl.col("lane").is_null() | pl.col("lane").is_between(1, 64))
    )
    r = pl.col("_raw")
    is_agg = (pl.col("agg_zero") & (r == 0) & (pl.col("_lanes") > 1)).fill_null(False)
    # the reasons in order of precedence (the first that holds wins)
    reason = (
        pl.when(pl.col("bits").is_null() & r.is_in(pl.lit(SENTINELS, dtype=pl.List(pl.Float64)).first()))
        .then(pl.lit(Reason.SENTINEL.value))
        .when(pl.col("mw").is_not_null() & (r <= 0))
        .then(pl.lit(Reason.NO_LIGHT.value))
        .when(is_agg)
        .then(pl.lit(Reason.LANE_AGGREGATE.value))
        .when(r.is_null())
        .then(pl.lit(Reason.DECODE_ERROR.value))
    )
    value = scaled_value(r)
    counter = pl.when(pl.col("bits").is_not_null()).then(
        pl.when(pl.col("is_u64")).then(pl.col("u64")).otherwise(pl.col("int").cast(pl.UInt64, strict=False))
    )
    table = pl.col("tid").replace_strict(
        list(range(len(tables))), [t.name for t in tables], return_dtype=pl.String
    )
    out = f.select(
        *([table.alias("_table")] if tag else []),
        "sum",
        "ifindex",
        "lane",
        "metric",
        pl.when(reason.is_null()).then(value).alias("value"),
        counter.alias("counter"),
        pl.col("bits").alias("counter_bits"),
        is_agg.alias("aggregate"),
        reason.alias("reason"),
        "_raw",
        pl.col("text").alias("_text"),
    )
    if not any(len(vb) for t, vb in zip(tables, vbs, strict=True) if t.lane_index == "sum"):
        return out.drop("sum")  # no PCS-lane rows walked this time: nothing to sum
    # PCS lanes are not optical lanes: one total per port (absent if no lane had a number)
    summed = (
        out.filter("sum")
        .group_by("ifindex", "metric", "counter_bits", *(["_table"] if tag else []), maintain_order=True)
        .agg(
            pl.when(pl.col("value").is_not_null().any()).then(pl.col("value").sum()).alias("value"),
            pl.when(pl.col("counter").is_not_null().any()).then(pl.col("counter").sum()).alias("counter"),
        )
        .with_columns(
            pl.lit(None, dtype=pl.Int64).alias("lane"),
            pl.lit(False).alias("aggregate"),
            pl.when(pl.col("value").is_null()).then(pl.lit(Reason.DECODE_ERROR.value)).alias("reason"),
        )
    )
    return pl.concat([out.filter(~pl.col("sum")).drop("sum"), summed], how="diagonal_relaxed")


def labels(table: IfIndexSpec, vb: VarBinds) -> pl.DataFrame:
    """The label columns of a table (if_name, if_alias ...) per ifindex."""
    long = to_long(vb, table.root)
    cols: dict[int, str] = {n: c.name for n, c in table.columns.items() if c.name}
    kinds: dict[str, str] = {c.name: c.kind for c in table.columns.values() if c.name}
    if not cols:
        return pl.DataFrame()
    wide = to_wide(long, cols, kinds)
    return wide.with_columns(
        pl.col("idx").str.split(".").list.get(0).cast(pl.Int64, strict=False).alias("ifindex")
    ).drop("idx")
