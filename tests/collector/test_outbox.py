"""The outbox's bounds, durability and failure handling, on a real directory (ENOSPC and EIO injected
where no small filesystem can be mounted; tests/faults/test_collector_full_disk.py fills a real one)."""

from __future__ import annotations

import errno
import logging
import os
import threading
from pathlib import Path

import pytest

from collector.config import MqttBusConf
from collector.outbox import Outbox
from collector.publisher import MqttPublisher
from linkmargin.mqtt import MqttSettings


def test_count_and_byte_bounds_drop_the_oldest_by_reason(tmp_path: Path) -> None:
    ob = Outbox(tmp_path, max_messages=4, max_bytes=10 * 102)
    for i in range(6):
        assert ob.append("t", bytes([i]) * 100)  # 102 B each with "t\n"
    assert len(ob) == 4 and ob.dropped_by["max_messages"] == 2
    assert ob.append("t", b"x" * 800)  # one goes for the count, then one more for the bytes
    assert ob.dropped_by["max_messages"] == 3 and ob.dropped_by["max_bytes"] == 1
    assert len(ob) == 3 and ob.size_bytes == 2 * 102 + 802
    assert not ob.append("t", b"y" * 2000)  # larger than the whole bound: itself dropped
    assert ob.dropped_by["max_bytes"] == 2 and ob.dropped == 5 and len(ob) == 3
    assert ob.peek() == ("t", bytes([4]) * 100)


def test_restart_resumes_in_order_and_removes_partial_writes(tmp_path: Path) -> None:
    ob = Outbox(tmp_path)
    for i in range(3):
        ob.append(f"t/{i}", b"p%d" % i)
    (tmp_path / ".7.tmp").write_bytes(b"half a mess")  # a kill between write and rename
    again = Outbox(tmp_path)
    assert again.tmp_removed == 1 and not list(tmp_path.glob("*.tmp"))
    assert len(again) == 3 and again.size_bytes == ob.size_bytes
    got = []
    while (m := again.peek()) is not None:
        got.append(m)
        again.ack()
    assert got == [("t/0", b"p0"), ("t/1", b"p1"), ("t/2", b"p2")]
    again.append("t/3", b"p3")  # numbering goes on after the restart
    assert sorted(p.name for p in tmp_path.glob("*.msg")) == [f"{3:020d}.msg"]


def test_every_append_is_fsynced_file_and_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    Outbox(tmp_path).append("t", b"x")
    assert synced == [str(tmp_path / ".0.tmp"), str(tmp_path)]  # the data, then the rename


def _failing_writes(monkeypatch: pytest.MonkeyPatch, code: int, after: int) -> None:
    """os.write succeeds ``after`` times, then fails with ``code`` (a disk that fills up)."""
    real, n = os.write, [0]

    def write(fd: int, data: bytes) -> int:
        n[0] += 1
        if n[0] > after:
            raise OSError(code, os.strerror(code))
        return real(fd, data)

    monkeypatch.setattr(os, "write", write)


def test_a_full_disk_drops_the_oldest_and_logs_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ob = Outbox(tmp_path)
    for i in range(5):
        ob.append("t", b"%d" % i)
    _failing_writes(monkeypatch, errno.ENOSPC, after=0)
    with caplog.at_level(logging.WARNING, logger="collector.outbox"):
        for i in range(5, 8):
            assert not ob.append("t", b"%d" % i)  # nothing ever fits: all five old ones go, then the new
    assert ob.dropped_by["disk_full"] == 5 + 3 and len(ob) == 0
    assert not list(tmp_path.iterdir())  # no partial file left behind
    assert len(caplog.records) == 1 and "(disk_full)" in caplog.records[0].getMessage()


def test_room_made_on_a_full_disk_takes_the_new_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ob = Outbox(tmp_path)
    for i in range(3):
        ob.append("t", b"%d" % i)
    real, fails = os.write, [1]

    def write(fd: int, data: bytes) -> int:  # full once: the oldest goes, then it fits
        if fails[0]:
            fails[0] -= 1
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)

    monkeypatch.setattr(os, "write", write)
    assert ob.append("t", b"new")
    assert ob.dropped_by["disk_full"] == 1 and [ob.peek()] == [("t", b"1")] and len(ob) == 3


def test_other_write_errors_drop_the_new_message_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ob = Outbox(tmp_path)
    ob.append("t", b"kept")
    _failing_writes(monkeypatch, errno.EIO, after=0)
    assert not ob.append("t", b"lost")
    assert ob.dropped_by["write_error"] == 1 and len(ob) == 1 and ob.peek() == ("t", b"kept")


def test_the_message_being_sent_is_never_the_one_dropped(tmp_path: Path) -> None:
    ob = Outbox(tmp_path, max_messages=2)
    ob.append("t", b"0")
    ob.append("t", b"1")
    assert ob.peek() == ("t", b"0")  # in flight
    ob.append("t", b"2")  # the bound drops 1, not the one being sent
    ob.ack()  # removes 0, the one delivered
    assert ob.peek() == ("t", b"2") and ob.dropped_by["max_messages"] == 1


def test_unreadable_or_malformed_messages_are_dropped_at_the_head(tmp_path: Path) -> None:
    ob = Outbox(tmp_path)
    for i in range(3):
        ob.append("t", b"%d" % i)
    (tmp_path / f"{0:020d}.msg").write_bytes(b"no topic line")
    (tmp_path / f"{1:020d}.msg").unlink()
    assert ob.peek() == ("t", b"2") and ob.dropped_by["invalid"] == 2


async def test_publish_writes_on_one_thread_off_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pub = MqttPublisher(MqttSettings(port=1), tmp_path)
    threads: set[str] = set()
    real = pub.outbox.append

    def append(topic: str, payload: bytes) -> bool:
        threads.add(threading.current_thread().name)
        return real(topic, payload)

    monkeypatch.setattr(pub.outbox, "append", append)
    for i in range(20):
        await pub.publish("t", b"%d" % i)
    assert len(threads) == 1 and threading.main_thread().name not in threads
    got = []
    while (m := pub.outbox.peek()) is not None:
        got.append(m[1])
        pub.outbox.ack()
    assert got == [b"%d" % i for i in range(20)]  # in the order handed over


def test_bounds_come_from_the_config() -> None:
    conf = MqttBusConf.model_validate({"kind": "mqtt", "max_messages": 50, "max_bytes": "64MiB"})
    assert conf.max_bytes == 64 << 20 and conf.max_messages == 50
    assert MqttBusConf(kind="mqtt").max_bytes == 1 << 30
    with pytest.raises(ValueError, match="greater than or equal to 4096"):
        MqttBusConf.model_validate({"kind": "mqtt", "max_bytes": "1KB"})


def test_an_outbox_dir_that_cannot_be_made_is_a_config_error(tmp_path: Path) -> None:
    from collector.config import validate_config

    (tmp_path / "afile").write_text("")
    doc = {"inventory": "inv.yaml", "bus": {"kind": "mqtt", "outbox_dir": str(tmp_path / "afile" / "ob")}}
    _, problems = validate_config(doc)
    assert problems == [
        (("bus", "outbox_dir"), f"{tmp_path / 'afile' / 'ob'}: {tmp_path / 'afile'} is not a directory")
    ]
    doc["bus"]["outbox_dir"] = str(tmp_path / "new" / "ob")  # type: ignore[index]  # made at start
    assert validate_config(doc)[1] == []
