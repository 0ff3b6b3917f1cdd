"""The history on S3-compatible object storage (moto's server on loopback, request signing enforced):
the sink writes day/device-group partitions, readers prune by day, compaction leaves one file per day
and group, retention drops old days; a stopped server, a corrupt object and wrong keys are survived."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import select
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from analyzer import queries
from collector.sinks.parquet import ParquetSink
from linkmargin import history
from linkmargin.s3history import S3Store
from linkmargin.samples import conform
from linkmargin_cli import app
from tests.analyzer import scenario
from tests.analyzer.test_queries import _spec
from tests.services import MotoS3, moto_s3

ROOT = Path(__file__).resolve().parents[2]
EXE = ROOT / ".venv" / "bin" / "linkmargin"
T0 = datetime(2026, 9, 1, tzinfo=UTC)
DEVICES = [f"leaf{i}" for i in range(1, 9)]


@pytest.fixture(scope="module")
def s3() -> Iterator[MotoS3]:
    with moto_s3() as server:
        yield server


class Requests(logging.Handler):
    """The requests moto's server answered (its werkzeug access log): method and path."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        m = re.search(r'"(GET|HEAD|PUT|POST|DELETE) (\S+) HTTP', record.getMessage())
        if m:
            self.seen.append((m.group(1), m.group(2)))


@pytest.fixture()
def requests() -> Iterator[Requests]:
    h, log = Requests(), logging.getLogger("werkzeug")
    level = log.level
    log.setLevel(logging.INFO)
    log.addHandler(h)
    yield h
    log.removeHandler(h)
    log.setLevel(level)


def _store(s3: MotoS3, **env: str) -> S3Store:
    return S3Store.from_url(s3.url(f"h-{uuid.uuid4().hex[:8]}"), {**s3.env, **env})


def _samples(day: int, n: int = 4, value: float = -2.0) -> pl.DataFrame:
    ts = [T0 + timedelta(days=day, hours=h) for h in range(n)]
    return conform(
        pl.DataFrame(
            {
                "ts": [t for t in ts for _ in DEVICES],
                "device": DEVICES * n,
                "port": ["Ethernet1"] * (n * len(DEVICES)),
                "lane": [1] * (n * len(DEVICES)),
                "metric": ["rx_power_dbm"] * (n * len(DEVICES)),
                "value": [value + day] * (n * len(DEVICES)),
            }
        )
    )


def _feed(sink: ParquetSink, frames: list[pl.DataFrame], flushes: int = 1) -> None:
    async def go() -> None:
        for f in frames:
            for _ in range(flushes):
                await sink("x", "dom", f)
                sink.flush()

    asyncio.run(go())


def test_write_compact_prune_and_query(
    s3: MotoS3, requests: Requests, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(s3)
    for k, v in s3.env.items():  # the collector's keys come from its environment
        monkeypatch.setenv(k, v)
    sink = ParquetSink(store.root, flush_s=60, groups=2)
    assert sink.compact_fanout == 0  # S3 has no lock: the sink leaves compaction to one scheduled job
    _feed(sink, [_samples(d) for d in range(3)], flushes=3)  # 3 days x 3 flushes x 2 groups
    keys = store.list_keys("")
    assert len(keys) == 18 and sink.write_errors == 0
    # each file is one whole-object PUT (no multipart upload to leave half-done)
    assert sum(m == "PUT" for m, _ in requests.seen) == 18
    assert not [p for m, p in requests.seen if m == "POST" and "uploads" in p]
    parts = {k.rpartition("/")[0] for k in keys}
    assert parts == {f"date=2026-09-0{d}/group=0{g}" for d in (1, 2, 3) for g in (1, 2)}
    # a device's group is the same in every partition and every process
    by_dev = pl.concat([store.read_frame(k).with_columns(g=pl.lit(k.split("/")[1])) for k in keys])
    assert by_dev.group_by("device").agg(pl.col("g").n_unique())["g"].max() == 1

    # pruning: a query for one day lists and reads only that day's objects (moto's own access log)
    requests.seen.clear()
    store.keys_listed = 0
    day2 = date(2026, 9, 2)
    files = history.list_history(store, since=day2, until=day2)
    assert len(files.good) == 6 and files.rows == 3 * 4 * len(DEVICES)
    objects = [p for m, p in requests.seen if m in ("GET", "HEAD") and "?" not in p]
    assert objects and all("/date=2026-09-02/" in p for p in objects)
    lists = [p for m, p in requests.seen if m == "GET" and "list-type" in p]
    assert len(lists) == 2  # the day partitions (one delimiter listing), then that one day's keys
    assert store.keys_listed == 3 + 6  # 3 day prefixes, then 6 keys of 18

    # compaction: one file per day and device group, same rows
    before = history.read_history(history.list_history(store))
    assert before is not None and before.height == 3 * 3 * 4 * len(DEVICES)
    assert history.compact(store, force=True) == 18  # files merged away, into 6
    after_files = history.list_history(store)
    assert sorted(str(p).rpartition("/")[0] for p in after_files.good) == sorted(
        store.location(p) for p in parts
    )
    after = history.read_history(after_files)
    assert after is not None and after.sort(after.columns).equals(before.sort(before.columns))
    assert len(store.list_keys("")) == 6  # members deleted


def test_queries_and_risk_read_s3_as_they_read_a_directory(
    s3: MotoS3, tmp_path: Path, requests: Requests, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.analyzer.test_queries import _history

    _history(tmp_path / "local", days=20)
    frame = pl.read_parquet(tmp_path / "local" / "date=all" / "part-0.parquet")
    store = _store(s3)
    sink = ParquetSink(store, flush_s=60, max_rows=10**9)
    _feed(sink, [frame])
    assert len(store.partitions()) == 20
    spec = _spec()
    for k, v in s3.env.items():
        monkeypatch.setenv(k, v)
    local = queries.margin_by_cohort(queries.scan_history(tmp_path / "local"), spec, "1w")
    remote = queries.margin_by_cohort(queries.scan_history(store.root), spec, "1w")
    assert remote.height == local.height > 0 and remote.equals(local)
    tr_local = queries.trending(queries.scan_history(tmp_path / "local"), spec, 30).lanes
    tr_remote = queries.trending(queries.scan_history(store.root), spec, 30).lanes
    assert tr_remote.height == 2 and tr_remote.equals(tr_local)
    # a one-day query scans that day's objects only
    requests.seen.clear()
    one = queries.margin_by_cohort(
        queries.scan_history(store.root, since=date(2026, 9, 5), until=date(2026, 9, 5)), spec, "1d"
    )
    assert one["period"].dt.date().unique().to_list() == [date(2026, 9, 5)]
    objects = {p for m, p in requests.seen if m in ("GET", "HEAD") and "?" not in p}
    assert objects and all("/date=2026-09-05/" in p for p in objects)

    # risk: the same report from the bucket as from the directory
    spec_s, frame_s = scenario.build()
    spec_s.write_dir(str(tmp_path / "spec"))
    (tmp_path / "hist").mkdir()
    frame_s.write_parquet(tmp_path / "hist" / "part-0.parquet")
    store2 = _store(s3)
    _feed(ParquetSink(store2, flush_s=60, max_rows=10**9), [frame_s])

    def risk(hist: str) -> dict[str, object]:
        res = CliRunner().invoke(
            app, ["risk", "--spec", str(tmp_path / "spec"), "--history", hist, "--horizon", "21d", "--json"]
        )
        assert res.exit_code == 0, res.output
        doc: dict[str, object] = json.loads(res.stdout)
        return doc

    # equal to the last float bits (sums may run in another row order: 1e-15 apart seen)
    assert _rounded(risk(store2.root)) == _rounded(risk(str(tmp_path / "hist")))


@pytest.mark.parametrize("more", [False, True], ids=["same-files", "one-more-file"])
def test_two_compactions_at_once_leave_every_row_once(s3: MotoS3, more: bool) -> None:
    """Two compaction jobs (each its own store, as two processes) list the same four files and both
    write before either deletes; with ``more``, a fifth file lands between their listings. Either
    way the readers see every row once, and a later compaction leaves one file."""
    store = _store(s3)
    a, b = S3Store.from_url(store.root, s3.env), S3Store.from_url(store.root, s3.env)
    frames = [_samples(0, n=2, value=-2.0 - i) for i in range(5)]
    key = history.partition_key(T0.date(), 1)
    for f in frames[:4]:
        store.write(f, f"{key}/{history.new_name(0)}")
    a_listed, b_listed = threading.Event(), threading.Event()
    seen: list[history.HistoryFiles] = []  # what a reader lists once both wrote, before any delete
    both_wrote = threading.Barrier(2, action=lambda: seen.append(history.list_history(store)), timeout=30)

    def hold(st: S3Store, listed: threading.Event, wait: threading.Event | None) -> None:
        read, write, delete = st.read_frame, st.write, st.delete
        first = [True]

        def read_frame(k: str) -> pl.DataFrame:
            listed.set()  # the first read comes after the listing
            return read(k)

        def write_(frame: pl.DataFrame, k: str, **kw: list[str] | None) -> str:
            if wait is not None:
                assert wait.wait(30)
            return write(frame, k, **kw)

        def delete_(keys: list[str]) -> None:
            if keys and first[0]:  # the merged members: only once both merged files are written
                first[0] = False
                both_wrote.wait()
            delete(keys)

        st.read_frame, st.write, st.delete = read_frame, write_, delete_  # type: ignore[method-assign]

    hold(a, a_listed, b_listed)
    hold(b, b_listed, None)
    done: list[int] = []
    ta = threading.Thread(target=lambda: done.append(history.compact(a, force=True)))
    ta.start()
    assert a_listed.wait(30)
    if more:
        store.write(frames[4], f"{key}/{history.new_name(0)}")
    tb = threading.Thread(target=lambda: done.append(history.compact(b, force=True)))
    tb.start()
    ta.join(60)
    tb.join(60)
    assert sorted(done) == ([4, 5] if more else [4, 4])
    want = pl.concat(frames if more else frames[:4])
    # both merged files and all members there: one of them is read, holding every row once
    assert len(seen[0].good) == 1 and len(seen[0].superseded) == (6 if more else 4)
    assert history.level_of(seen[0].good[0]) == 1 and seen[0].rows == want.height
    files = history.list_history(store)
    rows = history.read_history(files)
    assert rows is not None and rows.height == want.height
    assert rows.sort(want.columns).equals(want.sort(want.columns))
    assert files.good == seen[0].good and store.list_keys("") == [store.key(files.good[0])]


def test_retention_drops_days_wholly_older_than_the_cut(s3: MotoS3) -> None:
    store = _store(s3)
    sink = ParquetSink(store, flush_s=60)
    _feed(sink, [_samples(d, n=2) for d in (0, 5, 29, 30)])
    now = T0 + timedelta(days=31, hours=12)  # 30 d before now: 2026-09-01 12:00
    gone = history.retain(store, 30 * 86400, now=now)
    assert gone == ["date=2026-09-01"]  # 09-02 .. still has hours younger than the cut? no: wholly older
    assert store.partitions() == ["date=2026-09-06", "date=2026-09-30", "date=2026-10-01"]
    gone = history.retain(store, 1 * 86400, now=now)
    assert gone == ["date=2026-09-06", "date=2026-09-30"]
    left = history.read_history(history.list_history(store))
    assert left is not None and left["ts"].dt.date().unique().to_list() == [date(2026, 10, 1)]


def test_history_check_retains_compacts_and_reports(s3: MotoS3, tmp_path: Path) -> None:
    store = _store(s3)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    sink = ParquetSink(store, flush_s=60, groups=1)
    old, recent = _samples(0), _samples(0)
    old = old.with_columns(pl.col("ts") - (pl.col("ts").min() - (today - timedelta(days=40))))
    recent = recent.with_columns(pl.col("ts") - (pl.col("ts").min() - (today - timedelta(days=2))))
    _feed(sink, [old, recent], flushes=4)
    env = {**os.environ, **s3.env}
    res = subprocess.run(
        [str(EXE), "history", "check", store.root, "--retain", "30d", "--compact"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "deleted 1 day partitions older than 30d" in res.stdout
    assert "4 readable files" in res.stdout and "compacted 4 files into 1" in res.stdout
    assert len(store.list_keys("")) == 1


def test_a_stopped_server_is_counted_rows_held_and_written_once_back(s3: MotoS3) -> None:
    store = _store(s3)
    sink = ParquetSink(store, flush_s=60)
    _feed(sink, [_samples(0)])
    assert sink.files_written > 0 and sink.write_errors == 0
    s3.stop()
    try:
        _feed(sink, [_samples(1), _samples(2)])
        assert sink.write_errors >= 2 and sink.buffered_rows == 2 * 4 * len(DEVICES)
    finally:
        s3.start()
    _feed(sink, [_samples(3)])
    assert sink.buffered_rows == 0
    rows = history.read_history(history.list_history(store))
    assert rows is not None
    want = pl.concat([_samples(d) for d in range(4)])
    assert rows.height == want.height and rows.unique().height == want.height
    assert rows.sort(want.columns).equals(want.sort(want.columns))


class LosingProxy:
    """A TCP proxy on loopback in front of moto's server: while ``lose`` is set it passes each request
    on (the server applies it) and closes the connection instead of passing the answer back, so the
    client sees a failed PUT that did happen."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.lose = threading.Event()
        self.lost = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._pump, args=(client,), daemon=True).start()

    def _pump(self, client: socket.socket) -> None:
        server = socket.create_connection(("127.0.0.1", self.upstream))
        try:
            while True:
                ready, _, _ = select.select([client, server], [], [], 30)
                if not ready:
                    return
                for src in ready:
                    data = src.recv(65536)
                    if not data:
                        return
                    if src is server and self.lose.is_set() and not data.startswith(b"HTTP/1.1 100 "):
                        self.lost += 1
                        return  # the answer never reaches the client
                    (server if src is client else client).sendall(data)
        finally:
            client.close()
            server.close()

    def close(self) -> None:
        self.sock.close()


def test_a_put_applied_but_seen_failing_is_not_written_twice(s3: MotoS3) -> None:
    proxy = LosingProxy(s3.port)
    try:
        store = _store(s3)
        via = S3Store.from_url(store.root, {**s3.env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{proxy.port}"})
        sink = ParquetSink(via, flush_s=60, groups=1)
        _feed(sink, [_samples(0)])
        proxy.lose.set()
        _feed(sink, [_samples(1)])  # moto stores the object; the client never hears so
        assert sink.write_errors >= 1 and proxy.lost >= 1 and sink.buffered_rows == 4 * len(DEVICES)
        assert len(store.list_keys("")) == 2  # it did land
        proxy.lose.clear()
        _feed(sink, [_samples(2)])  # the retry overwrites that object, then the new day
        assert sink.buffered_rows == 0
        assert len(store.list_keys("")) == 3
        rows = history.read_history(history.list_history(store))
        want = pl.concat([_samples(d) for d in range(3)])
        assert rows is not None and rows.height == want.height
        assert rows.sort(want.columns).equals(want.sort(want.columns))
    finally:
        proxy.close()


def test_a_corrupt_object_is_skipped_with_one_warning_naming_it(
    s3: MotoS3, caplog: pytest.LogCaptureFixture
) -> None:
    store = _store(s3)
    _feed(ParquetSink(store, flush_s=60, groups=1), [_samples(0)])
    bad = f"{store.prefix}/date=2026-09-01/group=01/part-L0-0000000000000000-deadbeef.parquet"
    s3.client().put_object(Bucket=s3.bucket, Key=bad, Body=b"PAR1 not really" * 10)
    with caplog.at_level(logging.WARNING, logger="linkmargin.history"):
        files = history.list_history(store)
    assert len(files.good) == 1 and [str(b.path) for b in files.bad] == [f"s3://{s3.bucket}/{bad}"]
    warned = [r.getMessage() for r in caplog.records if r.name == "linkmargin.history"]
    assert len(warned) == 1 and bad in warned[0]
    rows = history.read_history(files)
    assert rows is not None and rows.height == 4 * len(DEVICES)


@pytest.mark.parametrize("wrong", ["AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"])
def test_wrong_credentials_are_two_lines_and_exit_2(s3: MotoS3, tmp_path: Path, wrong: str) -> None:
    store = _store(s3)
    _feed(ParquetSink(store, flush_s=60), [_samples(0)])
    secret = "wr0ngS3cretValue" + uuid.uuid4().hex
    env = {**os.environ, **s3.env, wrong: secret}
    spec, _ = scenario.build()
    spec.write_dir(str(tmp_path / "spec"))
    for args in (
        ["history", "check", store.root],
        ["risk", "--spec", str(tmp_path / "spec"), "--history", store.root],
        ["query", "sql", "SELECT 1", "--history", store.root, "--inventory", str(tmp_path / "none.yaml")],
    ):
        res = subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=120, env=env)
        if args[0] == "query":  # the inventory is checked first: its own two lines
            assert res.returncode == 2
            continue
        lines = res.stderr.strip().splitlines()
        assert res.returncode == 2 and len(lines) == 2, res.stderr
        assert "access denied" in lines[0] and store.root in lines[0] and "AWS_ACCESS_KEY_ID" in lines[1]
        assert secret not in res.stderr + res.stdout and s3.env["AWS_SECRET_ACCESS_KEY"] not in res.stderr
        assert "Traceback" not in res.stderr


def test_no_credentials_at_all_says_where_it_looked(tmp_path: Path) -> None:
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "HOME": str(tmp_path)}
    with pytest.raises(history.StoreError, match=r"no S3 credentials.*\n.*AWS_ACCESS_KEY_ID"):
        S3Store.from_url("s3://b/p", env)
    (tmp_path / "creds").write_text("[ops]\naws_access_key_id = AK\naws_secret_access_key = SK\n")
    st = S3Store.from_url("s3://b/p", {**env, "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "creds"),
                                       "AWS_PROFILE": "ops"})  # fmt: skip
    assert st.settings.key_id == "AK" and "SK" not in repr(st.settings)


def _rounded(doc: object) -> object:
    """The document with every float rounded to 12 significant digits."""
    if isinstance(doc, float):
        return float(f"{doc:.12g}")
    if isinstance(doc, dict):
        return {k: _rounded(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_rounded(v) for v in doc]
    return doc
