"""``protocol: "3.1.1"`` (bus config) and ``--mqtt-protocol 3.1.1`` (analyzer) for brokers without MQTT
5 (NATS); MQTT 5 stays the default; anything else is refused with one line. The collector's CONNECT
really is MQTT 5 (or 3.1.1) as configured, as the broker saw it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import aiomqtt
import pytest
from pydantic import ValidationError

from collector.config import MqttBusConf
from collector.publisher import MqttPublisher
from linkmargin.mqtt import MqttConfigError, MqttSettings
from tests.services import mosquitto


def test_bus_protocol_default_number_and_text() -> None:
    assert MqttBusConf.model_validate({"kind": "mqtt", "outbox_dir": "/tmp/x"}).settings().v5
    assert MqttBusConf.model_validate({"kind": "mqtt", "outbox_dir": "/tmp/x", "protocol": 5}).settings().v5
    s = MqttBusConf.model_validate({"kind": "mqtt", "outbox_dir": "/tmp/x", "protocol": "3.1.1"}).settings()
    assert s.protocol == "3.1.1" and not s.v5
    with pytest.raises(ValidationError):
        MqttBusConf.model_validate({"kind": "mqtt", "outbox_dir": "/tmp/x", "protocol": 4})


def test_settings_refuse_unknown_protocol() -> None:
    with pytest.raises(MqttConfigError, match=r"one of 5, 3\.1\.1"):
        MqttSettings(protocol="3.1")


def test_analyze_refuses_unknown_protocol() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "linkmargin_cli", "analyze", "--mqtt", "127.0.0.1:1", "--mqtt-protocol", "4"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.splitlines() == ["analyze: --mqtt-protocol '4': one of 5, 3.1.1"]


@pytest.mark.parametrize(("protocol", "level"), [("5", "p5"), ("3.1.1", "p2")])
async def test_publisher_connect_is_the_configured_protocol_at_the_broker(
    tmp_path: Path, protocol: str, level: str
) -> None:
    """Mosquitto logs each CONNECT's protocol level (p5: MQTT 5, p2: 3.1.1): the publisher's is ours."""
    with mosquitto(tmp_path / "broker") as broker:
        got: list[bytes] = []
        ready = asyncio.Event()

        async def subscriber() -> None:
            async with aiomqtt.Client(
                "127.0.0.1", port=broker.port, protocol=aiomqtt.ProtocolVersion.V5
            ) as c:
                await c.subscribe("linkmargin/v1/samples/+", qos=1)
                ready.set()
                async for msg in c.messages:
                    got.append(bytes(msg.payload))  # type: ignore[arg-type]
                    return

        sub = asyncio.create_task(subscriber())
        await asyncio.wait_for(ready.wait(), 10)
        ident = f"lm-proto-{level}"
        pub = MqttPublisher(
            MqttSettings(port=broker.port, protocol=protocol), tmp_path / "outbox", identifier=ident
        )
        stop = asyncio.Event()
        sender = asyncio.create_task(pub.run(stop))
        await pub.publish("linkmargin/v1/samples/leaf1", b"batch")
        await asyncio.wait_for(sub, 10)
        stop.set()
        await asyncio.wait_for(sender, 10)
        assert got == [b"batch"] and pub.delivered == 1
    log = (tmp_path / "broker" / "mosquitto.log").read_text()
    connects = [ln for ln in log.splitlines() if f" as {ident} (" in ln]
    assert connects and all(f"({level}," in ln for ln in connects), connects
