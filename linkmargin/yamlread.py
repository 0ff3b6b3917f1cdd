"""Reading user-written YAML within limits: size, nesting depth and alias expansion, fast at any size.

One reader for every YAML file a user writes (inventory, collector config, device profiles, lab
scenarios): libyaml's C parser (through PyYAML) produces events, and one pass builds plain dicts,
lists and scalars from them, with no node tree and no per-node position kept. Positions are
found again, lazily, only for the paths an error names (:func:`positions`): a 50 MB inventory
loads in one pass of the parser, and a broken one pays a second pass to point at its errors.

Scalars are resolved as YAML 1.2 core schema plus timestamps (``yes``/``no``/``on``/``off`` are
strings, as in the round-trip loader this replaces). Merge keys (``<<: *base``) are honoured.

Limits, each a :class:`YamlLimitError` at the position that crossed it:

- size: :data:`MAX_BYTES` (64 MiB unless ``LINKMARGIN_YAML_MAX_MB`` says otherwise);
- nesting: :data:`MAX_DEPTH` levels of mappings and sequences;
- alias expansion ("billion laughs"): aliases may stand for at most :data:`ALIAS_NODES_MIN`
  nodes, or :data:`ALIAS_FACTOR` times the nodes the file really has, whichever is more. An alias
  reuses the anchored object (nothing is copied), so memory stays bounded by the file; the count
  bounds what later walks over the data (validation) would have to visit.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from yaml.cyaml import CParser  # type: ignore[attr-defined]  # the stubs omit it

__all__ = [
    "ALIAS_FACTOR",
    "ALIAS_NODES_MIN",
    "MAX_BYTES",
    "MAX_DEPTH",
    "YamlDoc",
    "YamlLimitError",
    "YamlReadError",
    "load_text",
    "max_bytes",
    "positions",
    "read_file",
]

# 64 MiB: an inventory with channel histories takes 500-700 bytes a link, so this is 100k links or
# more (200k optics), beyond the largest training fabrics. The reader does about 4,000 links/s and a
# whole inventory load about 2,000 links/s on a shared core (bench/results/yaml_load.md), so the
# bound is also a bound on the time to load (about a minute) and on memory (about 1.2 GB).
MAX_BYTES = 64 * 2**20
MAX_DEPTH = 64  # an inventory nests 7 levels deep; anything near 64 is not a hand-written file
ALIAS_NODES_MIN = 1_000_000
ALIAS_FACTOR = 10
ENV_MAX_MB = "LINKMARGIN_YAML_MAX_MB"


def max_bytes() -> int:
    """The size bound in force: :data:`MAX_BYTES`, or ``LINKMARGIN_YAML_MAX_MB`` megabytes if set."""
    raw = os.environ.get(ENV_MAX_MB, "").strip()
    try:
        return int(float(raw) * 2**20) if raw else MAX_BYTES
    except ValueError:
        return MAX_BYTES


@dataclass(frozen=True, slots=True)
class YamlReadError(Exception):
    """The file cannot be read as YAML: 1-based line and column, and what is wrong there."""

    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.line}:{self.col}: {self.message}"


class YamlLimitError(YamlReadError):
    """The file crosses one of the reader's limits (size, depth, alias expansion)."""


@dataclass(frozen=True, slots=True)
class YamlDoc:
    """A parsed document: its plain ``data``, and the text to find positions in when needed."""

    data: Any
    text: str = field(repr=False)


# --- scalars: YAML 1.2 core schema, plus timestamps --------------------------------------------

_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT_DEC = re.compile(r"[-+]?[0-9][0-9_]*\Z")
_INT_BASE = re.compile(r"[-+]?0(?:x[0-9a-fA-F_]+|o[0-7_]+|b[01_]+)\Z")
_FLOAT = re.compile(
    r"(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+"
    r"|[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?)\Z"
)
_SPECIAL_FLOAT = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf"), ".nan": float("nan")}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_TIMESTAMP = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{1,2}-[0-9]{1,2})(?:[Tt]|[ \t]+)"
    r"(?P<time>[0-9]{1,2}:[0-9]{2}:[0-9]{2})(?:\.(?P<frac>[0-9]*))?"
    r"[ \t]*(?P<tz>Z|[-+][0-9]{1,2}(?::?[0-9]{2})?)?\Z"
)
_NUMERIC_START = frozenset("-+.0123456789")


def _timestamp(m: re.Match[str]) -> datetime | str:
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(m.string)  # the common form (2026-01-10T08:00:00Z), fast
    y, mo, d = m["date"].split("-")
    frac = (m["frac"] or "")[:6].ljust(6, "0")
    tz = m["tz"] or ""
    if tz == "Z":
        tz = "+00:00"
    elif tz:
        sign, rest = tz[0], tz[1:].replace(":", "")
        hh, mm = (rest[:-2], rest[-2:]) if len(rest) > 2 else (rest, "00")
        tz = f"{sign}{int(hh):02d}:{mm}"
    h, mi, s = m["time"].split(":")
    text = f"{int(y):04d}-{int(mo):02d}-{int(d):02d}T{int(h):02d}:{mi}:{s}.{frac}{tz}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return m.string  # not a real date (2026-13-45): left as text for validation to name


def resolve_plain(value: str) -> Any:
    """The value of an untagged plain scalar."""
    if not value:
        return None
    c = value[0]
    if c in _NUMERIC_START:
        try:
            if _INT_DEC.match(value):
                return int(value.replace("_", ""), 10)
            if _INT_BASE.match(value):
                return int(value.replace("_", ""), 0)
            if _FLOAT.match(value):
                return float(value.replace("_", ""))
        except ValueError:  # more digits than int() takes: left as text for validation to name
            return value
        lowered = value.lower()
        if lowered in _SPECIAL_FLOAT and value[-3:] in ("inf", "Inf", "INF", "nan", "NaN", "NAN"):
            return _SPECIAL_FLOAT[lowered]
        if c.isdigit() and (m := _TIMESTAMP.match(value)) is not None:
            return _timestamp(m)
        if _DATE.match(value):
            return value  # a bare date has no time zone: kept as text, validation says so if it matters
        return value
    if c in "nNtTfF~":
        if value in _NULL:
            return None
        b = _BOOL.get(value)
        if b is not None:
            return b
    return value


_CORE_TAGS = "tag:yaml.org,2002:"


def _tagged(tag: str, value: str, mark: Any) -> Any:
    """A scalar with an explicit core tag (``!!str 10``); any other tag is an error."""
    kind = tag.removeprefix(_CORE_TAGS) if tag.startswith(_CORE_TAGS) else None
    if tag == "!" or kind == "str":
        return value
    got = resolve_plain(value)
    ok = {
        "null": got is None,
        "bool": isinstance(got, bool),
        "int": isinstance(got, int) and not isinstance(got, bool),
        "float": isinstance(got, int | float) and not isinstance(got, bool),
        "timestamp": isinstance(got, datetime),
    }
    if kind in ok:
        if ok[kind]:
            return float(got) if kind == "float" else got
        raise _err(mark, f"{value!r} is not a valid !!{kind}")
    raise _err(mark, f"unknown tag {tag!r} (only plain YAML types are read)")


def _err(mark: Any, message: str, cls: type[YamlReadError] = YamlReadError) -> YamlReadError:
    return cls(mark.line + 1, mark.column + 1, message)


# --- building plain data from parser events ------------------------------------------------------

_ScalarEvent = yaml.ScalarEvent
_AliasEvent = yaml.AliasEvent
_MappingStart = yaml.MappingStartEvent
_MappingEnd = yaml.MappingEndEvent
_SequenceStart = yaml.SequenceStartEvent
_SequenceEnd = yaml.SequenceEndEvent
_DocumentStart = yaml.DocumentStartEvent
_StreamEnd = yaml.StreamEndEvent
_NO_KEY = object()


class _Frame:
    """A mapping or sequence being built."""

    __slots__ = ("anchor", "container", "is_map", "key", "key_mark", "merges", "size")

    def __init__(self, container: Any, is_map: bool, anchor: str | None) -> None:
        self.container = container
        self.is_map = is_map
        self.anchor = anchor
        self.key: Any = _NO_KEY
        self.key_mark: Any = None
        self.merges: list[dict[str, Any]] | None = None
        self.size = 1


def _scalar_value(ev: Any) -> Any:
    if ev.tag is None and ev.implicit[0] and ev.style == "":
        return resolve_plain(ev.value)
    if ev.tag is None or ev.tag == "!":
        return ev.value
    return _tagged(ev.tag, ev.value, ev.start_mark)


def load_text(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Plain data of a one-document YAML text; raises YamlReadError (YamlLimitError at a limit)."""
    try:
        return _build(CParser(text), max_depth)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        msg = ": ".join(str(p) for p in (exc.context, exc.problem) if p) or str(exc)
        raise YamlReadError(mark.line + 1 if mark else 1, mark.column + 1 if mark else 1, msg) from None
    except yaml.YAMLError as exc:  # reader errors (control characters) carry a character offset
        pos = getattr(exc, "position", None)
        line, col = _offset_to_line_col(text, pos) if isinstance(pos, int) else (1, 1)
        raise YamlReadError(line, col, str(exc).splitlines()[0]) from None


def _offset_to_line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _build(parser: Any, max_depth: int) -> Any:
    """One pass over the parser's events; the hot loop of every YAML file read."""
    get = parser.get_event
    anchors: dict[str, tuple[Any, int]] = {}
    stack: list[_Frame] = []
    top: _Frame | None = None
    root: Any = None
    nodes = 0  # nodes in the file
    via_alias = 0  # nodes aliases stand for
    documents = 0
    strings: dict[str, str] = {}  # one object per distinct key or short text: a big file repeats them
    intern = strings.setdefault

    while True:
        ev = get()
        cls = ev.__class__
        size = 1
        if cls is _ScalarEvent:
            nodes += 1
            raw = ev.value
            if ev.tag is None and ev.style == "" and ev.implicit[0]:
                if top is not None and top.is_map and top.key is _NO_KEY and raw == "<<":
                    value: Any = _MERGE
                else:
                    value = resolve_plain(raw)
                    if value.__class__ is str and len(value) <= 24:
                        value = intern(value, value)
            elif ev.tag is None or ev.tag == "!":
                value = intern(raw, raw) if len(raw) <= 24 else raw
            else:
                value = _tagged(ev.tag, raw, ev.start_mark)
            if ev.anchor is not None:
                anchors[ev.anchor] = (value, 1)
            is_key_ok = True
        elif cls is _MappingStart or cls is _SequenceStart:
            nodes += 1
            if len(stack) >= max_depth:
                raise _err(ev.start_mark, f"nested deeper than {max_depth} levels", YamlLimitError)
            is_map = cls is _MappingStart
            if top is not None and top.is_map and top.key is _NO_KEY:
                raise _err(ev.start_mark, "a key must be a plain value, not a mapping or a list")
            if ev.tag is not None and ev.tag not in ("!", _CORE_TAGS + ("map" if is_map else "seq")):
                raise _err(ev.start_mark, f"unknown tag {ev.tag!r} (only plain YAML types are read)")
            top = _Frame({} if is_map else [], is_map, ev.anchor)
            stack.append(top)
            continue
        elif cls is _MappingEnd or cls is _SequenceEnd:
            frame = stack.pop()
            top = stack[-1] if stack else None
            if frame.merges:
                d = frame.container
                for src in frame.merges:
                    for k, v in src.items():
                        d.setdefault(k, v)
            value, size = frame.container, frame.size
            if frame.anchor is not None:
                anchors[frame.anchor] = (value, size)
            is_key_ok = False
        elif cls is _AliasEvent:
            nodes += 1
            got = anchors.get(ev.anchor)
            if got is None:
                raise _err(ev.start_mark, f"alias *{ev.anchor} names no anchor before it")
            value, size = got
            via_alias += size
            if via_alias > (allowed := max(ALIAS_NODES_MIN, ALIAS_FACTOR * nodes)):
                raise _err(
                    ev.start_mark,
                    f"aliases expand to {via_alias:,} nodes, over the {allowed:,} allowed for a file "
                    f"of {nodes:,} (an alias bomb?)",
                    YamlLimitError,
                )
            is_key_ok = not isinstance(value, dict | list)
        elif cls is _DocumentStart:
            documents += 1
            if documents > 1:
                raise _err(ev.start_mark, "expected one YAML document, found a second one")
            continue
        elif cls is _StreamEnd:
            return root if documents else None
        else:
            continue
        # a finished node: the document's root, an item, a key, or a key's value
        if top is None:
            root = value
            continue
        top.size += size
        if not top.is_map:
            top.container.append(value)
        elif top.key is _NO_KEY:
            if not is_key_ok:
                raise _err(ev.start_mark, "a key must be a plain value, not a mapping or a list")
            top.key, top.key_mark = value, ev.start_mark
        else:
            key = top.key
            top.key = _NO_KEY
            if key is _MERGE:
                sources = value if isinstance(value, list) else [value]
                if not all(isinstance(src, dict) for src in sources):
                    raise _err(top.key_mark, "a merge key (<<) takes a mapping or a list of mappings")
                top.merges = (top.merges or []) + sources
                continue
            name = key if key.__class__ is str else str(key)
            d = top.container
            if name in d:
                raise _err(top.key_mark, f"duplicate key {name!r}")
            d[name] = value


class _Merge:
    def __repr__(self) -> str:
        return "<<"


_MERGE = _Merge()


def read_file(path: str | Path, *, limit: int | None = None, max_depth: int = MAX_DEPTH) -> YamlDoc:
    """Read, decode and parse a YAML file within the limits; raises YamlReadError (line 1 for size)."""
    p = Path(path)
    bound = max_bytes() if limit is None else limit
    try:
        size = p.stat().st_size
        if size > bound:
            raise YamlLimitError(
                1,
                1,
                f"file is {size / 2**20:.1f} MiB, over the {bound / 2**20:.0f} MiB limit "
                f"(set {ENV_MAX_MB} to raise it)",
            )
        with p.open("rb") as fh:
            raw = fh.read(bound + 1)  # the file may have grown since stat
    except OSError as exc:
        raise YamlReadError(1, 1, f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > bound:
        raise YamlLimitError(1, 1, f"file is over the {bound / 2**20:.0f} MiB limit")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = len(raw[raw.rfind(b"\n", 0, exc.start) + 1 : exc.start].decode("utf-8", "replace")) + 1
        raise YamlReadError(line, col, f"not UTF-8 text (byte 0x{raw[exc.start]:02x})") from None
    return YamlDoc(load_text(text, max_depth=max_depth), text)


# --- positions, found again for the paths errors name ------------------------------------------


def positions(text: str, wanted: list[tuple[tuple[str | int, ...], bool]]) -> list[tuple[int, int]]:
    """1-based (line, col) for each (path, on_key): the node at the path (its key if ``on_key``), or
    the deepest ancestor of it the document has. One pass of the parser over ``text``."""
    prefixes: set[tuple[str | int, ...]] = set()
    for loc, _ in wanted:
        for i in range(len(loc) + 1):
            prefixes.add(tuple(loc[:i]))
    found: dict[tuple[str | int, ...], tuple[Any, Any]] = {}  # path -> (key mark, value mark)
    # a document that parsed once parses again; if not, positions stay at what was found
    with contextlib.suppress(yaml.YAMLError):
        _scan(CParser(text), prefixes, found)
    out = []
    for loc, on_key in wanted:
        mark: Any = None
        for i in range(len(loc), -1, -1):
            got = found.get(tuple(loc[:i]))
            if got is not None:
                mark = got[0] if (on_key and i == len(loc)) else got[1]
                break
        out.append((mark.line + 1, mark.column + 1) if mark is not None else (1, 1))
    return out


def _scan(
    parser: Any,
    prefixes: set[tuple[str | int, ...]],
    found: dict[tuple[str | int, ...], tuple[Any, Any]],
) -> None:
    """Walk events tracking the path; record marks of every node whose path is a wanted prefix."""
    get = parser.get_event
    # per open container: [path, is_map, next index or pending key (None), key mark, skipping]
    stack: list[list[Any]] = []
    skip_depth = 0  # > 0 while inside a subtree no wanted path goes through

    def child_path() -> tuple[tuple[str | int, ...] | None, Any]:
        """The path of the node starting now, and its key's mark; None when this event is a key."""
        if not stack:
            return (), None
        top = stack[-1]
        if top[1]:
            if top[2] is None:
                return None, None
            return (*top[0], top[2]), top[3]
        i = top[2]
        top[2] = i + 1
        return (*top[0], i), None

    def after_value() -> None:
        if stack and stack[-1][1]:
            stack[-1][2] = None

    while True:
        ev = get()
        cls = ev.__class__
        if skip_depth:
            if cls is _MappingStart or cls is _SequenceStart:
                skip_depth += 1
            elif cls is _MappingEnd or cls is _SequenceEnd:
                skip_depth -= 1
                if not skip_depth:
                    after_value()
            continue
        if cls is _ScalarEvent or cls is _AliasEvent:
            path, key_mark = child_path()
            if path is None:  # a key
                top = stack[-1]
                value = _scalar_value(ev) if cls is _ScalarEvent else ev.anchor
                top[2] = value if isinstance(value, str) else str(value)
                top[3] = ev.start_mark
                continue
            if path in prefixes:
                found[path] = (key_mark or ev.start_mark, ev.start_mark)
            after_value()
        elif cls is _MappingStart or cls is _SequenceStart:
            path, key_mark = child_path()
            if path is None:  # a complex key: the builder refused it already
                return
            if path not in prefixes:
                skip_depth = 1
                continue
            found[path] = (key_mark or ev.start_mark, ev.start_mark)
            stack.append([path, cls is _MappingStart, None if cls is _MappingStart else 0, None])
        elif cls is _MappingEnd or cls is _SequenceEnd:
            stack.pop()
            after_value()
        elif cls is _StreamEnd:
            return
