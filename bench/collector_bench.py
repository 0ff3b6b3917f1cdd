"""CPU seconds per varbind: the collector's whole pipeline vs Debian's prometheus-snmp-exporter (Go).

Both walk the same snmpsim agent in the same run (a generated Arista-layout switch: PORTS x 8 lanes,
entPhySensorTable + ifTable/ifXTable columns). Ours: walk, decode, normalize, Prometheus sink +
bus sink (encode_batch) + one exposition render per poll — the exporter's scrape also renders.
Client CPU: getrusage(self) for us, /proc/PID/stat utime+stime for the exporter.

Run: .venv/bin/python bench/collector_bench.py [PORTS] [ROUNDS]
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from prometheus_client import CollectorRegistry

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collector.poller import DeviceState, poll_group
from collector.sinks.bus import BusSink
from collector.sinks.prometheus import PrometheusSink, render_registry
from collector.transport import Credentials, Target, open_transport
from linkmargin.bus import InProcessBus

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


def snmp_yml(port: int) -> str:
    lines = [
        "bench:",
        "  version: 2",
        "  auth: {community: bench}",
        "  max_repetitions: 25",
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


async def ours(port: int, rounds: int, kind: str) -> tuple[float, int, float]:
    tgt = Target("bench", "127.0.0.1", port, Credentials(community="bench"), timeout=30, retries=0)
    reg = CollectorRegistry()
    prom = PrometheusSink(reg)
    bus = BusSink(InProcessBus())
    st = DeviceState(name="bench")
    async with open_transport(tgt, kind) as tr:
        await poll_group(tr, st, "discovery", "arista")  # hourly work, not counted
        v0 = st.varbinds
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        for _ in range(rounds):
            for g in ("dom", "counters"):
                f = await poll_group(tr, st, g, "arista")
                await prom("bench", g, f)
                await bus("bench", g, f)
            render_registry(reg)  # what a scrape of /metrics costs
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    print(f"user {r1.ru_utime - r0.ru_utime:.3f} sys {r1.ru_stime - r0.ru_stime:.3f}")
    return cpu, st.varbinds - v0, wall


def exporter(port: int, rounds: int, d: Path) -> tuple[float, int]:
    (d / "snmp.yml").write_text(snmp_yml(port))
    ep = free_port(socket.SOCK_STREAM)
    p = subprocess.Popen(
        [
            "/usr/bin/prometheus-snmp-exporter",
            f"--config.file={d / 'snmp.yml'}",
            f"--web.listen-address=127.0.0.1:{ep}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{ep}/snmp?target=127.0.0.1:{port}&module=bench"
        for _ in range(50):
            try:
                body = urllib.request.urlopen(url, timeout=120).read().decode()  # warm-up
                break
            except OSError:
                time.sleep(0.1)
        pdus = sum(
            float(ln.split()[-1]) for ln in body.splitlines() if ln.startswith("snmp_scrape_pdus_returned")
        )
        c0 = proc_cpu(p.pid)
        for _ in range(rounds):
            urllib.request.urlopen(url, timeout=120).read()
        return proc_cpu(p.pid) - c0, int(pdus) * rounds
    finally:
        p.terminate()
        p.wait(10)


def main() -> None:
    ports = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
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
    try:
        time.sleep(8)
        res = {}
        for kind in ("gufo", "pysnmp"):
            cpu, vb, wall = asyncio.run(ours(sport, rounds, kind))
            res[kind] = (cpu, vb, wall)
            print(
                f"{kind}: {vb} varbinds, {cpu:.3f} s CPU, {1e6 * cpu / vb:.2f} us/varbind, wall {wall:.1f} s"
            )
        ecpu, evb = exporter(sport, rounds, d)
        print(f"snmp_exporter: {evb} varbinds, {ecpu:.3f} s CPU, {1e6 * ecpu / evb:.2f} us/varbind")
        for kind, (cpu, vb, _) in res.items():
            print(f"ratio {kind}/exporter: {(cpu / vb) / (ecpu / evb):.2f}")
    finally:
        sim.terminate()
        sim.wait(10)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
