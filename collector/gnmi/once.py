"""A gNMI device read on demand: one Subscribe with SubscriptionList mode ONCE per read.

For callers that decide when "now" is (the backtest's stepped clock) rather than the device's
sample interval: the device sends every subscribed leaf once, then ``sync_response``, then ends the
RPC (gNMI specification, "ONCE subscriptions"). The updates go through the same matcher, value
decoder and normalizer as a STREAM session's (a :class:`GnmiStream`'s update sink and batches, so
port state and the component-to-interface mapping carry over between reads exactly as they do on a
stream). One channel per device, opened with Capabilities on the first read and re-opened after a
failure.
"""

from __future__ import annotations

import grpc
import grpc.aio
import polars as pl

from collector.gnmi.client import (
    GnmiTarget,
    capabilities,
    choose_encoding,
    metadata,
    once_request,
    open_channel,
    wrap,
)
from collector.gnmi.errors import GnmiUnavailable
from collector.gnmi.metrics import GnmiMetrics
from collector.gnmi.stream import STREAM_GROUPS, GnmiStream
from linkmargin.gnmi import gnmi_pb2_grpc
from linkmargin.samples import conform, empty_samples


async def _no_sink(device: str, group: str, frame: pl.DataFrame) -> None:
    """A ONCE reader returns its batches; it never hands them to a sink."""


class OnceReader:
    """Reads one device with a ONCE subscription per :meth:`read`."""

    def __init__(self, target: GnmiTarget, *, metrics: GnmiMetrics | None = None) -> None:
        self.target = target
        # the stream's decoder, normalizer, port state and reject counts, without its RPC
        self.state = GnmiStream(target, _no_sink, {g: 3600.0 for g in STREAM_GROUPS}, metrics=metrics)
        self.metrics = self.state.metrics
        self.reads = 0
        self._channel: grpc.aio.Channel | None = None
        self._stub: gnmi_pb2_grpc.gNMIStub | None = None
        self._encoding = 0

    async def _connect(self) -> gnmi_pb2_grpc.gNMIStub:
        if self._stub is None:
            self._channel = open_channel(self.target)
            stub = gnmi_pb2_grpc.gNMIStub(self._channel)
            try:
                self._encoding = choose_encoding(self.state.doc, await capabilities(stub, self.target))
            except BaseException:
                await self.close()
                raise
            self._stub = stub
        return self._stub

    async def _receive(self) -> None:
        t = self.target
        stub = await self._connect()
        req = once_request(self.state.doc, self._encoding)
        call = stub.Subscribe(iter([req]), metadata=metadata(t), timeout=t.timeout)
        try:
            async for resp in call:
                kind = resp.WhichOneof("response")
                if kind == "update":
                    self.state.updates.add(resp.update)
                    self.metrics.updates.labels(t.name).inc(len(resp.update.update))
                elif kind == "sync_response":
                    return  # everything sent once; the device ends the RPC
                else:
                    self.metrics.rejects.labels(t.name, f"response_{kind}").inc()
        finally:
            call.cancel()
        raise GnmiUnavailable(t.name, "the ONCE subscription ended before its sync_response")

    async def read(self, groups: tuple[str, ...] = STREAM_GROUPS) -> list[tuple[str, pl.DataFrame]]:
        """One ONCE read: ``(group, samples)`` per group asked for, counters first (their oper and admin
        state marks the optics batch's absent readings). Raises GnmiError when the device cannot be read
        (the channel is then re-opened on the next read); updates of a failed read are dropped."""
        try:
            await self._receive()
        except grpc.aio.AioRpcError as exc:
            await self.close()
            self._drop()
            raise wrap(self.target, exc) from None
        except BaseException:
            await self.close()
            self._drop()
            raise
        self.reads += 1
        return [(g, self.state.batch(g)) for g in ("counters", "dom") if g in groups]

    def _drop(self) -> None:
        for g in self.state.updates.pending:
            self.state.updates.pending[g].clear()

    async def close(self) -> None:
        """Close the channel (the next read opens a new one)."""
        channel, self._channel, self._stub = self._channel, None, None
        if channel is not None:
            await channel.close()


async def read_once(target: GnmiTarget, groups: tuple[str, ...] = STREAM_GROUPS) -> pl.DataFrame:
    """One ONCE read of ``target`` as a single Sample batch; raises GnmiError when it cannot be read."""
    reader = OnceReader(target)
    try:
        frames = [f for _, f in await reader.read(groups)]
    finally:
        await reader.close()
    frames = [f for f in frames if not f.is_empty()]
    return conform(pl.concat(frames)) if frames else empty_samples()
