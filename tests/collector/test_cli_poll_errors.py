"""`linkmargin poll` and `linkmargin run` mistakes a user makes: one or two lines on stderr, exit 2,
never a traceback. Run as the user runs them (subprocesses), against net-snmp's snmpd on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.collector.conftest import V3_AUTH, V3_PRIV, V3_USER

EXE = Path(sys.executable).with_name("linkmargin")
ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=60, env=env, cwd=ROOT)


def _refused(res: subprocess.CompletedProcess[str], *says: str) -> list[str]:
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2, res.stderr
    assert 1 <= len(lines) <= 2, res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""
    for s in says:
        assert s in res.stderr, res.stderr
    return lines


def _closed_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed once we return: nothing answers there


def test_no_agent() -> None:
    port = _closed_udp_port()
    res = _run("poll", "--target", f"127.0.0.1:{port}", "--community", "public", "--timeout", "0.3")
    _refused(res, f"127.0.0.1:{port}", "no answer")


def test_unset_env_var() -> None:
    env = {k: v for k, v in os.environ.items() if k != "LM_NO_SUCH_VAR"}
    res = _run("poll", "--target", "127.0.0.1:9", "--community-env", "LM_NO_SUCH_VAR", env=env)
    assert _refused(res, "LM_NO_SUCH_VAR") == [
        "poll: community: environment variable LM_NO_SUCH_VAR is not set"
    ]


def test_unreadable_key_file(tmp_path: Path) -> None:
    (tmp_path / "p").write_text(V3_PRIV)
    res = _run(
        "poll",
        "--target",
        "127.0.0.1:9",
        "--v3-user",
        V3_USER,
        "--auth-key-file",
        str(tmp_path / "nope"),
        "--priv-key-file",
        str(tmp_path / "p"),
    )
    _refused(res, str(tmp_path / "nope"))


def test_wrong_community(snmpd: int) -> None:
    res = _run("poll", "--target", f"127.0.0.1:{snmpd}", "--community", "not-the-one", "--timeout", "0.5")
    _refused(res, "no answer", "community")


@pytest.mark.parametrize("transport", ["gufo", "pysnmp"])
def test_wrong_v3_key(snmpd: int, tmp_path: Path, transport: str) -> None:
    (tmp_path / "a").write_text(V3_AUTH + "-wrong")
    (tmp_path / "p").write_text(V3_PRIV)
    res = _run(
        "poll",
        "--target",
        f"127.0.0.1:{snmpd}",
        "--v3-user",
        V3_USER,
        "--auth-key-file",
        str(tmp_path / "a"),
        "--priv-key-file",
        str(tmp_path / "p"),
        "--timeout",
        "0.5",
        "--transport",
        transport,
    )
    _refused(res, f"127.0.0.1:{snmpd}")


def test_run_refuses_to_start_without_its_community(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(
        "site: s\ncredentials:\n  ro: {version: 2c, community_env: LM_UNSET_COMMUNITY}\n"
        "devices:\n  - {name: sw1, address: 127.0.0.1, port: 9, credentials: ro}\nlinks: []\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "LM_UNSET_COMMUNITY"}
    res = _run("run", "--inventory", str(inv), "--duration", "1", "--history", str(tmp_path / "h"), env=env)
    _refused(res, "LM_UNSET_COMMUNITY")
    assert not (tmp_path / "h").exists()  # nothing started
