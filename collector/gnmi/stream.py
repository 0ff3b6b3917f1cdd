"""One Subscribe stream per gNMI device, as a source of sample batches for the collector's sinks.

The SNMP path polls; gNMI streams. The seam is the sink: :class:`GnmiStream` hands batches to the same
``sink(device, group, frame)`` the scheduler does (the collector's fan-out to Prometheus, bus and
Parquet), one batch per (device, poll group) per group interval, from the updates that arrived since
the last one. The stream is opened with Capabilities then Subscribe (SAMPLE at the poll-group
intervals, ON_CHANGE for state), re-opened with exponential backoff and jitter when it fails, and a
stream that sends nothing for ``stall_factor`` x its shortest sample interval is cancelled, counted as a
stall and re-opened. Nothing a device sends ends the loop: bad updates are counted by reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable

import grpc
import grpc.aio
import polars as pl

from collector.gnmi.client import (
    GnmiTarget,
    capabilities,
    choose_encoding,
    metadata,
    open_channel,
    subscribe_request,
    wrap,
)
from collector.gnmi.errors import GnmiError, GnmiStalled, GnmiUnavailable
from collector.gnmi.metrics import GnmiMetrics
from collector.gnmi.normalize import normalize, port_state_of
from collector.gnmi.profile import load_gnmi_profile
from collector.gnmi.updates import UpdateSink
from linkmargin.gnmi import gnmi_pb2_grpc
from linkmargin.samples import conform, empty_samples

log = logging.getLogger(__name__)
Sink = Callable[[str, str, pl.DataFrame], Awaitable[None]]
STREAM_GROUPS = ("counters", "dom")


class GnmiStream:
    """A device's stream: reconnects, stall detection, batches per poll group to ``sink``."""

    def __init__(
        self,
        target: GnmiTarget,
        sink: Sink,
        intervals: dict[str, float],
        *,
        metrics: GnmiMetrics | None = None,
        stall_factor: float = 3.0,
        backoff_s: tuple[float, float] = (1.0, 60.0),
    ) -> None:
        self.target = target
        self.sink = sink
        self.intervals = {g: float(intervals.get(g, 60.0)) for g in STREAM_GROUPS}
        self.doc = load_gnmi_profile(target.profile)
        self.updates = UpdateSink(self.doc)
        self.metrics = metrics or GnmiMetrics()
        self.metrics.register_device(target.name)
        self.stall_s = stall_factor * min(self.intervals.values())
        self.backoff_s = backoff_s
        self.port_state = pl.DataFrame()
        self.synced = asyncio.Event()
        self.sessions = 0

    # -- batches ----------------------------------------------------------------------------------
    def batch(self, group: str) -> pl.DataFrame:
        """The group's sample batch from the updates since the last one (rejects counted)."""
        name = self.target.name
        rows = self.updates.take(group)
        r = normalize(
            self.updates.table,
            name,
            rows,
            self.updates.port_map,
            self.updates.boot_ns,
            self.port_state if group == "dom" else None,
        )
        for reason, n in [*r.rejects.items(), *self.updates.rejects.items()]:
            self.metrics.rejects.labels(name, reason).inc(n)
        self.updates.rejects.clear()
        if group == "counters" and not r.samples.is_empty():
            st = port_state_of(r.samples)
            if not st.is_empty():
                self.port_state = st
        return r.samples

    async def flush(self, group: str) -> None:
        """Hand the group's batch to the sink (nothing when no update came)."""
        frame = self.batch(group)
        if not frame.is_empty():
            await self.sink(self.target.name, group, frame)

    async def _flusher(self, group: str, stop: asyncio.Event) -> None:
        interval = self.intervals[group]
        nxt = time.monotonic() + interval
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, nxt - time.monotonic()))
            try:
                await self.flush(group)
            except Exception:  # a sink failure must not end the stream
                log.exception("gnmi %s/%s: flush failed", self.target.name, group)
            nxt += interval
            if time.monotonic() > nxt:
                nxt = time.monotonic() + interval

    # -- the stream -------------------------------------------------------------------------------
    async def session(self, stop: asyncio.Event) -> None:
        """One Capabilities + Subscribe session; returns when ``stop`` is set, raises GnmiError otherwise."""
        t = self.target
        channel = open_channel(t)
        try:
            stub = gnmi_pb2_grpc.gNMIStub(channel)
            caps = await capabilities(stub, t)
            req = subscribe_request(self.doc, self.intervals, choose_encoding(self.doc, caps))
            call = stub.Subscribe(iter([req]), metadata=metadata(t))
            self.sessions += 1
            self.metrics.up.labels(t.name).set(1)
            stopper = asyncio.create_task(stop.wait())
            try:
                while not stop.is_set():
                    reader = asyncio.ensure_future(call.read())
                    done, _ = await asyncio.wait(
                        {reader, stopper}, timeout=self.stall_s, return_when="FIRST_COMPLETED"
                    )
                    if reader not in done:
                        reader.cancel()
                        if stop.is_set():
                            return
                        raise GnmiStalled(t.name, f"no update for {self.stall_s:.0f}s")
                    resp = reader.result()
                    if resp is grpc.aio.EOF:
                        raise GnmiUnavailable(t.name, "the device ended the stream")
                    kind = resp.WhichOneof("response")
                    if kind == "update":
                        self.updates.add(resp.update)
                    elif kind == "sync_response":
                        self.synced.set()
                    else:
                        self.metrics.rejects.labels(t.name, f"response_{kind}").inc()
                    self.metrics.updates.labels(t.name).inc(
                        len(resp.update.update) if kind == "update" else 0
                    )
            finally:
                stopper.cancel()
                call.cancel()
        except grpc.aio.AioRpcError as exc:
            raise wrap(t, exc) from None
        finally:
            self.metrics.up.labels(t.name).set(0)
            await channel.close()

    async def run(self, stop: asyncio.Event) -> None:
        """Stream until ``stop`` is set, re-opening the stream with backoff; batches flow to the sink."""
        flushers = [asyncio.create_task(self._flusher(g, stop)) for g in STREAM_GROUPS]
        attempt = 0
        try:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    await self.session(stop)
                except GnmiStalled as exc:
                    self.metrics.stalls.labels(self.target.name).inc()
                    log.warning("gnmi %s", exc)
                except GnmiError as exc:
                    self.metrics.errors.labels(self.target.name, type(exc).__name__).inc()
                    log.warning("gnmi %s", exc)
                except Exception as exc:  # garbage must not end the device's loop
                    self.metrics.errors.labels(self.target.name, "unexpected").inc()
                    log.exception("gnmi %s: unexpected error: %s", self.target.name, exc)
                if stop.is_set():
                    break
                if time.monotonic() - started > self.stall_s:
                    attempt = 0  # the stream had been up a while: start the backoff again
                lo, hi = self.backoff_s
                delay = min(hi, lo * 2**attempt) * random.uniform(0.5, 1.0)
                attempt += 1
                self.metrics.reconnects.labels(self.target.name).inc()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
        finally:
            for f in flushers:
                f.cancel()
            await asyncio.gather(*flushers, return_exceptions=True)


async def snapshot(target: GnmiTarget, groups: list[str], timeout: float = 10.0) -> pl.DataFrame:
    """Open the stream, wait for the device's initial sync, return one batch of ``groups``
    (``linkmargin poll --gnmi``); raises GnmiError when the device cannot be read."""
    got: list[pl.DataFrame] = []

    async def keep(device: str, group: str, frame: pl.DataFrame) -> None:
        got.append(frame)

    s = GnmiStream(target, keep, {g: 3600.0 for g in STREAM_GROUPS}, backoff_s=(0.2, 1.0))
    stop = asyncio.Event()
    task = asyncio.create_task(s.session(stop))
    try:
        async with asyncio.timeout(timeout):
            waiter = asyncio.create_task(s.synced.wait())
            done, _ = await asyncio.wait({task, waiter}, return_when="FIRST_COMPLETED")
            if task in done:
                waiter.cancel()
                task.result()  # raises the session's error
    except TimeoutError:
        raise GnmiUnavailable(target.name, f"no initial sync within {timeout:.0f}s") from None
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await task
    # counters first: their oper/admin state marks the optics batch's absent readings
    for g in ("counters", "dom"):
        if g in groups:
            got.append(s.batch(g))
    return conform(pl.concat(got)) if got else empty_samples()
