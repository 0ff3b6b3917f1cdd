"""Parquet history partitioned by day (``date=YYYY-MM-DD/``), written atomically (tmp + rename)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import polars as pl

from linkmargin.samples import conform


class ParquetSink:
    """Buffers batches; writes one file per day partition on :meth:`flush` or at ``max_rows``."""

    def __init__(self, root: str | Path, max_rows: int = 200_000) -> None:
        self.root = Path(root)
        self.max_rows = max_rows
        self._buf: list[pl.DataFrame] = []
        self._rows = 0
        self.files_written = 0

    async def __call__(self, device: str, group: str, frame: pl.DataFrame) -> None:
        """Buffer a batch; flush when the buffer is full."""
        self._buf.append(frame)
        self._rows += frame.height
        if self._rows >= self.max_rows:
            self.flush()

    def flush(self) -> list[Path]:
        """Write buffered samples; a kill mid-write leaves only a ``.tmp`` file, never a half parquet."""
        if not self._buf:
            return []
        f = conform(pl.concat(self._buf, how="vertical_relaxed"))
        self._buf, self._rows = [], 0
        out = []
        f = f.with_columns(pl.col("ts").dt.date().alias("_d"))
        for (day,), part in f.group_by("_d"):
            d = self.root / f"date={day}"
            d.mkdir(parents=True, exist_ok=True)
            name = f"part-{uuid.uuid4().hex}.parquet"
            tmp = d / f".{name}.tmp"
            part.drop("_d").write_parquet(tmp)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, d / name)
            out.append(d / name)
            self.files_written += 1
        return out
