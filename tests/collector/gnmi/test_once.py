"""ONCE subscriptions (what the backtest reads each simulated step): the lab's server answers every leaf
once, sync_response, end; the collector's reader decodes them exactly as a SAMPLE stream's first
values, across reads on one channel, and fails a device it cannot read with our own error."""

from __future__ import annotations

import polars as pl
import pytest

from collector.gnmi.client import GnmiTarget
from collector.gnmi.errors import GnmiAuthError, GnmiUnavailable
from collector.gnmi.once import OnceReader, read_once
from collector.gnmi.stream import snapshot
from lab.fabric import LabFabric
from lab.gnmi.render import Style
from lab.gnmi.server import Faults, LabGnmiServer
from lab.scenario import load_scenario
from linkmargin.credentials import GnmiCredentials
from linkmargin.gnmi import gnmi_pb2 as g
from linkmargin.gnmi import gnmi_pb2_grpc
from linkmargin.samples import SAMPLE_SCHEMA

H = 3600.0
KEY = ["device", "port", "lane", "metric"]


def frozen(clock: list[float]) -> LabFabric:
    """The demo fabric at 6 h on a clock the test steps (nothing moves between reads unless it does)."""
    return LabFabric(load_scenario("demo"), speed=1.0, start_s=6 * H, refresh_s=0.0, clock=lambda: clock[0])


def values(x: pl.DataFrame) -> pl.DataFrame:
    return x.select(*KEY, "value", "counter", "reason").sort(KEY, nulls_last=True)


@pytest.mark.parametrize("encoding", ["decimal", "json_ietf"])
async def test_once_equals_the_sample_streams_first_values(encoding: str) -> None:
    clock = [1000.0]
    f = frozen(clock)
    dev = f.devices[0]
    srv = LabGnmiServer(f, dev, Style(encoding, prefixes=True))  # type: ignore[arg-type]
    port = await srv.start()
    try:
        t = GnmiTarget(dev, "127.0.0.1", port)
        stream = await snapshot(t, ["counters", "dom"])
        once = await read_once(t)
    finally:
        await srv.stop()
    assert once.schema == SAMPLE_SCHEMA
    assert once.height > 200 and once["value"].is_not_null().sum() > 100
    # uptime is read as the notification's stamp minus boot-time: both moved on by the wall time between
    # the two reads (milliseconds); every other value is the same
    up = pl.col("metric").cast(pl.String).str.contains("uptime")
    a, b = values(stream.filter(~up)), values(once.filter(~up))
    assert a.equals(b), pl.concat([a, b]).unique(keep="none").head(10)
    ua, ub = stream.filter(up)["value"].sort(), once.filter(up)["value"].sort()
    assert ua.len() == ub.len() >= 1 and ((ub - ua).abs() < 100).all()  # centiseconds


async def test_the_server_ends_a_once_rpc_after_sync_response() -> None:
    import grpc.aio

    from collector.gnmi.client import once_request
    from collector.gnmi.profile import load_gnmi_profile

    f = frozen([0.0])
    srv = LabGnmiServer(f, f.devices[0])
    port = await srv.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
            req = once_request(load_gnmi_profile("openconfig"), g.JSON_IETF)
            kinds = [
                r.WhichOneof("response")
                async for r in gnmi_pb2_grpc.gNMIStub(ch).Subscribe(iter([req]), timeout=5)
            ]
    finally:
        await srv.stop()
    # the RPC ended by itself (the async for returned), its last message the sync_response
    assert kinds[-1] == "sync_response" and kinds.count("sync_response") == 1
    assert kinds.count("update") == len(kinds) - 1 >= 3


async def test_reads_follow_the_fabrics_clock_on_one_channel() -> None:
    clock = [1000.0]
    f = frozen(clock)
    dev = f.devices[0]
    srv = LabGnmiServer(f, dev)
    port = await srv.start()
    reader = OnceReader(GnmiTarget(dev, "127.0.0.1", port))
    try:
        first = dict(await reader.read())
        clock[0] += 6 * H  # six simulated hours pass between two reads
        second = dict(await reader.read())
    finally:
        await reader.close()
        await srv.stop()
    assert reader.reads == 2 and srv.faults.streams == 2
    for got in (first, second):
        assert not got["counters"].is_empty() and not got["dom"].is_empty()
    # the counters moved on with the clock (errors and FEC accumulate), nothing went backwards
    c1 = first["counters"].filter(pl.col("counter").is_not_null()).select(*KEY, c1="counter")
    c2 = second["counters"].filter(pl.col("counter").is_not_null()).select(*KEY, c2="counter")
    both = c1.join(c2, on=KEY, nulls_equal=True)
    assert both.height > 20
    assert (both["c2"] >= both["c1"]).all() and (both["c2"] > both["c1"]).any()
    # the device's uptime (stamp minus boot-time) moved by the simulated six hours, not the wall time
    # between the reads: counter rates over it are per simulated second, as over SNMP's sysUpTime
    up = [x["dom"].filter(pl.col("metric") == "sys_uptime_cs")["value"][0] for x in (first, second)]
    assert abs((up[1] - up[0]) - 6 * H * 100) < 100


async def test_a_device_that_cannot_be_read_is_our_error_and_the_next_read_recovers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    f = frozen(clock)
    dev = f.devices[0]
    srv = LabGnmiServer(f, dev, faults=Faults(kill_after=1))
    port = await srv.start()
    reader = OnceReader(GnmiTarget(dev, "127.0.0.1", port))
    try:
        with pytest.raises(GnmiUnavailable):
            await reader.read()  # killed after its first notification: no sync_response
        assert all(not p for p in reader.state.updates.pending.values())  # the partial read dropped
        srv.faults.kill_after = None
        got = dict(await reader.read())
        assert got["dom"]["value"].is_not_null().sum() > 100
    finally:
        await reader.close()
        await srv.stop()
    locked = LabGnmiServer(f, dev, username="u", password="right")
    port = await locked.start()
    try:
        monkeypatch.setenv("LM_TEST_GNMI_PW", "wrong")
        creds = GnmiCredentials(tls=False, username="u", password_env="LM_TEST_GNMI_PW")
        with pytest.raises(GnmiAuthError):
            await read_once(GnmiTarget(dev, "127.0.0.1", port, credentials=creds))
    finally:
        await locked.stop()
