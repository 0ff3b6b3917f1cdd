"""The MQTT :class:`linkmargin.bus.Publisher`: batches go to a disk :class:`~collector.outbox.Outbox`
at once; a sender task delivers them in order with QoS 1 and deletes a message only after the
broker's PUBACK, so a broker outage never loses a batch (up to the outbox's bound).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from pathlib import Path

import aiomqtt

from collector.outbox import Outbox
from linkmargin.mqtt import MqttConfigError, MqttSettings
from linkmargin.wire import QOS

log = logging.getLogger(__name__)


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
