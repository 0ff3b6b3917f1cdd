"""`linkmargin lab ...`: serve a simulated fabric as SNMP agents, snapshot it, write its ground truth."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from linkmargin_cli.app import app

lab_app = typer.Typer(help="The simulated fabric: physics of optics and connectors served as SNMP agents.")
app.add_typer(lab_app, name="lab")

ScenarioOpt = Annotated[
    str, typer.Option("--scenario", "-s", help="Scenario file, or a shipped name (demo, ...)")
]
SeedOpt = Annotated[int | None, typer.Option(help="Override the scenario's seed")]


@contextlib.contextmanager
def _optic_errors(scenario: str) -> Iterator[None]:
    """An optic the lab cannot simulate, or a broken inventory the scenario names, is a line or a few
    on stderr and exit 2, not a traceback."""
    from lab.physics.optics import LabOpticError
    from linkmargin.yamlcheck import FileIssues

    try:
        yield
    except LabOpticError as e:
        typer.echo(f"error: scenario {scenario}: {e}", err=True)
        raise typer.Exit(2) from None
    except FileIssues as e:
        for err in e.errors:
            typer.echo(str(err), err=True)
        raise typer.Exit(2) from None


def _listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if host not in ("127.0.0.1", "::1", "localhost", "[::1]"):
        raise typer.BadParameter("the lab only listens on loopback (127.0.0.1 or ::1)")
    return host.strip("[]"), int(port)


@lab_app.command("serve")
def serve(
    scenario: ScenarioOpt = "demo",
    listen: Annotated[
        str, typer.Option(help="Loopback host:base_port; switch i gets base_port + i")
    ] = "127.0.0.1:16100",
    speed: Annotated[
        float, typer.Option(help="Simulated seconds per wall second (86400 = a day per second)")
    ] = 1.0,
    start: Annotated[str, typer.Option(help="Start at this offset into the scenario (e.g. 6h, 2d)")] = "0s",
    refresh: Annotated[
        float, typer.Option(help="Wall seconds between physics updates of the served views")
    ] = 5.0,
    seed: SeedOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the endpoint table as JSON")] = False,
    transport: Annotated[
        str, typer.Option(help="snmp; gnmi or mixed: also serve all or every second switch over gNMI")
    ] = "snmp",
    inventory_dir: Annotated[
        Path | None,
        typer.Option(help="Write DIR/inventory.yaml (and DIR/secrets) for the served endpoints"),
    ] = None,
) -> None:
    """Serve every simulated switch on loopback UDP (v2c and v3 authPriv SHA/AES) until interrupted;
    with ``--transport gnmi|mixed`` also as gNMI servers (password auth) on free loopback ports."""
    from lab.agent import AgentServer
    from lab.fabric import LabFabric
    from lab.gnmi.login import lab_login
    from lab.gnmi.server import serve_fabric, stop_all
    from linkmargin_cli.harness import LAB_TRANSPORTS, gnmi_devices, write_implied_inventory
    from linkmargin_cli.inputs import scenario_or_exit

    sc = scenario_or_exit(scenario, seed)
    if transport not in LAB_TRANSPORTS:
        typer.echo(f"lab serve: --transport {transport!r}: one of {', '.join(LAB_TRANSPORTS)}", err=True)
        raise typer.Exit(2)
    host, base = _listen(listen)
    if refresh is None:
        refresh = max(0.2, min(5.0, sc.step_s / max(speed, 1e-9)))
    with _optic_errors(scenario):
        fabric = LabFabric(sc, speed=speed, start_s=sc.at(start), refresh_s=refresh)

    async def run() -> None:
        server = AgentServer(host)
        fabric.on_reboot = server.reboot
        bound = await server.start(fabric.endpoints(base))
        gnmi = await serve_fabric(fabric, gnmi_devices(fabric.devices, transport), host)
        try:
            rows = fabric.table(bound)
            user = lab_login()[0]
            if as_json:
                gn = [
                    {"device": d, "host": host, "port": g.port, "transport": "gnmi", "username": user}
                    for d, g in gnmi.items()
                ]
                typer.echo(json.dumps([r.__dict__ for r in rows] + gn), nl=True)
            else:
                typer.echo(f"{'device':<10} {'endpoint':<22} {'community':<10} {'v3 user':<8} layout")
                for r in rows:
                    ep = f"{r.host}:{r.port}"
                    typer.echo(f"{r.device:<10} {ep:<22} {r.community:<10} {r.v3_user:<8} {r.layout}")
                for d, g in gnmi.items():
                    ep = f"{host}:{g.port}"
                    typer.echo(f"{d:<10} {ep:<22} {'gnmi':<10} {user:<8} openconfig (plaintext, password)")
            if inventory_dir is not None:
                ports = {d: g.port for d, g in gnmi.items()}
                path = write_implied_inventory(fabric, inventory_dir, base, ports, host)
                typer.echo(f"inventory: {path}", err=as_json)
            sys.stdout.flush()
            await asyncio.Event().wait()
        finally:
            server.close()
            await stop_all(gnmi.values())

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


@lab_app.command("snapshot")
def snapshot(
    scenario: ScenarioOpt = "demo",
    at: Annotated[str, typer.Option(help="Time into the scenario (e.g. 6h, 2d) or an ISO timestamp")] = "0s",
    out: Annotated[Path, typer.Option(help="Directory for one <device>.snmprec per switch")] = Path(
        "snapshot"
    ),
    seed: SeedOpt = None,
) -> None:
    """Write each switch at time T as an .snmprec file (serve them with snmpsim as an independent check)."""
    from lab.snapshot import write_snapshot
    from linkmargin_cli.inputs import scenario_or_exit

    sc = scenario_or_exit(scenario, seed)
    with _optic_errors(scenario):
        paths = write_snapshot(sc, sc.at(at), out)
    for p in paths:
        typer.echo(str(p))


@lab_app.command("truth")
def truth(
    scenario: ScenarioOpt = "demo",
    out: Annotated[
        Path, typer.Option(help="Directory for lanes.parquet, events.parquet, inventory.yaml")
    ] = Path("truth"),
    base_port: Annotated[int, typer.Option(help="Base UDP port the inventory's devices point at")] = 16100,
    seed: SeedOpt = None,
) -> None:
    """Run the scenario and write its ground truth and the inventory it implies."""
    from lab.physics.sim import FabricSim
    from lab.truth import write_truth
    from linkmargin_cli.inputs import scenario_or_exit

    sc = scenario_or_exit(scenario, seed)
    with _optic_errors(scenario):
        sim = FabricSim(sc)
    for name, p in write_truth(sim, out, base_port).items():
        typer.echo(f"{name}: {p}")
