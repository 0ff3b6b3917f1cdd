"""The analyzer's MQTT side: subscribe to sample batches (QoS 1, every device's topic) and
publish events, over TLS and with a password from a file or env var (:class:`MqttSettings`).

The connection is kept up by :meth:`MqttSubscriber.run`: a refused or failed connection is logged
once per kind of failure (broker, what failed; never the password) and retried with backoff,
re-reading the secret and CA files each time. Anything else that breaks the subscription (a bug, a
payload the client library chokes on) is logged with its traceback once per kind and the
subscription restarted the same way: the task never dies while the process lives. ``subscribed``
is set only while a subscription is live; it is the analyzer's ingest readiness
(``linkmargin_analyzer_ingest_up``).

The session is persistent (clean start off, a session expiry interval) under a client id that stays
the same across restarts, so QoS 1 batches published while the analyzer restarts or reconnects wait
at the broker and arrive when it is back. Each analyzer instance needs its own id (``identifier``):
two processes sharing one take the session from each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Mapping
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from analyzer.consumer import BatchConsumer
from linkmargin.mqtt import MqttConfigError, MqttSettings
from linkmargin.wire import QOS, SAMPLES_WILDCARD

log = logging.getLogger(__name__)

__all__ = ["MqttSubscriber"]


class MqttSubscriber:
    """Feeds a :class:`BatchConsumer` from the broker; also publishes (events) while connected."""

    def __init__(
        self,
        settings: MqttSettings,
        consumer: BatchConsumer,
        *,
        topic: str | None = None,
        identifier: str | None = None,
        session_expiry_s: int = 3600,
        reconnect_s: float = 0.5,
        max_backoff_s: float = 10.0,
        routes: Mapping[str, Callable[[bytes, str], None]] | None = None,
    ) -> None:
        self.settings = settings
        # other topic filters subscribed beside the samples, each with its handler (payload, topic)
        self.routes = dict(routes or {})
        self.consumer = consumer
        # every batch, never a shared subscription: that would spread one device's batches over analyzers
        # at random while a lane's state (trend, steps, calibration) must stay on one; several analyzers
        # split the fleet by link instead (analyze --shard, analyzer.sharding)
        self.topic = topic or SAMPLES_WILDCARD
        self.identifier = identifier or f"linkmargin-analyzer-{socket.gethostname()}"
        self.session_expiry_s = session_expiry_s
        self.reconnect_s = reconnect_s
        self.max_backoff_s = max_backoff_s
        self.subscribed = asyncio.Event()  # set while a subscription is live
        self.connects = 0
        self.restarts = 0  # subscriptions restarted after an unexpected error (not a broker error)
        self.last_error: str | None = None
        self._client: aiomqtt.Client | None = None

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        """Publish with QoS 1 if connected; False (and a log line) when the broker is unreachable."""
        client = self._client
        if client is None:
            log.warning(
                "mqtt broker %s not connected; message on %s not published", self.settings.broker, topic
            )
            return False
        try:
            await client.publish(topic, payload, qos=QOS, retain=retain)
        except aiomqtt.MqttError as exc:
            log.warning("%s; message on %s not published", self.settings.explain(exc), topic)
            return False
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Subscribe and feed the consumer until ``stop`` is set, reconnecting after failures."""
        backoff = self.reconnect_s
        while not stop.is_set():
            try:
                async with aiomqtt.Client(
                    **self.settings.client_kwargs(),
                    identifier=self.identifier,
                    timeout=5,
                    **self._session_kwargs(),
                ) as client:
                    await client.subscribe(self.topic, qos=QOS)
                    for flt in self.routes:
                        await client.subscribe(flt, qos=QOS)
                    self.connects += 1
                    backoff = self.reconnect_s
                    if self.last_error is not None:
                        log.info("mqtt broker %s connected", self.settings.broker)
                    self.last_error = None
                    self._client = client
                    self.subscribed.set()
                    await self._pump(client, stop)
            except (aiomqtt.MqttError, MqttConfigError) as exc:
                why = self.settings.explain(exc)
                if why != self.last_error:
                    log.error("%s; retrying", why)
                self.last_error = why
            except Exception as exc:  # supervision: whatever killed the subscription, restart it
                self.restarts += 1
                why = f"subscription to {self.settings.broker} failed: {type(exc).__name__}: {exc}"
                if why != self.last_error:
                    log.exception("%s; restarting it", why)
                self.last_error = why
            finally:
                self._client = None
                self.subscribed.clear()
            if stop.is_set():
                break
            with contextlib.suppress(TimeoutError):  # the backoff ran out: try again
                await asyncio.wait_for(stop.wait(), backoff)
            backoff = min(backoff * 2, self.max_backoff_s)
        self.consumer.flush()

    def _session_kwargs(self) -> dict[str, Any]:
        """A persistent session: MQTT 5 clean start off with an expiry; 3.1.1 clean session off."""
        if not self.settings.v5:
            return {"protocol": aiomqtt.ProtocolVersion.V311, "clean_session": self.session_expiry_s <= 0}
        return {
            "protocol": aiomqtt.ProtocolVersion.V5,
            "clean_start": self.session_expiry_s <= 0,
            "properties": self._connect_properties(),
        }

    def _connect_properties(self) -> Properties:
        """CONNECT properties: how long the broker keeps the session (and queues batches) once we are gone."""
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = max(self.session_expiry_s, 0)
        return props

    async def _pump(self, client: aiomqtt.Client, stop: asyncio.Event) -> None:
        """Offer every message to the consumer until ``stop`` (returns) or a connection error (raises)."""
        messages = aiter(client.messages)
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while True:
                nxt = asyncio.ensure_future(anext(messages))
                done, _ = await asyncio.wait({nxt, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if nxt not in done:
                    nxt.cancel()
                    return
                msg = nxt.result()
                payload = msg.payload
                route = next((h for flt, h in self.routes.items() if msg.topic.matches(flt)), None)
                if route is not None:
                    route(bytes(payload) if isinstance(payload, bytes | bytearray) else b"", str(msg.topic))
                    continue
                # paho hands received payloads as bytes; anything else cannot be a wire batch
                self.consumer.offer(
                    bytes(payload) if isinstance(payload, bytes | bytearray) else b"", str(msg.topic)
                )
        finally:
            stopping.cancel()
