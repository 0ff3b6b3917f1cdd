"""Layout ``module``: transceiver tables indexed by the module (and maybe its channel), not by ifIndex.

IPI-CMM-CHASSIS-MIB cmmTransDDMTable (index unit.module.channel, one row per channel),
HUAWEI-ENTITY-EXTENT-MIB hwOpticalModuleInfoTable (index entPhysicalIndex, per-lane values as one
comma-separated string). Discovery maps each module index to a port, never by index arithmetic:

- ``ports.by: entity`` — the index is an entPhysicalIndex; the port is the interface the entity's
  entAliasMappingTable row names, else the interface whose ifName (or alias) is the entity's
  entPhysicalName;
- ``ports.by: number`` — the module's front-panel number (a ``number_column`` of the module, else
  the index's module part) is captured by ``name`` (group ``n``) from an ifName; sub-ports of a
  broken-out module by ``breakout`` (groups ``n`` and ``lane``: the sub-port owns that lane).

Values decode like ``ifindex`` columns (scale, linear power units, numbers as text); a ``list``
column gives one value per lane, its position in the string (first = lane 1).
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal, Self

import polars as pl
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from collector.decode.common import MW_FACTOR, SENTINELS, number_in_text, regex, scaled_value
from collector.decode.entity import ENT_ALIAS, ENT_PHYSICAL, IF_INDEX_OID
from collector.decode.ifindex import IfColumn
from collector.layout import Decoded, Oid, TableSpec
from collector.state import DiscoveryState
from collector.tables import collect, to_long_lazy
from collector.transport.base import Transport, VarBinds, walk_columns
from linkmargin.samples import Reason

IndexPart = Literal["unit", "module", "lane"]
MAP_SCHEMA = {"mkey": pl.String, "lane": pl.Int64, "port": pl.String}


class PortMap(BaseModel):
    """How a module index becomes a port (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    by: Literal["entity", "number"]
    name: Annotated[str, AfterValidator(regex("n"))] | None = None
    breakout: Annotated[str, AfterValidator(regex("n", "lane"))] | None = None
    number_column: Oid | None = None  # a column indexed by the module index: its front-panel number

    @model_validator(mode="after")
    def _number_needs_name(self) -> Self:
        if self.by == "number" and self.name is None:
            raise ValueError("ports by number need a name pattern with a group (?P<n>...)")
        if self.by == "entity" and (self.name, self.breakout, self.number_column) != (None, None, None):
            raise ValueError("ports by entity take no name, breakout or number_column")
        return self


class ModuleSpec(TableSpec):
    """A table indexed by a module index (``index``: what each index part is; a channel/lane, if
    any, last)."""

    layout: Literal["module"]
    index: list[IndexPart] = Field(min_length=1)
    lane_base: int = 1  # the agent's number of the first channel
    ports: PortMap
    columns: dict[int, IfColumn] = Field(min_length=1)

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.index.count("module") != 1:
            raise ValueError("index names exactly one part 'module'")
        if "lane" in self.index and (self.index.count("lane") > 1 or self.index[-1] != "lane"):
            raise ValueError("the lane is the last part of the index, once")
        for n, c in self.columns.items():
            if c.metric is None:
                raise ValueError(f"column {n}: a module table's columns are metrics")
            if c.bits is not None:
                raise ValueError(f"column {n}: a module table holds gauges, not counters")
        return self

    def by_lane(self) -> bool:
        """Whether the index ends in a channel (lane)."""
        return self.index[-1] == "lane"


class ModuleLayout:
    """Decoder of ``module`` tables: discovery maps module indexes to ports; polls decode each table."""

    name: ClassVar[str] = "module"
    spec: ClassVar[type[TableSpec]] = ModuleSpec
    stage: ClassVar[int] = 1  # maps onto the port names the ifindex discovery learned

    def poll_oids(self, table: ModuleSpec, walk_metadata: bool) -> list[str]:
        return [f"{table.root}.{n}" for n in table.columns]

    def metrics(self, table: ModuleSpec) -> frozenset[str]:
        return frozenset(c.metric for c in table.columns.values() if c.metric)

    def threshold_oids(self, table: ModuleSpec) -> list[str]:
        return [
            f"{table.root}.{n}" for n, c in table.columns.items() if c.metric and c.metric.startswith("thr_")
        ]

    async def discover(self, tr: Transport, tables: list[ModuleSpec], state: DiscoveryState) -> None:
        for t in tables:
            await discover(tr, t, state)

    def decode(
        self, tables: list[ModuleSpec], walked: list[dict[str, VarBinds]], state: DiscoveryState
    ) -> Decoded:
        frames: list[pl.LazyFrame] = []
        unknown = False
        for t, cols in zip(tables, walked, strict=True):
            vb = VarBinds()
            for part in cols.values():
                vb.extend(part)
            mapping = state.modules.get(t.name)
            if mapping is None or not len(vb):
                continue
            f, new = decode(t, vb, mapping, state.module_rows.get(t.name))
            unknown = unknown or new
            frames.append(
                f.lazy().with_columns(pl.lit(t.name).alias("_table")) if state.tag_tables else f.lazy()
            )
        if not frames:
            return Decoded(None, unknown)
        return Decoded(pl.concat(frames, how="diagonal_relaxed"), unknown)


def _mkey(table: ModuleSpec, idx: pl.Expr) -> pl.Expr:
    """The module's index (the row index without its channel)."""
    if not table.by_lane():
        return idx
    return idx.str.replace(r"\.[^.]*$", "")


async def discover(tr: Transport, table: ModuleSpec, state: DiscoveryState) -> None:
    """The (mkey, lane, port) mapping of ``table`` and the module indexes the agent has now."""
    first = f"{table.root}.{min(table.columns)}"
    rows = (await walk_columns(tr, [first]))[0]
    state.varbinds += len(rows)
    cut = len(first) + 1
    idx = pl.Series("idx", [o[cut:] for o in rows.oids if o.startswith(first + ".")], dtype=pl.String)
    keys = pl.DataFrame({"idx": idx}).select(_mkey(table, pl.col("idx")).alias("mkey")).unique()
    state.module_rows[table.name] = keys.get_column("mkey")
    if table.ports.by == "entity":
        state.modules[table.name] = await _by_entity(tr, state)
    else:
        state.modules[table.name] = await _by_number(tr, table, keys.get_column("mkey").to_list(), state)


async def _by_entity(tr: Transport, state: DiscoveryState) -> pl.DataFrame:
    """entPhysicalIndex -> port: entAliasMapping to an ifIndex we know, else entPhysicalName is a port."""
    names, alias = await walk_columns(tr, [f"{ENT_PHYSICAL}.7", ENT_ALIAS])
    state.varbinds += len(names) + len(alias)
    ifname = dict(state.ports.select("ifindex", "port").iter_rows())
    out: dict[str, str] = {}
    for oid, val in zip(alias.oids, alias.values, strict=True):  # hourly: a few hundred rows
        ent = oid[len(ENT_ALIAS) + 1 :].split(".")[0]
        if isinstance(val, str) and val.strip(".").startswith(IF_INDEX_OID):
            ifx = int(val.strip(".").rsplit(".", 1)[1])
            if ifx in ifname:
                out.setdefault(ent, ifname[ifx])
    prefix = f"{ENT_PHYSICAL}.7."
    for oid, val in zip(names.oids, names.values, strict=True):
        text = val.decode("utf-8", "replace") if isinstance(val, bytes) else val
        if isinstance(text, str) and text in state.aliases and oid.startswith(prefix):
            out.setdefault(oid[len(prefix) :], state.aliases[text])
    return pl.DataFrame(
        {"mkey": list(out), "lane": [None] * len(out), "port": list(out.values())}, schema=MAP_SCHEMA
    )


async def _by_number(
    tr: Transport, table: ModuleSpec, mkeys: list[str], state: DiscoveryState
) -> pl.DataFrame:
    """Module index -> front-panel number -> the ifName(s) carrying that number."""
    number: dict[str, int] = {}
    pm = table.ports
    if pm.number_column is not None:
        col = (await walk_columns(tr, [pm.number_column]))[0]
        state.varbinds += len(col)
        cut = len(pm.number_column) + 1
        number = {o[cut:]: v for o, v in zip(col.oids, col.values, strict=True) if isinstance(v, int)}
    pos = table.index.index("module")
    for k in mkeys:
        if k not in number:
            part = k.split(".")[pos] if len(k.split(".")) > pos else ""
            if part.isdigit():
                number[k] = int(part)
    assert pm.name is not None
    whole: dict[int, str] = {}
    subs: dict[tuple[int, int], str] = {}
    name_rx = re.compile(pm.name)
    sub_rx = re.compile(pm.breakout) if pm.breakout else None
    for port in state.ports.get_column("port").drop_nulls().to_list():
        if sub_rx and (m := sub_rx.fullmatch(port)):
            subs[(int(m.group("n")), int(m.group("lane")))] = port
        elif m := name_rx.fullmatch(port):
            whole.setdefault(int(m.group("n")), port)
    rows: list[tuple[str, int | None, str]] = []
    for k, n in number.items():
        mine = sorted((lane, port) for (sn, lane), port in subs.items() if sn == n)
        rows += [(k, lane, port) for lane, port in mine]
        # module-level values: the whole port, or a broken-out module's first sub-port
        if n in whole or mine:
            rows.append((k, None, whole[n] if n in whole else mine[0][1]))
    return pl.DataFrame(rows, schema=MAP_SCHEMA, orient="row")


_COL_SCHEMA = {
    "col": pl.Int64,
    "metric": pl.String,
    "scale": pl.Float64,
    "mw": pl.Float64,
    "kind": pl.String,
    "col_lane": pl.Int64,
    "module_level": pl.Boolean,
}


def _columns(table: ModuleSpec) -> pl.DataFrame:
    cols = [(n, c) for n, c in table.columns.items() if c.metric]
    return pl.DataFrame(
        {
            "col": [n for n, _ in cols],
            "metric": [c.metric for _, c in cols],
            "scale": [c.scale for _, c in cols],
            "mw": [MW_FACTOR.get(c.unit or "") for _, c in cols],
            "kind": [c.kind for _, c in cols],
            "col_lane": [c.lane for _, c in cols],
            "module_level": [c.module_level for _, c in cols],
        },
        schema=_COL_SCHEMA,
    )


def decode(
    table: ModuleSpec, vb: VarBinds, mapping: pl.DataFrame, known: pl.Series | None = None
) -> tuple[pl.DataFrame, bool]:
    """Samples (port, lane, metric, value, aggregate, reason, _raw, _text) of one poll of a module
    table, and whether it had a module index discovery never saw. Rows of no known port are left out.
    """
    long = to_long_lazy(vb, table.root).join(_columns(table).lazy(), on="col", how="inner")
    long = long.unique(["col", "idx"], keep="first", maintain_order=True)
    long = long.with_columns(_mkey(table, pl.col("idx")).alias("mkey"))
    if table.by_lane():
        chan = pl.col("idx").str.extract(r"\.([^.]*)$", 1).cast(pl.Int64, strict=False)
        lane = chan - table.lane_base + 1
    else:
        lane = pl.lit(None, dtype=pl.Int64)
    long = long.with_columns(
        pl.when(pl.col("module_level"))
        .then(None)
        .otherwise(pl.coalesce(lane, pl.col("col_lane")))
        .alias("lane")
    )
    # a list column: one value per lane, by position in the string
    is_list = pl.col("kind") == "list"
    lists = (
        long.filter(is_list)
        .with_columns(pl.col("text").str.split(",").alias("text"))
        .with_columns(pl.int_ranges(1, pl.col("text").list.len() + 1).alias("lane"))
        .explode("text", "lane")
        .with_columns(pl.col("lane").cast(pl.Int64))
    )
    f = pl.concat([long.filter(~is_list), lists], how="vertical_relaxed")
    is_text = pl.col("kind").is_in(["float", "list"])
    r = pl.when(is_text).then(number_in_text(pl.col("text"))).otherwise(pl.col("int").cast(pl.Float64))
    f = f.with_columns(r.alias("_raw"), pl.col("text").alias("_text"))
    r = pl.col("_raw")
    reason = (
        pl.when(r.is_in(pl.lit(SENTINELS, dtype=pl.List(pl.Float64)).first()))
        .then(pl.lit(Reason.SENTINEL.value))
        .when(pl.col("mw").is_not_null() & (r <= 0))
        .then(pl.lit(Reason.NO_LIGHT.value))
        .when(r.is_null())
        .then(pl.lit(Reason.DECODE_ERROR.value))
    )
    value = scaled_value(r)
    f = f.filter(pl.col("lane").is_null() | pl.col("lane").is_between(1, 64))
    # the port: a broken-out sub-port that owns this lane, else the module's port
    whole = mapping.filter(pl.col("lane").is_null()).select("mkey", "port")
    subs = mapping.filter(pl.col("lane").is_not_null()).select("mkey", "lane", pl.col("port").alias("_sub"))
    f = f.join(whole.lazy(), on="mkey", how="left").join(subs.lazy(), on=["mkey", "lane"], how="left")
    f = f.with_columns(pl.coalesce(pl.col("_sub"), pl.col("port")).alias("port")).filter(
        pl.col("port").is_not_null()
    )
    out = f.select(
        "port",
        "lane",
        "metric",
        pl.when(reason.is_null()).then(value).alias("value"),
        pl.lit(False).alias("aggregate"),
        reason.alias("reason"),
        "_raw",
        "_text",
    )
    # a module-level value repeated on every channel row: once per port
    samples = collect(out).unique(["port", "lane", "metric"], keep="first", maintain_order=True)
    unknown = False
    if known is not None:
        seen = collect(long.select(pl.col("mkey").unique()))
        unknown = bool(seen.filter(~pl.col("mkey").is_in(known.implode())).height)
    return samples, unknown
