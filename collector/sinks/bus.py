"""The bus sink: each batch encoded with :mod:`linkmargin.wire` (per-device sequence numbers) and
published to a :class:`linkmargin.bus.Publisher` — the in-process bus or :class:`MqttPublisher`.

:class:`MqttPublisher` never loses a batch to a broker outage: ``publish`` appends to a bounded
disk-backed :class:`Outbox`; a sender task delivers the outbox in order with QoS 1 and deletes a
message only after the broker's PUBACK. **At the bound** (``max_messages`` or ``max_bytes``) the
oldest messages are dropped to make room, and counted in ``Outbox.dropped`` (exported as
``linkmargin_collector_outbox_dropped_total``): recent telemetry is worth more than old telemetry,
and the collector must not stall or grow without limit during a long outage. A consumer sees the
loss as a gap in the per-device ``seq``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections import defaultdict
from pathlib import Path

import aiomqtt
import polars as pl

from linkmargin.bus import Publisher
from linkmargin.mqtt import MqttConfigError, MqttSettings
from linkmargin.wire import QOS, SampleBatch, encode_batch, samples_topic

log = logging.getLogger(__name__)


class BusSink:
    """Encodes batches with a per-device sequence number and publishes them."""

    def __init__(self, publisher: Publisher, producer: str | None = None) -> None:
        self.publisher = publisher
        # a fresh producer id per process: consumers dedupe by (producer, device, seq)
        self.producer = producer or f"collector-{uuid.uuid4().hex[:12]}"
        self.seq: dict[str, int] = defaultdict(int)

    async def __call__(self, device: str, group: str, frame: pl.DataFrame) -> None:
        """Publish one batch on the device's samples topic."""
        self.seq[device] += 1
        batch = SampleBatch(device=device, seq=self.seq[device], frame=frame, producer=self.producer)
        await self.publisher.publish(samples_topic(device), encode_batch(batch))


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


class MqttPublisher:
    """A :class:`Publisher` over MQTT (aiomqtt, QoS 1) with a disk outbox; run :meth:`run` as a task.

    A refused or failed connection (broker down, bad password, untrusted certificate, unreadable
    secret file) never drops a batch: it stays in the outbox and the sender retries with backoff,
    re-reading the password and CA files each time, so fixing them delivers the backlog without a
    restart. Each new kind of failure is logged once at ERROR (``last_error`` holds it), naming the
    broker and what failed, never the password.
    """

    def __init__(
        self,
        host: str,
        port: int,
        outbox_dir: str | Path,
        *,
        max_messages: int = 100_000,
        username: str | None = None,
        password_file: str | None = None,
        password_env: str | None = None,
        tls: bool = False,
        ca_file: str | None = None,
        identifier: str | None = None,
        reconnect_s: float = 0.5,
        max_backoff_s: float = 10.0,
    ) -> None:
        self.settings = MqttSettings(
            host=host,
            port=port,
            username=username,
            password_file=password_file,
            password_env=password_env,
            tls=tls,
            ca_file=ca_file,
        )
        self.host, self.port = host, port
        self.outbox = Outbox(outbox_dir, max_messages=max_messages)
        self.identifier = identifier or f"linkmargin-collector-{uuid.uuid4().hex[:8]}"
        self.reconnect_s = reconnect_s
        self.max_backoff_s = max_backoff_s
        self._wake = asyncio.Event()
        self.delivered = 0
        self.connects = 0
        self.failures = 0
        self.last_error: str | None = None
        self.connected = False  # a session to the broker is up (what linkmargin_collector_bus_up reads)

    @property
    def queued(self) -> int:
        """Batches in the outbox, not yet acknowledged by the broker."""
        return len(self.outbox)

    async def publish(self, topic: str, payload: bytes) -> None:
        """Queue a message durably; returns at once (delivery is the sender's job)."""
        self.outbox.append(topic, payload)
        self._wake.set()

    def _failed(self, exc: BaseException) -> None:
        self.failures += 1
        why = self.settings.explain(exc)
        if why != self.last_error:
            # once per kind of failure: a broker down for an hour must not flood the log
            log.error("%s; %d batches kept in the outbox, retrying", why, len(self.outbox))
        else:
            log.debug("%s; %d queued", why, len(self.outbox))
        self.last_error = why

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver the outbox in order until ``stop`` is set and the outbox is empty (or stop + no broker)."""
        backoff = self.reconnect_s
        while True:
            if stop.is_set() and not len(self.outbox):
                return
            try:
                async with aiomqtt.Client(
                    **self.settings.client_kwargs(), identifier=self.identifier, timeout=5
                ) as client:
                    self.connects += 1
                    self.connected = True
                    backoff = self.reconnect_s
                    if self.last_error is not None:
                        log.info(
                            "mqtt broker %s connected; %d queued", self.settings.broker, len(self.outbox)
                        )
                    self.last_error = None
                    while True:
                        msg = self.outbox.peek()
                        if msg is None:
                            if stop.is_set():
                                return
                            self._wake.clear()
                            with contextlib.suppress(TimeoutError):
                                await asyncio.wait_for(self._wake.wait(), 0.5)
                            continue
                        await client.publish(msg[0], msg[1], qos=QOS)  # returns after PUBACK
                        self.outbox.ack()
                        self.delivered += 1
            except (aiomqtt.MqttError, MqttConfigError) as exc:
                self.connected = False  # now, not after the backoff below
                self._failed(exc)
                if stop.is_set():
                    return
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
            finally:
                self.connected = False
