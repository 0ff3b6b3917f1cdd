"""``linkmargin collect --shard i/N`` (or ``shard: i/N`` in the config): the collector polls only its
share of the inventory and says which share on /metrics; a bad spec is two lines and exit 2."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from collector.config import ConfigError, load_config
from linkmargin.shards import shard_of

REPO = Path(__file__).resolve().parents[2]
NAMES = [f"leaf{i:02d}" for i in range(12)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _setup(tmp: Path, extra: str = "") -> Path:
    devs = "".join(
        f"  - {{name: {n}, address: 127.0.0.1, port: {_free_port()}, credentials: ro}}\n" for n in NAMES
    )
    (tmp / "inv.yaml").write_text(
        "site: t\ncredentials:\n  ro: {version: 2c, community_env: LINKMARGIN_COMMUNITY}\ndevices:\n" + devs
    )
    cfg = tmp / "c.yaml"
    cfg.write_text("inventory: inv.yaml\nbus: {kind: none}\n" + extra)
    return cfg


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LINKMARGIN_COMMUNITY="public")
    return subprocess.run(
        [sys.executable, "-m", "linkmargin_cli", *args], capture_output=True, text=True, timeout=60, env=env
    )


@pytest.mark.parametrize("spec", ["3/2", "0/2", "x"])
def test_cli_rejects_a_bad_shard_with_two_lines(tmp_path: Path, spec: str) -> None:
    r = _cli("collect", "--config", str(_setup(tmp_path)), "--shard", spec, "--check")
    assert r.returncode == 2, r
    assert "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("collect: --shard: ") and "i/N" in lines[1]


def test_config_shard_is_checked_with_position(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINKMARGIN_COMMUNITY", "public")
    cfg = _setup(tmp_path, 'shard: "5/4"\n')
    with pytest.raises(ConfigError) as ei:
        load_config(cfg)
    (e,) = [str(x) for x in ei.value.errors]
    assert e.startswith(f"{cfg}:3:8: shard: ") and "1..4" in e
    cfg.write_text(cfg.read_text().replace("5/4", "2/4"))
    assert str(load_config(cfg).shard_spec) == "2/4"


def _scrape(port: int, deadline: float) -> str:
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                text = r.read().decode()
            if "linkmargin_collector_timeouts_total{" in text:
                return text
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("no /metrics with device series")
        time.sleep(0.3)


@pytest.mark.parametrize("how", ["cli", "config"])
def test_two_collectors_split_the_inventory(tmp_path: Path, how: str) -> None:
    seen: dict[str, set[str]] = {}
    for i in (1, 2):
        port = _free_port()
        d = tmp_path / str(i)
        d.mkdir()
        extra = f"exporter: {{listen: '127.0.0.1:{port}'}}\n" + (
            f'shard: "{i}/2"\n' if how == "config" else ""
        )
        cfg = _setup(d, extra)
        args = ["--shard", f"{i}/2"] if how == "cli" else []
        env = dict(os.environ, LINKMARGIN_COMMUNITY="public")
        p = subprocess.Popen(
            [sys.executable, "-m", "linkmargin_cli", "collect", "--config", str(cfg), *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        try:
            text = _scrape(port, time.monotonic() + 60)
        finally:
            p.terminate()
            p.wait(timeout=30)
        assert f'linkmargin_collector_shard_info{{of="2",shard="{i}"}} 1.0' in text
        seen[str(i)] = set(re.findall(r'linkmargin_collector_timeouts_total\{device="([^"]+)"\}', text))
        assert seen[str(i)] == {n for n in NAMES if shard_of(n, 2) == i}
    assert seen["1"] | seen["2"] == set(NAMES) and not seen["1"] & seen["2"]
