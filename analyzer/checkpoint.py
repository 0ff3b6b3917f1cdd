"""The analyzer state checkpointed to a directory of Parquet files and reloaded on restart.

Layout: ``DIR/state-<n>/`` holds one Parquet file per table of the state (latest readings, counter
memory, hourly aggregates, the devices' counter resets) and ``scalars.json``, and ``bounded/`` the
bounded estimators' state when the analyzer keeps one (:class:`analyzer.bounded.PassState`);
``DIR/CURRENT`` names the complete generation.
Each file is written atomically (:func:`linkmargin.history.write_atomic`), the generation's
directory is fsynced, then ``CURRENT`` is replaced atomically: a crash at any point leaves the
previous checkpoint whole. Older generations are removed after the switch.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

import polars as pl

from analyzer.bounded import PassState
from analyzer.state import LaneState
from linkmargin.history import write_atomic

CURRENT = "CURRENT"
BOUNDED = "bounded"
TABLES = ("latest", "ctr", "disc", "open", "closed")
OPTIONAL = ("resets",)  # tables a checkpoint written by an older analyzer may lack


class CheckpointError(Exception):
    """A checkpoint that cannot be read: missing tables, unreadable files, a bad CURRENT."""


def _fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(state: LaneState, root: str | Path, bounded: PassState | None = None) -> Path:
    """Write ``state`` (and the bounded estimators' state, in ``bounded/``) as a new generation under
    ``root`` and make it current; returns its directory."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    gens = [int(p.name.split("-", 1)[1]) for p in root.glob("state-*") if p.name.split("-", 1)[1].isdigit()]
    gen = root / f"state-{max(gens, default=0) + 1}"
    gen.mkdir()
    frames, scalars = state.tables()
    for name in (*TABLES, *OPTIONAL):
        write_atomic(frames[name], gen / f"{name}.parquet")
    tmp = gen / ".scalars.json.tmp"
    tmp.write_text(json.dumps(scalars))
    os.replace(tmp, gen / "scalars.json")
    if bounded is not None:
        sub = gen / BOUNDED
        sub.mkdir()
        b_frames, b_scalars = bounded.tables()
        for name, frame in b_frames.items():
            write_atomic(frame, sub / f"{name}.parquet")
        (sub / "scalars.json").write_text(json.dumps(b_scalars))
        _fsync_dir(sub)
    _fsync_dir(gen)
    cur_tmp = root / f".{CURRENT}.tmp"
    with open(cur_tmp, "w") as fh:
        fh.write(gen.name)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(cur_tmp, root / CURRENT)
    _fsync_dir(root)
    for old in root.glob("state-*"):
        if old != gen:
            with contextlib.suppress(OSError):
                shutil.rmtree(old)
    return gen


def load_bounded(root: str | Path) -> PassState | None:
    """The bounded estimators' state in the current checkpoint under ``root`` (None: none kept).

    Raises :class:`CheckpointError` (one line) when it is there but unreadable."""
    root = Path(root)
    cur = root / CURRENT
    if not cur.exists():
        return None
    sub = root / cur.read_text().strip() / BOUNDED
    if not sub.exists():
        return None
    try:
        frames = {p.stem: pl.read_parquet(p) for p in sub.glob("*.parquet")}
        return PassState.from_tables(frames, json.loads((sub / "scalars.json").read_text()))
    except (OSError, ValueError, KeyError, TypeError, pl.exceptions.PolarsError) as e:
        raise CheckpointError(f"checkpoint {root}: bounded state: {type(e).__name__}: {e}") from e


def load(state: LaneState, root: str | Path) -> bool:
    """Restore ``state`` from the current checkpoint under ``root``; False when there is none.

    Raises :class:`CheckpointError` (one line: which file, what) when it is there but unreadable.
    """
    root = Path(root)
    cur = root / CURRENT
    if not cur.exists():
        return False
    try:
        gen = root / cur.read_text().strip()
        frames = {name: pl.read_parquet(gen / f"{name}.parquet") for name in TABLES}
        for name in OPTIONAL:
            if (gen / f"{name}.parquet").exists():
                frames[name] = pl.read_parquet(gen / f"{name}.parquet")
        scalars = json.loads((gen / "scalars.json").read_text())
        state.restore(frames, scalars)
    except (OSError, ValueError, KeyError, TypeError, pl.exceptions.PolarsError) as e:
        raise CheckpointError(f"checkpoint {root}: {type(e).__name__}: {e}") from e
    return True
