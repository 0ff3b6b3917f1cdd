"""Two collector shards and two analyzer shards on a three-node NATS JetStream cluster (MQTT 3.1.1),
one node killed mid-run and restarted: nothing lost, nothing doubled, every linked port's rows in
exactly one analyzer, and the cohorts both analyzers estimate from the merged statistics equal to
one analyzer's on the same batches.

Both analyzers and the single one start from the same Parquet history (`--history`): eight days of
hourly readings of every lane of the lab's inventory, with drifts and loss steps after some recorded
matings, so the cohorts compared rest on data (matings, steps, drift), not only the catalog priors.

Collector 1 publishes through node 0, collector 2 and analyzer 1 through node 1, analyzer 2 and a tap
through node 2. Node 1 is killed while both collectors publish: collector 2's outbox holds its
batches, analyzer 1's persistent session collects them in the cluster; node 1 comes back and
everything drains.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import numpy as np
import polars as pl

from analyzer.analysis import analyze
from analyzer.consumer import BatchConsumer
from analyzer.sharding import RowFilter, shard_spec
from analyzer.spec import LinkSpec
from analyzer.state import LaneState
from linkmargin.inventory.matings import MATING_KINDS
from linkmargin.samples import conform
from linkmargin.shards import Shard
from linkmargin.wire import SAMPLES_WILDCARD, decode_batch, samples_topic
from linkmargin_cli.harness import lab_run
from linkmargin_cli.inputs import load_inventory_or_exit
from linkmargin_cli.wiring import spec_from_inventory
from tests.faults.test_collector_restart import EXE, Metrics, Tap, get, scrape, stop, until, wait_for
from tests.services import free_port, nats_cluster, wait_http

A = "linkmargin_analyzer_"


@dataclass
class PayloadTap(Tap):
    """The :class:`Tap`, keeping the first copy of every batch's bytes too."""

    payloads: dict[tuple[str, int, str, int], bytes] = field(default_factory=dict)

    async def run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client(
                    "127.0.0.1", port=self.port, identifier="lm-shard-tap", clean_session=False
                ) as c:
                    await c.subscribe(SAMPLES_WILDCARD, qos=1)
                    self.ready.set()
                    async for msg in c.messages:
                        raw = bytes(msg.payload)  # type: ignore[arg-type]
                        b = decode_batch(raw)
                        key = (b.producer, b.epoch, b.device, b.seq)
                        self.seen.append(key)
                        self.payloads.setdefault(key, raw)
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)


def write_history(spec: LinkSpec, root: Path, hours: int = 8 * 24, seed: int = 5) -> int:
    """Hourly Rx power (drift per link, a thermal swing, steps after half the recorded matings) and
    module temperature of every lane, the last ``hours`` hours before now, as one Parquet file."""
    rng = np.random.default_rng(seed)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    naive = end.replace(tzinfo=None)
    ts = np.array([naive - timedelta(hours=hours - 1 - k) for k in range(hours)], dtype="datetime64[us]")
    lanes = spec.lanes
    links = lanes["link"].unique().sort().to_list()
    drift = dict(zip(links, rng.normal(-0.02, 0.01, len(links)), strict=True))
    matings = spec.events.filter(pl.col("kind").is_in(list(MATING_KINDS))).join(spec.points, on="point")
    stepped = {k: rng.random() < 0.5 for k in matings.select("link", "ts").iter_rows()}
    t_h = (ts - ts[0]).astype("timedelta64[s]").astype(float) / 3600.0
    temp = 40 + 4 * np.sin(2 * np.pi * t_h / 24)
    rx, rows = [], 0
    for link, dev, port, ln in lanes.select("link", "device", "port", "lane").iter_rows():
        y = -3.0 + drift[link] * t_h / 24 - 0.02 * (temp - 40) + rng.normal(0, 0.03, hours)
        for at in matings.filter(pl.col("link") == link)["ts"].to_list():
            if stepped[(link, at)]:  # half the matings leave a step (the same on every lane)
                y = y - 0.8 * (ts > np.datetime64(at.replace(tzinfo=None), "us"))
        rx.append(pl.DataFrame({"ts": ts, "device": dev, "port": port, "lane": ln, "value": y}))
        rows += hours
    ports = lanes.select("device", "port").unique()
    tp = pl.concat(
        [pl.DataFrame({"ts": ts, "device": d, "port": p, "value": temp}) for d, p in ports.iter_rows()]
    )
    frame = pl.concat(
        [
            pl.concat(rx).with_columns(metric=pl.lit("rx_power_dbm")),
            tp.with_columns(metric=pl.lit("temperature_c")),
        ],
        how="diagonal",
    ).with_columns(pl.col("ts").dt.replace_time_zone("UTC"))
    root.mkdir(parents=True, exist_ok=True)
    conform(frame).sort("ts").write_parquet(root / "part-synthetic.parquet")
    return frame.height


def _cohorts(m: Metrics) -> dict[tuple[str, str, str], float]:
    out = {}
    for (name, labels), v in m.items():
        if name in _COLUMN:
            lab = dict(labels)
            out[(name, lab["family"], lab["termination"])] = v
    return out


_COLUMN = {
    "linkmargin_cohort_step_probability": "p_step",
    "linkmargin_cohort_step_db": "step_db",
    "linkmargin_cohort_drift_db_per_day": "drift_db_per_day",
    "linkmargin_cohort_thermal_db_per_celsius": "thermal_db_per_c",
    "linkmargin_cohort_matings": "matings",
}


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


async def test_two_collector_and_two_analyzer_shards_through_a_node_kill(tmp_path: Path) -> None:
    with nats_cluster(tmp_path / "nats") as c:
        async with lab_run("demo", tmp_path / "lab") as lab:
            spec = spec_from_inventory(load_inventory_or_exit(lab.inventory_path))
            hist = tmp_path / "history"
            write_history(spec, hist)
            tap = PayloadTap(c.mqtt_ports[2])
            tap_task = asyncio.create_task(tap.run())
            aports = [free_port(), free_port()]
            analyzers = [
                subprocess.Popen(
                    [
                        EXE,
                        *("analyze", "--inventory", str(lab.inventory_path), "--shard", f"{i + 1}/2"),
                        *("--history", str(hist)),
                        *("--mqtt", f"127.0.0.1:{c.mqtt_ports[1 + i]}", "--mqtt-protocol", "3.1.1"),
                        *("--mqtt-client-id", f"lm-shard-analyzer-{i + 1}", "--metrics-port", str(aports[i])),
                        *("--every", "1", "--duration", "600"),
                        # the full pass, as the in-process reference below: this test is about shards
                        # equalling one analyzer; the bounded pass's own tolerances are tested apart
                        # (tests/analyzer/test_bounded_pass.py)
                        "--full-pass",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=(tmp_path / f"analyzer{i + 1}.log").open("wb"),
                )
                for i in range(2)
            ]
            cfgs = []
            for i, node in enumerate((0, 1)):
                cfg = tmp_path / f"collector{i + 1}.yaml"
                cfg.write_text(
                    f"inventory: {lab.inventory_path}\n"
                    "intervals: {counters: 0.5, dom: 1, discovery: 3600}\n"
                    f'exporter: {{listen: "127.0.0.1:{free_port()}"}}\n'
                    f"bus: {{kind: mqtt, host: 127.0.0.1, port: {c.mqtt_ports[node]}, protocol: '3.1.1', "
                    f"outbox_dir: {tmp_path / f'outbox{i + 1}'}}}\n"
                )
                cfgs.append(cfg)
            cols: list[subprocess.Popen[bytes]] = []
            try:
                await asyncio.wait_for(tap.ready.wait(), 20)
                for p in aports:
                    await asyncio.to_thread(wait_http, f"http://127.0.0.1:{p}/metrics", 60.0)
                    await until(p, A, lambda m: get(m, A + "ingest_up") == 1.0, 30, "analyzer subscribed")
                cols = [
                    subprocess.Popen(
                        [EXE, "collect", "--config", str(cfg), "--shard", f"{i + 1}/2"],
                        stdout=subprocess.DEVNULL,
                        stderr=(tmp_path / f"collector{i + 1}.log").open("wb"),
                    )
                    for i, cfg in enumerate(cfgs)
                ]
                await wait_for(
                    lambda: len(tap.producers()) == 2 and len(tap.seen) >= 30, 60, "both publishing"
                )
                c.kill(1)  # collector 2's and analyzer 1's node
                n = len(tap.seen)
                await wait_for(lambda: len(tap.seen) >= n + 20, 60, "publishing while node 1 is down")
                c.start(1)
                await asyncio.to_thread(c.wait_ready, 60.0)
                await until(aports[0], A, lambda m: get(m, A + "ingest_up") == 1.0, 120, "analyzer 1 back")
                n = len(tap.seen)
                await wait_for(lambda: len(tap.seen) >= n + 20, 60, "publishing after the restart")
            except BaseException:
                for p in analyzers:
                    p.kill()
                raise
            finally:
                for col in cols:
                    assert stop(col) == 0  # a clean stop drains the outbox first
            await tap.settle(quiet_s=2.0)
            await tap.whole()  # an interrupted delivery comes again after the cluster's ack_wait
            assert tap.gaps() == {}, "a batch was lost"
            assert len(tap.producers()) == 2
            sent = tap.sent()
            assert len(tap.unique()) == sent == len(tap.payloads)

            # what each analyzer shard should have kept and dropped, from the bytes on the wire
            batches = [decode_batch(p) for p in tap.payloads.values()]
            want = []
            kept_by_row: dict[tuple[str, str], set[int]] = {}
            for i in range(2):
                f = RowFilter(shard_spec(spec, Shard(i + 1, 2)))
                mine = [b for b in batches if f.wants(b.device)]
                dropped_rows = sum(f.keep(b.frame)[1] for b in mine)
                want.append((len(mine), sent - len(mine), dropped_rows))
                for b in mine:
                    for dev, port in f.keep(b.frame)[0].select("device", "port").drop_nulls().unique().rows():
                        kept_by_row.setdefault((dev, port), set()).add(i + 1)
            linked = set(spec.lanes.select("device", "port").rows())
            owners = [frozenset(kept_by_row.get(p, ())) for p in linked]
            assert sum(1 for o in owners if o) > len(owners) // 2  # most linked ports sent rows
            assert set(owners) - {frozenset()} == {frozenset({1}), frozenset({2})}  # never both shards

            def counted(m: Metrics) -> bool:
                rb = A + "rejected_batches_total"
                return get(m, A + "batches_total") + get(m, rb, reason="other_shard") >= sent

            for i, p in enumerate(aports):
                # a restarted NATS node under load can take a minute to recover its JetStream streams
                await until(p, A, counted, 150, f"analyzer {i + 1} took or dropped every batch")
            await asyncio.sleep(2.0)  # a doubled batch would be counted by now
            for i, p in enumerate(aports):
                m = await asyncio.to_thread(scrape, p, "linkmargin_")
                rb, rs = A + "rejected_batches_total", A + "rejected_samples_total"
                got = (
                    get(m, A + "batches_total"),
                    get(m, rb, reason="other_shard"),
                    get(m, rs, reason="other_shard"),
                )
                print(
                    f"analyzer {i + 1}/2: sent {sent}, accepted {got[0]:.0f}, other shard's devices "
                    f"{got[1]:.0f}, other shard's rows {got[2]:.0f}, "
                    f"duplicates rejected {get(m, rb, reason='duplicate'):.0f}"
                )
                # every batch of its devices accepted exactly once, the other shard's rows dropped exactly;
                # the other shard's devices' batches are dropped undecoded (a redelivery counts again)
                assert (got[0], got[2]) == (want[i][0], want[i][2]) and got[1] >= want[i][1]
                assert get(m, rb, reason="stale_seq") == 0
                assert get(m, A + "shard_info", shard=str(i + 1), of="2") == 1.0
                assert get(m, A + "cohort_stats_shards") == 2.0

            # one analyzer of the whole fleet, fed the same batches
            st = LaneState(spec, clock=lambda: datetime.now(UTC))
            st.rebuild(str(hist))
            one = BatchConsumer(st)
            for b, raw in zip(batches, tap.payloads.values(), strict=True):
                one.offer(raw, samples_topic(b.device))
            one.flush()
            assert one.batches == sent
            table = analyze(st, horizons={"21d": 21.0}).cohorts.table
            lanes = int(table.filter(table["family"] == "*")["lanes"][0])
            assert lanes == spec.lanes.height
            finite = {
                (name, r["family"], r["termination"])
                for r in table.iter_rows(named=True)
                for name, col in (
                    ("linkmargin_cohort_step_probability", "p_step"),
                    ("linkmargin_cohort_matings", "matings"),
                )
                if r["family"] != "*" and math.isfinite(r[col])
            }
            assert finite

            def differences(m: Metrics) -> list[object]:
                mine = _cohorts(m)
                out: list[object] = [k for k in finite if k not in mine]
                if get(m, A + "cohort_stats_lanes") != lanes:
                    out.append(("lanes", get(m, A + "cohort_stats_lanes")))
                for (name, fam, term), v in mine.items():
                    row = table.filter((table["family"] == fam) & (table["termination"] == term))
                    want_v = float(row[_COLUMN[name]][0])
                    if not _same(v, want_v):
                        out.append((name, fam, term, v, want_v))
                return out

            for i, p in enumerate(aports):
                # the last passes may still merge a peer's statistics from before the last batch
                for _ in range(60):
                    m = await asyncio.to_thread(scrape, p, "linkmargin_")
                    if not differences(m):
                        break
                    await asyncio.sleep(0.5)
                assert differences(m) == [], f"analyzer {i + 1}: cohorts differ from one analyzer's"
                mine = _cohorts(m)
                mated = sum(1 for k in mine if k[0].endswith("matings") and mine[k] > 0)
                drifts = sum(1 for k in mine if "drift" in k[0])
                print(
                    f"analyzer {i + 1}/2: {len(mine)} cohort figures equal to one analyzer's "
                    f"({mated} cohorts with matings, {drifts} with a drift), over {lanes} lanes"
                )
            for p in analyzers:
                p.terminate()
            for p in analyzers:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(20)
                if p.poll() is None:
                    p.kill()
            tap_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tap_task
