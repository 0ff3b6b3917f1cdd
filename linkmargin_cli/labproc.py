"""The backtest's lab on a stepped clock: in its own process (the default), or in-process to compare.

A backtest step is the lab's work (the sim advancing, every switch's view re-rendered, the SNMP and gNMI
answers encoded) and the collector's and analyzer's (the polls decoded, the bus, the state update). In one
event loop they take turns on one core; with the lab in a child process they share two.

The parent steps the child's clock with a pipe protocol: ``("goto", t)`` moves the child's clock to ``t``
seconds after the scenario's start and advances its sim there, and only its answer ``("at", t)`` lets
the parent poll. The child renders a switch's view on the first request after the clock moved, exactly as
the in-process lab does, so the rows served at each step are the same; no poll can read a view of another
step, because the clock never moves while a step's polls are in flight.

The child is a daemon (``spawn``: a fresh interpreter, never a fork of a process with an event loop and
threads), ignores Ctrl-C (the parent stops it), and exits when the parent's end of the pipe closes, so it
never outlives the parent. Its failures reach the parent as :class:`LabProcessError` with its message.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Protocol

from lab.scenario import Scenario, load_scenario
from linkmargin.inventory import Inventory
from linkmargin_cli.harness import LabRun, Sink, lab_run, load_lab_inventory, replay_in_past, restamped

STOP_TIMEOUT_S = 10.0  # how long the parent waits for the child to stop before it terminates it


class LabProcessError(RuntimeError):
    """The lab process could not start, failed, or died; the message says which and why."""


class SteppedLab(Protocol):
    """A lab the backtest steps: its scenario, the inventory it implies, and its simulated clock."""

    scenario: Scenario
    inventory: Inventory

    def sim_time(self) -> datetime: ...

    def restamp(self, sink: Sink) -> Sink: ...

    async def goto(self, t: float) -> None:
        """Move the lab's clock to ``t`` seconds after the scenario's start; return when it serves ``t``."""


@asynccontextmanager
async def stepped_lab(
    scenario: str | Path,
    workdir: Path,
    *,
    seed: int | None = None,
    transport: str = "snmp",
    in_process: bool = False,
) -> AsyncIterator[SteppedLab]:
    """The scenario's lab on a stepped clock at 0 s, in a child process unless ``in_process``."""
    if in_process:
        async with _in_process(scenario, workdir, seed, transport) as lab:
            yield lab
        return
    sc = replay_in_past(load_scenario(scenario, seed))
    async with lab_process(sc, workdir, transport=transport) as proc:
        yield proc


@dataclass
class _InProcessLab:
    """The in-process lab (:func:`~linkmargin_cli.harness.lab_run`) behind the same steps."""

    run: LabRun
    clock: list[float]
    scenario: Scenario = field(init=False)
    inventory: Inventory = field(init=False)

    def __post_init__(self) -> None:
        self.scenario, self.inventory = self.run.scenario, self.run.inventory

    def sim_time(self) -> datetime:
        return self.run.sim_time()

    def restamp(self, sink: Sink) -> Sink:
        return restamped(sink, self.sim_time)

    async def goto(self, t: float) -> None:
        self.clock[0] = t  # the fabric advances on the first request after the clock moved


@asynccontextmanager
async def _in_process(
    scenario: str | Path, workdir: Path, seed: int | None, transport: str
) -> AsyncIterator[_InProcessLab]:
    clock = [0.0]
    async with lab_run(
        scenario, workdir, seed=seed, refresh_s=0.0, clock=lambda: clock[0], transport=transport
    ) as run:
        yield _InProcessLab(run, clock)


@dataclass
class LabProcess:
    """The lab running in a child process, seen from the parent."""

    scenario: Scenario
    inventory: Inventory
    inventory_path: Path
    snmp_base: int
    gnmi_ports: dict[str, int]
    process: BaseProcess
    conn: Connection
    t: float = 0.0  # the child's sim time (seconds after the scenario's start) at its last answer

    def sim_time(self) -> datetime:
        """The lab's simulated wall clock (UTC), as the child last reported it."""
        return self.scenario.start + timedelta(seconds=self.t)

    def restamp(self, sink: Sink) -> Sink:
        """Wrap ``sink`` so every batch carries the simulated time of its poll."""
        return restamped(sink, self.sim_time)

    async def goto(self, t: float) -> None:
        """Move the child's clock to ``t``; return once its sim is there (its views render on request)."""
        try:
            self.conn.send(("goto", t))
        except OSError:
            raise LabProcessError(_died(self.process)) from None
        (self.t,) = await _reply(self.conn, self.process, "at")


@asynccontextmanager
async def lab_process(sc: Scenario, workdir: Path, *, transport: str = "snmp") -> AsyncIterator[LabProcess]:
    """Start ``sc``'s lab in a child process serving on loopback (its clock at 0 s); stop it on exit."""
    ctx = multiprocessing.get_context("spawn")
    conn, child_conn = ctx.Pipe()
    proc = ctx.Process(
        target=child_main, args=(child_conn, sc, workdir, transport), name="linkmargin-lab", daemon=True
    )
    try:
        try:
            proc.start()
        except OSError as exc:
            raise LabProcessError(f"the lab process could not start: {exc}") from None
        child_conn.close()  # the child's end lives in the child only: its exit is our EOF
        inv_path, base, ports, t = await _reply(conn, proc, "ready")
        lab = LabProcess(sc, load_lab_inventory(sc, inv_path), inv_path, base, ports, proc, conn, t)
        yield lab
    finally:
        _stop(proc, conn)


def _stop(proc: BaseProcess, conn: Connection) -> None:
    """Ask the child to stop; terminate, then kill it, if it does not."""
    with suppress(OSError, ValueError):
        conn.send(("stop",))
    if proc.pid is not None:
        proc.join(STOP_TIMEOUT_S)
        if proc.is_alive():
            proc.terminate()
            proc.join(STOP_TIMEOUT_S)
        if proc.is_alive():
            proc.kill()
            proc.join()
    conn.close()


async def _reply(conn: Connection, proc: BaseProcess, kind: str) -> tuple[Any, ...]:
    """The child's next message, which must be ``kind``; its error or its death as LabProcessError."""
    await _readable(conn)
    try:
        msg = conn.recv()
    except (EOFError, OSError):
        raise LabProcessError(_died(proc)) from None
    if msg[0] == "error":
        raise LabProcessError(f"the lab process failed: {msg[1]}")
    if msg[0] != kind:
        raise LabProcessError(f"the lab process answered {msg[0]!r} where {kind!r} was due")
    return tuple(msg[1:])


async def _readable(conn: Connection) -> None:
    """Return when ``conn`` has a message (or its other end closed), the event loop serving meanwhile."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    fd = conn.fileno()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


def _died(proc: BaseProcess) -> str:
    proc.join(STOP_TIMEOUT_S)
    code = proc.exitcode
    how = (
        "is still running but closed its pipe"
        if code is None
        else f"was killed by signal {-code}"
        if code < 0
        else f"exited with code {code}"
    )
    return f"the lab process (pid {proc.pid}) {how}; the backtest cannot go on without it"


# -- the child ------------------------------------------------------------------------------------------


def child_main(conn: Connection, sc: Scenario, workdir: Path, transport: str) -> None:
    """The lab process: serve ``sc`` and follow the parent's clock until it says stop or goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    try:
        asyncio.run(_serve(conn, sc, workdir, transport))
    except Exception as exc:  # every failure goes to the parent, with its message
        with suppress(OSError):
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


async def _serve(conn: Connection, sc: Scenario, workdir: Path, transport: str) -> None:
    from lab.fabric import LabFabric
    from linkmargin_cli.gcsettle import gc_settled
    from linkmargin_cli.harness import serve_lab

    clock = [0.0]
    fabric = LabFabric(sc, refresh_s=0.0, clock=lambda: clock[0])
    async with serve_lab(fabric, workdir, transport) as served:
        ports = {d: s.port for d, s in served.gnmi.items()}
        conn.send(("ready", served.inventory_path, served.snmp_base, ports, fabric.sim_now()))
        with gc_settled() as settle:
            for step in range(1 << 62):
                msg = await _next(conn)
                if msg is None or msg[0] == "stop":
                    return
                if step == 1:
                    settle()  # after the first step's views: they live for the whole run
                clock[0] = float(msg[1])
                fabric.tick()  # the sim to the new time (and any reboot), as the first request would
                conn.send(("at", fabric.sim_now()))


async def _next(conn: Connection) -> tuple[Any, ...] | None:
    """The parent's next command while the agents keep serving; None once the parent is gone."""
    await _readable(conn)
    try:
        msg: tuple[Any, ...] = conn.recv()
        return msg
    except (EOFError, OSError):
        return None
