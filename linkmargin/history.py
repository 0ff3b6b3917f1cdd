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
import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

REPLACES_KEY = b"linkmargin.replaces"
COVERS_KEY = b"linkmargin.covers"
REQUIRED_COLUMNS = ("ts", "device", "metric")
LOCK_NAME = ".compact.lock"
_LEVEL = re.compile(r"^part-L(\d+)-")
_TIME = re.compile(r"^part-L\d+-([0-9a-f]{16})-")


Location = Path | str
"""Where a history file is: a path on the local disk, an ``s3://bucket/key`` URL on object storage."""


class StoreError(OSError):
    """A history store that cannot be used at all (wrong credentials, no such bucket, unreachable):
    its message is one or two lines, fit for the user as they are (never a secret in them)."""


@dataclass(frozen=True)
class BadFile:
    """A history file no reader can use, and why."""

    path: Location
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class HistoryFiles:
    """The files of a history: ``good`` ones to read, ``bad`` ones skipped, ``superseded`` ones
    (replaced by a compacted file whose members were not yet deleted) ignored."""

    good: list[Location] = field(default_factory=list)
    bad: list[BadFile] = field(default_factory=list)
    superseded: list[Location] = field(default_factory=list)
    rows: int = 0
    store: Store | None = field(default=None, repr=False, compare=False)
    covers: dict[str, frozenset[str]] = field(default_factory=dict, repr=False, compare=False)
    """The level-0 file names each readable file holds the rows of, by key."""

    def warn(self) -> None:
        """Log one warning per bad file, naming it."""
        for b in self.bad:
            log.warning("%s: skipped unreadable history file (%s)", b.path, b.reason)


def partition_dir(root: Path, day: object) -> Path:
    """The directory of one day's partition."""
    return root / f"date={day}"


def level_of(path: Location) -> int | None:
    """The compaction level a file's name carries (None for files not written by this module)."""
    m = _LEVEL.match(str(path).rpartition("/")[2])
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


def arrow_table(
    frame: pl.DataFrame, replaces: list[str] | None = None, covers: list[str] | None = None
) -> pa.Table:
    """``frame`` as the Arrow table a history file holds; ``replaces`` and ``covers`` go into its
    metadata."""
    table = frame.to_arrow()
    if replaces is not None or covers is not None:
        meta = dict(table.schema.metadata or {})
        if replaces is not None:
            meta[REPLACES_KEY] = json.dumps(sorted(replaces)).encode()
        if covers is not None:
            meta[COVERS_KEY] = json.dumps(sorted(covers)).encode()
        table = table.replace_schema_metadata(meta)
    return table


def write_atomic(
    frame: pl.DataFrame, path: Path, *, replaces: list[str] | None = None, covers: list[str] | None = None
) -> Path:
    """Write ``frame`` to ``path`` via ``.NAME.tmp`` + fsync + rename + directory fsync.

    On any error (``ENOSPC`` included) the ``.tmp`` is removed and the error raised; ``path`` is then
    absent, never partial. ``replaces`` (names in the same directory) goes into the file's metadata.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    table = arrow_table(frame, replaces, covers)
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


class Store(Protocol):
    """Where history files live, addressed by keys relative to the root (``date=D/part-...``).

    :class:`LocalStore` (the embedded default) and :class:`linkmargin.s3history.S3Store` implement it;
    everything above (listing, reading, compaction, retention) is written once against it.
    """

    root: str
    default_groups: int
    """Device groups the sink partitions each day into by default (0: one partition per day)."""

    def location(self, key: str) -> Location: ...
    def key(self, location: Location) -> str: ...
    def partitions(self) -> list[str]:
        """The top-level partition names (``date=YYYY-MM-DD``), sorted."""
        ...

    def list_keys(self, prefix: str) -> list[str]:
        """The history files (``*.parquet``, not hidden) under ``prefix`` at any depth, sorted."""
        ...

    def read_metadata(self, key: str) -> pq.FileMetaData: ...
    def read_frame(self, key: str) -> pl.DataFrame: ...
    def write(
        self,
        frame: pl.DataFrame,
        key: str,
        *,
        replaces: list[str] | None = None,
        covers: list[str] | None = None,
    ) -> Location: ...
    def delete(self, keys: list[str]) -> None: ...
    def delete_partition(self, name: str) -> None: ...
    def lock(self) -> contextlib.AbstractContextManager[bool]: ...
    def clean_tmp(self) -> int: ...
    def scan_source(self, keys: list[str]) -> tuple[list[str], dict[str, str] | None]:
        """What ``polars.scan_parquet`` takes for these files: sources and storage options."""
        ...


def is_object_url(root: str | Path) -> bool:
    """Whether ``root`` names object storage (``s3://bucket/prefix``) rather than a directory."""
    return isinstance(root, str) and root.startswith("s3://")


def open_store(root: str | Path | Store) -> Store:
    """The store of a history root: a directory, or ``s3://bucket/prefix`` (settings from the
    environment, :mod:`linkmargin.s3history`)."""
    if not isinstance(root, str | Path):
        return root
    if is_object_url(root):
        from linkmargin.s3history import S3Store

        return S3Store.from_url(str(root))
    return LocalStore(Path(root))


class LocalStore:
    """A history directory: atomic files (:func:`write_atomic`), a ``flock`` for compaction."""

    default_groups = 0

    def __init__(self, root: Path) -> None:
        self.path = root
        self.root = str(root)

    def location(self, key: str) -> Path:
        return self.path / key

    def key(self, location: Location) -> str:
        return Path(location).relative_to(self.path).as_posix()

    def partitions(self) -> list[str]:
        if not self.path.is_dir():
            return []
        return sorted(p.name for p in self.path.iterdir() if p.is_dir() and p.name.startswith("date="))

    def list_keys(self, prefix: str) -> list[str]:
        base = self.path / prefix if prefix else self.path
        if not base.is_dir():
            return []
        return [
            p.relative_to(self.path).as_posix()
            for p in sorted(base.rglob("*.parquet"))
            if not p.name.startswith(".") and p.is_file()
        ]

    def read_metadata(self, key: str) -> pq.FileMetaData:
        return pq.read_metadata(self.path / key)

    def read_frame(self, key: str) -> pl.DataFrame:
        return pl.read_parquet(self.path / key)

    def write(
        self,
        frame: pl.DataFrame,
        key: str,
        *,
        replaces: list[str] | None = None,
        covers: list[str] | None = None,
    ) -> Path:
        path = self.path / key
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_atomic(frame, path, replaces=replaces, covers=covers)

    def delete(self, keys: list[str]) -> None:
        for k in keys:
            (self.path / k).unlink(missing_ok=True)
        for d in {(self.path / k).parent for k in keys}:
            if d.is_dir():
                _fsync_dir(d)

    def delete_partition(self, name: str) -> None:
        shutil.rmtree(self.path / name, ignore_errors=True)
        _fsync_dir(self.path)

    def lock(self) -> contextlib.AbstractContextManager[bool]:
        return _lock(self.path)

    def clean_tmp(self) -> int:
        tmps = [p for p in self.path.rglob(".*.tmp") if p.is_file()]
        for p in tmps:
            p.unlink(missing_ok=True)
        for d in {p.parent for p in tmps}:
            _fsync_dir(d)
        return len(tmps)

    def scan_source(self, keys: list[str]) -> tuple[list[str], dict[str, str] | None]:
        return [str(self.path / k) for k in keys], None


def partition_key(day: object, group: int | None = None) -> str:
    """The key prefix of one partition: ``date=YYYY-MM-DD`` or ``date=YYYY-MM-DD/group=NN``."""
    return f"date={day}" if group is None else f"date={day}/group={group:02d}"


def device_group(devices: pl.Series, groups: int) -> pl.Series:
    """Each device's group (1..``groups``): its rendezvous shard (:mod:`linkmargin.shards`), stable
    across processes and machines; computed once per distinct device, not per sample."""
    from linkmargin.shards import shard_of

    names = devices.unique().drop_nulls().to_list()
    table = pl.DataFrame(
        {"device": names, "g": [shard_of(n, groups) for n in names]},
        schema={"device": pl.String, "g": pl.Int64},
    )
    return devices.to_frame("device").join(table, on="device", how="left")["g"].fill_null(1)


def day_of(partition: str) -> date | None:
    """The day a ``date=YYYY-MM-DD`` partition name holds (None for any other name)."""
    try:
        return date.fromisoformat(partition.removeprefix("date="))
    except ValueError:
        return None


def _parent(key: str) -> str:
    return key.rpartition("/")[0]


def _footer(store: Store, key: str) -> tuple[int, list[str], frozenset[str]] | str:
    """(rows, names it replaces, names of the level-0 files it holds the rows of) from the footer,
    or the reason it cannot be used."""
    try:
        md = store.read_metadata(key)
        names = md.schema.to_arrow_schema().names
    except (FileNotFoundError, StoreError):
        raise
    except Exception as exc:  # any failure to parse the footer makes the file bad
        return f"not a readable Parquet file ({type(exc).__name__}: {exc})"
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        return f"not a sample file (lacks column {missing[0]!r})"
    kv = md.metadata or {}
    lists: dict[bytes, list[str]] = {}
    for meta_key in (REPLACES_KEY, COVERS_KEY):
        if meta_key in kv:
            try:
                lists[meta_key] = [str(x) for x in json.loads(kv[meta_key])]
            except ValueError as exc:
                return f"bad {meta_key.decode()} metadata ({exc})"
    replaces = lists.get(REPLACES_KEY, [])
    # a level-0 file holds its own rows; a compacted one those of the level-0 files merged into it
    # (before the covers were recorded: those of its members)
    covers = lists.get(COVERS_KEY) or replaces or [key.rpartition("/")[2]]
    return md.num_rows, replaces, frozenset(covers)


def list_history(
    root: str | Path | Store,
    *,
    deep: bool = False,
    warn: bool = True,
    since: date | None = None,
    until: date | None = None,
) -> HistoryFiles:
    """The readable files under ``root`` (any depth), the bad ones and the superseded ones.

    Reads each file's footer (``deep``: decodes every page too, as ``linkmargin history check``
    does). ``since``/``until`` (days, inclusive) prune by partition: only those days' files are
    listed and read. A file that vanishes while listed (a compaction finished meanwhile) restarts
    the listing.
    """
    store = open_store(root)
    return _list(store, None, deep=deep, warn=warn, since=since, until=until)


def _list(
    store: Store,
    prefixes: list[str] | None,
    *,
    deep: bool,
    warn: bool,
    since: date | None = None,
    until: date | None = None,
) -> HistoryFiles:
    for _attempt in range(5):
        try:
            return _list_once(store, prefixes or _prefixes(store, since, until), deep=deep, warn=warn)
        except FileNotFoundError:
            continue
    return _list_once(store, prefixes or _prefixes(store, since, until), deep=deep, warn=warn)


def _prefixes(store: Store, since: date | None, until: date | None) -> list[str]:
    if since is None and until is None:
        return [""]
    out = []
    for name in store.partitions():
        d = day_of(name)
        if d is not None and (since is None or d >= since) and (until is None or d <= until):
            out.append(name + "/")
    return out


def _list_once(store: Store, prefixes: list[str], *, deep: bool, warn: bool) -> HistoryFiles:
    out = HistoryFiles(store=store)
    ok: dict[str, int] = {}
    covers: dict[str, frozenset[str]] = {}
    replaced: set[str] = set()
    for prefix in prefixes:
        for k in store.list_keys(prefix):
            info = _footer(store, k)
            if isinstance(info, str):
                out.bad.append(BadFile(store.location(k), info))
                continue
            if deep:
                try:
                    store.read_frame(k)
                except (FileNotFoundError, StoreError):
                    raise
                except Exception as exc:  # any decoding failure
                    out.bad.append(
                        BadFile(store.location(k), f"unreadable data ({type(exc).__name__}: {exc})")
                    )
                    continue
            ok[k] = info[0]
            covers[k] = info[2]
            parent = _parent(k)
            replaced.update(f"{parent}/{n}" if parent else n for n in info[1])
    replaced |= _covered(covers)
    out.covers = {k: c for k, c in covers.items() if k not in replaced}
    for k, rows in ok.items():
        if k in replaced:
            out.superseded.append(store.location(k))
        else:
            out.good.append(store.location(k))
            out.rows += rows
    if warn:
        out.warn()
    return out


def _covered(covers: dict[str, frozenset[str]]) -> set[str]:
    """The files whose rows another file of their directory holds: it covers a strict superset of
    their level-0 files, or the same ones under a smaller name (two compactions that merged the same
    files, or one that merged the other's output with more, leave one readable file)."""
    holders: dict[tuple[str, str], list[str]] = {}
    for k, c in covers.items():
        for leaf in c:
            holders.setdefault((_parent(k), leaf), []).append(k)
    out = set()
    for k, c in covers.items():
        leaf = min(c)
        for g in holders[(_parent(k), leaf)]:
            cg = covers[g]
            if g != k and c <= cg and (len(cg) > len(c) or g < k):
                out.add(k)
                break
    return out


def read_history(files: HistoryFiles) -> pl.DataFrame | None:
    """Read the good files into one frame (columns unified); a file failing to decode is moved to
    ``files.bad`` with a warning. None when nothing was readable."""
    store = files.store
    frames = []
    for p in list(files.good):
        try:
            frames.append(store.read_frame(store.key(p)) if store is not None else pl.read_parquet(p))
        except StoreError:
            raise
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


def _exists(root: str | Path | Store) -> bool:
    return not isinstance(root, str | Path) or is_object_url(root) or Path(root).is_dir()


def clean(root: str | Path | Store) -> tuple[int, int]:
    """Remove leftover ``.tmp`` files and finish interrupted compactions (delete superseded files).

    Returns (tmp files removed, superseded files removed). Does nothing while another process
    compacts the same root.
    """
    if not _exists(root):
        return 0, 0
    store = open_store(root)
    with store.lock() as mine:
        if not mine:
            return 0, 0
        tmps = store.clean_tmp()
        files = list_history(store, warn=False)
        store.delete([store.key(p) for p in files.superseded])
        return tmps, len(files.superseded)


def compact(
    root: str | Path | Store,
    *,
    fanout: int = 12,
    force: bool = False,
    only: Iterable[Location] | None = None,
    before: date | None = None,
) -> int:
    """Merge, in each partition, every ``fanout`` readable files of one level into one of the next,
    level by level (a merge that completes a group of the next level cascades).

    ``force`` merges all of a partition's files (at least two) into one: one file per day (and
    device group); ``only`` limits the work to these partition directories (the collector passes the
    ones it just wrote); ``before`` to the days before it (closed days, which no writer touches).
    Bad files are left in place. The merged file is written before its members are deleted (see the
    module doc). Returns the number of files merged away; 0 while another process compacts the root.
    """
    if not _exists(root):
        return 0
    store = open_store(root)
    with store.lock() as mine:
        if not mine:
            return 0
        if only is not None:
            prefixes = sorted({store.key(d) + "/" for d in only})
        elif before is not None:
            prefixes = [n + "/" for n in store.partitions() if (d := day_of(n)) is not None and d < before]
        else:
            prefixes = [""]
        merged = 0
        while n := _compact_pass(store, prefixes, fanout, force):
            merged += n
        return merged


def _compact_pass(store: Store, prefixes: list[str], fanout: int, force: bool) -> int:
    merged = 0
    by_level: dict[tuple[str, int], list[str]] = {}
    covers: dict[str, frozenset[str]] = {}
    for prefix in prefixes:
        files = _list(store, [prefix], deep=False, warn=False)
        # an earlier compaction's members: finish deleting them
        store.delete([store.key(p) for p in files.superseded])
        for p in files.good:
            k = store.key(p)
            lvl = level_of(k)
            if lvl is not None:  # force: a partition's files of all levels in one group
                by_level.setdefault((_parent(k), -1 if force else lvl), []).append(k)
                covers[k] = files.covers[k]
    for (d, _lvl), members in sorted(by_level.items()):
        while len(members) >= (2 if force else fanout):
            group, members = (members, []) if force else (members[:fanout], members[fanout:])
            try:
                frame = pl.concat([store.read_frame(k) for k in group], how="diagonal_relaxed")
            except FileNotFoundError:  # another compaction merged them meanwhile: its file holds them
                continue
            held = frozenset().union(*(covers[k] for k in group))
            name = merged_name(max(level_of(k) or 0 for k in group) + 1, group, held)
            store.write(
                frame,
                f"{d}/{name}" if d else name,
                replaces=[k.rpartition("/")[2] for k in group],
                covers=sorted(held),
            )
            store.delete(group)  # only once the merged file is whole in its place
            merged += len(group)
    return merged


def merged_name(level: int, members: list[str], covers: frozenset[str]) -> str:
    """The name of the file merging ``members``: the same for the same level-0 files, so two
    compactions that merge the same files write the same object (the second overwrites the first
    with the same rows) instead of two copies; it sorts after its members' newest write."""
    times = [m.group(1) for k in members if (m := _TIME.match(k.rpartition("/")[2]))]
    digest = hashlib.sha256("\n".join(sorted(covers)).encode()).hexdigest()[:8]
    return f"part-L{level}-{max(times, default='0' * 16)}-{digest}.parquet"


def retain(root: str | Path | Store, keep_s: float, *, now: datetime | None = None) -> list[str]:
    """Delete the day partitions wholly older than ``keep_s`` seconds before ``now`` (UTC); returns
    their names. A day is kept while any of it is younger than the cut."""
    if not _exists(root):
        return []
    store = open_store(root)
    cut = (now or datetime.now(UTC)) - timedelta(seconds=keep_s)
    gone = []
    with store.lock() as mine:
        if not mine:
            return []
        for name in store.partitions():
            d = day_of(name)
            if d is not None and datetime.combine(d + timedelta(days=1), datetime.min.time(), UTC) <= cut:
                store.delete_partition(name)
                gone.append(name)
    return gone
