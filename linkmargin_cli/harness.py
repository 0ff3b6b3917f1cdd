"""A lab fabric started as real SNMP agents (and, per ``transport``, gNMI servers) on loopback, with the
inventory it implies.

Used by ``demo`` and ``backtest``: the collector polls the agents over UDP exactly as it polls a
switch, and the analyzer reads the implied inventory through the same loader a user's file goes
through. Sample timestamps are re-stamped to the fabric's simulated clock, so a day can pass in
seconds without the collector or the analyzer knowing about the lab.
"""

from __future__ import annotations

import os
import random
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from ruamel.yaml import YAML

from lab.agent import AgentServer
from lab.fabric import LabFabric
from lab.gnmi.login import lab_login
from lab.gnmi.server import LabGnmiServer, serve_fabric, stop_all
from lab.scenario import Scenario, load_scenario
from lab.truth import inventory as implied_inventory
from linkmargin.inventory import Inventory, load_inventory

Sink = Callable[[str, str, pl.DataFrame], Awaitable[None]]
LAB_TRANSPORTS = ("snmp", "gnmi", "mixed")


def gnmi_devices(devices: list[str], transport: str) -> list[str]:
    """The lab switches read over gNMI: none (``snmp``), all (``gnmi``) or every second one (``mixed``)."""
    if transport not in LAB_TRANSPORTS:
        raise ValueError(f"unknown lab transport {transport!r}; one of: {', '.join(LAB_TRANSPORTS)}")
    return {"snmp": [], "gnmi": list(devices), "mixed": devices[1::2]}[transport]


def free_udp_block(n: int, host: str = "127.0.0.1", tries: int = 200) -> int:
    """A base port such that base .. base+n-1 are all free UDP ports on ``host`` right now."""
    rng = random.Random()
    for _ in range(tries):
        base = rng.randrange(20000, 60000 - n)
        socks: list[socket.socket] = []
        try:
            for p in range(base, base + n):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind((host, p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no block of {n} free UDP ports on {host}")


@dataclass
class LabRun:
    """A running fabric, its agents and the inventory a user would have recorded for it."""

    scenario: Scenario
    fabric: LabFabric
    server: AgentServer
    inventory: Inventory
    inventory_path: Path
    gnmi: dict[str, LabGnmiServer] = field(default_factory=dict)  # the switches served over gNMI

    def sim_time(self) -> datetime:
        """The fabric's simulated wall clock (UTC)."""
        return self.scenario.start + timedelta(seconds=self.fabric.sim_now())

    def restamp(self, sink: Sink) -> Sink:
        """Wrap ``sink`` so every batch carries the simulated time of its poll."""
        return restamped(sink, self.sim_time)


def restamped(sink: Sink, sim_time: Callable[[], datetime]) -> Sink:
    """Wrap ``sink`` so every batch carries ``sim_time()`` at its poll (a lab's simulated clock)."""

    async def _sink(device: str, group: str, frame: pl.DataFrame) -> None:
        ts = sim_time()
        await sink(device, group, frame.with_columns(pl.lit(ts).cast(pl.Datetime("us", "UTC")).alias("ts")))

    return _sink


def replay_in_past(sc: Scenario, now: datetime | None = None) -> Scenario:
    """Move a scenario whose end lies in the future back by whole days, so that it ends by now.

    The implied inventory records every mating of the run, and an inventory may not hold events
    in the future; events are offsets from the start, so the physics does not change. Whole days
    keep the start's time of day, so the daily thermal cycle (and every result) is the same
    whatever the hour the demo or a test is started at.
    """
    now = now or datetime.now(UTC)
    end = sc.start + timedelta(seconds=sc.duration_s)
    if end <= now:
        return sc
    days = -(-(end - now) // timedelta(days=1))  # ceiling
    return replace(sc, start=sc.start - timedelta(days=days))


@asynccontextmanager
async def lab_run(
    scenario: str | Path,
    workdir: Path,
    *,
    speed: float = 1.0,
    start: str = "0s",
    seed: int | None = None,
    refresh_s: float = 1.0,
    clock: Callable[[], float] | None = None,
    transport: str = "snmp",
) -> AsyncIterator[LabRun]:
    """Serve ``scenario`` on loopback and load its implied inventory; stop the agents on exit.

    ``transport`` (:data:`LAB_TRANSPORTS`): which switches the inventory reads over gNMI, each from its
    own password-protected gNMI server on a free loopback port (the SNMP agents serve every switch).
    """
    sc = replay_in_past(load_scenario(scenario, seed))
    kwargs = {"clock": clock} if clock is not None else {}
    fabric = LabFabric(sc, speed=speed, start_s=sc.at(start), refresh_s=refresh_s, **kwargs)
    async with serve_lab(fabric, workdir, transport) as served:
        inv = load_lab_inventory(sc, served.inventory_path)
        yield LabRun(sc, fabric, served.server, inv, served.inventory_path, served.gnmi)


@dataclass
class ServedLab:
    """What :func:`serve_lab` started: the agents, the gNMI servers and the inventory file they imply."""

    server: AgentServer
    gnmi: dict[str, LabGnmiServer]
    inventory_path: Path
    snmp_base: int


@asynccontextmanager
async def serve_lab(fabric: LabFabric, workdir: Path, transport: str = "snmp") -> AsyncIterator[ServedLab]:
    """Serve ``fabric`` on loopback (SNMP agents on a free block of ports; per ``transport``, gNMI servers)
    and write the inventory it implies into ``workdir``; stop them on exit. In-process (``lab_run``) or in
    the backtest's lab process (:mod:`linkmargin_cli.labproc`)."""
    base = free_udp_block(len(fabric.devices))
    server = AgentServer("127.0.0.1")
    fabric.on_reboot = server.reboot
    gnmi: dict[str, LabGnmiServer] = {}
    try:
        gnmi = await serve_fabric(fabric, gnmi_devices(fabric.devices, transport))
        inv_path = write_implied_inventory(fabric, workdir, base, {d: s.port for d, s in gnmi.items()})
        await server.start(fabric.endpoints(base))
        yield ServedLab(server, gnmi, inv_path, base)
    finally:
        with suppress(Exception):
            server.close()
        await stop_all(gnmi.values())


def load_lab_inventory(sc: Scenario, inv_path: Path) -> Inventory:
    """The lab's implied inventory, loaded as a user's file is (the lab's SNMP community in the
    environment the inventory's credentials refer to, unless set)."""
    os.environ.setdefault("LINKMARGIN_LAB_COMMUNITY", sc.community)
    return load_inventory(inv_path)


def write_implied_inventory(
    fabric: LabFabric,
    workdir: Path,
    snmp_base: int,
    gnmi_ports: dict[str, int] | None = None,
    host: str = "127.0.0.1",
) -> Path:
    """Write ``workdir/inventory.yaml`` (the inventory the fabric implies: SNMP agents from
    ``snmp_base``, the switches in ``gnmi_ports`` over gNMI) and the secrets files it refers to."""
    workdir.mkdir(parents=True, exist_ok=True)
    doc = implied_inventory(
        fabric.sim,
        host=host,
        base_port=snmp_base,
        secrets_dir=(workdir / "secrets").resolve(),
        gnmi_ports=gnmi_ports,
    )
    inv_path = workdir / "inventory.yaml"
    yaml = YAML()
    yaml.default_flow_style = None
    yaml.width = 4096
    with inv_path.open("w") as fh:
        yaml.dump(doc, fh)
    _write_secrets(workdir / "secrets")
    return inv_path


def _write_secrets(sdir: Path) -> None:
    """The lab agents' v3 passphrases and the gNMI servers' password as files, so the collector reads
    them as it would in production."""
    from lab.fabric import v3_keys

    auth, priv = v3_keys()
    sdir.mkdir(parents=True, exist_ok=True)
    for name, secret in (("auth", auth), ("priv", priv), ("gnmi", lab_login()[1])):
        p = sdir / name
        p.write_text(secret + "\n")
        p.chmod(0o600)
