"""A device name that cannot be an MQTT topic level, and a sink that fails, cannot kill the collector.

Validation refuses such names first (`linkmargin inventory check` and `linkmargin collect --check`,
FILE:LINE:COL); behind it, a batch a sink cannot take (a name that slipped through, a full disk)
is counted by reason and logged once, and every device goes on being polled — against the lab's
SNMP agents on loopback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from collector.config import SnmpConf, targets_for
from collector.daemon import Collector
from linkmargin.wire import decode_batch
from linkmargin_cli.harness import lab_run

REPO = Path(__file__).resolve().parents[2]
RULE = "a device name is one MQTT topic level: 1 to 256 characters, none of / + # or NUL"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ, LINKMARGIN_COMMUNITY="x", LINKMARGIN_AUTH_KEY="k" * 12, LINKMARGIN_PRIV_KEY="k" * 12
    )
    return subprocess.run(
        [sys.executable, "-m", "linkmargin_cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@pytest.mark.parametrize(
    ("yaml_name", "shown"),
    [('"spine/01"', "'spine/01'"), ('"leaf#1"', "'leaf#1'"), ('"leaf+"', "'leaf+'"), ("x" * 257, "'xxx")],
)
def test_names_that_are_no_topic_level_are_refused_with_position(
    tmp_path: Path, yaml_name: str, shown: str
) -> None:
    text = (REPO / "configs" / "inventory.example.yaml").read_text()
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "{name: leaf06," in ln)
    text = text.replace("{name: leaf06,", f"{{name: {yaml_name},")
    (tmp_path / "inv.yaml").write_text(text)
    (tmp_path / "collector.yaml").write_text("inventory: inv.yaml\nbus: {kind: none}\n")
    inv = _run("inventory", "check", "inv.yaml", cwd=tmp_path)
    col = _run("collect", "--config", "collector.yaml", "--check", cwd=tmp_path)
    for r in (inv, col):
        assert r.returncode == 2, r.stdout + r.stderr
        assert "Traceback" not in r.stderr
        mine = [ln for ln in r.stderr.splitlines() if ln.startswith(f"inv.yaml:{line}:12: devices[7].name: ")]
        assert len(mine) == 1, r.stderr
        assert shown in mine[0] and mine[0].endswith(RULE)


def test_deprecated_inline_form_refuses_them_too(tmp_path: Path) -> None:
    (tmp_path / "old.yaml").write_text(
        "credentials:\n"
        "  c: {version: 2c, community_env: LINKMARGIN_COMMUNITY}\n"
        "devices:\n"
        '  - {name: "spine/01", address: 127.0.0.1, credentials: c}\n'
    )
    r = _run("collect", "--config", "old.yaml", "--check", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"old.yaml:4:12: devices[0].name: {RULE}" in r.stderr.splitlines()


class FullDiskBus:
    """A publisher whose disk is full for one device's topic; it keeps what the others publish."""

    def __init__(self, full_device: str) -> None:
        self.full_topic_end = "/" + full_device
        self.got: list[tuple[str, int]] = []

    async def publish(self, topic: str, payload: bytes) -> None:
        if topic.endswith(self.full_topic_end):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        b = decode_batch(payload)
        self.got.append((b.device, b.seq))


async def test_failing_sinks_are_counted_and_polling_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with lab_run("demo", tmp_path / "lab") as lab:
        targets, profiles = targets_for(lab.inventory.devices, lab.inventory.credentials, SnmpConf())
        # a name that slipped past validation (a Target made by hand), and a device whose sink fails
        slashed = dataclasses.replace(targets[0], name="spine/01")
        profiles["spine/01"] = profiles[targets[0].name]
        targets[0] = slashed
        full = targets[1].name
        bus = FullDiskBus(full)
        col = Collector(
            targets,
            publisher=bus,
            intervals={"counters": 0.5, "dom": 0.5, "discovery": 3600.0},
            profiles=profiles,
        )
        stop = asyncio.Event()
        caplog.set_level(logging.WARNING, logger="collector.scheduler")
        task = asyncio.create_task(col.run(stop))
        polls = {t.name: 0 for t in targets}
        deadline = asyncio.get_running_loop().time() + 60
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.2)
            polls = {d.target.name: d.polls.get("counters", 0) for d in col.scheduler.devices}
            if min(polls.values()) >= 4:
                break
        stop.set()
        await asyncio.wait_for(task, 30)
    assert not task.cancelled() and task.exception() is None
    assert min(polls.values()) >= 4, polls  # every device, the two failing ones too, kept being polled
    r = col.registry

    def errors(reason: str) -> float:
        return r.get_sample_value("linkmargin_collector_sink_errors_total", {"reason": reason}) or 0.0

    polled = {d.target.name: sum(d.polls.values()) for d in col.scheduler.devices}
    assert errors("ENOSPC") == polled[full]  # each batch of that device counted once
    assert errors("WireError") == polled["spine/01"]
    got = {d for d, _ in bus.got}
    assert got == {t.name for t in targets} - {"spine/01", full}
    for name in got:  # the others' batches all went out, in order, no gap
        seqs = [s for d, s in bus.got if d == name]
        assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) == polled[name]
    # the Prometheus sink still took the batches the bus could not (one failing sink stops no other)
    text = col.prometheus.render_text()
    assert 'device="spine/01"' in text and f'device="{full}"' in text
    logged = [rec.getMessage() for rec in caplog.records if "not taken by a sink" in rec.getMessage()]
    assert len(logged) == 2, logged  # once per reason, however many batches
    assert any("(ENOSPC)" in m for m in logged) and any("(WireError)" in m for m in logged)
