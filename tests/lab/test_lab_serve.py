"""The running lab walked by net-snmp (a client nobody here wrote), v2c and v3 authPriv, every layout."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.agent import AgentServer, DeviceEndpoint, MibView
from lab.fabric import LabFabric, v3_keys
from lab.scenario import load_scenario
from lab.snapshot import snapshot_views, write_snapshot
from tests.lab.decode import rx_dbm, walk
from tests.services import free_port

H = 3600.0
pytestmark = pytest.mark.skipif(shutil.which("snmpbulkwalk") is None, reason="net-snmp tools not installed")
LSB_DB = {"sonic": 0.01, "arista": 0.01, "cisco": 0.1, "juniper": 0.01}


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Threaded:
    """AgentServer on a loop thread (net-snmp runs as blocking subprocesses from the test)."""

    def __init__(self, devices: dict[str, DeviceEndpoint]) -> None:
        self.loop = asyncio.new_event_loop()
        self.server = AgentServer("127.0.0.1")
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.bound = asyncio.run_coroutine_threadsafe(self.server.start(devices), self.loop).result(30)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[LabFabric, Clock, Threaded]]:
    clock = Clock()
    fabric = LabFabric(load_scenario("demo"), speed=1.0, start_s=6 * H - 1, refresh_s=0.0, clock=clock)
    srv = Threaded(fabric.endpoints(0))
    yield fabric, clock, srv
    srv.stop()


def _walk(port: int, v3: bool, root: str = "1.3.6.1") -> dict[str, int | str]:
    auth, priv = v3_keys()
    cred = (
        ["-v3", "-l", "authPriv", "-u", "labv3", "-a", "SHA", "-A", auth, "-x", "AES", "-X", priv]
        if v3
        else ["-v2c", "-c", "public"]
    )
    return walk(["snmpbulkwalk", *cred, "-On", "-Oe", "-Ot", "-Cr40", "-t", "5", f"127.0.0.1:{port}", root])


def test_netsnmp_walk_sees_the_injected_step_on_exactly_its_lanes(
    running: tuple[LabFabric, Clock, Threaded],
) -> None:
    fabric, clock, srv = running
    f = fabric.sim.fleet
    names = fabric.devices

    def walk_all() -> dict[tuple[str, str, int], float]:
        out = {}
        for i, dev in enumerate(names):
            vals = _walk(srv.bound[dev][1], v3=i % 2 == 1)  # half the switches over v3 authPriv
            assert "1.3.6.1.2.1.1.3.0" in vals
            for (port, lane), dbm in rx_dbm(vals).items():
                out[(dev, port, lane)] = dbm
        return out

    before = walk_all()
    clock.now += 2.0  # 6h - 1 s -> 6h + 1 s: the 2.0 dB contamination of link 0 (lanes 1-2, a->b) lands
    after = walk_all()
    assert fabric.sim.t == pytest.approx(6 * H + 1)
    b = int(f.link_b_port[0])
    rx_dev, rx_port = f.dev_names[int(f.port_dev[b])], f.port_names[b]
    assert set(before) == set(after)
    layouts_seen = {f.dev_layout[names.index(k[0])] for k in before}
    assert layouts_seen == {"sonic", "arista", "cisco", "juniper"}
    for k, old in before.items():
        lsb = LSB_DB[f.dev_layout[names.index(k[0])]]
        delta = after[k] - old
        if k[:2] == (rx_dev, rx_port) and k[2] in (1, 2):
            assert delta == pytest.approx(-2.0, abs=lsb), k
        else:
            assert abs(delta) <= lsb, (k, delta)


@pytest.mark.skipif(
    shutil.which("snmpsim-command-responder") is None
    and not Path(".venv/bin/snmpsim-command-responder").exists(),
    reason="snmpsim not installed",
)
def test_snapshot_served_by_snmpsim_and_by_lab_answers_identical_walks(tmp_path: Path) -> None:
    sc = load_scenario("demo")
    at = 7 * H
    write_snapshot(sc, at, tmp_path)
    views: dict[str, MibView] = snapshot_views(sc, at)
    dev = "leaf02"  # Junos layout: ifIndex-indexed tables, 0-based lane table
    port = free_port(socket.SOCK_DGRAM)
    exe = shutil.which("snmpsim-command-responder") or ".venv/bin/snmpsim-command-responder"
    cache = tmp_path.parent / f"{tmp_path.name}-cache"
    proc = subprocess.Popen(
        [
            exe,
            f"--data-dir={tmp_path}",
            f"--cache-dir={cache}",
            f"--agent-udpv4-endpoint=127.0.0.1:{port}",
            "--logging-method=null",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "SNMPSIM_ALLOW_ROOT": "true"},  # snmpsim refuses to run as root
    )
    srv = Threaded({dev: DeviceEndpoint(port=0, view=lambda: views[dev], community=dev)})
    try:
        deadline = time.monotonic() + 30
        sim_walk: dict[str, int | str] = {}
        while time.monotonic() < deadline:
            try:
                sim_walk = walk(
                    [
                        "snmpbulkwalk",
                        "-v2c",
                        "-c",
                        dev,
                        "-On",
                        "-Oe",
                        "-Ot",
                        "-t",
                        "1",
                        "-r",
                        "0",
                        f"127.0.0.1:{port}",
                        "1.3.6.1",
                    ]
                )
                if sim_walk:
                    break
            except subprocess.CalledProcessError:
                time.sleep(0.5)
        lab_walk = walk(
            [
                "snmpbulkwalk",
                "-v2c",
                "-c",
                dev,
                "-On",
                "-Oe",
                "-Ot",
                f"127.0.0.1:{srv.bound[dev][1]}",
                "1.3.6.1",
            ]
        )
    finally:
        srv.stop()
        proc.terminate()
        proc.wait(10)
    assert len(lab_walk) > 300
    assert sim_walk == lab_walk
