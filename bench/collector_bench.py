"""CPU seconds per varbind: the collector's whole pipeline vs Debian's prometheus-snmp-exporter (Go).

Both walk the same snmpsim agent in the same run (a generated Arista-layout switch: PORTS x 8 lanes,
entPhySensorTable + ifTable/ifXTable columns). Ours: walk, decode, normalize, Prometheus sink +
bus sink (encode_batch) + one exposition render per poll — the exporter's scrape also renders.
Client CPU: getrusage(self) for us, /proc/PID/stat utime+stime for the exporter.

Each run measures, in the same run: the exporter scraping the 15 columns; ours with gufo and with
pysnmp, each (a) walking every column as the exporter does (CPU per varbind: the like-for-like
figure) and (b) walking value+status with type/scale/precision cached at discovery (fewer varbinds
for the same readings: CPU per reading is the figure to compare). Readings = one per sensor + one
per interface cell, the same information for both.

Run: .venv/bin/python bench/collector_bench.py [PORTS] [ROUNDS] [RUNS] [MAX_REPETITIONS]
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from prometheus_client import CollectorRegistry

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collector.poller import DeviceState, poll_group
from collector.sinks.bus import BusSink
from collector.sinks.prometheus import PrometheusSink
from collector.transport import SnmpCredentials, Target, Transport, open_transport
from linkmargin.bus import InProcessBus
from linkmargin.exposition.scrape import render_registry

SENS = "1.3.6.1.2.1.99.1.1.1"
ENT = "1.3.6.1.2.1.47.1.1.1.1"
WALKS = (
    [f"{SENS}.{c}" for c in (1, 2, 3, 4, 5)]
    + [f"1.3.6.1.2.1.2.2.1.{c}" for c in (7, 8, 9, 13, 14, 20)]
    + [f"1.3.6.1.2.1.31.1.1.1.{c}" for c in (6, 10, 15, 19)]
)


def recording(ports: int) -> str:
    rows: list[tuple[str, int, object]] = [
        ("1.3.6.1.2.1.1.2.0", 6, "1.3.6.1.4.1.30065.1"),
        ("1.3.6.1.2.1.1.3.0", 67, 1000),
    ]
    for p in range(1, ports + 1):
        name = f"Ethernet{p}/1"
        rows += [(f"1.3.6.1.2.1.31.1.1.1.1.{p}", 4, name), (f"1.3.6.1.2.1.31.1.1.1.18.{p}", 4, "")]
        for c, v, t in ((7, 1, 2), (8, 1, 2), (9, 100, 67), (13, 0, 65), (14, 3, 65), (20, 0, 65)):
            rows.append((f"1.3.6.1.2.1.2.2.1.{c}.{p}", t, v))
        for c, v, t in ((6, 10**12 + p, 70), (10, 10**12, 70), (15, 400000, 66), (19, 0, 67)):
            rows.append((f"1.3.6.1.2.1.31.1.1.1.{c}.{p}", t, v))
        base = 100000000 + p * 1000
        rows += [
            (f"{ENT}.2.{base + 100}", 4, f"Xcvr for {name}"),
            (f"{ENT}.4.{base + 100}", 2, 1),
            (f"{ENT}.5.{base + 100}", 2, 10),
        ]
        sensors = [(201, "Temperature", 8, 9, 1, 300), (202, "Voltage", 4, 9, 2, 330)]
        for ln in range(1, 9):
            sensors += [
                (200 + ln * 10 + 1, "TX Bias", 5, 8, 2, 800),
                (200 + ln * 10 + 2, "TX Power", 6, 8, 4, 6000),
                (200 + ln * 10 + 3, "RX Power", 6, 8, 4, 5000 + ln),
            ]
        for off, kind, typ, scale, prec, val in sensors:
            idx = base + off
            lane = (off - 200) // 10
            suffix = f"/{lane}" if off > 210 else ""
            rows += [
                (f"{ENT}.2.{idx}", 4, f"DOM {kind} Sensor for {name}{suffix}"),
                (f"{ENT}.4.{idx}", 2, base + 100),
                (f"{ENT}.5.{idx}", 2, 8),
            ]
            rows += [
                (f"{SENS}.1.{idx}", 2, typ),
                (f"{SENS}.2.{idx}", 2, scale),
                (f"{SENS}.3.{idx}", 2, prec),
                (f"{SENS}.4.{idx}", 2, val),
                (f"{SENS}.5.{idx}", 2, 1),
            ]
    rows.append(("1.3.6.1.6.3.1.1.1.0", 4, "end"))
    rows.sort(key=lambda r: tuple(int(x) for x in r[0].split(".")))
    return "".join(f"{o}|{t}|{v}\n" for o, t, v in rows)


def snmp_yml(port: int, max_rep: int = 25) -> str:
    lines = [
        "bench:",
        "  version: 2",
        "  auth: {community: bench}",
        f"  max_repetitions: {max_rep}",
        "  retries: 0",
        "  timeout: 60s",
        "  walk:",
    ]
    lines += [f"  - {w}" for w in WALKS]
    lines.append("  metrics:")
    for w in WALKS:
        name = "c_" + w.replace(".", "_")
        lines.append(
            f"  - {{name: {name}, oid: {w}, type: gauge, indexes: [{{labelname: idx, type: gauge}}]}}"
        )
    return "\n".join(lines) + "\n"


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_cpu(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Ours:
    """One measured configuration of our pipeline: CPU split by step, varbinds and readings."""

    cpu: float = 0.0
    dom_cpu: float = 0.0
    counters_cpu: float = 0.0
    render_cpu: float = 0.0
    varbinds: int = 0
    readings: int = 0
    wall: float = 0.0


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)  # all threads: gufo's walks run on a pool
    return r.ru_utime + r.ru_stime


class Pipeline:
    """One configuration of ours (transport x DOM metadata mode): a session, its sinks, its CPU."""

    def __init__(self, port: int, kind: str, walk_metadata: bool, max_rep: int) -> None:
        self.target = Target(
            "bench",
            "127.0.0.1",
            port,
            SnmpCredentials.v2c("bench"),
            timeout=30,
            retries=0,
            max_repetitions=max_rep,
        )
        self.kind = kind
        mode = "every column (as the exporter)" if walk_metadata else "value+status, metadata cached"
        self.name = f"{kind}, {mode}"
        self.reg = CollectorRegistry()
        self.prom = PrometheusSink(self.reg)
        self.bus = BusSink(InProcessBus())
        self.state = DeviceState(name="bench", walk_metadata=walk_metadata)
        self.res = Ours()

    async def round(self, tr: Transport) -> None:
        """DOM poll + counters poll through every sink, then one /metrics render."""
        res, st = self.res, self.state
        v0, c00, t0 = st.varbinds, _cpu(), time.perf_counter()
        for g in ("dom", "counters"):
            c0 = _cpu()
            f = await poll_group(tr, st, g, "arista")
            await self.prom("bench", g, f)
            await self.bus("bench", g, f)
            c = _cpu() - c0
            if g == "dom":
                res.dom_cpu += c
            else:
                res.counters_cpu += c
            res.readings += f.filter(pl.col("metric") != "sys_uptime_cs").height
        c0 = _cpu()
        render_registry(self.reg)  # what a scrape of /metrics costs
        res.render_cpu += _cpu() - c0
        res.cpu += _cpu() - c00
        res.wall += time.perf_counter() - t0
        res.varbinds += st.varbinds - v0


class Exporter:
    """prometheus-snmp-exporter scraping the same agent; CPU from /proc (10 ms ticks)."""

    def __init__(self, port: int, d: Path, max_rep: int) -> None:
        (d / "snmp.yml").write_text(snmp_yml(port, max_rep))
        ep = free_port(socket.SOCK_STREAM)
        self.proc = subprocess.Popen(
            [
                "/usr/bin/prometheus-snmp-exporter",
                f"--config.file={d / 'snmp.yml'}",
                f"--web.listen-address=127.0.0.1:{ep}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{ep}/snmp?target=127.0.0.1:{port}&module=bench"
        self.cpu = 0.0
        self.varbinds = 0
        self.scrapes = 0
        body = ""
        for _ in range(50):
            try:
                body = urllib.request.urlopen(self.url, timeout=120).read().decode()  # warm-up
                break
            except OSError:
                time.sleep(0.1)
        self.pdus = int(
            sum(
                float(ln.split()[-1])
                for ln in body.splitlines()
                if ln.startswith("snmp_scrape_pdus_returned")
            )
        )

    def scrape(self) -> None:
        c0 = proc_cpu(self.proc.pid)
        urllib.request.urlopen(self.url, timeout=120).read()
        self.cpu += proc_cpu(self.proc.pid) - c0
        self.varbinds += self.pdus
        self.scrapes += 1

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


async def one_run(port: int, rounds: int, d: Path, max_rep: int) -> tuple[list[Pipeline], Exporter]:
    """Every configuration of ours and the exporter, interleaved round by round: the machine's load
    (shared, noisy) then weighs on all of them alike, which a sequential run does not give."""
    pipes = [Pipeline(port, k, w, max_rep) for k in ("gufo", "pysnmp") for w in (True, False)]
    exp = Exporter(port, d, max_rep)
    try:
        async with contextlib.AsyncExitStack() as stack:
            trs = [await stack.enter_async_context(open_transport(p.target, p.kind)) for p in pipes]
            for p, tr in zip(pipes, trs, strict=True):
                await poll_group(tr, p.state, "discovery", "arista")  # hourly work, not counted
            for _ in range(rounds):
                for p, tr in zip(pipes, trs, strict=True):
                    await p.round(tr)
                    exp.scrape()
    finally:
        exp.stop()
    return pipes, exp


def _row(name: str, o: Ours, e_us_vb: float, e_us_rd: float) -> str:
    us_vb, us_rd = 1e6 * o.cpu / o.varbinds, 1e6 * o.cpu / o.readings
    return (
        f"| {name} | {o.varbinds:,} | {o.readings:,} | {us_vb:.2f} | {us_vb / e_us_vb:.2f} | "
        f"{us_rd:.2f} | {us_rd / e_us_rd:.2f} |"
    )


def main(argv: list[str] | None = None) -> None:
    """``collector_bench.py [PORTS] [ROUNDS] [RUNS] [MAX_REPETITIONS]``: RUNS same-run comparisons."""
    args = [int(a) for a in (argv if argv is not None else [])]
    ports, rounds, runs, max_rep = (args + [64, 3, 3, 25][len(args) :])[:4]
    d = Path(tempfile.mkdtemp())
    (d / "data").mkdir()
    (d / "data" / "bench.snmprec").write_text(recording(ports))
    sport = free_port(socket.SOCK_DGRAM)
    sim = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "snmpsim-command-responder"),
            f"--data-dir={d / 'data'}",
            f"--cache-dir={d / 'cache'}",
            f"--agent-udpv4-endpoint=127.0.0.1:{sport}",
            "--logging-method=null",
        ],
        env=dict(os.environ, SNMPSIM_ALLOW_ROOT="true"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # the same information per round for both: one reading per sensor, one per interface cell
    readings = ports * 26 + ports * 10
    try:
        time.sleep(8)
        print(f"{ports} ports x {rounds} rounds, max-repetitions {max_rep} (ours and the exporter's)")
        table = [
            "| run | configuration | varbinds | readings | us/varbind | ratio | us/reading | ratio |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for run in range(1, runs + 1):
            pipes, exp = asyncio.run(one_run(sport, rounds, d, max_rep))
            n_rd = readings * exp.scrapes
            e_vb, e_rd = 1e6 * exp.cpu / exp.varbinds, 1e6 * exp.cpu / n_rd
            table.append(
                f"| {run} | snmp_exporter (15 columns) | {exp.varbinds:,} | {n_rd:,} | {e_vb:.2f} | 1 | "
                f"{e_rd:.2f} | 1 |"
            )
            for p in pipes:
                o = p.res
                table.append(_row(p.name, o, e_vb, e_rd).replace("| ", f"| {run} | ", 1))
                ms = [1e3 * c / rounds for c in (o.dom_cpu, o.counters_cpu, o.render_cpu)]
                print(
                    f"run {run} {p.name}: {1e6 * o.cpu / o.varbinds:.2f} us/vb, "
                    f"{1e6 * o.cpu / o.readings:.2f} us/reading; CPU per round: dom poll {ms[0]:.1f} ms, "
                    f"counters poll {ms[1]:.1f} ms, render {ms[2]:.1f} ms; wall {o.wall:.1f} s",
                    flush=True,
                )
            print(f"run {run} snmp_exporter: {e_vb:.2f} us/vb, {e_rd:.2f} us/reading", flush=True)
        print("\n".join(table))
    finally:
        sim.terminate()
        sim.wait(10)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
