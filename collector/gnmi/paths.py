"""gNMI paths as canonical strings, and the profile's path patterns matched against them.

Canonical form: ``/elem/elem[key=value]/...`` with module prefixes dropped from element and key names
(``openconfig-platform:components`` and ``components`` are the same path), keys sorted, and ``]`` and
``\\`` in key values escaped with a backslash. A pattern is a canonical path with placeholders —
``{port}``, ``{component}``, ``{lane}``, ``{severity}`` — as key values or inside element names
(SONiC's ``rx{lane}power``). Matching a path string is a dict lookup after the first time: the same
paths come back every sample interval.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from linkmargin.gnmi import gnmi_pb2

PLACEHOLDERS = ("port", "component", "lane", "severity")
_PH = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
_KEY_VALUE = r"(?:\\.|[^\]\\])+"
_IN_NAME = r"[^/\[\]]+"
MAX_CACHE = 200_000


def _strip(name: str) -> str:
    return name.rsplit(":", 1)[-1]


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace("]", "\\]")


def unescape(v: str) -> str:
    """A key value as the device sent it (undo the canonical escaping)."""
    return re.sub(r"\\(.)", r"\1", v)


def elems_string(elems: Iterable[gnmi_pb2.PathElem]) -> str:
    """Canonical string of path elements (no leading slash when empty)."""
    parts = []
    for e in elems:
        name = _strip(e.name)
        if e.key:
            name += "".join(f"[{_strip(k)}={_esc(e.key[k])}]" for k in sorted(e.key, key=_strip))
        parts.append(name)
    return "/".join(parts)


def path_string(prefix: gnmi_pb2.Path | None, path: gnmi_pb2.Path, below: Sequence[str] = ()) -> str:
    """The canonical string of ``prefix`` + ``path`` (+ JSON member names ``below``)."""
    parts: list[str] = []
    for p in (prefix, path):
        if p is None:
            continue
        # p.element: the deprecated string elements (gNMI < 0.4)
        s = elems_string(p.elem) if p.elem else "/".join(_strip(x) for x in p.element)
        if s:
            parts.append(s)
    parts.extend(below)
    return "/" + "/".join(parts)


def to_path(text: str) -> gnmi_pb2.Path:
    """A canonical path string (without placeholders) as a gNMI Path, e.g. for a subscription."""
    elems = []
    for seg in re.findall(r"(?:[^/\[]|\[(?:\\.|[^\]\\])*\])+", text):
        m = re.match(r"^([^\[]+)(.*)$", seg)
        if not m:
            raise ValueError(f"bad path segment {seg!r} in {text!r}")
        keys = dict((k, unescape(v)) for k, v in re.findall(r"\[([^=\]]+)=((?:\\.|[^\]\\])*)\]", m.group(2)))
        elems.append(gnmi_pb2.PathElem(name=m.group(1), key=keys))
    return gnmi_pb2.Path(elem=elems)


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A profile path pattern as an anchored regex with one named group per placeholder."""
    out, pos, depth = [], 0, 0
    for m in _PH.finditer(pattern):
        lit = pattern[pos : m.start()]
        depth += lit.count("[") - lit.count("]")
        out.append(re.escape(lit))
        name = m.group(1)
        out.append(f"(?P<{name}>{r'[0-9]+' if name == 'lane' else (_KEY_VALUE if depth > 0 else _IN_NAME)})")
        pos = m.end()
    out.append(re.escape(pattern[pos:]))
    return re.compile("^" + "".join(out) + "$")


class Match(NamedTuple):
    """Which profile leaf a path is, and its placeholders' values."""

    leaf: int
    port: str | None
    component: str | None
    lane: int | None
    severity: str | None


class PathMatcher:
    """Matches canonical path strings against a list of patterns, first match wins, with a cache."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self._rx = [compile_pattern(p) for p in patterns]
        self._cache: dict[str, Match | None] = {}

    def match(self, path: str) -> Match | None:
        """The first pattern ``path`` matches, or None."""
        hit = self._cache.get(path, False)
        if hit is not False:
            return hit  # type: ignore[return-value]
        found: Match | None = None
        for i, rx in enumerate(self._rx):
            m = rx.match(path)
            if m is None:
                continue
            g = m.groupdict()
            lane = g.get("lane")
            found = Match(
                i,
                unescape(g["port"]) if g.get("port") else None,
                unescape(g["component"]) if g.get("component") else None,
                int(lane) if lane is not None and len(lane) < 6 else None,
                _strip(unescape(g["severity"])) if g.get("severity") else None,
            )
            break
        if len(self._cache) >= MAX_CACHE:
            self._cache.clear()
        self._cache[path] = found
        return found
