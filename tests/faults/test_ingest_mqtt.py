"""Fault injection against real processes: a `linkmargin analyze --mqtt` fed through a real Mosquitto
with good, duplicate, restarted-producer, malformed, forged, future, non-finite and unknown-device
batches, and a broker killed and restarted. Its /metrics must count each by reason, the process
must stay up, and ingestion must go on (readiness 0 while the broker is gone, 1 after)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc
from prometheus_client.parser import text_string_to_metric_families

from linkmargin.samples import conform
from linkmargin.wire import SampleBatch, encode_batch, samples_topic
from tests.analyzer import scenario
from tests.services import free_port, mosquitto, wait_http


def _rows(device: str, values: list[float], ts: list[datetime] | None = None) -> pl.DataFrame:
    now = datetime.now(UTC)
    return conform(
        pl.DataFrame(
            {
                "ts": ts or [now] * len(values),
                "device": [device] * len(values),
                "port": ["Ethernet1"] * len(values),
                "lane": [1] * len(values),
                "metric": ["rx_power_dbm"] * len(values),
                "value": values,
            }
        )
    )


def _other_version(payload: bytes) -> bytes:
    table = ipc.open_stream(pa.BufferReader(payload)).read_all()
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"linkmargin.v": b"2"})
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
        text = r.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name.startswith("linkmargin_analyzer_")
    }


async def _until(port: int, cond, timeout: float, what: str) -> dict:  # type: ignore[no-untyped-def]
    end = asyncio.get_running_loop().time() + timeout
    m: dict = {}
    while asyncio.get_running_loop().time() < end:
        m = await asyncio.to_thread(_scrape, port)
        if cond(m):
            return m
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what} not met in {timeout} s; last metrics: {m}")


def _get(m: dict, name: str, **labels: str) -> float:
    return float(m.get((name, tuple(sorted(labels.items()))), 0.0))


async def test_analyzer_counts_every_fault_by_reason_and_keeps_ingesting(tmp_path: Path) -> None:
    spec, _ = scenario.build()
    spec.write_dir(str(tmp_path / "spec"))
    mport = free_port()
    exe = Path(sys.executable).with_name("linkmargin")
    with mosquitto(tmp_path / "broker") as broker:
        analyzer = subprocess.Popen(
            [
                str(exe),
                *("analyze", "--spec", str(tmp_path / "spec"), "--mqtt", f"127.0.0.1:{broker.port}"),
                *("--metrics-port", str(mport), "--every", "0.3", "--duration", "120"),
                *("--mqtt-client-id", "fault-analyzer"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            await asyncio.to_thread(wait_http, f"http://127.0.0.1:{mport}/metrics", 30.0)
            up = "linkmargin_analyzer_ingest_up"
            await _until(mport, lambda m: _get(m, up) == 1.0, 20, "subscribed")
            good = 0
            async with aiomqtt.Client("127.0.0.1", port=broker.port, identifier="faulty-pub") as pub:

                async def send(batch: SampleBatch, payload: bytes | None = None, topic: str | None = None):  # type: ignore[no-untyped-def]
                    await pub.publish(topic or batch.topic, payload or encode_batch(batch), qos=1)

                for seq in range(1, 6):  # five good batches of collector c1, first life
                    await send(SampleBatch("leaf1", seq, _rows("leaf1", [-3.0]), "c1", epoch=1))
                    good += 1
                for _ in range(3):  # redelivered three times
                    await send(SampleBatch("leaf1", 3, _rows("leaf1", [-3.0]), "c1", epoch=1))
                for seq in range(1, 4):  # c1 restarted: seq from 1 again under a new epoch
                    await send(SampleBatch("leaf1", seq, _rows("leaf1", [-3.1]), "c1", epoch=2))
                    good += 1
                await pub.publish(samples_topic("leaf1"), b"\x00garbage", qos=1)
                other = SampleBatch("leaf1", 9, _rows("leaf1", [-3.0]), "c1", epoch=2)
                await send(other, _other_version(encode_batch(other)))
                forged = SampleBatch("leaf2", 1, _rows("leaf2", [-30.0]), "c1", epoch=2)
                await send(forged, topic=samples_topic("leaf1"))  # leaf1's ACL, leaf2's data
                future = datetime.now(UTC) + timedelta(days=3650)
                await send(
                    SampleBatch(
                        "leaf1", 4, _rows("leaf1", [-9.0, -3.0], [future, datetime.now(UTC)]), "c1", epoch=2
                    )
                )
                await send(SampleBatch("leaf1", 5, _rows("leaf1", [float("-inf"), float("nan")]), "c1", 2))
                await send(SampleBatch("ghost", 1, _rows("ghost", [-3.0, -3.0, -3.0]), "c1", epoch=2))
                good += 3  # the batches are whole; some of their rows are refused
            want_batches = {"duplicate": 3, "decode": 1, "version": 1, "device_mismatch": 1}
            want_samples = {"future": 1, "non_finite": 2, "unknown_device": 3}
            rb, rs = (
                "linkmargin_analyzer_rejected_batches_total",
                "linkmargin_analyzer_rejected_samples_total",
            )

            def counted(m: dict) -> bool:
                return (
                    _get(m, "linkmargin_analyzer_batches_total") == good
                    and all(_get(m, rb, reason=r) == n for r, n in want_batches.items())
                    and all(_get(m, rs, reason=r) == n for r, n in want_samples.items())
                )

            m = await _until(mport, counted, 20, "every fault counted")
            per = "linkmargin_analyzer_producer_rejected_samples_total"
            assert _get(m, per, producer="c1", reason="future") == 1
            assert _get(m, per, producer="c1", reason="non_finite") == 2
            assert _get(m, "linkmargin_analyzer_producers") == 3  # c1@1/leaf1, c1@2/leaf1, c1@2/ghost
            assert analyzer.poll() is None

            broker.kill()  # the broker dies: readiness drops, the process stays up
            await _until(mport, lambda m: _get(m, up) == 0.0, 20, "ingest down while the broker is dead")
            broker.restart()
            await _until(mport, lambda m: _get(m, up) == 1.0, 30, "ingest up again")
            async with aiomqtt.Client("127.0.0.1", port=broker.port, identifier="faulty-pub2") as pub:
                await pub.publish(
                    samples_topic("leaf1"),
                    encode_batch(SampleBatch("leaf1", 6, _rows("leaf1", [-3.0]), "c1", epoch=2)),
                    qos=1,
                )
            await _until(
                mport,
                lambda m: _get(m, "linkmargin_analyzer_batches_total") == good + 1,
                20,
                "a batch after the broker restart",
            )
            assert analyzer.poll() is None
        finally:
            analyzer.terminate()
            _, err = analyzer.communicate(timeout=20)
        # one log line per reason, however many payloads
        assert err.count("rejected (duplicate)") == 1, err
        assert "Traceback" not in err, err
