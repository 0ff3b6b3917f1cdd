"""CPU per reading of the gNMI path against the SNMP path, on the same lab fabric, in the same run.

``python -m bench gnmi`` (or ``python bench/gnmi_bench.py ROUNDS``). The demo fabric frozen at 6 h;
each round, interleaved: an SNMP poll (counters + dom, gufo transport) of every switch from the lab's
agents, and a gNMI snapshot (Capabilities, Subscribe, initial sync, decode, normalize) of every switch
from the lab's gNMI servers, in each encoding. The servers run in this process too, so the totals
include both sides; the collector-only cost of the gNMI path (decode + normalize of captured
notifications, no network, no server) is measured apart. CPU: ``time.process_time``.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from collector.api import poll_once
from collector.gnmi.client import GnmiTarget
from collector.gnmi.normalize import normalize
from collector.gnmi.profile import load_gnmi_profile
from collector.gnmi.stream import snapshot
from collector.gnmi.updates import UpdateSink
from collector.transport import SnmpCredentials, Target
from lab.agent import AgentServer
from lab.fabric import LabFabric
from lab.gnmi.render import Style
from lab.gnmi.server import LabGnmiServer
from lab.scenario import load_scenario
from linkmargin.gnmi import gnmi_pb2 as g

ENCODINGS = ("double", "decimal", "json_ietf")
OUT = Path(__file__).parent / "results" / "gnmi.md"


def _readings(b: pl.DataFrame) -> int:
    return int(b.filter(pl.col("value").is_not_null() | pl.col("reason").is_not_null()).height)


async def run(rounds: int) -> str:
    f = LabFabric(load_scenario("demo"), speed=0.0, start_s=6 * 3600, refresh_s=0.0, clock=lambda: 1000.0)
    devs = f.devices
    agents = AgentServer("127.0.0.1")
    bound = await agents.start(f.endpoints(0))
    servers = {e: {d: LabGnmiServer(f, d, Style(e)) for d in devs} for e in ENCODINGS}  # type: ignore[arg-type]
    ports = {e: {d: await s.start() for d, s in m.items()} for e, m in servers.items()}
    cpu: dict[str, list[float]] = {"snmp": [], **{f"gnmi {e}": [] for e in ENCODINGS}}
    n: dict[str, int] = {}
    try:
        for _ in range(rounds):
            t0, k = time.process_time(), 0
            for d in devs:
                h, p = bound[d]
                k += _readings(await poll_once(Target(d, h, p, SnmpCredentials.v2c(f.scenario.community))))
            cpu["snmp"].append((time.process_time() - t0) / k)
            n["snmp"] = k
            for e in ENCODINGS:
                t0, k = time.process_time(), 0
                for d in devs:
                    k += _readings(
                        await snapshot(GnmiTarget(d, "127.0.0.1", ports[e][d]), ["counters", "dom"])
                    )
                cpu[f"gnmi {e}"].append((time.process_time() - t0) / k)
                n[f"gnmi {e}"] = k
    finally:
        agents.close()
        for m in servers.values():
            for s in m.values():
                await s.stop()
    # collector-only: decode + normalize of one switch's notifications, captured once
    doc = load_gnmi_profile("openconfig")
    only: dict[str, float] = {}
    for e in ENCODINGS:
        from lab.gnmi.render import path_of, typed

        srv = LabGnmiServer(f, devs[0], Style(e))  # type: ignore[arg-type]
        leaves = srv.renderer.leaves()
        note = g.Notification(
            timestamp=time.time_ns(),
            update=[g.Update(path=path_of(p, srv.style), val=typed(v, srv.style)) for _, p, v in leaves],
        )
        wire = note.SerializeToString()
        reps, t0, k = 20, time.process_time(), 0
        for _ in range(reps):
            us = UpdateSink(doc)
            us.add(g.Notification.FromString(wire))
            for grp in ("counters", "dom"):
                k += normalize(us.table, devs[0], us.take(grp), us.port_map, us.boot_ns).samples.height
        only[e] = (time.process_time() - t0) / k
    lines = [
        "# gNMI vs SNMP: CPU per reading on the same lab fabric",
        "",
        f"`python -m bench gnmi` ({rounds} rounds), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        "this 2-core machine shared with other jobs. The demo fabric frozen at 6 h "
        f"({len(devs)} switches); per round, interleaved, every switch read once over SNMP "
        "(gufo, counters + dom, with discovery: a fresh session as `linkmargin poll` does) and once "
        "over gNMI per encoding (Capabilities, Subscribe, initial sync, decode, normalize: "
        "`linkmargin poll --gnmi`). Lab servers run in the same process, so both columns include "
        "the server side.",
        "",
        "| path | readings / round | CPU µs per reading (median of rounds) |",
        "|---|---:|---:|",
    ]
    for name, xs in cpu.items():
        lines.append(f"| {name} | {n[name]} | {statistics.median(xs) * 1e6:.1f} |")
    lines += [
        "",
        "Collector side only (decode + normalize of one switch's captured notification, "
        "no network, no server):",
        "",
        "| encoding | CPU µs per reading |",
        "|---|---:|",
    ]
    lines += [f"| {e} | {v * 1e6:.1f} |" for e, v in only.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    rounds = int(args[0]) if args and args[0].isdigit() else 5
    text = asyncio.run(run(rounds))
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
