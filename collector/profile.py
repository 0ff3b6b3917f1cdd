"""Device profiles: YAML data saying which tables to walk and how to decode them.

A profile lists tables; each table names its ``layout`` (a decoder registered in
``collector.decode.LAYOUTS``: ``ifindex`` for rows indexed by ifIndex, optionally with a lane
sub-index; ``entity_sensor`` for RFC 3433 / CISCO-ENTITY-SENSOR rows mapped to ports through
ENTITY-MIB) and a poll ``group`` (dom, counters, discovery). Profiles include others by name
(every vendor profile includes ``if-mib``). ``profile: auto`` picks by sysObjectID, then by probing.

Profiles are validated at load (pydantic: the document's keys here, each table by its layout's
``spec`` model); every problem is reported as ``FILE:LINE:COL: path: message`` in one
:class:`ProfileError`, the way the inventory reports its own.

Where profiles come from: the directories in ``$LINKMARGIN_PROFILE_PATH`` (separated by ``:``,
searched in order), then the packaged ``collector/profiles``. A profile is ``<name>.yaml``; the
first directory holding a name wins, so a site can add a vendor, or replace a packaged profile,
without touching the code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from collector.decode import LAYOUTS
from collector.decode.common import DEFAULT_RULES, AbsentRules, Breakout
from collector.layout import Oid, TableSpec, UnknownLayout
from linkmargin.yamlcheck import (
    FileIssues,
    Problem,
    did_you_mean,
    issues_at,
    plain,
    pydantic_problems,
    read_yaml,
)

__all__ = [
    "PROFILE_PATH_ENV",
    "Profile",
    "ProfileError",
    "Selection",
    "UnknownProfile",
    "all_probe_oids",
    "describe",
    "load_profile",
    "profile_dirs",
    "profile_names",
    "select_profile",
]

PROFILE_PACKAGE = "collector.profiles"
PROFILE_PATH_ENV = "LINKMARGIN_PROFILE_PATH"


class ProfileError(FileIssues):
    """A profile file has errors; ``errors`` holds all of them, in file order."""


class UnknownProfile(LookupError):
    """No profile of that name in any profile directory."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown profile {name!r}{did_you_mean(name, known)}; known: {', '.join(known)}")

    def __str__(self) -> str:
        return str(self.args[0])


class Match(BaseModel):
    """How ``profile: auto`` picks this profile."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sys_object_id: list[Oid] = []  # sysObjectID prefixes (the longest matching prefix wins)
    probe: list[Oid] = []  # else: OIDs that must all have something under them
    priority: int = 0  # ties and probe order: higher first


class ProfileDocument(BaseModel):
    """A profile file's top level; each of ``tables`` is validated by its layout's own model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    includes: list[str] = []
    match: Match = Match()
    # when a value is no reading (sentinels, no-light floor, placeholders); default: the included
    # profile's, else the SFF-8472/8636 floor only
    absent: AbsentRules | None = None
    breakout: Breakout | None = None  # how broken-out sub-ports are named (lanes mapped to them)
    tables: list[object] = []


@dataclass(frozen=True, slots=True)
class Profile:
    """A named set of tables plus the sysObjectID prefixes and probe OIDs that select it."""

    name: str
    tables: tuple[TableSpec, ...]
    sys_object_ids: tuple[str, ...] = ()
    probe: tuple[str, ...] = ()
    priority: int = 0
    absent: AbsentRules = DEFAULT_RULES
    breakout: Breakout | None = None
    own_absent: bool = False  # whether ``absent`` is this profile's own (else inherited or default)

    def tables_in(self, group: str, sys_descr: str | None = None) -> list[TableSpec]:
        """Tables polled by ``group`` on an agent with this sysDescr (release switches)."""
        return [t for t in self.tables if t.group == group and t.applies(sys_descr)]


def profile_dirs() -> list[Path]:
    """Where profiles are looked for, in order: ``$LINKMARGIN_PROFILE_PATH``, then the packaged ones."""
    extra = [Path(p) for p in os.environ.get(PROFILE_PATH_ENV, "").split(os.pathsep) if p]
    return [*extra, Path(str(resources.files(PROFILE_PACKAGE)))]


def _files(dirs: tuple[Path, ...]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for d in dirs:
        for f in sorted(d.glob("*.yaml")) if d.is_dir() else []:
            out.setdefault(f.stem, f)
    return out


def profile_names() -> list[str]:
    """Every profile name the profile directories hold."""
    return sorted(_files(tuple(profile_dirs())))


def load_profile(name: str) -> Profile:
    """A profile by name, validated, with its includes resolved (includes' tables first).

    Raises :class:`UnknownProfile`, or :class:`ProfileError` with every problem of the file.
    """
    return _load(name, tuple(profile_dirs()), ())


def _table_problems(i: int, raw: object) -> tuple[TableSpec | None, list[Problem]]:
    """One table validated by the model of the layout it names."""
    at = ("tables", i)
    if not isinstance(raw, dict):
        return None, [(at, "a table is a mapping (name, layout, group, root, ...)")]
    if "layout" not in raw:
        return None, [(at, "missing required key 'layout'")]
    try:
        layout = LAYOUTS.get(str(raw["layout"]))
    except UnknownLayout as exc:
        return None, [((*at, "layout"), str(exc))]
    try:
        return layout.spec.model_validate(raw), []
    except ValidationError as exc:
        return None, pydantic_problems(exc, at, layout.spec)


@cache
def _load(name: str, dirs: tuple[Path, ...], including: tuple[str, ...]) -> Profile:
    files = _files(dirs)
    path = files.get(name)
    if path is None:
        raise UnknownProfile(name, sorted(files))
    try:
        root = read_yaml(path)
    except FileIssues as exc:
        raise ProfileError(exc.errors) from None
    data: Any = plain(root)
    problems: list[Problem] = []
    doc: ProfileDocument | None = None
    try:
        doc = ProfileDocument.model_validate(data)
    except ValidationError as exc:
        problems += pydantic_problems(exc, (), ProfileDocument)
    raw_tables = data.get("tables") if isinstance(data, dict) else None
    tables: list[TableSpec] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_tables if isinstance(raw_tables, list) else []):
        table, found = _table_problems(i, raw)
        problems += found
        if table is None:
            continue
        if table.name in seen:
            problems.append(
                (("tables", i, "name"), f"table {table.name!r} is already tables[{seen[table.name]}]")
            )
        seen[table.name] = i
        tables.append(table)
    included: list[TableSpec] = []
    inherited: list[Profile] = []
    top = data if isinstance(data, dict) else {}
    if isinstance(top.get("name"), str) and top["name"] != name:
        problems.append((("name",), f"the profile in {path.name} must be named {name!r}"))
    includes = top.get("includes")
    for j, inc in enumerate(includes if isinstance(includes, list) else []):
        if not isinstance(inc, str):
            continue  # the document's validation said so
        if inc not in files:
            problems.append((("includes", j), f"unknown profile {inc!r}{did_you_mean(inc, files)}"))
        elif inc == name or inc in including:
            problems.append((("includes", j), f"includes {inc!r}, which includes {name!r}: a cycle"))
        elif not problems:
            got = _load(inc, dirs, (*including, name))
            included.extend(got.tables)
            inherited.append(got)
    if problems or doc is None:
        raise ProfileError(issues_at(str(path), root, problems))
    absent = doc.absent or next((p.absent for p in inherited if p.own_absent), DEFAULT_RULES)
    breakout = doc.breakout or next((p.breakout for p in inherited if p.breakout), None)
    return Profile(
        name=doc.name,
        tables=(*included, *tables),
        sys_object_ids=tuple(doc.match.sys_object_id),
        probe=tuple(doc.match.probe),
        priority=doc.match.priority,
        absent=absent,
        breakout=breakout,
        own_absent=doc.absent is not None or any(p.own_absent for p in inherited),
    )


@dataclass(frozen=True, slots=True)
class Selection:
    """Which profile ``profile: auto`` chose for a device, and why (one line for ``poll --explain``)."""

    profile: Profile
    why: str
    generic: bool  # no vendor profile matched: the generic ENTITY-SENSOR-MIB path


GENERIC = "entity-sensor"  # what a device matching no profile gets


def select_profile(sys_object_id: str | None, probed: dict[str, bool]) -> Selection:
    """Pick a profile for ``profile: auto``: the longest sysObjectID prefix (then priority), else the
    highest-priority profile whose probe OIDs all answered, else the generic ENTITY-SENSOR-MIB one.

    ``probed`` maps probe OIDs to whether the agent has anything under them.
    """
    profiles = [load_profile(n) for n in profile_names()]
    oid = (sys_object_id or "").strip(".")
    best: tuple[int, int, Profile, str] | None = None
    for p in profiles:
        for prefix in p.sys_object_ids:
            if oid == prefix or oid.startswith(prefix + "."):
                cand = (len(prefix), p.priority, p, prefix)
                if best is None or cand[:2] > best[:2]:
                    best = cand
    if best is not None:
        return Selection(best[2], f"sysObjectID {oid} starts with {best[3]}", best[2].name == GENERIC)
    for p in sorted(profiles, key=lambda p: -p.priority):
        # a probe picks a profile that reads optics; building blocks (mau-fec) come with the generic one
        if p.probe and p.tables_in("dom") and all(probed.get(o, False) for o in p.probe):
            why = f"sysObjectID {oid or '(none)'} matches no profile; probe {', '.join(p.probe)} answered"
            return Selection(p, why, p.name == GENERIC)
    why = f"sysObjectID {oid or '(none)'} matches no profile and no probe answered"
    return Selection(load_profile(GENERIC), why, True)


def describe(p: Profile) -> dict[str, object]:
    """What a profile reads, for ``linkmargin profiles``: how it is matched, its rules, and per table
    its layout, group, root and the metrics it can yield."""
    tables = [
        {
            "name": t.name,
            "layout": t.layout,
            "group": t.group,
            "root": t.root,
            "metrics": sorted(LAYOUTS.get(t.layout).metrics(t)),
            **({"when_sys_descr": t.when_sys_descr} if t.when_sys_descr else {}),
            **({"unless_sys_descr": t.unless_sys_descr} if t.unless_sys_descr else {}),
        }
        for t in p.tables
    ]
    rules = p.absent.model_dump(exclude_defaults=True)
    return {
        "name": p.name,
        "sys_object_id": list(p.sys_object_ids),
        "probe": list(p.probe),
        "priority": p.priority,
        "absent": rules,
        "breakout": p.breakout.model_dump() if p.breakout else None,
        "tables": tables,
    }


def all_probe_oids() -> list[str]:
    """Every probe OID of every profile (walked once when auto-selecting)."""
    return sorted({o for n in profile_names() for o in load_profile(n).probe})
