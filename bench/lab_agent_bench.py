"""Varbinds/s one lab agent process serves to net-snmp `snmpbulkwalk -Cr50`, side by side with snmpsim.

Usage: .venv/bin/python bench/lab_agent_bench.py [--rows 2500] [--walks 3] [--out bench/results/lab_agent.md]

Both agents serve the same ~50k-varbind view (an ifXTable-like table: 2500 interfaces x 20 columns),
snmpsim from the .snmprec that `write_snmprec` produces. Client and agents share the machine, so
the wall rate includes snmpbulkwalk's own CPU; agent CPU per varbind comes from /proc/PID/stat.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lab.agent import (
    AgentServer,
    Counter32,
    Counter64,
    DeviceEndpoint,
    Gauge32,
    Integer,
    MibView,
    OctetString,
    SnmpValue,
    TimeTicks,
    V3User,
    write_snmprec,
)

IFX = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
# Bench-only credentials: passed to the child through the environment, never argv.
BENCH_AUTH, BENCH_PRIV = "bench-auth-pass", "bench-priv-pass"


def bench_view(rows: int) -> MibView:
    """rows interfaces x 20 columns of mixed types, plus sysUpTime after the table."""
    e: list[tuple[tuple[int, ...], SnmpValue]] = []
    for i in range(1, rows + 1):
        e.append(((*IFX, 1, i), OctetString(f"Ethernet{i}/1")))
        for c in range(2, 6):
            e.append(((*IFX, c, i), Counter32((i * 7919 * c) % 2**32)))
        for c in range(6, 14):
            e.append(((*IFX, c, i), Counter64(2**63 + i * 1_000_003 * c)))
        e.append(((*IFX, 15, i), Gauge32(400_000)))
        e.append(((*IFX, 16, i), Integer(1)))
        e.append(((*IFX, 17, i), Integer(2)))
        e.append(((*IFX, 18, i), OctetString(f"to spine-{i % 8} port {i}")))
        e.append(((*IFX, 19, i), TimeTicks(i * 100)))
        e.append(((*IFX, 20, i), Integer(-40 * i)))
        e.append(((*IFX, 21, i), OctetString(bytes([0, 0x1C, 0x73, i % 256, 0xFF, 0x80]))))
    e.append(((1, 3, 6, 1, 2, 1, 31, 1, 5, 0), TimeTicks(0)))  # a row after the table
    return MibView(e)


def free_port() -> int:
    """A free loopback UDP port."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_child(port: int, rows: int) -> None:
    """Child mode: one agent process serving the bench view until killed."""
    view = bench_view(rows)
    user = V3User("bench", os.environ["BENCH_AUTH"], os.environ["BENCH_PRIV"])

    async def main() -> None:
        server = AgentServer()
        await server.start(
            {"sw": DeviceEndpoint(port=port, view=lambda: view, community="bench", v3_user=user)}
        )
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def walk(args: list[str]) -> int:
    """One snmpbulkwalk; number of varbinds printed."""
    cmd = ["snmpbulkwalk", "-On", "-m", "", "-M", "/nonexistent", "-t", "5", "-r", "1", "-Cr50", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return sum(1 for line in out.splitlines() if line.startswith(".") and "No more variables" not in line)


def measure(name: str, pid: int, args: list[str], walks: int) -> dict[str, float | str]:
    """walks timed walks after one warm-up; wall rate and agent CPU per varbind."""
    walk(args)
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    n = sum(walk(args) for _ in range(walks))
    wall, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
    return {
        "agent": name,
        "varbinds": n / walks,
        "wall_s": wall / walks,
        "rate": n / wall,
        "cpu_us": 1e6 * cpu / n,
    }


def wait_ready(args: list[str], timeout: float) -> None:
    """Poll with snmpget until the agent answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cmd = ["snmpget", "-On", "-t", "0.5", "-r", "0", *args, "1.3.6.1.2.1.31.1.1.1.1.1"]
        if subprocess.run(cmd, capture_output=True).returncode == 0:
            return
        time.sleep(0.2)
    raise TimeoutError(f"agent not ready: {args}")


def main() -> None:
    """Run both agents, walk each, write the markdown report."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2500)
    ap.add_argument("--walks", type=int, default=3)
    ap.add_argument("--out", default="bench/results/lab_agent.md")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve is not None:
        serve_child(a.serve, a.rows)
        return
    env = {**os.environ, "BENCH_AUTH": BENCH_AUTH, "BENCH_PRIV": BENCH_PRIV, "SNMPSIM_ALLOW_ROOT": "true"}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        view = bench_view(a.rows)
        build_s = time.perf_counter() - t0
        changes = [(o, Counter64(5)) for o, v in view if isinstance(v, Counter64)]
        t0 = time.perf_counter()
        view.updated(changes)
        update_s = time.perf_counter() - t0
        write_snmprec(view, Path(tmp) / "data" / "bench.snmprec")
        lab_port, sim_port = free_port(), free_port()
        lab = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(lab_port), "--rows", str(a.rows)],
            env=env,
            stdout=subprocess.PIPE,
        )
        sim_bin = Path(sys.executable).parent / "snmpsim-command-responder"
        sim = subprocess.Popen(
            [
                str(sim_bin),
                f"--data-dir={tmp}/data",
                f"--cache-dir={tmp}/cache",
                f"--agent-udpv4-endpoint=127.0.0.1:{sim_port}",
                "--logging-method=null",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert lab.stdout is not None and lab.stdout.readline().strip() == b"ready"
            v2_lab = ["-v2c", "-c", "bench", f"127.0.0.1:{lab_port}"]
            v3_lab = ["-v3", "-l", "authPriv", "-u", "bench", "-a", "SHA", "-A", BENCH_AUTH, "-x", "AES"]
            v3_lab += ["-X", BENCH_PRIV, f"127.0.0.1:{lab_port}"]
            v2_sim = ["-v2c", "-c", "bench", f"127.0.0.1:{sim_port}"]
            wait_ready(v2_lab, 10)
            wait_ready(v2_sim, 60)
            rows = [
                measure("lab agent, v2c", lab.pid, [*v2_lab, "1.3.6.1"], a.walks),
                measure("lab agent, v3 authPriv SHA/AES", lab.pid, [*v3_lab, "1.3.6.1"], a.walks),
                measure("snmpsim 1.2.2, v2c", sim.pid, [*v2_sim, "1.3.6.1"], max(1, a.walks)),
            ]
        finally:
            for p in (lab, sim):
                p.terminate()
                p.wait(10)
    assert all(r["varbinds"] == len(view) for r in rows), rows
    ratio = float(rows[0]["rate"]) / float(rows[2]["rate"])
    lines = [
        "# Lab SNMP agent throughput vs snmpsim",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()} (`bench/lab_agent_bench.py`).",
        f"View: {len(view)} varbinds (ifXTable-like, {a.rows} rows x 20 columns, Counter32/64, Gauge32, "
        "Integer32, TimeTicks, OctetString). Client: net-snmp 5.9.3 `snmpbulkwalk -Cr50` of the whole view, "
        f"{a.walks} timed walks after one warm-up; the client runs on the same 2 cores, "
        "so wall rates include its CPU.",
        "",
        "| agent | varbinds/walk | wall s/walk | varbinds/s (wall) | agent CPU µs/varbind |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['agent']} | {r['varbinds']:.0f} | {float(r['wall_s']):.3f} | {float(r['rate']):,.0f} | "
            f"{float(r['cpu_us']):.2f} |"
        )
    lines += [
        "",
        f"**Ratio lab v2c / snmpsim: {ratio:.1f}x** (wall varbinds/s, same view, same client).",
        "",
        "Notes: an earlier run saw snmpsim at ~10.5k/s on a 20k-row file; the machine here is shared "
        "with other jobs, so absolute figures move between runs (agent CPU comes from 10 ms /proc ticks). "
        "The lab's wall rate is bounded by snmpbulkwalk itself (about 2 µs CPU per varbind, "
        "measured separately, not re-checked here), not by the agent.",
        "",
        f"Building the {len(view)}-varbind MibView (values + pre-encoding) took {build_s:.2f} s; "
        f"`MibView.updated()` of its {len(changes)} Counter64 values took {update_s:.3f} s.",
        "",
    ]
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
