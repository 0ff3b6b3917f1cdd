"""The bus contract: encoded batches and events survive the wire unchanged, garbage is refused."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import polars as pl
import pytest

from linkmargin.bus import InProcessBus, topic_matches
from linkmargin.samples import SAMPLE_SCHEMA, Metric, MetricKind, Reason, conform, metric_kind
from linkmargin.wire import (
    Event,
    SampleBatch,
    WireError,
    decode_batch,
    decode_event,
    encode_batch,
    encode_event,
    samples_topic,
)


def _frame() -> pl.DataFrame:
    ts = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    return conform(
        pl.DataFrame(
            {
                "ts": [ts, ts, ts],
                "device": ["leaf07"] * 3,
                "port": ["Ethernet49", "Ethernet49", None],
                "lane": [1, None, None],
                "metric": ["rx_power_dbm", "fec_corrected_cw", "sys_uptime_cs"],
                "value": [-2.5, float(2**64 - 5), 123456.0],
                "counter": [None, 2**64 - 5, None],
                "counter_bits": [None, 64, None],
                "uptime_cs": [123456, 123456, 123456],
                "reason": [None, None, None],
            }
        )
    )


def test_batch_round_trip_keeps_exact_counters_and_envelope() -> None:
    batch = SampleBatch(device="leaf07", seq=42, frame=_frame())
    back = decode_batch(encode_batch(batch))
    assert back.device == "leaf07" and back.seq == 42
    assert back.frame.schema == SAMPLE_SCHEMA
    assert back.frame["counter"][1] == 2**64 - 5  # exact, not rounded through a float
    assert back.frame.equals(batch.frame)


@pytest.mark.parametrize(
    "payload", [b"", b"garbage", b"\xff" * 64, encode_event(Event("x", "info", "l", "s"))]
)
def test_garbage_is_a_wire_error(payload: bytes) -> None:
    with pytest.raises(WireError):
        decode_batch(payload)


def test_absent_reading_is_null_with_reason_not_zero() -> None:
    frame = conform(
        pl.DataFrame(
            {
                "ts": [datetime(2026, 1, 1, tzinfo=UTC)],
                "device": ["d"],
                "metric": ["rx_power_dbm"],
                "value": [None],
                "reason": [Reason.NO_LIGHT.value],
            },
            schema_overrides={"value": pl.Float64},
        )
    )
    assert frame["value"].null_count() == 1
    assert frame["reason"][0] == "no_light"


def test_unknown_metric_is_refused() -> None:
    with pytest.raises(pl.exceptions.InvalidOperationError):
        conform(
            pl.DataFrame({"ts": [datetime(2026, 1, 1, tzinfo=UTC)], "device": ["d"], "metric": ["rx_pwr"]})
        )


def test_metric_kinds() -> None:
    assert metric_kind(Metric.FEC_CORRECTED_CW) is MetricKind.COUNTER
    assert metric_kind(Metric.THR_RX_POWER_DBM_LOW_WARN) is MetricKind.THRESHOLD
    assert metric_kind(Metric.RX_POWER_DBM) is MetricKind.GAUGE
    assert metric_kind(Metric.OPER_STATUS) is MetricKind.STATE


def test_event_round_trip() -> None:
    ev = Event(
        "risk_changed", "critical", "spine01-e1-1--leaf07-e49", "margin 0.4 dB at 21d", data={"p": 0.7}
    )
    back = decode_event(encode_event(ev))
    assert back == ev
    assert back.topic == "linkmargin/v1/events/critical"


def test_topics() -> None:
    assert samples_topic("leaf07") == "linkmargin/v1/samples/leaf07"
    with pytest.raises(WireError):
        samples_topic("a/b")
    assert topic_matches("linkmargin/v1/samples/+", "linkmargin/v1/samples/leaf07")
    assert not topic_matches("linkmargin/v1/samples/+", "linkmargin/v1/events/critical")
    assert topic_matches("linkmargin/#", "linkmargin/v1/events/critical")


async def test_in_process_bus_fans_out_in_order() -> None:
    bus = InProcessBus(maxsize=4)
    got: list[bytes] = []

    async def consume() -> None:
        async for msg in bus.subscribe("linkmargin/v1/samples/+"):
            got.append(msg.payload)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0)
    for i in range(20):  # more than maxsize: back-pressure, not loss
        await bus.publish(samples_topic("leaf07"), str(i).encode())
    await bus.publish("linkmargin/v1/events/info", b"not for this subscriber")
    await bus.close()
    await task
    assert got == [str(i).encode() for i in range(20)]
