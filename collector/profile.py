"""Device profiles: YAML data saying which tables to walk and how to decode them.

A profile lists tables; each table has a ``layout`` (``ifindex``: rows indexed by ifIndex, optionally
with a lane sub-index; ``entity_sensor``: RFC 3433 / CISCO-ENTITY-SENSOR rows mapped to ports through
ENTITY-MIB) and a poll ``group`` (dom, counters, discovery). Profiles include others by name
(every vendor profile includes ``if-mib``). ``profile: auto`` picks by sysObjectID, then by probing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from ruamel.yaml import YAML

PROFILE_PACKAGE = "collector.profiles"


@dataclass(frozen=True, slots=True)
class Column:
    """One walked column of an ``ifindex`` table."""

    num: int
    metric: str | None = None  # a linkmargin Metric name, or None for a label column
    name: str | None = None  # label columns: if_name, if_alias, lanes ...
    kind: str = "int"  # int | u64 | text
    bits: int | None = None  # counters: 32 or 64
    scale: float = 1.0  # raw * scale = value in the metric's unit (gauges)
    unit: str | None = None  # "dbm" | "mw" | "ua": how to read power/bias before scaling
    aggregate_zero: bool = False  # a 0 on a multi-lane optic is a lane aggregate (Juniper)


@dataclass(frozen=True, slots=True)
class Table:
    """A table to walk, how its rows decode, and in which poll group."""

    name: str
    layout: str
    group: str
    root: str
    columns: tuple[Column, ...] = ()
    spec: dict[str, Any] = field(default_factory=dict)  # layout-specific data (entity_sensor)

    def column_oids(self) -> list[str]:
        """The column roots to walk (walking columns, not the whole entry, saves varbinds)."""
        if self.layout == "entity_sensor":
            cols = [f"{self.root}.{n}" for n in sorted(self.spec["columns"].values())]
            thr = self.spec.get("thresholds")
            if thr and thr.get("by_column"):
                cols += [f"{thr['root']}.{c}" for c in thr["by_column"]]
            elif thr:
                cols += [f"{thr['root']}.{thr[k]}" for k in ("severity", "relation", "value")]
            return cols
        return [f"{self.root}.{c.num}" for c in self.columns]


@dataclass(frozen=True, slots=True)
class Profile:
    """A named set of tables plus the sysObjectID prefixes and probe OIDs that select it."""

    name: str
    tables: tuple[Table, ...]
    sys_object_ids: tuple[str, ...] = ()
    probe: tuple[str, ...] = ()
    priority: int = 0

    def tables_in(self, group: str) -> list[Table]:
        """Tables polled by ``group``."""
        return [t for t in self.tables if t.group == group]


def _load_raw(name: str) -> dict[str, Any]:
    text = resources.files(PROFILE_PACKAGE).joinpath(f"{name}.yaml").read_text()
    doc: dict[str, Any] = YAML(typ="safe").load(text)
    return doc


def _table(doc: dict[str, Any]) -> Table:
    cols = []
    for num, c in (doc.get("columns") or {}).items():
        if doc.get("layout") == "entity_sensor":
            break
        c = dict(c)
        cols.append(Column(num=int(num), **c))
    spec = {k: v for k, v in doc.items() if k not in ("name", "layout", "group", "root")}
    if doc["layout"] != "entity_sensor":
        spec.pop("columns", None)
    return Table(
        name=doc["name"],
        layout=doc["layout"],
        group=doc["group"],
        root=str(doc["root"]),
        columns=tuple(cols),
        spec=spec,
    )


@cache
def load_profile(name: str) -> Profile:
    """Load a packaged profile by name, with its includes resolved (includes first)."""
    doc = _load_raw(name)
    tables: list[Table] = []
    for inc in doc.get("includes") or []:
        tables.extend(load_profile(inc).tables)
    tables.extend(_table(t) for t in doc.get("tables") or [])
    match = doc.get("match") or {}
    return Profile(
        name=doc["name"],
        tables=tuple(tables),
        sys_object_ids=tuple(str(s) for s in match.get("sys_object_id") or []),
        probe=tuple(str(s) for s in match.get("probe") or []),
        priority=int(match.get("priority", 0)),
    )


def profile_names() -> list[str]:
    """All packaged profiles."""
    return sorted(
        p.name.removesuffix(".yaml")
        for p in resources.files(PROFILE_PACKAGE).iterdir()
        if p.name.endswith(".yaml")
    )


def select_profile(sys_object_id: str | None, probed: dict[str, bool]) -> Profile:
    """Pick a profile for ``profile: auto``: sysObjectID prefix first, else the first probe that answered.

    ``probed`` maps probe OIDs to whether the agent has anything under them.
    """
    profiles = [load_profile(n) for n in profile_names()]
    oid = (sys_object_id or "").strip(".")
    best: tuple[int, int, Profile] | None = None
    for p in profiles:
        for prefix in p.sys_object_ids:
            if oid == prefix or oid.startswith(prefix + "."):
                cand = (len(prefix), p.priority, p)
                if best is None or cand[:2] > best[:2]:
                    best = cand
    if best is not None:
        return best[2]
    for p in sorted(profiles, key=lambda p: -p.priority):
        if p.probe and all(probed.get(o, False) for o in p.probe):
            return p
    return load_profile("if-mib")


def all_probe_oids() -> list[str]:
    """Every probe OID of every profile (walked once when auto-selecting)."""
    return sorted({o for n in profile_names() for o in load_profile(n).probe})
