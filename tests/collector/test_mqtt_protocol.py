"""``protocol: "3.1.1"`` (bus config) and ``--mqtt-protocol 3.1.1`` (analyzer) for brokers without MQTT
5 (NATS); MQTT 5 stays the default; anything else is refused with one line."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from collector.config import MqttBusConf
from linkmargin.mqtt import MqttConfigError, MqttSettings


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
