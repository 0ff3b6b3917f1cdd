"""The Parquet history sink: writes every flush_s, compacts, survives a full disk without raising."""

from __future__ import annotations

import asyncio
import errno
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from collector.sinks.parquet import ParquetSink
from linkmargin import history
from linkmargin.samples import conform

T0 = datetime(2026, 9, 1, 23, 59, 58, tzinfo=UTC)


def _batch(i: int, n: int = 10) -> pl.DataFrame:
    return conform(
        pl.DataFrame(
            {
                "ts": [T0 + timedelta(seconds=i)] * n,
                "device": ["leaf1"] * n,
                "port": [f"Ethernet{k}" for k in range(n)],
                "metric": ["rx_power_dbm"] * n,
                "value": [float(i)] * n,
            }
        )
    )


def _rows(root: Path) -> int:
    return history.list_history(root).rows


def test_run_writes_every_flush_s_without_waiting_for_max_rows(tmp_path: Path) -> None:
    sink = ParquetSink(tmp_path, flush_s=0.2)

    async def go() -> list[int]:
        stop = asyncio.Event()
        task = asyncio.create_task(sink.run(stop))
        seen = []
        for i in range(5):
            await sink("leaf1", "dom", _batch(i))
            await asyncio.sleep(0.3)  # longer than flush_s: each batch is on disk before the next
            seen.append(_rows(tmp_path))
        stop.set()
        await task
        return seen

    assert asyncio.run(go()) == [10, 20, 30, 40, 50]
    days = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert days == ["date=2026-09-01", "date=2026-09-02"]  # split at midnight
    assert sink.files_written >= 5 and sink.rows_written == 50 and sink.buffered_rows == 0


def test_compacts_as_it_goes(tmp_path: Path) -> None:
    sink = ParquetSink(tmp_path, flush_s=60, compact_fanout=4)

    async def go() -> None:
        for _ in range(16):
            await sink("leaf1", "dom", _batch(0))  # one day partition
            sink.flush()

    asyncio.run(go())
    files = history.list_history(tmp_path)
    assert [history.level_of(p) for p in files.good] == [2]  # 16 L0 -> 4 L1 -> 1 L2
    assert files.rows == 160 and sink.files_compacted == 20


def test_a_full_disk_is_counted_rows_kept_and_written_when_space_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = ParquetSink(tmp_path, flush_s=60, max_rows=15, max_buffered_rows=45)
    real = history.write_atomic

    def full(*_a: object, **_k: object) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device")

    async def feed(k: int) -> None:
        for _ in range(k):
            await sink("leaf1", "dom", _batch(0))  # never raises into the poller

    monkeypatch.setattr(history, "write_atomic", full)
    asyncio.run(feed(2))  # the second reaches max_rows: a flush, which fails
    assert sink.write_errors == 1 and sink.buffered_rows == 20 and sink.files_written == 0
    asyncio.run(feed(5))  # no flush per batch while failing; over max_buffered_rows the oldest go, counted
    assert sink.write_errors == 1 and sink.buffered_rows == 40 and sink.rows_dropped == 30
    assert sink.flush() == [] and sink.write_errors == 2 and sink.buffered_rows == 40
    monkeypatch.setattr(history, "write_atomic", real)
    assert len(sink.flush()) == 1
    assert _rows(tmp_path) == 40 and sink.buffered_rows == 0


def test_leftover_tmp_files_are_removed_at_start(tmp_path: Path) -> None:
    d = history.partition_dir(tmp_path, T0.date())
    d.mkdir(parents=True)
    (d / ".part-L0-x.parquet.tmp").write_bytes(b"PAR1 half")
    sink = ParquetSink(tmp_path)
    assert sink.tmp_cleaned == 1 and not list(tmp_path.rglob("*.tmp"))


def test_flush_s_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="flush_s"):
        ParquetSink(tmp_path, flush_s=0)


def test_a_flush_in_a_thread_loses_no_batch_appended_meanwhile(tmp_path: Path) -> None:
    sink = ParquetSink(tmp_path, flush_s=0.01)

    async def go() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(sink.run(stop))
        t_end = time.monotonic() + 1.0
        i = 0
        while time.monotonic() < t_end:
            await sink("leaf1", "dom", _batch(0, n=3))
            i += 1
            await asyncio.sleep(0)
        stop.set()
        await task
        assert _rows(tmp_path) == 3 * i

    asyncio.run(go())
