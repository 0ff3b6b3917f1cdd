"""The on-disk Parquet history: its layout, atomic writes, compaction, and which files are readable.

Layout: ``ROOT/date=YYYY-MM-DD/part-L<level>-<time>-<id>.parquet``. The collector writes level-0 files
every few seconds; :func:`compact` merges ``fanout`` files of one level into one file of the next.
Every file is written as ``.NAME.tmp``, fsynced, renamed and its directory fsynced, so a crash
leaves whole files or a ``.tmp`` (removed by :func:`clean`), never half a Parquet file.

A compacted file names the files it replaces in its Parquet key-value metadata
(``linkmargin.replaces``). Compaction renames the merged file into place *before* it deletes the
members, and readers (:func:`list_history`) drop every file some readable file replaces, so a crash
between the two steps neither loses rows (the members are still there until the merged file is)
nor doubles them (the members are ignored once it is); :func:`clean` finishes the deletion.
A file whose footer cannot be read (truncated, garbage, wrong schema) is reported as bad and skipped
by every reader, with one warning naming it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

REPLACES_KEY = b"linkmargin.replaces"
REQUIRED_COLUMNS = ("ts", "device", "metric")
LOCK_NAME = ".compact.lock"
_LEVEL = re.compile(r"^part-L(\d+)-")


@dataclass(frozen=True)
class BadFile:
    """A history file no reader can use, and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class HistoryFiles:
    """The files of a history: ``good`` ones to read, ``bad`` ones skipped, ``superseded`` ones
    (replaced by a compacted file whose members were not yet deleted) ignored."""

    good: list[Path] = field(default_factory=list)
    bad: list[BadFile] = field(default_factory=list)
    superseded: list[Path] = field(default_factory=list)
    rows: int = 0

    def warn(self) -> None:
        """Log one warning per bad file, naming it."""
        for b in self.bad:
            log.warning("%s: skipped unreadable history file (%s)", b.path, b.reason)


def partition_dir(root: Path, day: object) -> Path:
    """The directory of one day's partition."""
    return root / f"date={day}"


def level_of(path: Path) -> int | None:
    """The compaction level a file's name carries (None for files not written by this module)."""
    m = _LEVEL.match(path.name)
    return int(m.group(1)) if m else None


def new_name(level: int) -> str:
    """A fresh file name at ``level``; names of one level sort in the order they were written."""
    return f"part-L{level}-{time.time_ns():016x}-{uuid.uuid4().hex[:8]}.parquet"


def _fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(frame: pl.DataFrame, path: Path, *, replaces: list[str] | None = None) -> Path:
    """Write ``frame`` to ``path`` via ``.NAME.tmp`` + fsync + rename + directory fsync.

    On any error (``ENOSPC`` included) the ``.tmp`` is removed and the error raised; ``path`` is then
    absent, never partial. ``replaces`` (names in the same directory) goes into the file's metadata.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    table = frame.to_arrow()
    if replaces is not None:
        meta = dict(table.schema.metadata or {})
        meta[REPLACES_KEY] = json.dumps(sorted(replaces)).encode()
        table = table.replace_schema_metadata(meta)
    try:
        with open(tmp, "wb") as fh:
            pq.write_table(table, fh, compression="zstd")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)
    return path


def _candidates(root: Path) -> Iterator[Path]:
    for p in sorted(root.rglob("*.parquet")):
        if not p.name.startswith(".") and p.is_file():
            yield p


def _footer(path: Path) -> tuple[int, list[str]] | str:
    """(rows, names it replaces) from the footer, or the reason it cannot be used."""
    try:
        md = pq.read_metadata(path)
        names = md.schema.to_arrow_schema().names
    except FileNotFoundError:
        raise
    except Exception as exc:  # any failure to parse the footer makes the file bad
        return f"not a readable Parquet file ({type(exc).__name__}: {exc})"
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        return f"not a sample file (lacks column {missing[0]!r})"
    kv = md.metadata or {}
    replaces: list[str] = []
    if REPLACES_KEY in kv:
        try:
            replaces = [str(x) for x in json.loads(kv[REPLACES_KEY])]
        except ValueError as exc:
            return f"bad {REPLACES_KEY.decode()} metadata ({exc})"
    return md.num_rows, replaces


def list_history(root: str | Path, *, deep: bool = False, warn: bool = True) -> HistoryFiles:
    """The readable files under ``root`` (any depth), the bad ones and the superseded ones.

    Reads each file's footer (``deep``: decodes every page too, as ``linkmargin history check``
    does). A file that vanishes while listed (a compaction finished meanwhile) restarts the listing.
    """
    root = Path(root)
    for _attempt in range(5):
        try:
            return _list_once(root, deep=deep, warn=warn)
        except FileNotFoundError:
            continue
    return _list_once(root, deep=deep, warn=warn)


def _list_once(root: Path, *, deep: bool, warn: bool) -> HistoryFiles:
    out = HistoryFiles()
    ok: dict[Path, int] = {}
    replaced: set[Path] = set()
    for p in _candidates(root):
        info = _footer(p)
        if isinstance(info, str):
            out.bad.append(BadFile(p, info))
            continue
        if deep:
            try:
                pq.ParquetFile(p).read()
            except FileNotFoundError:
                raise
            except Exception as exc:  # any decoding failure
                out.bad.append(BadFile(p, f"unreadable data ({type(exc).__name__}: {exc})"))
                continue
        ok[p] = info[0]
        replaced.update(p.parent / n for n in info[1])
    for p, rows in ok.items():
        if p in replaced:
            out.superseded.append(p)
        else:
            out.good.append(p)
            out.rows += rows
    if warn:
        out.warn()
    return out


def read_history(files: HistoryFiles) -> pl.DataFrame | None:
    """Read the good files into one frame (columns unified); a file failing to decode is moved to
    ``files.bad`` with a warning. None when nothing was readable."""
    frames = []
    for p in list(files.good):
        try:
            frames.append(pl.read_parquet(p))
        except Exception as exc:  # a corrupt page: skip the file, keep the others
            bad = BadFile(p, f"unreadable data ({type(exc).__name__}: {exc})")
            files.good.remove(p)
            files.bad.append(bad)
            log.warning("%s: skipped unreadable history file (%s)", bad.path, bad.reason)
    return pl.concat(frames, how="diagonal_relaxed") if frames else None


@contextlib.contextmanager
def _lock(root: Path) -> Iterator[bool]:
    """The root's compaction lock, non-blocking: yields False when another process holds it."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def clean(root: str | Path) -> tuple[int, int]:
    """Remove leftover ``.tmp`` files and finish interrupted compactions (delete superseded files).

    Returns (tmp files removed, superseded files removed). Does nothing while another process
    compacts the same root.
    """
    root = Path(root)
    if not root.is_dir():
        return 0, 0
    with _lock(root) as mine:
        if not mine:
            return 0, 0
        tmps = [p for p in root.rglob(".*.tmp") if p.is_file()]
        for p in tmps:
            p.unlink(missing_ok=True)
        files = list_history(root, warn=False)
        for p in files.superseded:
            p.unlink(missing_ok=True)
        for d in {p.parent for p in [*tmps, *files.superseded]}:
            _fsync_dir(d)
        return len(tmps), len(files.superseded)


def compact(
    root: str | Path, *, fanout: int = 12, force: bool = False, only: Iterable[Path] | None = None
) -> int:
    """Merge, in each partition, every ``fanout`` readable files of one level into one of the next,
    level by level (a merge that completes a group of the next level cascades).

    ``force`` merges all of a partition's files (at least two) into one; ``only`` limits the work to
    these partition directories (the collector passes the ones it just wrote). Bad files are left in
    place. The merged file is renamed into place before its members are deleted (see the module doc).
    Returns the number of files merged away; 0 while another process compacts the same root.
    """
    root = Path(root)
    if not root.is_dir():
        return 0
    with _lock(root) as mine:
        if not mine:
            return 0
        dirs = [root] if only is None else sorted(set(only))
        merged = 0
        while n := _compact_pass(dirs, fanout, force):
            merged += n
        return merged


def _compact_pass(dirs: list[Path], fanout: int, force: bool) -> int:
    merged = 0
    by_level: dict[tuple[Path, int], list[Path]] = {}
    for root in dirs:
        files = list_history(root, warn=False)
        for p in files.superseded:  # an earlier compaction's members: finish deleting them
            p.unlink(missing_ok=True)
        for p in files.good:
            lvl = level_of(p)
            if lvl is not None:  # force: a partition's files of all levels in one group
                by_level.setdefault((p.parent, -1 if force else lvl), []).append(p)
    for (d, _lvl), members in sorted(by_level.items()):
        while len(members) >= (2 if force else fanout):
            group, members = (members, []) if force else (members[:fanout], members[fanout:])
            frame = pl.concat([pl.read_parquet(p) for p in group], how="diagonal_relaxed")
            level = max(level_of(p) or 0 for p in group) + 1
            write_atomic(frame, d / new_name(level), replaces=[p.name for p in group])
            for p in group:
                p.unlink(missing_ok=True)
            _fsync_dir(d)
            merged += len(group)
    return merged
