"""Checked YAML files: every problem as ``FILE:LINE:COL: path.to.field: message``, all at once.

The mechanism the inventory introduced, shared so that every YAML file a user writes (inventory,
collector config, profiles, lab scenarios) reports errors the same way: :func:`read_yaml` reads the
file within limits (size, depth, alias expansion: :mod:`linkmargin.yamlread`) into plain data;
validation (pydantic models plus cross-checks) works on that data and yields (location path,
message) pairs; :func:`issues_at` maps each path back to a file position.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from linkmargin.yamlread import YamlDoc, YamlReadError, positions, read_file

__all__ = [
    "FileIssue",
    "FileIssues",
    "Loc",
    "Problem",
    "YamlDoc",
    "did_you_mean",
    "issues_at",
    "loc_str",
    "locate",
    "plain",
    "pydantic_problems",
    "read_yaml",
]

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]


@dataclass(frozen=True, slots=True)
class FileIssue:
    """One error in a file; ``col`` is None for CSV rows (then ``path`` is the column)."""

    file: str
    line: int
    col: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.col is None else f"{self.file}:{self.line}:{self.col}"
        return f"{where}: {self.path}: {self.message}"


class FileIssues(Exception):
    """A file has errors; ``errors`` holds all of them, in file order."""

    def __init__(self, errors: list[FileIssue]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.file, e.line, e.col or 0))
        super().__init__("\n".join(str(e) for e in self.errors))


def loc_str(loc: Loc) -> str:
    """``("links", 0, "fiber", "type")`` -> ``links[0].fiber.type``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest known name, or an empty string."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def read_yaml(path: str | Path, max_bytes: int | None = None) -> YamlDoc:
    """Read a YAML file within the reader's limits (:mod:`linkmargin.yamlread`); ``max_bytes``
    overrides the size bound. Raises FileIssues on failure, at the position of the problem."""
    name = str(path)
    try:
        return read_file(path, limit=max_bytes)
    except YamlReadError as exc:
        where = "(file)" if exc.message.startswith(("cannot read", "file is", "not UTF-8")) else "(yaml)"
        raise FileIssues([FileIssue(name, exc.line, exc.col, where, exc.message)]) from None


def plain(node: Any) -> Any:
    """A read document's plain data (ruamel round-trip nodes -> plain dicts, lists, aware datetimes)."""
    if isinstance(node, YamlDoc):
        return node.data
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, datetime):
        return datetime(
            node.year,
            node.month,
            node.day,
            node.hour,
            node.minute,
            node.second,
            node.microsecond,
            node.tzinfo,
        )
    if isinstance(node, date):
        return node.isoformat()  # a bare date has no time zone: validation will say so
    return node


def locate(root: Any, loc: Loc, on_key: bool) -> tuple[int, int]:
    """1-based (line, col) of the node at ``loc``, or of the deepest ancestor that exists.

    ``on_key`` points at the key itself rather than its value (an unknown key has no useful value).
    """
    if isinstance(root, YamlDoc):
        return positions(root.text, [(loc, on_key)])[0]
    node = root
    line, col = (getattr(root, "lc", None) and (root.lc.line, root.lc.col)) or (0, 0)
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, CommentedMap) and part in node:
            line, col = node.lc.key(part) if (last and on_key) else node.lc.value(part)
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line, col = node.lc.item(part)
            node = node[part]
        else:
            break
    return line + 1, col + 1


def issues_at(file: str, root: Any, problems: Iterable[Problem]) -> list[FileIssue]:
    """Each (location, message) as a FileIssue at its position in the round-trip ``root``."""
    probs = list(problems)
    wanted = [(loc, msg.startswith("unknown key")) for loc, msg in probs]
    if isinstance(root, YamlDoc):  # one pass over the text for all of them
        where = positions(root.text, wanted) if wanted else []
    else:
        where = [locate(root, loc, on_key) for loc, on_key in wanted]
    return [
        FileIssue(file, line, col, loc_str(loc), msg)
        for (loc, msg), (line, col) in zip(probs, where, strict=True)
    ]


def _models_in(annotation: Any) -> tuple[list[type[BaseModel]], bool]:
    """The pydantic models an annotation holds, and whether it is a mapping (whose keys are names)."""
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation], False
    args = typing.get_args(annotation)
    mapping = origin in (dict, typing.Mapping) or (isinstance(origin, type) and issubclass(origin, dict))
    if origin in (typing.Union, types.UnionType, list, tuple, dict) or mapping:
        found: list[type[BaseModel]] = []
        for a in args[1:] if mapping else args:
            sub, sub_map = _models_in(a)
            found += sub
            mapping = mapping or sub_map
        return found, mapping
    return [], False


def owner_model(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that owns the key at ``loc`` (walks field annotations, lists and mappings)."""
    cur: type[BaseModel] | None = model
    skip_name = False
    for part in loc:
        if isinstance(part, int) or cur is None:
            continue
        if skip_name:  # a mapping's key is a user-chosen name, not a field
            skip_name = False
            continue
        f = cur.model_fields.get(part) or next(
            (fi for fi in cur.model_fields.values() if fi.alias == part), None
        )
        if f is None:
            return None
        models, skip_name = _models_in(f.annotation)
        cur = models[0] if len(models) == 1 else None
    return cur


def pydantic_problems(
    err: ValidationError, prefix: Loc, model: type[BaseModel], show_input: bool = True
) -> list[Problem]:
    """A pydantic ValidationError as (location, message) problems, worded for a person editing YAML.

    Unknown keys get a did-you-mean from the owning model's fields; a wrong value is quoted
    (``show_input``; always for a choice among literals), except in fields whose names say they
    hold secrets.
    """
    out: list[Problem] = []
    for e in err.errors():
        loc: Loc = prefix + tuple(e["loc"])
        typ = e["type"]
        field = str(e["loc"][-1]) if e["loc"] else ""
        if typ == "extra_forbidden":
            owner = owner_model(model, tuple(e["loc"][:-1]))
            names = [fi.alias or n for n, fi in owner.model_fields.items()] if owner else []
            msg = f"unknown key {field!r}" + did_you_mean(field, names)
        elif typ == "missing":
            msg = f"missing required key {field!r}"
        elif typ == "value_error":
            msg = str(e["msg"]).removeprefix("Value error, ")
        elif typ.startswith("literal") or (show_input and not _secret_name(field)):
            msg = f"{e['msg']}, got {e['input']!r}"
        else:
            msg = str(e["msg"])
        out.append((loc, msg))
    return out


def _secret_name(field: str) -> bool:
    return any(w in field for w in ("password", "community", "key", "secret", "token"))
