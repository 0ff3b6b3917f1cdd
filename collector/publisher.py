"""The MQTT :class:`linkmargin.bus.Publisher`: batches go to a disk :class:`~collector.outbox.Outbox`
at once; a sender task delivers them in order over MQTT 5 with QoS 1 and deletes a message only after
the broker's PUBACK, so a broker outage never loses a batch (up to the outbox's bounds).

Every outbox operation (append with its fsyncs, read, delete) runs on one writer thread, off the
event loop: a slow or full disk delays the batch that waits for it, never the polls of other devices,
and one thread keeps the messages in the order they were handed over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import aiomqtt

from collector.outbox import Outbox
from linkmargin.mqtt import MqttConfigError, MqttSettings
from linkmargin.wire import QOS

log = logging.getLogger(__name__)
T = TypeVar("T")


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
        settings: MqttSettings,
        outbox_dir: str | Path,
        *,
        max_messages: int = 100_000,
        max_bytes: int = 1 << 30,
        identifier: str | None = None,
        reconnect_s: float = 0.5,
        max_backoff_s: float = 10.0,
    ) -> None:
        self.settings = settings
        self.outbox = Outbox(outbox_dir, max_messages=max_messages, max_bytes=max_bytes)
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="linkmargin-outbox")
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

    @property
    def dropped_by(self) -> dict[str, int]:
        """Batches the outbox dropped, by reason (see :mod:`collector.outbox`)."""
        return dict(self.outbox.dropped_by)

    @property
    def queued_bytes(self) -> int:
        """Bytes in the outbox."""
        return self.outbox.size_bytes

    async def _disk(self, fn: Callable[..., T], *args: object) -> T:
        """Run an outbox operation on the writer thread (in order, off the event loop)."""
        return await asyncio.get_running_loop().run_in_executor(self._io, fn, *args)

    async def publish(self, topic: str, payload: bytes) -> None:
        """Queue a message durably (written and fsynced off the loop); delivery is the sender's job.

        Never raises over the disk: a message the outbox cannot keep is dropped and counted there.
        """
        await self._disk(self.outbox.append, topic, payload)
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
                    **self.settings.client_kwargs(),
                    identifier=self.identifier,
                    protocol=aiomqtt.ProtocolVersion.V5 if self.settings.v5 else aiomqtt.ProtocolVersion.V311,
                    timeout=5,
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
                        msg = await self._disk(self.outbox.peek)
                        if msg is None:
                            if stop.is_set():
                                return
                            self._wake.clear()
                            with contextlib.suppress(TimeoutError):
                                await asyncio.wait_for(self._wake.wait(), 0.5)
                            continue
                        try:
                            await client.publish(msg[0], msg[1], qos=QOS)  # returns after PUBACK
                        except (ValueError, TypeError) as exc:  # a message no broker takes: never retried
                            await self._disk(self.outbox.discard, f"not publishable ({exc})")
                            continue
                        await self._disk(self.outbox.ack)
                        self.delivered += 1
            except (aiomqtt.MqttError, MqttConfigError) as exc:
                self.connected = False  # now, not after the backoff below
                self._failed(exc)
                if stop.is_set():
                    return
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
            except Exception as exc:  # supervision: the sender must outlive whatever went wrong
                self.connected = False
                self.failures += 1
                why = f"mqtt sender to {self.settings.broker} failed: {type(exc).__name__}: {exc}"
                if why != self.last_error:
                    log.exception("%s; %d batches kept in the outbox, retrying", why, len(self.outbox))
                self.last_error = why
                if stop.is_set():
                    return
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
            finally:
                self.connected = False
