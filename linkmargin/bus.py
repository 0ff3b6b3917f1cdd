"""The in-process bus: the default way sample batches and events travel from producer to consumers.

MQTT is the other transport (collector publishes, analyzer subscribes); both carry the bytes of
:mod:`linkmargin.wire`, so the in-process bus hands around the same encoded payloads rather than
live objects — a consumer can never depend on something MQTT would not deliver.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Message:
    """A payload with the topic it was published on."""

    topic: str
    payload: bytes


class Publisher(Protocol):
    """Anything sample batches and events can be published to."""

    async def publish(self, topic: str, payload: bytes) -> None: ...


def topic_matches(pattern: str, topic: str) -> bool:
    """MQTT topic filter matching (``+`` one level, ``#`` the rest)."""
    pat = pattern.split("/")
    top = topic.split("/")
    for i, p in enumerate(pat):
        if p == "#":
            return True
        if i >= len(top) or (p != "+" and p != top[i]):
            return False
    return len(pat) == len(top)


class InProcessBus:
    """Fan-out of published payloads to bounded per-subscriber queues, in one event loop.

    A slow subscriber applies back-pressure to publishers (``publish`` waits for room) instead of
    losing messages; ``maxsize`` bounds memory.
    """

    def __init__(self, maxsize: int = 10_000) -> None:
        self._subs: list[tuple[str, asyncio.Queue[Message | None]]] = []
        self._maxsize = maxsize
        self.published = 0

    async def publish(self, topic: str, payload: bytes) -> None:
        """Deliver ``payload`` to every subscription whose filter matches ``topic``."""
        self.published += 1
        msg = Message(topic, payload)
        for pattern, queue in list(self._subs):
            if topic_matches(pattern, topic):
                await queue.put(msg)

    def subscribe(self, pattern: str) -> AsyncIterator[Message]:
        """Subscribe to a topic filter; iterate the result to receive messages until :meth:`close`."""
        queue: asyncio.Queue[Message | None] = asyncio.Queue(self._maxsize)
        self._subs.append((pattern, queue))
        return self._drain(queue)

    async def _drain(self, queue: asyncio.Queue[Message | None]) -> AsyncIterator[Message]:
        try:
            while True:
                msg = await queue.get()
                if msg is None:
                    return
                yield msg
        finally:
            self._subs = [(p, q) for p, q in self._subs if q is not queue]

    async def close(self) -> None:
        """End every subscription's iteration."""
        for _, queue in list(self._subs):
            await queue.put(None)
