"""One poll of one device: walk a group's tables through a transport, decode, normalize to samples.

``DeviceState`` caches what discovery learned (port names, entity->port/lane mapping, profile) and
the last sysUpTime (a reboot triggers re-discovery).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from collector.decode import common, entity, ifindex
from collector.profile import Profile, Table, all_probe_oids, load_profile, select_profile
from collector.tables import collect
from collector.transport.base import Transport, VarBinds, walk_columns
from linkmargin.samples import SAMPLE_SCHEMA, empty_samples

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
GROUPS = ("discovery", "dom", "counters")


@dataclass
class DeviceState:
    """What a device's earlier polls taught us."""

    name: str
    profile: Profile | None = None
    ports: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema={"ifindex": pl.Int64, "port": pl.String})
    )
    aliases: dict[str, str] = field(default_factory=dict)  # ifAlias/ifName -> ifName
    sensors: dict[str, pl.DataFrame] = field(
        default_factory=dict
    )  # per entity table: idx -> port, lane, metric
    port_state: pl.DataFrame = field(default_factory=pl.DataFrame)
    # every sensor row (idx) discovery saw, per entity table: a polled row outside it is new hardware
    sensor_rows: dict[str, pl.Series] = field(default_factory=dict)
    # walk type/scale/precision with every DOM poll (as snmp_exporter does) instead of caching them
    # from discovery; for comparisons, and for agents known to rescale sensors on the fly
    walk_metadata: bool = False
    uptime_cs: int | None = None
    discovered_at_uptime: int | None = None
    rebooted: bool = False
    varbinds: int = 0
    transceivers: dict[str, tuple[str, str, str]] = field(
        default_factory=dict
    )  # port -> vendor, model, serial
    transceivers_seen: set[str] = field(default_factory=set)  # ports noted in the current discovery
    swaps: list[tuple[str, str, str]] = field(default_factory=list)  # (port, old serial, new serial)

    def note_transceiver(self, port: str, vendor: str, model: str, serial: str) -> None:
        """Keep a port's module identity; a different serial than last discovery is a module swap."""
        self.transceivers_seen.add(port)
        old = self.transceivers.get(port)
        if old is not None and old[2] != serial:
            self.swaps.append((port, old[2], serial))
        self.transceivers[port] = (vendor, model, serial)

    def needs_discovery(self) -> bool:
        """No discovery yet, or the agent restarted since."""
        return self.profile is None or self.discovered_at_uptime is None or self.rebooted


def poll_roots(table: Table, walk_metadata: bool) -> list[str]:
    """The column OIDs a poll of ``table`` walks."""
    if table.layout == "entity_sensor":
        return entity.poll_oids(table, walk_metadata)
    return table.column_oids()


async def walk_tables(
    tr: Transport, tables: list[Table], walk_metadata: bool = False
) -> list[dict[str, VarBinds]]:
    """Walk the poll columns of every table (per table: root -> VarBinds), all in one transport call."""
    cols = [poll_roots(t, walk_metadata) for t in tables]
    got = await walk_columns(tr, [c for cs in cols for c in cs])
    out, i = [], 0
    for cs in cols:
        out.append(dict(zip(cs, got[i : i + len(cs)], strict=True)))
        i += len(cs)
    return out


async def walk_table(tr: Transport, table: Table, max_repetitions: int | None = None) -> VarBinds:
    """Walk every column of ``table`` into one VarBinds."""
    out = VarBinds()
    for part in await walk_columns(tr, table.column_oids(), max_repetitions):
        out.extend(part)
    return out


async def read_uptime(tr: Transport, state: DeviceState) -> int | None:
    """GET sysUpTime; flag a reboot when it went back."""
    vb = await tr.get([SYS_UPTIME])
    up = vb.values[0] if vb.values else None
    up = up if isinstance(up, int) and 0 <= up < 2**32 else None  # TimeTicks; anything else is garbage
    if up is not None and state.uptime_cs is not None and up < state.uptime_cs:
        state.rebooted = True
    state.uptime_cs = up
    return up


async def choose_profile(tr: Transport, name: str) -> Profile:
    """Resolve ``auto`` by sysObjectID, then by probing each profile's probe OIDs."""
    if name != "auto":
        return load_profile(name)
    vb = await tr.get([SYS_OBJECT_ID])
    soid = vb.values[0] if vb.values else None
    sys_oid = soid if isinstance(soid, str) else None
    probed: dict[str, bool] = {}
    for oid in all_probe_oids():
        got = await tr.bulk_walk(oid, 1)
        probed[oid] = len(got) > 0
    return select_profile(sys_oid, probed)


async def discover(tr: Transport, state: DeviceState, profile_name: str = "auto") -> pl.DataFrame:
    """Learn profile, port names and entity mapping; returns the discovery group's samples (none today)."""
    if state.profile is None or profile_name != "auto" or state.rebooted:
        state.profile = (
            state.profile
            if (state.profile and profile_name == "auto" and not state.rebooted)
            else (await choose_profile(tr, profile_name))
        )
    prof = state.profile
    for t in prof.tables_in("discovery"):
        if t.layout != "ifindex":
            continue
        vb = await walk_table(tr, t)
        state.varbinds += len(vb)
        lab = ifindex.labels(t, vb)
        if "if_name" in lab.columns:
            lab = lab.with_columns(pl.col("if_name").alias("port"))
            state.ports = lab.select("ifindex", "port")
            state.aliases = {}
            for row in lab.iter_rows(named=True):  # discovery only, hourly: a few hundred rows
                if row["port"]:
                    state.aliases[row["port"]] = row["port"]
                    if row.get("if_alias"):
                        state.aliases.setdefault(row["if_alias"], row["port"])
    state.transceivers_seen = set()
    for t in prof.tables:
        if t.layout == "entity_sensor":
            state.sensors[t.name] = await entity.discover(tr, t, state)
    state.discovered_at_uptime = state.uptime_cs
    state.rebooted = False
    return empty_samples()


def _group_metrics(tables: list[Table]) -> frozenset[str]:
    """Every metric the tables can yield: normalize steps that cannot apply to a group are skipped
    (each costs fixed polars work per poll)."""
    out: set[str] = set()
    for t in tables:
        out.update(c.metric for c in t.columns if c.metric)
        if t.layout == "entity_sensor":
            sensor = {c["metric"] for c in t.spec.get("classify", [])}
            out |= sensor
            if t.spec.get("thresholds"):
                out |= {
                    f"thr_{q}_{lv}"
                    for q in sensor
                    for lv in ("low_warn", "low_alarm", "high_warn", "high_alarm")
                }
    return frozenset(out)


def _threshold_roots(tables: list[Table]) -> frozenset[str]:
    """The walked columns that can yield module thresholds: without rows there, nothing to validate."""
    out = set()
    for t in tables:
        if t.layout == "entity_sensor":
            out.update(entity.threshold_oids(t))
        else:
            out.update(f"{t.root}.{c.num}" for c in t.columns if c.metric and c.metric.startswith("thr_"))
    return frozenset(out)


POWER_METRICS = frozenset(common.POWER_METRICS)
DOM_METRICS = frozenset(common.DOM_METRICS)


async def poll_group(
    tr: Transport, state: DeviceState, group: str, profile_name: str = "auto"
) -> pl.DataFrame:
    """Poll one group (dom | counters | discovery) of one device; returns a conformed sample batch."""
    ts = datetime.now(UTC)
    up = await read_uptime(tr, state)
    if group == "discovery" or state.needs_discovery():
        await discover(tr, state, profile_name)
        if group == "discovery":
            return empty_samples()
    assert state.profile is not None
    frames: list[pl.DataFrame] = []
    tables = state.profile.tables_in(group)
    by_ifindex: list[tuple[Table, VarBinds]] = []
    walked: dict[str, VarBinds] = {}
    for t, cols in zip(tables, await walk_tables(tr, tables, state.walk_metadata), strict=True):
        walked.update(cols)
        state.varbinds += sum(len(v) for v in cols.values())
        if t.layout == "ifindex":
            vb = VarBinds()
            for part in cols.values():
                vb.extend(part)
            by_ifindex.append((t, vb))
        elif t.layout == "entity_sensor":
            f, unknown = entity.decode(t, cols, state.sensors.get(t.name), state.sensor_rows.get(t.name))
            if unknown:  # a sensor discovery never saw (a module plugged in): learn it, never guess
                await discover(tr, state, profile_name)
                f, _ = entity.decode(t, cols, state.sensors.get(t.name), state.sensor_rows.get(t.name))
            if not f.is_empty():
                frames.append(f)
        else:
            raise ValueError(f"unknown layout {t.layout!r} in profile {state.profile.name}")
    lazy = [f.lazy() for f in frames]
    if by_ifindex:  # all ifindex tables of the group in one pass: polars costs are per operation
        q = ifindex.decode_group([t for t, _ in by_ifindex], [vb for _, vb in by_ifindex])
        port = pl.coalesce(pl.col("port"), pl.lit("ifIndex") + pl.col("ifindex").cast(pl.String))
        lazy.append(
            q.join(state.ports.lazy(), on="ifindex", how="left")
            .with_columns(port.alias("port"))
            .drop("ifindex")
        )
    if not lazy:
        return empty_samples()
    # the normalize chain as one lazy query, collected once (polars' cost here is per operation)
    out = pl.concat(lazy, how="diagonal_relaxed").with_columns(
        pl.lit(ts).alias("ts"),
        pl.lit(state.name).alias("device"),
        pl.lit(up, dtype=pl.Int64).alias("uptime_cs"),
    )
    metrics = _group_metrics(tables)
    if metrics & POWER_METRICS:
        out = common.dbm_floor(out)
    if any(len(vb) for root, vb in walked.items() if root in _threshold_roots(tables)):
        out = common.validate_thresholds(out)
    if group == "counters":
        done = collect(out)
        st = done.filter(pl.col("metric").is_in(["admin_status", "oper_status"])).pivot(
            on="metric", index="port", values="value", aggregate_function="first"
        )
        if {"admin_status", "oper_status"} <= set(st.columns):
            state.port_state = st.select("port", "admin_status", "oper_status")
        out = done.lazy()
    if metrics & DOM_METRICS:
        out = common.mark_port_state(out, state.port_state)
    uptime_row = pl.LazyFrame(
        {
            "ts": [ts],
            "device": [state.name],
            "metric": ["sys_uptime_cs"],
            "value": [float(up) if up is not None else None],
            "uptime_cs": [up],
        }
    )
    return collect(pl.concat([_conform(out), _conform(uptime_row)]))


def _conform(frame: pl.LazyFrame) -> pl.LazyFrame:
    """``linkmargin.samples.conform`` on a lazy frame (same casts, same column order)."""
    have = set(frame.collect_schema().names())
    return frame.select(
        pl.col(n).cast(t) if n in have else pl.lit(None, dtype=t).alias(n) for n, t in SAMPLE_SCHEMA.items()
    )
