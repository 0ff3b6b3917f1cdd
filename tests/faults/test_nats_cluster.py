"""The collector and `linkmargin analyze --mqtt` against a three-node NATS JetStream cluster (its MQTT
listener, MQTT 3.1.1: NATS rejects an MQTT 5 CONNECT), with nodes killed and restarted mid-stream.

The collector publishes through node 0, the analyzer holds a persistent session on node 1, a tap on
node 2 records every batch. Node 1 (the analyzer's) is killed while the collector publishes: the
batches meanwhile wait in the cluster for the analyzer's session; then node 0 (the collector's) is
killed: the outbox holds them. Every batch the collector numbered arrives exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from pathlib import Path

import aiomqtt
import pytest

from linkmargin_cli.harness import lab_run
from tests.faults.test_collector_restart import EXE, Tap, get, scrape, stop, until, wait_for
from tests.services import NatsCluster, free_port, nats_cluster, wait_http


async def test_nats_rejects_mqtt5_so_clients_speak_311(tmp_path: Path) -> None:
    with nats_cluster(tmp_path / "nats") as c:
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client(
                "127.0.0.1", port=c.mqtt_ports[0], protocol=aiomqtt.ProtocolVersion.V5, timeout=5
            ):
                pass
        async with aiomqtt.Client("127.0.0.1", port=c.mqtt_ports[0], protocol=aiomqtt.ProtocolVersion.V311):
            pass


async def _restart(c: NatsCluster, i: int) -> None:
    c.start(i)
    await asyncio.to_thread(c.wait_ready, 60.0)


async def test_node_kills_every_batch_exactly_once(tmp_path: Path) -> None:
    pre = "linkmargin_collector_"
    with nats_cluster(tmp_path / "nats") as c:
        async with lab_run("demo", tmp_path / "lab") as lab:
            tap = Tap(c.mqtt_ports[2])
            tap_task = asyncio.create_task(tap.run())
            aport, cport = free_port(), free_port()
            analyzer = subprocess.Popen(
                [
                    EXE,
                    *("analyze", "--inventory", str(lab.inventory_path)),
                    *("--mqtt", f"127.0.0.1:{c.mqtt_ports[1]}", "--mqtt-protocol", "3.1.1"),
                    *("--mqtt-client-id", "lm-nats-analyzer", "--metrics-port", str(aport)),
                    *("--every", "1", "--duration", "600"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=(tmp_path / "analyzer.log").open("wb"),
            )
            cfg = tmp_path / "collector.yaml"
            cfg.write_text(
                f"inventory: {lab.inventory_path}\n"
                "intervals: {counters: 0.5, dom: 1, discovery: 3600}\n"
                f'exporter: {{listen: "127.0.0.1:{cport}"}}\n'
                f"bus: {{kind: mqtt, host: 127.0.0.1, port: {c.mqtt_ports[0]}, protocol: '3.1.1', "
                f"outbox_dir: {tmp_path / 'outbox'}}}\n"
            )
            col: subprocess.Popen[bytes] | None = None
            try:
                await asyncio.wait_for(tap.ready.wait(), 20)
                await asyncio.to_thread(wait_http, f"http://127.0.0.1:{aport}/metrics", 60.0)
                up = "linkmargin_analyzer_ingest_up"
                await until(aport, "linkmargin_analyzer_", lambda m: get(m, up) == 1.0, 30, "subscribed")
                col = subprocess.Popen(
                    [EXE, "collect", "--config", str(cfg)],
                    stdout=subprocess.DEVNULL,
                    stderr=(tmp_path / "collector.log").open("wb"),
                )
                await wait_for(lambda: len(tap.seen) >= 40, 60, "collector publishing")
                c.kill(1)  # the analyzer's node
                n = len(tap.seen)
                await wait_for(
                    lambda: len(tap.seen) >= n + 40, 60, "publishing while the analyzer's node is down"
                )
                await _restart(c, 1)
                await until(aport, "linkmargin_analyzer_", lambda m: get(m, up) == 1.0, 60, "analyzer back")
                c.kill(0)  # the collector's node
                await until(cport, pre, lambda m: get(m, pre + "outbox_batches") >= 10, 30, "outbox holds")
                await _restart(c, 0)
                await until(
                    cport,
                    pre,
                    lambda m: get(m, pre + "bus_up") == 1.0 and get(m, pre + "outbox_batches") == 0.0,
                    60,
                    "outbox drained",
                )
                n = len(tap.seen)
                await wait_for(lambda: len(tap.seen) >= n + 20, 60, "publishing after both restarts")
            except BaseException:
                analyzer.kill()
                raise
            finally:
                if col is not None:
                    assert stop(col) == 0
            await tap.settle(quiet_s=2.0)
            await tap.whole()  # an interrupted delivery comes again after the cluster's ack_wait
            assert tap.gaps() == {}, "a batch was lost"
            sent = tap.sent()
            m = await until(
                aport,
                "linkmargin_analyzer_",
                lambda m: get(m, "linkmargin_analyzer_batches_total") >= sent,
                60,
                "every batch ingested",
            )
            await asyncio.sleep(2.0)  # a doubled batch, if any, would be counted by now
            m = await asyncio.to_thread(scrape, aport, "linkmargin_analyzer_")
            rb = "linkmargin_analyzer_rejected_batches_total"
            got = get(m, "linkmargin_analyzer_batches_total")
            print(
                f"NATS 3-node cluster, 2 node kills: sent {sent}, analyzer ingested {got:.0f}, "
                f"duplicates rejected {get(m, rb, reason='duplicate'):.0f}, tap saw {len(tap.seen)} "
                f"({len(tap.unique())} unique)"
            )
            assert got == sent
            assert get(m, rb, reason="stale_seq") == 0
            analyzer.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                analyzer.wait(20)
            if analyzer.poll() is None:
                analyzer.kill()
            tap_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tap_task
