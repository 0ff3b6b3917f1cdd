"""The history layout: atomic files, compaction that neither loses nor doubles rows when it crashes at
any step, and readers that skip unreadable files by name."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from linkmargin import history
from linkmargin.samples import conform

T0 = datetime(2026, 9, 1, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def _batch(i: int, n: int = 50) -> pl.DataFrame:
    return conform(
        pl.DataFrame(
            {
                "ts": [T0 + timedelta(seconds=i)] * n,
                "device": ["leaf1"] * n,
                "port": [f"Ethernet{k}" for k in range(n)],
                "lane": [1] * n,
                "metric": ["rx_power_dbm"] * n,
                "value": [float(i)] * n,
            }
        )
    )


def _write(root: Path, k: int, n: int = 50) -> list[Path]:
    d = history.partition_dir(root, T0.date())
    d.mkdir(parents=True, exist_ok=True)
    return [history.write_atomic(_batch(i, n), d / history.new_name(0)) for i in range(k)]


def _rows(root: Path) -> pl.DataFrame:
    read = history.read_history(history.list_history(root))
    assert read is not None
    return read


def test_fanout_files_of_a_level_become_one_of_the_next(tmp_path: Path) -> None:
    _write(tmp_path, 25)
    assert history.compact(tmp_path, fanout=12) == 24
    levels = sorted(history.level_of(p) for p in history.list_history(tmp_path).good)
    assert levels == [0, 1, 1]
    rows = _rows(tmp_path)
    assert rows.height == 25 * 50 and rows.unique().height == 25 * 50
    assert history.compact(tmp_path, force=True) == 3
    assert [history.level_of(p) for p in history.list_history(tmp_path).good] == [2]
    assert _rows(tmp_path).sort("ts", "port").equals(rows.sort("ts", "port"))


@pytest.mark.parametrize("step", ["write", "rename", "unlink"])
def test_a_compaction_that_fails_at_any_step_neither_loses_nor_doubles(
    tmp_path: Path, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    members = _write(tmp_path, 12)
    before = _rows(tmp_path).sort("ts", "port")

    class Crash(Exception):
        pass

    def boom(*_a: object, **_k: object) -> None:
        raise Crash

    if step == "write":
        monkeypatch.setattr(history.pq, "write_table", boom)
    elif step == "rename":
        monkeypatch.setattr(history.os, "replace", boom)
    else:  # the merged file is in place; the members are not yet deleted
        monkeypatch.setattr(Path, "unlink", boom)
    with pytest.raises(Crash):
        history.compact(tmp_path, fanout=12)
    monkeypatch.undo()
    files = history.list_history(tmp_path)
    assert _rows(tmp_path).sort("ts", "port").equals(before)  # what a reader sees meanwhile
    if step == "unlink":
        assert sorted(files.superseded) == sorted(members) and len(files.good) == 1
    assert not list(tmp_path.rglob(".*.tmp"))  # a failed write removes its .tmp
    history.clean(tmp_path)
    assert _rows(tmp_path).sort("ts", "port").equals(before)
    assert history.list_history(tmp_path).superseded == []


def test_a_kill_9_between_rename_and_delete_is_finished_by_clean(tmp_path: Path) -> None:
    """A real crash (SIGKILL of the compacting process right after the merged file is renamed)."""
    _write(tmp_path, 12)
    before = _rows(tmp_path).sort("ts", "port")
    code = textwrap.dedent(
        f"""
        import os, signal
        from linkmargin import history
        real = os.replace
        def replace_then_die(a, b):
            real(a, b)
            os.kill(os.getpid(), signal.SIGKILL)
        history.os.replace = replace_then_die
        history.compact({str(tmp_path)!r}, fanout=12)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, timeout=60)
    assert proc.returncode == -9
    files = history.list_history(tmp_path)
    assert len(files.good) == 1 and len(files.superseded) == 12
    assert _rows(tmp_path).sort("ts", "port").equals(before)
    assert history.clean(tmp_path) == (0, 12)
    assert _rows(tmp_path).sort("ts", "port").equals(before)


def test_leftover_tmp_is_ignored_by_readers_and_removed_by_clean(tmp_path: Path) -> None:
    (good,) = _write(tmp_path, 1)
    tmp = good.with_name(f".{history.new_name(0)}.tmp")
    tmp.write_bytes(good.read_bytes()[:100])  # what a kill -9 mid-write leaves
    assert history.list_history(tmp_path).good == [good]
    assert history.clean(tmp_path) == (1, 0)
    assert not tmp.exists() and good.exists()


def test_unreadable_files_are_named_skipped_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = _write(tmp_path, 3)
    d = good[0].parent
    (d / "part-L0-truncated.parquet").write_bytes(good[0].read_bytes()[:-20])
    (d / "part-L0-garbage.parquet").write_bytes(os.urandom(3000))
    (d / "other.parquet").write_bytes(pl.DataFrame({"x": [1]}).to_arrow().to_string().encode())
    pl.DataFrame({"x": [1, 2]}).write_parquet(d / "foreign.parquet")
    with caplog.at_level("WARNING", logger="linkmargin.history"):
        files = history.list_history(tmp_path)
    assert sorted(files.good) == sorted(good) and files.rows == 150
    bad = {b.path.name: b.reason for b in files.bad}
    assert set(bad) == {
        "part-L0-truncated.parquet",
        "part-L0-garbage.parquet",
        "other.parquet",
        "foreign.parquet",
    }
    assert "lacks column 'ts'" in bad["foreign.parquet"]
    assert len(caplog.records) == 4
    assert all(str(d / name) in caplog.text for name in bad)
    # compaction leaves bad files alone and merges the good ones
    assert history.compact(tmp_path, force=True) == 3
    assert len(history.list_history(tmp_path, warn=False).bad) == 4


def test_deep_check_finds_a_corrupt_page_behind_a_good_footer(tmp_path: Path) -> None:
    (f,) = _write(tmp_path, 1, n=5000)
    data = bytearray(f.read_bytes())
    for k in range(200, 1200):  # inside the first column chunk's pages; the footer stays intact
        data[k] ^= 0x5A
    f.write_bytes(bytes(data))
    assert history.list_history(tmp_path).good == [f]  # the footer alone looks fine
    deep = history.list_history(tmp_path, deep=True)
    assert deep.good == [] and [b.path for b in deep.bad] == [f]
    files = history.list_history(tmp_path)
    assert history.read_history(files) is None and [b.path for b in files.bad] == [f]


def test_history_check_cli_lists_bad_files_and_compacts(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from linkmargin_cli import app

    good = _write(tmp_path, 5)
    res = CliRunner().invoke(app, ["history", "check", str(tmp_path), "--compact"])
    assert res.exit_code == 0, res.output
    assert "5 readable files, 250 rows, 0 unreadable" in res.stdout
    assert "compacted 5 files into 1" in res.stdout
    bad = good[0].parent / "part-L0-bad.parquet"
    bad.write_bytes(b"PAR1 not really")
    res = CliRunner().invoke(app, ["history", "check", str(tmp_path)])
    assert res.exit_code == 2
    assert f"{bad}: not a readable Parquet file" in res.stderr
    assert "1 readable files, 250 rows, 1 unreadable" in res.stdout
    res = CliRunner().invoke(app, ["history", "check", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "not a directory" in res.stderr
