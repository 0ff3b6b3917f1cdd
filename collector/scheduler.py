"""Scheduling: one loop per (device, group) on its own interval with jitter, under a global and a
per-device concurrency limit, with timeouts, retries (in the transport), backoff and a circuit breaker.

A slow or dead device only ever holds its own slot: every poll has a deadline, the breaker stops
polling a device after consecutive failures for a growing cool-down, and a poll that outlasts its
interval skips the missed ticks (counted as an overrun) instead of queueing them.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import polars as pl

from collector.poller import DeviceState, poll_group
from collector.selfmetrics import SelfMetrics
from collector.transport import SnmpError, SnmpTimeout, Target, Transport, open_transport

log = logging.getLogger(__name__)
DEFAULT_INTERVALS = {"discovery": 3600.0, "dom": 60.0, "counters": 15.0}
LOG_EVERY_S = 60.0  # a failing sink is logged at most once per reason in this time
Sink = Callable[[str, str, pl.DataFrame], Awaitable[None]]


@dataclass
class Breaker:
    """Consecutive-failure circuit breaker with exponential cool-down."""

    threshold: int = 3
    base_cooldown_s: float = 30.0
    max_cooldown_s: float = 900.0
    failures: int = 0
    open_until: float = 0.0

    def allow(self, now: float) -> bool:
        """Whether a poll may go out now (half-open after the cool-down)."""
        return now >= self.open_until

    def record(self, ok: bool, now: float) -> None:
        """Count a result; open after ``threshold`` failures in a row."""
        if ok:
            self.failures, self.open_until = 0, 0.0
            return
        self.failures += 1
        if self.failures >= self.threshold:
            k = self.failures - self.threshold
            self.open_until = now + min(self.max_cooldown_s, self.base_cooldown_s * 2**k)


@dataclass
class Device:
    """A target with its state, session, breaker and per-device limit."""

    target: Target
    profile: str = "auto"
    state: DeviceState = field(init=False)
    breaker: Breaker = field(default_factory=Breaker)
    lock: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))
    transport: Transport | None = None
    polls: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.state = DeviceState(name=self.target.name)


def sink_error_reason(exc: BaseException) -> str:
    """The label a sink failure is counted by: the errno name of an OSError, else the exception type."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return errno.errorcode.get(exc.errno, type(exc).__name__)
    return type(exc).__name__


class Scheduler:
    """Polls many devices by group and hands each batch to ``sink(device, group, frame)``."""

    def __init__(
        self,
        targets: list[Target],
        sink: Sink,
        *,
        intervals: dict[str, float] | None = None,
        profiles: dict[str, str] | None = None,
        transport: str = "gufo",
        global_limit: int = 64,
        jitter: float = 0.2,
        breaker: Breaker | None = None,
        metrics: SelfMetrics | None = None,
    ) -> None:
        self.intervals = {**DEFAULT_INTERVALS, **(intervals or {})}
        self.devices = [Device(t, (profiles or {}).get(t.name, "auto")) for t in targets]
        for d in self.devices:
            if breaker is not None:
                d.breaker = Breaker(breaker.threshold, breaker.base_cooldown_s, breaker.max_cooldown_s)
        self.sink = sink
        self.kind = transport
        self.sem = asyncio.Semaphore(global_limit)
        self.jitter = jitter
        self.metrics = metrics or SelfMetrics()
        for d in self.devices:
            self.metrics.register_device(d.target.name)
        for group in self.intervals:
            self.metrics.overruns.labels(group)  # "no overrun yet" is a 0 series, not a missing one
        self._sink_logged: dict[str, tuple[float, int]] = {}  # reason -> (last logged at, failures since)

    def deadline(self, dev: Device, group: str) -> float:
        """A poll's wall-time budget: never more than its interval."""
        return self.intervals[group] * 0.9

    async def poll(self, dev: Device, group: str) -> bool:
        """One guarded poll of one group; returns success. Never raises (except cancellation)."""
        now = time.monotonic()
        if not dev.breaker.allow(now):
            self.metrics.skipped.labels(dev.target.name).inc()
            return False
        async with self.sem, dev.lock:
            t0 = time.perf_counter()
            before = dev.state.varbinds
            ok = False
            try:
                async with asyncio.timeout(self.deadline(dev, group)):
                    if dev.transport is None:
                        tr = open_transport(dev.target, self.kind)
                        await tr.__aenter__()
                        dev.transport = tr
                    frame = await poll_group(dev.transport, dev.state, group, dev.profile)
                ok = True
            except (TimeoutError, SnmpTimeout):
                self.metrics.timeouts.labels(dev.target.name).inc()
                await self._drop_session(dev)
            except SnmpError as exc:
                self.metrics.errors.labels(dev.target.name).inc()
                log.warning("poll %s/%s failed: %s", dev.target.name, group, exc)
                await self._drop_session(dev)
            except Exception:  # a garbage answer must not kill the loop of this device
                self.metrics.errors.labels(dev.target.name).inc()
                log.exception("poll %s/%s: unexpected error", dev.target.name, group)
                await self._drop_session(dev)
            self.metrics.poll_seconds.labels(group).observe(time.perf_counter() - t0)
            self.metrics.varbinds.inc(max(0, dev.state.varbinds - before))
            dev.breaker.record(ok, time.monotonic())
        if ok:
            dev.polls[group] = dev.polls.get(group, 0) + 1
            self.metrics.last_success.labels(dev.target.name).set(time.time())
            self.metrics.samples.inc(frame.height)
            try:
                await self.sink(dev.target.name, group, frame)
            except Exception as exc:  # a full disk or a name a sink cannot use must not stop polling
                self._sink_failed(dev.target.name, group, exc)
        return ok

    def _sink_failed(self, device: str, group: str, exc: Exception) -> None:
        """Count a sink failure by reason (each failure of an exception group) and log it rate-limited."""
        leaves = list(exc.exceptions) if isinstance(exc, ExceptionGroup) else [exc]
        now = time.monotonic()
        for e in leaves:
            reason = sink_error_reason(e)
            self.metrics.sink_errors.labels(reason).inc()
            last, since = self._sink_logged.get(reason, (-LOG_EVERY_S, 0))
            if now - last < LOG_EVERY_S:
                self._sink_logged[reason] = (last, since + 1)
                continue
            more = f" ({since} more like it in the last {LOG_EVERY_S:.0f} s)" if since else ""
            first = reason not in self._sink_logged  # the first of its kind with the traceback
            log.error(
                "batch of %s/%s not taken by a sink (%s): %s%s; polling goes on",
                device,
                group,
                reason,
                e,
                more,
                exc_info=e if first else None,
            )
            self._sink_logged[reason] = (now, 0)

    async def _drop_session(self, dev: Device) -> None:
        if dev.transport is not None:
            with contextlib.suppress(Exception):
                await dev.transport.__aexit__(None, None, None)
            dev.transport = None

    async def _loop(self, dev: Device, group: str, stop: asyncio.Event) -> None:
        interval = self.intervals[group]
        nxt = time.monotonic() + random.uniform(0, self.jitter * interval)  # spread devices over the interval
        while not stop.is_set():
            delay = nxt - time.monotonic()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    break
            await self.poll(dev, group)
            nxt += interval
            now = time.monotonic()
            if now > nxt:  # overran: skip the missed ticks, never queue them
                self.metrics.overruns.labels(group).inc()
                nxt += interval * ((now - nxt) // interval + 1)

    async def run(self, stop: asyncio.Event) -> None:
        """Run every (device, group) loop until ``stop`` is set."""
        groups = [g for g in ("counters", "dom", "discovery") if self.intervals.get(g, 0) > 0]
        tasks = [asyncio.create_task(self._loop(d, g, stop)) for d in self.devices for g in groups]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            for d in self.devices:
                await self._drop_session(d)
