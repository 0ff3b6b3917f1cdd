from __future__ import annotations

import asyncio

import polars as pl

from analyzer.consumer import BatchConsumer, shared_subscription
from analyzer.state import LaneState
from linkmargin.bus import InProcessBus
from linkmargin.wire import SAMPLES_WILDCARD, SampleBatch, encode_batch

from .helpers import one_link_spec, samples


async def test_consumer_from_in_process_bus_dedupes() -> None:
    bus = InProcessBus()
    st = LaneState(one_link_spec(lanes=1))
    consumer = BatchConsumer(st, max_rows=1, max_delay=0.0)
    task = asyncio.create_task(consumer.run(bus.subscribe(SAMPLES_WILDCARD)))
    await asyncio.sleep(0)
    for seq, t in enumerate((0.0, 1.0, 2.0)):
        frame = samples(
            [{"t": t, "device": "dev-b", "port": "p1", "lane": 1, "metric": "rx_power_dbm", "value": -3 - t}]
        )
        payload = encode_batch(SampleBatch("dev-b", seq, frame))
        await bus.publish("linkmargin/v1/samples/dev-b", payload)
        if seq == 1:
            await bus.publish("linkmargin/v1/samples/dev-b", payload)  # QoS 1 redelivery
    await bus.publish("linkmargin/v1/samples/dev-b", b"garbage")
    await bus.close()
    await task
    assert consumer.batches == 3 and consumer.duplicates == 1 and consumer.malformed == 1
    assert st.samples_seen == 3
    assert st.latest.filter(pl.col("metric") == "rx_power_dbm")["value"].to_list() == [-5.0]
    assert shared_subscription(SAMPLES_WILDCARD) == "$share/linkmargin-analyzers/linkmargin/v1/samples/+"
