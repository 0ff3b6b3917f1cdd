"""A bounded, disk-backed FIFO of (topic, payload) messages: what the MQTT publisher delivers from.

**Durable**: a message is written to a temporary file, fsynced, renamed into place and the directory
fsynced before :meth:`Outbox.append` returns, so a kill (or a power cut) leaves whole messages only,
and a restart resumes them (leftover temporary files are removed).

**At a bound** the oldest messages are dropped to make room, counted by reason in
``Outbox.dropped_by`` (exported as ``linkmargin_collector_outbox_dropped_total{reason}``): recent
telemetry is worth more than old telemetry, and the collector must not stall or grow without limit
during a long outage. A consumer sees the loss as a gap in the per-device ``seq``. The bounds:

- ``max_messages`` and ``max_bytes`` (from the collector config): reasons ``max_messages``,
  ``max_bytes`` (a single message larger than ``max_bytes`` is itself dropped);
- the message being sent (between :meth:`Outbox.peek` and :meth:`Outbox.ack`) is never the one
  dropped: a bound may be exceeded by it alone;
- the disk itself: a full disk (ENOSPC, EDQUOT) drops the oldest messages until the new one fits, or
  the new one if nothing is left to drop (``disk_full``);
- any other write error (EIO, EROFS, EACCES …) drops the new message (``write_error``); a message file
  that cannot be read back, is malformed or is refused by the MQTT client is dropped when it reaches
  the head (``invalid``).

:meth:`Outbox.append` never raises an ``OSError``: polling never stops over the outbox. Each reason is
logged at most once per ``log_every_s`` (with how many drops since). Every method is blocking file
I/O: the publisher calls them on one writer thread, off the event loop, which also keeps appends in
order. A lock makes them safe from any thread.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
import time
from collections import Counter, deque
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

DROP_REASONS: Final = ("max_messages", "max_bytes", "disk_full", "write_error", "invalid")
_FULL: Final = frozenset({errno.ENOSPC, errno.EDQUOT})
_SUFFIX: Final = ".msg"


class Outbox:
    """A FIFO of (topic, payload) in a directory: one file per message, named by a monotonic number."""

    def __init__(
        self,
        path: str | Path,
        max_messages: int = 100_000,
        max_bytes: int = 1 << 30,
        *,
        log_every_s: float = 60.0,
    ) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.log_every_s = log_every_s
        self.dropped_by: Counter[str] = Counter(dict.fromkeys(DROP_REASONS, 0))
        self._logged: dict[str, tuple[float, int]] = {}  # reason -> (last logged at, drops since)
        self._lock = threading.Lock()
        self._inflight: int | None = None  # the message peek() gave, until ack()
        self.tmp_removed = 0
        ids: list[int] = []
        self._bytes = 0
        for entry in os.scandir(self.path):
            if entry.name.endswith(".tmp"):  # a write cut short by a kill: never a whole message
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    self.tmp_removed += 1
            elif entry.name.endswith(_SUFFIX) and entry.name[: -len(_SUFFIX)].isdigit():
                ids.append(int(entry.name[: -len(_SUFFIX)]))
                self._bytes += entry.stat().st_size
        if self.tmp_removed:
            log.info("outbox %s: removed %d partial writes left by a crash", self.path, self.tmp_removed)
        ids.sort()
        self._ids: deque[int] = deque(ids)
        self._next = (ids[-1] + 1) if ids else 0

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def size_bytes(self) -> int:
        """Bytes of the messages held (topic line and payload)."""
        return self._bytes

    @property
    def dropped(self) -> int:
        """Messages dropped for any reason."""
        return sum(self.dropped_by.values())

    def _file(self, i: int) -> Path:
        return self.path / f"{i:020d}{_SUFFIX}"

    def append(self, topic: str, payload: bytes) -> bool:
        """Add a message at the tail durably; False when it was dropped instead (counted, logged)."""
        data = topic.encode() + b"\n" + payload
        with self._lock:
            if len(data) > self.max_bytes:
                self._drop("max_bytes", f"a {len(data)} B message is larger than max_bytes {self.max_bytes}")
                return False
            while len(self._ids) >= self.max_messages and self._evict():
                self._drop("max_messages", f"{self.max_messages} messages queued; oldest dropped")
            while self._bytes + len(data) > self.max_bytes and self._evict():
                self._drop("max_bytes", f"{self.max_bytes} B queued; oldest dropped")
            i = self._next
            while True:
                try:
                    self._write(i, data)
                    break
                except OSError as exc:
                    if exc.errno in _FULL and self._evict():  # make room: the oldest go first
                        self._drop("disk_full", f"disk full ({exc.strerror}); oldest dropped")
                        continue
                    reason = "disk_full" if exc.errno in _FULL else "write_error"
                    self._drop(reason, f"cannot write a message ({exc}); it is dropped")
                    return False
            self._next = i + 1
            self._ids.append(i)
            self._bytes += len(data)
            return True

    def _write(self, i: int, data: bytes) -> None:
        """tmp file, fsync, rename, fsync of the directory (so the rename itself survives a crash)."""
        tmp = self.path / f".{i}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self._file(i))
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        dfd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def peek(self) -> tuple[str, bytes] | None:
        """The oldest message, or None; one that cannot be read is dropped (``invalid``).

        It stays in the outbox until :meth:`ack`, and no bound drops it meanwhile (it is being sent).
        """
        with self._lock:
            self._inflight = None
            while self._ids:
                f = self._file(self._ids[0])
                try:
                    raw = f.read_bytes()
                    topic, sep, payload = raw.partition(b"\n")
                    if sep and topic:
                        out = topic.decode(), payload
                        self._inflight = self._ids[0]
                        return out
                    why = "no topic line"
                except (OSError, UnicodeDecodeError) as exc:
                    why = str(exc)
                self._pop()
                self._drop("invalid", f"message {f.name}: {why}")
            return None

    def ack(self) -> None:
        """Remove the message :meth:`peek` gave (delivered)."""
        with self._lock:
            if self._ids and self._ids[0] == self._inflight:
                self._pop()
            self._inflight = None

    def discard(self, why: str) -> None:
        """Drop the oldest message as one that can never be delivered (``invalid``)."""
        with self._lock:
            if self._ids:
                name = self._file(self._ids[0]).name
                self._pop()
                self._drop("invalid", f"message {name}: {why}")
            self._inflight = None

    def _evict(self) -> bool:
        """Remove the oldest message to make room, sparing the one being sent; False if none can go."""
        if self._ids and self._ids[0] == self._inflight:
            if len(self._ids) < 2:
                return False
            victim = self._ids[1]
            del self._ids[1]
            self._unlink(victim)
            return True
        if not self._ids:
            return False
        self._pop()
        return True

    def _pop(self) -> None:
        self._unlink(self._ids.popleft())

    def _unlink(self, i: int) -> None:
        f = self._file(i)
        try:
            size = f.stat().st_size
            f.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:  # cannot delete it: forget it here; a restart finds it again
            log.warning("outbox %s: cannot remove %s: %s", self.path, f.name, exc)
            return
        self._bytes = max(0, self._bytes - size)

    def _drop(self, reason: str, detail: str) -> None:
        self.dropped_by[reason] += 1
        now = time.monotonic()
        last, since = self._logged.get(reason, (-float("inf"), 0))
        if now - last < self.log_every_s:
            self._logged[reason] = (last, since + 1)
            return
        more = f" ({since} more dropped in the last {self.log_every_s:.0f} s)" if since else ""
        log.warning(
            "outbox %s: message dropped (%s): %s%s; %d total dropped",
            self.path,
            reason,
            detail,
            more,
            self.dropped,
        )
        self._logged[reason] = (now, 0)
