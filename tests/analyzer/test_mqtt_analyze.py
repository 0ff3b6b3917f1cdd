"""`linkmargin analyze --mqtt`: samples from a real Mosquitto (MQTT 5 shared subscription) in,
risk events out on linkmargin/v1/events/{severity}."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import urllib.request
from pathlib import Path

import aiomqtt

from linkmargin.wire import EVENTS_WILDCARD, SampleBatch, decode_event, encode_batch
from tests.services import free_port, mosquitto

from . import scenario


async def test_analyze_over_mqtt_publishes_risk_events(tmp_path: Path) -> None:
    spec, frame = scenario.build(scenario.recent_t0())  # the analyzer keeps its wall clock's window
    spec.write_dir(str(tmp_path / "spec"))
    mport = free_port()
    exe = Path(sys.executable).with_name("linkmargin")
    analyzer = None
    with mosquitto(tmp_path / "broker") as broker:
        port = broker.port
        try:
            async with aiomqtt.Client("127.0.0.1", port=port, identifier="test-events") as sub:
                await sub.subscribe(EVENTS_WILDCARD, qos=1)
                analyzer = subprocess.Popen(
                    [
                        str(exe),
                        "analyze",
                        "--spec",
                        str(tmp_path / "spec"),
                        "--mqtt",
                        f"127.0.0.1:{port}",
                        "--metrics-port",
                        str(mport),
                        "--every",
                        "0.5",
                        "--duration",
                        "25",
                        "--horizon",
                        "21d",
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                # wait until it has subscribed (a fixed sleep lost the batches under load)
                url = f"http://127.0.0.1:{mport}/metrics"
                for _ in range(240):
                    await asyncio.sleep(0.25)
                    try:
                        body = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=2).read())
                    except OSError:
                        continue
                    if b"linkmargin_analyzer_ingest_up 1.0" in body:
                        break
                else:
                    raise AssertionError("the analyzer never subscribed")
                async with aiomqtt.Client("127.0.0.1", port=port, identifier="test-pub") as pub:
                    for seq, (dev, part) in enumerate(frame.group_by("device", maintain_order=True)):
                        batch = SampleBatch(str(dev[0]), seq, part)
                        await pub.publish(batch.topic, encode_batch(batch), qos=1)

                async def first_event():
                    async for msg in sub.messages:
                        ev = decode_event(bytes(msg.payload))  # type: ignore[arg-type]
                        if ev.subject == "L-optic":
                            return ev, str(msg.topic)
                    return None

                ev, topic = await asyncio.wait_for(first_event(), timeout=20)
            assert ev.kind == "risk_state" and ev.data["to"] == "critical"
            assert topic == "linkmargin/v1/events/critical"
            assert "replace the optic" in ev.data["action"]
        finally:
            if analyzer is not None:
                analyzer.terminate()
                analyzer.communicate(timeout=10)
