"""One poll of one device: walk a group's tables through a transport, decode, normalize to samples.

``DeviceState`` caches what discovery learned (port names, entity->port/lane mapping, profile) and
the last sysUpTime (a reboot triggers re-discovery). How a table decodes is its layout's business
(:mod:`collector.layout`, looked up in ``collector.decode.LAYOUTS``); this module only sequences.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from collector.decode import LAYOUTS, common
from collector.layout import GROUPS, TableSpec
from collector.profile import Profile, Selection, all_probe_oids, load_profile, select_profile
from collector.state import DiscoveryState
from collector.tables import collect
from collector.transport.base import Transport, VarBinds, walk_columns
from linkmargin.samples import METRIC_NAMES, conform, empty_samples

__all__ = ["GROUPS", "DeviceState", "discover", "poll_group"]

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
log = logging.getLogger("collector.poller")


@dataclass
class DeviceState(DiscoveryState):
    """What a device's earlier polls taught us: discovery's findings plus the profile and uptime."""

    profile: Profile | None = None
    selection: Selection | None = None  # why the profile (``poll --explain``)
    sys_object_id: str | None = None
    uptime_cs: int | None = None
    discovered_at_uptime: int | None = None
    rebooted: bool = False

    def needs_discovery(self) -> bool:
        """No discovery yet, or the agent restarted since."""
        return self.profile is None or self.discovered_at_uptime is None or self.rebooted


def by_layout(tables: list[TableSpec]) -> dict[str, list[int]]:
    """Positions of ``tables`` per layout name, layouts in order of first appearance."""
    out: dict[str, list[int]] = {}
    for i, t in enumerate(tables):
        out.setdefault(t.layout, []).append(i)
    return out


async def walk_tables(
    tr: Transport, tables: list[TableSpec], walk_metadata: bool = False
) -> list[dict[str, VarBinds]]:
    """Walk the poll columns of every table (per table: root -> VarBinds), all in one transport call."""
    cols = [LAYOUTS.get(t.layout).poll_oids(t, walk_metadata) for t in tables]
    got = await walk_columns(tr, [c for cs in cols for c in cs])
    out, i = [], 0
    for cs in cols:
        out.append(dict(zip(cs, got[i : i + len(cs)], strict=True)))
        i += len(cs)
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


def _text(v: object) -> str | None:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v if isinstance(v, str) else None


async def choose_profile(tr: Transport, name: str, state: DeviceState | None = None) -> Selection:
    """Resolve ``auto`` by sysObjectID, then by probing each profile's probe OIDs; a device no
    profile matches gets the generic ENTITY-SENSOR-MIB profile and one warning naming its sysObjectID.
    Reads sysDescr too (the release switches between tables)."""
    vb = await tr.get([SYS_OBJECT_ID, SYS_DESCR])
    got = dict(zip(vb.oids, vb.values, strict=True))
    soid = got.get(SYS_OBJECT_ID)
    sys_oid = soid.strip(".") if isinstance(soid, str) else None
    if state is not None:
        state.sys_object_id, state.sys_descr = sys_oid, _text(got.get(SYS_DESCR))
    if name != "auto":
        return Selection(load_profile(name), f"profile {name!r} named by the configuration", False)
    probed: dict[str, bool] = {}
    for oid in all_probe_oids():
        got_probe = await tr.bulk_walk(oid, 1)
        probed[oid] = len(got_probe) > 0
    sel = select_profile(sys_oid, probed)
    if sel.generic:
        log.warning(
            "%s: sysObjectID %s matches no device profile; reading it with the generic %s profile",
            state.name if state is not None else "device",
            sys_oid or "(none)",
            sel.profile.name,
        )
    return sel


async def discover(tr: Transport, state: DeviceState, profile_name: str = "auto") -> pl.DataFrame:
    """Learn profile, port names and entity mapping; returns the discovery group's samples (none today)."""
    if state.profile is None or profile_name != "auto" or state.rebooted:
        state.selection = await choose_profile(tr, profile_name, state)
        state.profile = state.selection.profile
    assert state.profile is not None
    state.transceivers_seen = set()
    tables = [t for t in state.profile.tables if t.applies(state.sys_descr)]
    layouts = by_layout(tables)
    # layouts that learn port names first, then those that map their rows onto them
    for name in sorted(layouts, key=lambda n: LAYOUTS.get(n).stage):
        await LAYOUTS.get(name).discover(tr, [tables[i] for i in layouts[name]], state)
    if state.profile.breakout is not None:
        state.breakouts = common.breakout_ports(state.ports, state.aliases, state.profile.breakout)
    state.discovered_at_uptime = state.uptime_cs
    state.rebooted = False
    return empty_samples()


def _group_metrics(tables: list[TableSpec]) -> frozenset[str]:
    """Every metric the tables can yield: normalize steps that cannot apply to a group are skipped
    (each costs fixed polars work per poll)."""
    return frozenset().union(*(LAYOUTS.get(t.layout).metrics(t) for t in tables))


def _threshold_roots(tables: list[TableSpec]) -> frozenset[str]:
    """The walked columns that can yield module thresholds: without rows there, nothing to validate."""
    return frozenset(o for t in tables for o in LAYOUTS.get(t.layout).threshold_oids(t))


POWER_METRICS = frozenset(common.POWER_METRICS)
DOM_METRICS = frozenset(common.DOM_METRICS)
THRESHOLD_METRICS = frozenset(m for m in METRIC_NAMES if m.startswith("thr_"))


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
    tables = state.profile.tables_in(group, state.sys_descr)
    return await poll_tables(tr, state, tables, group, ts, up, profile_name)


async def poll_tables(
    tr: Transport,
    state: DeviceState,
    tables: list[TableSpec],
    group: str,
    ts: datetime,
    up: int | None,
    profile_name: str = "auto",
) -> pl.DataFrame:
    """Walk, decode and normalize ``tables`` (all of one group) of a discovered device. With
    ``state.tag_tables`` the samples keep a ``_table`` column (the table each came from)."""
    assert state.profile is not None
    walked_by_table = await walk_tables(tr, tables, state.walk_metadata)
    walked: dict[str, VarBinds] = {}
    for cols in walked_by_table:
        walked.update(cols)
        state.varbinds += sum(len(v) for v in cols.values())
    lazy: list[pl.LazyFrame] = []
    for name, idx in by_layout(tables).items():
        layout = LAYOUTS.get(name)
        mine, ws = [tables[i] for i in idx], [walked_by_table[i] for i in idx]
        got = layout.decode(mine, ws, state)
        if got.unknown:  # a row discovery never saw (a module plugged in): learn it, never guess
            await discover(tr, state, profile_name)
            got = layout.decode(mine, ws, state)
        if got.frame is not None:
            lazy.append(got.frame)
    if not lazy:
        return empty_samples()
    # the normalize chain as one lazy query, collected once (polars' cost here is per operation)
    out = pl.concat(lazy, how="diagonal_relaxed").with_columns(
        pl.lit(ts).alias("ts"),
        pl.lit(state.name).alias("device"),
        pl.lit(up, dtype=pl.Int64).alias("uptime_cs"),
    )
    metrics = _group_metrics(tables)
    rules = state.profile.absent
    if metrics & (DOM_METRICS | THRESHOLD_METRICS):
        out = common.apply_absent(out, rules)
        if not state.breakouts.is_empty():
            out = common.map_breakouts(out, state.breakouts)
    out = out.drop("_raw", "_text", strict=False)  # the raw cells served the rules; joins below carry less
    thr_roots = _threshold_roots(tables)
    if any(len(vb) for root, vb in walked.items() if root in thr_roots):
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
        if rules.zero_dbm_down:
            out = common.placeholder_zero(out, state.port_state)
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
    if state.tag_tables:  # for counting per table: the decoded samples, tagged, not conformed
        return collect(
            out.select("port", "lane", "metric", "value", pl.col("reason").cast(pl.String), "_table")
        )
    return collect(pl.concat([conform(out), conform(uptime_row)]))
