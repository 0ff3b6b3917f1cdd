"""Fixtures: real net-snmp snmpd and snmpsim on 127.0.0.1, free ports, stopped after."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import free_port

RECORDINGS = Path(__file__).parent / "recordings"
V3_USER, V3_AUTH, V3_PRIV = "lmtest", "authpass123", "privpass123"


def _wait_snmp(port: int, community: str, proc: subprocess.Popen[bytes], deadline: float = 15.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"agent exited with {proc.returncode}")
        r = subprocess.run(
            [
                "snmpget",
                "-v2c",
                "-c",
                community,
                "-On",
                "-t",
                "0.3",
                "-r",
                "0",
                "-m",
                "",
                "-M",
                "/nonexistent",
                f"127.0.0.1:{port}",
                "1.3.6.1.2.1.1.3.0",
            ],
            capture_output=True,
        )
        if r.returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError("agent did not come up")


@contextlib.contextmanager
def running_snmpd(d: Path, conf_lines: list[str]) -> Iterator[int]:
    """net-snmp snmpd on a free 127.0.0.1 port with ``conf_lines`` as its whole snmpd.conf."""
    conf = d / "snmpd.conf"
    conf.write_text("\n".join(conf_lines) + "\n")
    port = free_port(socket.SOCK_DGRAM)
    env = dict(os.environ, MIBS="", SNMP_PERSISTENT_DIR=str(d / "persist"))
    proc = subprocess.Popen(
        [
            "/usr/sbin/snmpd",
            "-f",
            "-Lo",
            "-C",
            "-c",
            str(conf),
            "-I",
            "-smux",
            "-M",
            "/nonexistent",
            "-m",
            "",
            f"udp:127.0.0.1:{port}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_snmp(port, "public", proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.fixture(scope="session")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """net-snmp snmpd serving the host's real IF-MIB, v2c 'public' and v3 authPriv SHA/AES."""
    lines = [
        "view all included .1 80",
        "rocommunity public 127.0.0.1 -V all",
        f"createUser {V3_USER} SHA {V3_AUTH} AES {V3_PRIV}",
        f"rouser {V3_USER} priv -V all",
    ]
    with running_snmpd(tmp_path_factory.mktemp("snmpd"), lines) as port:
        yield port


@pytest.fixture(scope="session")
def snmpsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """snmpsim serving tests/collector/recordings/*.snmprec; community = file name."""
    d = tmp_path_factory.mktemp("snmpsim")
    data = d / "data"
    shutil.copytree(RECORDINGS, data)
    port = free_port(socket.SOCK_DGRAM)
    exe = Path(sys.executable).parent / "snmpsim-command-responder"
    proc = subprocess.Popen(
        [
            str(exe),
            f"--data-dir={data}",
            f"--cache-dir={d / 'cache'}",
            f"--agent-udpv4-endpoint=127.0.0.1:{port}",
            "--logging-method=null",
        ],
        env=dict(os.environ, SNMPSIM_ALLOW_ROOT="true"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_snmp(port, "generic", proc, deadline=40.0)
        yield port
    finally:
        proc.terminate()
        proc.wait(5)
