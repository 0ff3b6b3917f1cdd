"""The collector's MQTT publisher and the analyzer's subscriber against a real Mosquitto whose only
listener is TLS (a throwaway CA made here) with a password file and no anonymous access.

Right CA + password: every batch arrives exactly once in the analyzer's consumer. A wrong password
or an untrusted CA: one clear error line (which broker, what failed), nothing lost — the batches
wait in the outbox and are delivered once the secret / CA file is fixed, without a restart. The
password never shows in a log record (any logger, DEBUG) nor in a process's argv.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from analyzer.consumer import BatchConsumer
from analyzer.mqtt import MqttSubscriber
from analyzer.spec import LinkSpec
from analyzer.state import LaneState
from collector.publisher import MqttPublisher
from collector.sinks.bus import BusSink
from linkmargin.mqtt import MqttSettings
from linkmargin.samples import conform
from tests.services import BrokerPki, Mosquitto, make_password_file, make_test_pki, mosquitto, wait_until

USER = "collector"
PASSWORD = "Zq7-not-in-logs-4Hx"  # distinctive, so a leak is found by a plain substring search


@dataclass
class SecureBroker:
    broker: Mosquitto
    pki: BrokerPki
    tmp: Path

    def settings(self, password_file: Path, ca: Path | None = None) -> MqttSettings:
        return MqttSettings(
            host="127.0.0.1",
            port=self.broker.port,
            username=USER,
            password_file=str(password_file),
            tls=True,
            ca_file=str(ca or self.pki.ca_cert),
        )


@pytest.fixture
def secure(tmp_path: Path) -> Iterator[SecureBroker]:
    pki = make_test_pki(tmp_path / "pki")
    pw = make_password_file(tmp_path / "broker-passwd", {USER: PASSWORD, "analyzer": PASSWORD})
    with mosquitto(tmp_path / "broker", tls=pki, password_file=pw) as b:
        yield SecureBroker(b, pki, tmp_path)


def secret(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text + "\n")  # the trailing newline an editor adds must not matter
    p.chmod(0o600)
    return p


def frame(device: str, i: int) -> pl.DataFrame:
    return conform(
        pl.DataFrame(
            {
                "ts": [datetime.now(UTC)],
                "device": [device],
                "port": ["Ethernet1"],
                "lane": [1],
                "metric": ["rx_power_dbm"],
                "value": [-2.0 - i / 100],
            }
        )
    )


def analyzer_consumer() -> BatchConsumer:
    return BatchConsumer(LaneState(LinkSpec.build([])), max_delay=0.0)


def assert_no_leak(caplog: pytest.LogCaptureFixture, *extra: Path) -> None:
    for rec in caplog.records:
        assert PASSWORD not in rec.getMessage(), rec
    assert PASSWORD not in caplog.text
    assert PASSWORD.encode() not in Path(f"/proc/{os.getpid()}/cmdline").read_bytes()
    for f in extra:
        assert PASSWORD not in f.read_text(errors="replace"), f


async def publish_and_receive(
    secure: SecureBroker,
    pub: MqttPublisher,
    sub: MqttSubscriber,
    consumer: BatchConsumer,
    n: int,
    fix: object = None,
) -> None:
    """Publish n batches for 2 devices; optionally call ``fix`` once they are queued; check delivery."""
    stop_pub, stop_sub = asyncio.Event(), asyncio.Event()
    sub_task = asyncio.create_task(sub.run(stop_sub))
    await asyncio.wait_for(sub.subscribed.wait(), 5)
    sender = asyncio.create_task(pub.run(stop_pub))
    sink = BusSink(pub)
    for i in range(n):
        for d in ("leaf1", "spine1"):
            await sink(d, "dom", frame(d, i))
    if callable(fix):
        await wait_until(lambda: pub.last_error is not None, 5)
        await asyncio.sleep(0.3)  # a few more failed attempts: still nothing may be lost
        assert len(pub.outbox) == 2 * n and pub.delivered == 0
        fix()
    await wait_until(lambda: consumer.batches == 2 * n, 8)
    stop_pub.set()
    await asyncio.wait_for(sender, 5)
    await asyncio.sleep(0.2)  # a redelivery, if any, would arrive now and count as a duplicate
    stop_sub.set()
    await asyncio.wait_for(sub_task, 5)
    assert len(pub.outbox) == 0 and pub.outbox.dropped == 0
    assert pub.delivered == 2 * n
    assert consumer.batches == 2 * n and consumer.duplicates == 0 and consumer.malformed == 0
    assert consumer.state.samples_seen == 2 * n


async def test_tls_and_password_deliver_exactly_once(
    secure: SecureBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # paho and aiomqtt at their chattiest: still no password
    pw = secret(tmp_path, "mqtt-pass", PASSWORD)
    s = secure.settings(pw)
    pub = MqttPublisher(
        s,
        tmp_path / "outbox",
        reconnect_s=0.1,
        max_backoff_s=0.5,
    )
    consumer = analyzer_consumer()
    sub = MqttSubscriber(secure.settings(pw), consumer, reconnect_s=0.1, max_backoff_s=0.5)
    await publish_and_receive(secure, pub, sub, consumer, n=25)
    assert pub.connects == 1 and pub.last_error is None
    assert_no_leak(caplog, secure.tmp / "broker" / "mosquitto.log")


def quick_publisher(secure: SecureBroker, tmp_path: Path, pw: Path, *, ca_file: str) -> MqttPublisher:
    """A publisher to the TLS listener that retries fast, so a failing setup shows within a second."""
    settings = MqttSettings(
        port=secure.broker.port, username=USER, password_file=str(pw), tls=True, ca_file=ca_file
    )
    return MqttPublisher(
        settings,
        tmp_path / "outbox",
        reconnect_s=0.05,
        max_backoff_s=0.2,
    )


async def test_wrong_password_is_reported_and_loses_nothing(
    secure: SecureBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "not-the-" + PASSWORD  # the wrong one must not leak either
    pw = secret(tmp_path, "mqtt-pass", wrong)
    pub = quick_publisher(secure, tmp_path, pw, ca_file=str(secure.pki.ca_cert))
    consumer = analyzer_consumer()
    good = secret(tmp_path, "analyzer-pass", PASSWORD)
    sub = MqttSubscriber(secure.settings(good), consumer, reconnect_s=0.1, max_backoff_s=0.5)
    # the operator fixes the secret file; the running publisher picks it up at its next attempt
    await publish_and_receive(
        secure, pub, sub, consumer, n=10, fix=lambda: secret(tmp_path, "mqtt-pass", PASSWORD)
    )
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors  # one line per kind of failure, not one per retry
    msg = errors[0]
    assert f"mqtts://127.0.0.1:{secure.broker.port}" in msg
    assert "refused the connection" in msg and "Not authorized" in msg
    assert f"username '{USER}'" in msg and f"password from file {pw}" in msg
    assert re.search(r"\b\d+ batches kept in the outbox", msg)  # how many: when the first attempt ran
    assert pub.connects == 1 and pub.failures >= 2
    assert wrong not in caplog.text
    assert_no_leak(caplog, secure.tmp / "broker" / "mosquitto.log")


async def test_untrusted_ca_is_reported_and_loses_nothing(
    secure: SecureBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    other = make_test_pki(tmp_path / "other-pki", name="some-other")
    ca = tmp_path / "trusted-ca.pem"
    ca.write_bytes(other.ca_cert.read_bytes())  # the wrong CA: the broker's cert will not verify
    pw = secret(tmp_path, "mqtt-pass", PASSWORD)
    pub = quick_publisher(secure, tmp_path, pw, ca_file=str(ca))
    consumer = analyzer_consumer()
    sub = MqttSubscriber(secure.settings(pw), consumer, reconnect_s=0.1, max_backoff_s=0.5)

    def fix_ca() -> None:
        ca.write_bytes(secure.pki.ca_cert.read_bytes())

    await publish_and_receive(secure, pub, sub, consumer, n=10, fix=fix_ca)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    msg = errors[0]
    assert f"mqtts://127.0.0.1:{secure.broker.port}" in msg
    # OpenSSL's reason varies with what the broker sends (leaf only, or leaf + its CA)
    assert "TLS certificate not trusted (" in msg and "certificate" in msg.split("(", 1)[1]
    assert f"CA file {ca}" in msg
    assert_no_leak(caplog)


async def test_subscriber_reports_bad_credentials(
    secure: SecureBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The analyzer side: a missing password file and a wrong password are both named, and it retries."""
    missing = tmp_path / "nowhere" / "pass"
    consumer = analyzer_consumer()
    sub = MqttSubscriber(secure.settings(missing), consumer, reconnect_s=0.05, max_backoff_s=0.1)
    stop = asyncio.Event()
    task = asyncio.create_task(sub.run(stop))
    await wait_until(lambda: sub.last_error is not None, 5)
    assert sub.last_error == (
        f"mqtt broker mqtts://127.0.0.1:{secure.broker.port}: "
        f"mqtt password_file: cannot read {missing}: No such file or directory"
    )
    missing.parent.mkdir()
    secret(missing.parent, "pass", PASSWORD)
    await asyncio.wait_for(sub.subscribed.wait(), 5)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert sub.last_error is None and sub.connects == 1
    assert_no_leak(caplog)


def test_settings_repr_and_errors_hold_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LM_TEST_MQTT_PASS", PASSWORD)
    s = MqttSettings(username=USER, password_env="LM_TEST_MQTT_PASS", tls=True)
    assert s.password() == PASSWORD
    assert PASSWORD not in repr(s) and "LM_TEST_MQTT_PASS" in repr(s)
    unset = MqttSettings(password_env="LM_TEST_UNSET_VAR")
    with pytest.raises(Exception, match="LM_TEST_UNSET_VAR is not set"):
        unset.password()
    binary = tmp_path / "bin-pass"
    binary.write_bytes(b"\xff" + PASSWORD.encode())
    with pytest.raises(Exception, match="is not UTF-8 text") as err:
        MqttSettings(password_file=str(binary)).password()
    assert "xff" not in str(err.value)


async def test_collect_cli_publishes_over_tls_with_password_file(
    secure: SecureBroker, snmpd: int, tmp_path: Path
) -> None:
    """`linkmargin collect --config` end to end: snmpd -> collector -> TLS + password -> subscriber.

    The password is in a file only: not in the daemon's argv, environment or output.
    """
    community = secret(tmp_path, "community", "public")
    pw = secret(tmp_path, "mqtt-pass", PASSWORD)
    cfg = tmp_path / "collector.yaml"
    cfg.write_text(
        f"""
intervals: {{counters: 1, dom: 0, discovery: 3600}}
credentials:
  host-ro: {{version: 2c, community_file: {community}}}
devices:
  - {{name: host, address: 127.0.0.1, port: {snmpd}, credentials: host-ro, profile: if-mib}}
bus:
  kind: mqtt
  host: 127.0.0.1
  port: {secure.broker.port}
  outbox_dir: {tmp_path / "outbox"}
  username: {USER}
  password_file: {pw}
  tls: true
  ca_file: {secure.pki.ca_cert}
"""
    )
    consumer = analyzer_consumer()
    sub = MqttSubscriber(secure.settings(pw), consumer, reconnect_s=0.1, max_backoff_s=0.5)
    stop = asyncio.Event()
    sub_task = asyncio.create_task(sub.run(stop))
    await asyncio.wait_for(sub.subscribed.wait(), 5)
    out = (tmp_path / "collect.out").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "linkmargin_cli", "collect", "--config", str(cfg)], stdout=out, stderr=out
    )
    try:
        await wait_until(lambda: consumer.batches >= 2, 9)
        for part in ("cmdline", "environ"):
            assert PASSWORD.encode() not in Path(f"/proc/{proc.pid}/{part}").read_bytes()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        out.close()
        stop.set()
        await asyncio.wait_for(sub_task, 5)
    assert consumer.duplicates == 0 and consumer.state.samples_seen > 0
    log_text = (tmp_path / "collect.out").read_text()
    assert PASSWORD not in log_text and "Traceback" not in log_text, log_text
