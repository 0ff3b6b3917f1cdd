"""Layout ``entity_sensor``: RFC 3433 entPhySensorTable and CISCO-ENTITY-SENSOR-MIB rows.

Discovery maps each sensor row to (port, lane, metric) through ENTITY-MIB: entAliasMappingTable on
the sensor or any entity it is contained in, else entPhysicalName matching an ifName/ifAlias, else
the port name parsed from the sensor's descr/name — never index arithmetic (SONiC changed its
index scheme, sonic-net/sonic-snmpagent PR #168). Decoding applies type, scale and precision per
row (RFC 3433).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import repeat
from typing import Annotated, Any, ClassVar, Literal, Self

import polars as pl
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from collector.decode.common import SENTINELS, MetricName, null_if, reason_lit
from collector.layout import Decoded, Oid, TableSpec
from collector.state import DiscoveryState
from collector.tables import collect, collect_all, to_long, to_wide
from collector.transport.base import Transport, VarBinds, walk_columns
from linkmargin.samples import Reason

ENT_PHYSICAL = "1.3.6.1.2.1.47.1.1.1.1"
ENT_COLS = {2: "descr", 4: "contained_in", 5: "cls", 7: "ent_name", 11: "serial", 12: "vendor", 13: "model"}
ENT_ALIAS = "1.3.6.1.2.1.47.1.3.2.1.2"
IF_INDEX_OID = "1.3.6.1.2.1.2.2.1.1."
# RFC 3433 entPhySensorType
WATTS, AMPERES, CELSIUS, VOLTS_AC, VOLTS_DC, OTHER = 6, 5, 8, 3, 4, 1
MAPPING_SCHEMA = {"idx": pl.String, "port": pl.String, "lane": pl.Int64, "metric": pl.String}


def _regex(group: str | None) -> Callable[[str], str]:
    """A validator: the text compiles as a regular expression (with the named ``group``, if given)."""

    def check(text: str) -> str:
        try:
            rx = re.compile(text)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        if group and group not in rx.groupindex:
            raise ValueError(f"the pattern needs a named group (?P<{group}>...)")
        return text

    return check


class Classify(BaseModel):
    """Sensors whose description or name matches ``pattern`` measure ``metric``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: Annotated[str, AfterValidator(_regex(None))]
    metric: MetricName


ThresholdLevel = Literal["low_warn", "low_alarm", "high_warn", "high_alarm"]


class Thresholds(BaseModel):
    """Where module thresholds live: one column per level (``by_column``, Arista), or rows classified
    by ``severity`` and ``relation`` with the limit in ``value`` (CISCO-ENTITY-SENSOR)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    root: Oid
    by_column: dict[int, ThresholdLevel] | None = None
    severity: int | None = None
    relation: int | None = None
    value: int | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> Self:
        rows = (self.severity, self.relation, self.value)
        if self.by_column is None and None in rows:
            raise ValueError("thresholds need by_column, or severity, relation and value")
        if self.by_column is not None and rows != (None, None, None):
            raise ValueError("thresholds have by_column or severity/relation/value, not both")
        return self

    def column_roots(self) -> list[str]:
        """The walked threshold columns."""
        if self.by_column is not None:
            return [f"{self.root}.{c}" for c in self.by_column]
        return [f"{self.root}.{c}" for c in (self.severity, self.relation, self.value)]


SensorColumn = Literal["type", "scale", "precision", "value", "status", "units"]


class EntitySensorSpec(TableSpec):
    """An RFC 3433-shaped sensor table: rows classified by text, mapped to ports through ENTITY-MIB."""

    layout: Literal["entity_sensor"]
    columns: dict[SensorColumn, int]  # which column number holds type, scale, precision, value ...
    ok_status: int = 1  # the status value of a working sensor
    classify: list[Classify] = Field(min_length=1)  # first match wins
    lane_pattern: Annotated[str, AfterValidator(_regex("lane"))] | None = None
    lane_base: int = 1  # the number the agent gives the first lane
    port_pattern: Annotated[str, AfterValidator(_regex("port"))] | None = None
    measured_column: int | None = None  # the column naming the measured entity (Cisco .8)
    dbm_type: int | None = None  # a sensor type that means dBm (Cisco 14)
    thresholds: Thresholds | None = None

    def column_numbers(self) -> dict[str, int]:
        """``columns`` keyed by plain strings (type, scale, precision, value, status, units)."""
        return {str(k): n for k, n in self.columns.items()}

    @model_validator(mode="after")
    def _needed_columns(self) -> Self:
        missing = [c for c in ("type", "scale", "precision", "value") if c not in self.columns]
        if missing:
            raise ValueError(f"columns lack {', '.join(missing)}")
        return self


class EntitySensorLayout:
    """Decoder of ``entity_sensor`` tables: discovery maps sensors to (port, lane, metric) and caches
    their metadata; polls decode each table against that mapping."""

    name: ClassVar[str] = "entity_sensor"
    spec: ClassVar[type[TableSpec]] = EntitySensorSpec
    stage: ClassVar[int] = 1  # maps onto the port names the ifindex discovery learned

    def poll_oids(self, table: EntitySensorSpec, walk_metadata: bool) -> list[str]:
        return poll_oids(table, walk_metadata)

    def metrics(self, table: EntitySensorSpec) -> frozenset[str]:
        sensor = {c.metric for c in table.classify}
        if table.thresholds is None:
            return frozenset(sensor)
        levels = ("low_warn", "low_alarm", "high_warn", "high_alarm")
        return frozenset(sensor | {f"thr_{q}_{lv}" for q in sensor for lv in levels})

    def threshold_oids(self, table: EntitySensorSpec) -> list[str]:
        return threshold_oids(table)

    async def discover(self, tr: Transport, tables: list[EntitySensorSpec], state: DiscoveryState) -> None:
        for t in tables:
            state.sensors[t.name] = await discover(tr, t, state)

    def decode(
        self, tables: list[EntitySensorSpec], walked: list[dict[str, VarBinds]], state: DiscoveryState
    ) -> Decoded:
        frames: list[pl.LazyFrame] = []
        unknown = False
        for t, cols in zip(tables, walked, strict=True):
            f, new = decode(t, cols, state.sensors.get(t.name), state.sensor_rows.get(t.name))
            unknown = unknown or new
            if not f.is_empty():
                frames.append(
                    f.lazy().with_columns(pl.lit(t.name).alias("_table")) if state.tag_tables else f.lazy()
                )
        if not frames:
            return Decoded(None, unknown)
        return Decoded(frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed"), unknown)


def column_oids(table: EntitySensorSpec) -> list[str]:
    """Every column of a sensor table and its thresholds (what a poll walking metadata walks)."""
    return [f"{table.root}.{n}" for n in sorted(table.columns.values())] + threshold_oids(table)


def _resolve_port(text: str, aliases: dict[str, str], pattern: str | None) -> tuple[str | None, int | None]:
    """Port and trailing lane from a sensor's text: the longest ``/``-prefix that is a known port."""
    if not pattern:
        return None, None
    m = re.search(pattern, text)
    if not m:
        return None, None
    cand = m.group("port")
    rest: list[str] = []
    while cand:
        if cand in aliases:
            lane = int(rest[0]) if len(rest) == 1 and rest[0].isdigit() else None
            return aliases[cand], lane
        if "/" not in cand:
            break
        cand, tail = cand.rsplit("/", 1)
        rest.insert(0, tail)
    return None, None


async def discover(tr: Transport, table: EntitySensorSpec, state: DiscoveryState) -> pl.DataFrame:
    """Map every sensor row of ``table`` to (port, lane, metric); rows we cannot place are left out."""
    vb = VarBinds()
    for c in ENT_COLS:
        vb.extend(await tr.bulk_walk(f"{ENT_PHYSICAL}.{c}"))
    text = {"descr": "text", "ent_name": "text", "serial": "text", "vendor": "text", "model": "text"}
    ents = to_wide(to_long(vb, ENT_PHYSICAL), ENT_COLS, text)
    al = await tr.bulk_walk(ENT_ALIAS)
    measured_col = table.measured_column
    measured: dict[str, int] = {}
    if measured_col:
        mv = await tr.bulk_walk(f"{table.root}.{measured_col}")
        measured = {
            o.rsplit(".", 1)[1]: v for o, v in zip(mv.oids, mv.values, strict=True) if isinstance(v, int)
        }
    state.varbinds += len(vb) + len(al)
    mapping = build_mapping(table, ents, al, state, measured)
    # type, scale, precision (and units) per sensor: read here, hourly, so DOM polls walk only the
    # value and status columns (issue #5); a polled row this does not know triggers re-discovery
    roots = [f"{table.root}.{n}" for n in meta_columns(table).values()]
    vbs = await walk_columns(tr, roots)
    state.varbinds += sum(len(v) for v in vbs)
    meta = _meta_frame(table, dict(zip(roots, vbs, strict=True)))
    state.sensor_rows[table.name] = meta.get_column("idx")
    return mapping.join(meta, on="idx", how="left")


def build_mapping(
    spec: EntitySensorSpec,
    ents: pl.DataFrame,
    alias: VarBinds,
    state: DiscoveryState,
    measured: dict[str, int],
) -> pl.DataFrame:
    """The sensor -> (port, lane, metric) table from walked ENTITY-MIB data (hourly; small)."""
    ifname = dict(state.ports.select("ifindex", "port").iter_rows())
    ent_if: dict[str, str] = {}
    for oid, val in zip(alias.oids, alias.values, strict=True):
        ent = oid[len(ENT_ALIAS) + 1 :].split(".")[0]
        if isinstance(val, str) and val.strip(".").startswith(IF_INDEX_OID):
            ifx = int(val.strip(".").rsplit(".", 1)[1])
            if ifx in ifname:
                ent_if[ent] = ifname[ifx]
    rows = {r["idx"]: r for r in ents.iter_rows(named=True)}
    classify = [(re.compile(c.pattern), c.metric) for c in spec.classify]
    lane_re = re.compile(spec.lane_pattern) if spec.lane_pattern else None
    lane_base = spec.lane_base
    out: dict[str, list[Any]] = {"idx": [], "port": [], "lane": [], "metric": []}
    for idx, r in rows.items():
        text = f"{r.get('descr') or ''} | {r.get('ent_name') or ''}"
        metric = next((m for rx, m in classify if rx.search(text)), None)
        if metric is None or (r.get("cls") not in (None, 8) and not measured):
            continue
        lane: int | None = None
        if lane_re and (lm := lane_re.search(text)):
            lane = int(lm.group("lane")) - lane_base + 1
        port = None
        cur: str | None = str(measured[idx]) if idx in measured else idx
        for _ in range(6):  # walk up the containment tree to an entity that is a port
            if cur is None or cur == "0":
                break
            if cur in ent_if:
                port = ent_if[cur]
                break
            e = rows.get(cur)
            if e is None:
                break
            if e.get("ent_name") and e["ent_name"] in state.aliases and e.get("cls") != 8:
                port = state.aliases[e["ent_name"]]
                break
            cur = str(e["contained_in"]) if e.get("contained_in") is not None else None
        parsed, tail_lane = _resolve_port(text, state.aliases, spec.port_pattern)
        port = port or parsed
        if lane is None and tail_lane is not None and metric not in ("temperature_c", "voltage_v"):
            lane = tail_lane
        if port is None or (lane is not None and not 1 <= lane <= 64):
            continue
        _note_transceiver(state, port, rows, r)
        out["idx"].append(idx)
        out["port"].append(port)
        out["lane"].append(lane)
        out["metric"].append(metric)
    return pl.DataFrame(out, schema=MAPPING_SCHEMA)


def _note_transceiver(state: DiscoveryState, port: str, rows: dict[str, Any], sensor: dict[str, Any]) -> None:
    """Record the identity (vendor, model, serial) of the first ancestor of a sensor that has a serial."""
    if port in state.transceivers_seen:
        return
    e: dict[str, Any] | None = sensor
    for _ in range(6):
        if e is None:
            return
        if e.get("serial"):
            state.note_transceiver(port, e.get("vendor") or "", e.get("model") or "", e["serial"])
            return
        e = rows.get(str(e.get("contained_in")))


def _convert(raw: pl.Expr, spec: EntitySensorSpec) -> pl.Expr:
    """Raw sensor value -> the metric's unit, per row by type, scale and precision."""
    si = (
        raw
        / (10.0 ** pl.col("precision").cast(pl.Float64))
        * (10.0 ** ((pl.col("scale") - 9) * 3).cast(pl.Float64))
    )
    dbm_type = spec.dbm_type
    is_dbm = pl.col("units").fill_null("").str.to_lowercase().str.contains("dbm")
    if dbm_type is not None:
        is_dbm = is_dbm | (pl.col("stype") == dbm_type)
    power = pl.col("metric").is_in(["rx_power_dbm", "tx_power_dbm"])
    return (
        pl.when(power & is_dbm)
        .then(si)
        .when(power & (pl.col("stype") == WATTS) & (si > 0))
        .then(10.0 * (si * 1000.0).log10())
        .when(power)
        .then(None)
        .when(pl.col("stype") == AMPERES)
        .then(si * 1000.0)
        .when(pl.col("stype").is_in([CELSIUS, VOLTS_AC, VOLTS_DC, OTHER]))
        .then(si)
        .otherwise(None)
    )


def _raw_value(col: str) -> pl.Expr:
    """Integer value, or a numeric string some agents send instead (a garbage-tolerant read)."""
    return pl.coalesce(
        pl.col(f"{col}_int").cast(pl.Float64), pl.col(f"{col}_text").cast(pl.Float64, strict=False)
    )


META = {"type": "stype", "scale": "scale", "precision": "precision", "units": "units"}
META_SCHEMA = {
    "idx": pl.String,
    "stype": pl.Int64,
    "scale": pl.Int64,
    "precision": pl.Int64,
    "units": pl.String,
}


def meta_columns(table: EntitySensorSpec) -> dict[str, int]:
    """The metadata columns (type, scale, precision, units) of a sensor table's spec."""
    return {k: n for k, n in table.columns.items() if k in META}


def poll_oids(table: EntitySensorSpec, walk_metadata: bool) -> list[str]:
    """What a DOM poll walks: every column, or (metadata cached at discovery) value, status, thresholds."""
    if walk_metadata:
        return column_oids(table)
    cols: dict[str, int] = table.column_numbers()
    return [f"{table.root}.{cols[k]}" for k in ("value", "status") if k in cols] + threshold_oids(table)


def column_frame(vb: VarBinds | None, root: str, name: str) -> pl.LazyFrame:
    """One walked column: (idx, ``name``_int, ``name``_text), lazily; varbinds outside ``root``
    dropped, a repeated index keeps its first value."""
    oids = vb.oids if vb is not None else []
    vals = vb.values if vb is not None else []
    prefix = root + "."
    df = pl.DataFrame(
        {
            "oid": oids,
            f"{name}_int": _ints(vals),
            f"{name}_text": _texts(vals),
        },
        schema={"oid": pl.String, f"{name}_int": pl.Int64, f"{name}_text": pl.String},
    )
    return (
        df.lazy()
        .filter(pl.col("oid").str.starts_with(prefix))
        .select(pl.col("oid").str.slice(len(prefix)).alias("idx"), pl.all().exclude("oid"))
        .filter(pl.col("idx") != "")
        .unique("idx", keep="first", maintain_order=True)
    )


def _ints(vals: list[int | bytes | str | None]) -> list[int | None]:
    return [v if type(v) is int and -(2**63) <= v < 2**63 else None for v in vals]


def _texts(vals: list[int | bytes | str | None]) -> list[str | None]:
    return [
        v.decode("utf-8", "replace") if type(v) is bytes else (v if type(v) is str else None) for v in vals
    ]


def aligned_frame(table: EntitySensorSpec, cols: dict[str, VarBinds]) -> pl.DataFrame | None:
    """Every walked sensor column in one frame (idx, value_int, value_text, status, stype, scale,
    precision, units), without a join, when the columns hold the same rows in the same order (what
    agents answer). None when they do not (a missing cell, a repeated or foreign OID): the caller
    then joins column by column.
    """
    cnum: dict[str, int] = table.column_numbers()
    ref: list[str] | None = None
    data: dict[str, list[int | None] | list[str | None]] = {}
    for key, n in cnum.items():
        root = f"{table.root}.{n}"
        vb = cols.get(root)
        if vb is None or not vb.oids:
            continue
        cut = len(root) + 1
        idx = [o[cut:] for o in vb.oids]
        if ref is None:
            if len(set(idx)) != len(idx) or "" in idx:
                return None
            ref = idx
        elif idx != ref:
            return None
        if not all(map(str.startswith, vb.oids, repeat(root + "."))):
            return None
        if key == "value":
            data["value_int"] = _ints(vb.values)
            data["value_text"] = _texts(vb.values)
        elif key == "units":
            data["units"] = _texts(vb.values)
        else:
            data[META.get(key, key)] = _ints(vb.values)
    if ref is None:
        return None
    schema = {"idx": pl.String, "value_int": pl.Int64, "value_text": pl.String, "status": pl.Int64}
    schema |= {k: v for k, v in META_SCHEMA.items() if k != "idx"}
    frame = {"idx": ref, **data}
    return pl.DataFrame({k: frame.get(k, [None] * len(ref)) for k in schema}, schema=schema)


def _meta_frame(table: EntitySensorSpec, cols: dict[str, VarBinds]) -> pl.DataFrame:
    """(idx, stype, scale, precision, units) from walked metadata columns (absent ones null)."""
    lf: pl.LazyFrame | None = None
    for key, n in meta_columns(table).items():
        root = f"{table.root}.{n}"
        f = column_frame(cols.get(root), root, key)
        f = f.select("idx", pl.col(f"{key}_text" if key == "units" else f"{key}_int").alias(META[key]))
        lf = f if lf is None else lf.join(f, on="idx", how="full", coalesce=True)
    if lf is None:
        return pl.DataFrame(schema=META_SCHEMA)
    out = collect(lf)
    return out.with_columns(
        [pl.lit(None, dtype=META_SCHEMA[c]).alias(c) for c in META_SCHEMA if c not in out.columns]
    ).select(list(META_SCHEMA))


def decode(
    table: EntitySensorSpec,
    cols: dict[str, VarBinds],
    mapping: pl.DataFrame | None,
    known: pl.Series | None = None,
) -> tuple[pl.DataFrame, bool]:
    """Samples (port, lane, metric, value, aggregate, reason) of one poll of a sensor table, and
    whether the poll saw a sensor row that discovery did not (so its metadata would be a guess).

    ``cols``: the walked columns by root OID. Type, scale and precision come from the walk when it
    has them (every column walked), else from ``mapping`` (cached at discovery). One lazy query,
    one collect: polars' cost here is per operation, not per row.
    """
    if mapping is None or mapping.is_empty():
        return pl.DataFrame(), False
    spec = table
    cnum: dict[str, int] = table.column_numbers()
    vroot = f"{table.root}.{cnum['value']}"
    walked_meta = f"{table.root}.{cnum['type']}" in cols  # metadata walked by this poll (the exporter's way)
    meta = mapping.select("idx", "port", "lane", "metric") if walked_meta else mapping
    fast = aligned_frame(table, cols)
    if fast is not None:  # the usual case: every column has the same rows, no join between them
        vf = fast.lazy().select("idx", "value_int", "value_text")
        rows = fast.lazy().select(
            c for c in fast.columns if walked_meta or c == "idx" or c not in META_SCHEMA
        )
    else:
        vf = column_frame(cols.get(vroot), vroot, "value")
        if walked_meta:
            meta = meta.join(_meta_frame(table, cols), on="idx")
        rows = vf
        if "status" in cnum:  # a row with a status but no value is a sample too (undecodable)
            sroot = f"{table.root}.{cnum['status']}"
            st = column_frame(cols.get(sroot), sroot, "status").select(
                "idx", pl.col("status_int").alias("status")
            )
            rows = rows.join(st, on="idx", how="full", coalesce=True)
        else:
            rows = rows.with_columns(pl.lit(None, dtype=pl.Int64).alias("status"))
    lf = meta.lazy().join(rows, on="idx", how="inner")
    lf = lf.with_columns(_raw_value("value").alias("_raw"))
    lf = lf.with_columns(_convert(pl.col("_raw"), spec).alias("_v"))
    ok = spec.ok_status
    r, v = pl.col("_raw"), pl.col("_v")
    power = pl.col("metric").is_in(["rx_power_dbm", "tx_power_dbm"])
    # the reasons in order of precedence (the first that holds wins)
    reason = (
        pl.when(pl.col("status").is_not_null() & (pl.col("status") != ok))
        .then(reason_lit(Reason.UNAVAILABLE))
        .when(
            r.is_in(pl.lit(SENTINELS, dtype=pl.List(pl.Float64)).first())
            | pl.col("value_text").str.contains(r"(?i)inf|nan|n/a")
        )
        .then(reason_lit(Reason.SENTINEL))
        .when(power & (pl.col("stype") == WATTS) & (r <= 0))
        .then(reason_lit(Reason.NO_LIGHT))
        .when(v.is_null() | ~v.is_finite())
        .then(reason_lit(Reason.DECODE_ERROR))
    )
    lf = lf.with_columns(reason.alias("reason"))
    query = lf.select(
        "port",
        "lane",
        "metric",
        pl.when(pl.col("reason").is_null()).then(v).alias("value"),
        pl.lit(False).alias("aggregate"),
        "reason",
        "_raw",
        pl.col("value_text").alias("_text"),
    )
    # rows discovery never saw, counted in the same collect as the samples
    seen = known.implode() if known is not None else pl.lit([], dtype=pl.List(pl.String))
    samples, new = collect_all([query, vf.filter(~pl.col("idx").is_in(seen)).select(pl.len())])
    unknown = known is not None and new.item() > 0
    thr = spec.thresholds
    if thr is not None:
        tv = VarBinds()
        for root in threshold_oids(table):
            if root in cols:
                tv.extend(cols[root])
        if tv.oids:
            base = meta
            if walked_meta and fast is not None:  # this poll's type/scale/precision, as for readings
                base = meta.join(fast.select(list(META_SCHEMA)), on="idx")
            samples = pl.concat([samples, _thresholds(thr, tv, base, spec)], how="diagonal_relaxed")
    return samples, unknown


def threshold_oids(table: EntitySensorSpec) -> list[str]:
    """Roots of the threshold columns (walked with the sensor table)."""
    return table.thresholds.column_roots() if table.thresholds is not None else []


def _thresholds(thr: Thresholds, vb: VarBinds, sensors: pl.DataFrame, spec: EntitySensorSpec) -> pl.DataFrame:
    long = to_long(vb, thr.root)
    if long.is_empty():
        return pl.DataFrame()
    if thr.by_column is not None:  # Arista: one column per level, indexed like the sensor
        levels = pl.DataFrame(
            {"col": list(thr.by_column), "level": list(thr.by_column.values())},
            schema={"col": pl.Int64, "level": pl.String},
        )
        t = long.join(levels, on="col").select(
            "idx", "level", pl.col("int").alias("t_int"), pl.col("text").alias("t_text")
        )
    else:  # Cisco: rows (sensor, n) classified by severity + relation, never by n
        assert thr.severity is not None and thr.relation is not None and thr.value is not None
        w = to_wide(long, {thr.severity: "sev", thr.relation: "rel", thr.value: "t_int"}, {})
        w = w.with_columns(
            pl.col("idx").str.split(".").list.get(0).alias("sidx"),
            pl.lit(None, dtype=pl.String).alias("t_text"),
        )
        side = (
            pl.when(pl.col("rel").is_in([1, 2]))
            .then(pl.lit("low"))
            .when(pl.col("rel").is_in([3, 4]))
            .then(pl.lit("high"))
        )
        lvl = (
            pl.when(pl.col("sev") >= 20).then(pl.lit("alarm")).when(pl.col("sev") == 10).then(pl.lit("warn"))
        )
        t = (
            w.with_columns((side + "_" + lvl).alias("level"))
            .filter(pl.col("level").is_not_null())
            .sort("sidx", "sev")
            .unique(["sidx", "level"], keep="first", maintain_order=True)
            .select(pl.col("sidx").alias("idx"), "level", "t_int", "t_text")
        )
    base = sensors.select("idx", "port", "lane", "metric", "stype", "scale", "precision", "units")
    f = t.join(base, on="idx", how="inner").with_columns(_raw_value("t").alias("_raw"))
    f = f.with_columns(
        _convert(pl.col("_raw"), spec).alias("value"),
        ("thr_" + pl.col("metric") + "_" + pl.col("level")).alias("metric"),
        pl.lit(None, dtype=pl.String).alias("reason"),
        pl.lit(False).alias("aggregate"),
    )
    f = null_if(
        f, pl.col("_raw").is_in(pl.lit(SENTINELS, dtype=pl.List(pl.Float64)).first()), Reason.SENTINEL
    )
    f = null_if(f, pl.col("value").is_null(), Reason.BOGUS_THRESHOLD)
    f = f.with_columns(pl.col("t_text").alias("_text"))
    return f.select("port", "lane", "metric", "value", "aggregate", "reason", "_raw", "_text").with_columns(
        pl.when(pl.col("reason") == Reason.BOGUS_THRESHOLD.value)
        .then(reason_lit(Reason.BOGUS_THRESHOLD))
        .otherwise(pl.col("reason"))
        .alias("reason")
    )
