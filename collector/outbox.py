"""A bounded, disk-backed FIFO of (topic, payload) messages: what the MQTT publisher delivers from.

**At the bound** (``max_messages`` or ``max_bytes``) the oldest messages are dropped to make room,
and counted in ``Outbox.dropped`` (exported as ``linkmargin_collector_outbox_dropped_total``):
recent telemetry is worth more than old telemetry, and the collector must not stall or grow without
limit during a long outage. A consumer sees the loss as a gap in the per-device ``seq``.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


class Outbox:
    """A FIFO of (topic, payload) in a directory: one file per message, named by a monotonic number.

    Files are written tmp + rename, so a kill leaves whole messages only; a restart resumes them.
    """

    def __init__(self, path: str | Path, max_messages: int = 100_000, max_bytes: int = 1 << 30) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.dropped = 0
        names = sorted(p.name for p in self.path.glob("*.msg"))
        self._ids = [int(n[:-4]) for n in names]
        self._bytes = sum((self.path / n).stat().st_size for n in names)
        self._next = (self._ids[-1] + 1) if self._ids else 0

    def __len__(self) -> int:
        return len(self._ids)

    def _file(self, i: int) -> Path:
        return self.path / f"{i:020d}.msg"

    def append(self, topic: str, payload: bytes) -> None:
        """Add a message at the tail, dropping the oldest at the bound (counted)."""
        data = topic.encode() + b"\n" + payload
        while self._ids and (len(self._ids) >= self.max_messages or self._bytes + len(data) > self.max_bytes):
            self._pop()
            self.dropped += 1
        i = self._next
        self._next += 1
        tmp = self.path / f".{i}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self._file(i))
        self._ids.append(i)
        self._bytes += len(data)

    def peek(self) -> tuple[str, bytes] | None:
        """The oldest message, or None."""
        if not self._ids:
            return None
        topic, _, payload = self._file(self._ids[0]).read_bytes().partition(b"\n")
        return topic.decode(), payload

    def ack(self) -> None:
        """Remove the oldest message (delivered)."""
        self._pop()

    def _pop(self) -> None:
        i = self._ids.pop(0)
        f = self._file(i)
        with contextlib.suppress(FileNotFoundError):
            self._bytes -= f.stat().st_size
            f.unlink()
