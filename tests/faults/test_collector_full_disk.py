"""A full disk under the outbox (a 2 MB tmpfs, almost filled by something else), with a real
`linkmargin collect --config` polling the lab's SNMP agents while its broker is unreachable:

- polling goes on (samples keep rising on /metrics) while the oldest batches are dropped to make room,
  counted as ``linkmargin_collector_outbox_dropped_total{reason="disk_full"}`` and logged once;
- killed with SIGKILL and restarted on the still-full disk, it starts (the partial writes a kill
  leaves are removed) and goes on the same way;
- once the broker answers, the outbox drains: per device the newest batches arrive, in order, and
  every one missing is one counted drop.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from linkmargin.wire import decode_batch
from linkmargin_cli.harness import lab_run
from tests.faults.test_collector_restart import EXE, Tap, get, until
from tests.services import free_port, mosquitto

PRE = "linkmargin_collector_"
FREE_BYTES = 384 * 1024  # what the "something else" leaves free for the outbox


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8); the outbox's ENOSPC path is untested here")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path, leave: int) -> None:
    """Fill the disk to the last byte, then give back ``leave`` bytes."""
    filler = disk / "filler"
    with pytest.raises(OSError), open(filler, "wb", buffering=0) as fh:
        while True:
            fh.write(b"\0" * 65536)
    os.truncate(filler, max(0, filler.stat().st_size - leave))


def drops(m: dict, reason: str = "disk_full") -> float:
    return get(m, PRE + "outbox_dropped_total", reason=reason)


def drained(m: dict) -> bool:
    return get(m, PRE + "outbox_batches") == 0 and get(m, PRE + "bus_up") == 1


async def polling_goes_on(port: int, min_drops: int) -> dict:
    """Drops counted and samples still rising on /metrics while the disk is full; the last scrape."""
    m0 = await until(port, PRE, lambda m: drops(m) >= min_drops, 90, "drops counted on a full disk")
    return await until(
        port, PRE, lambda m: get(m, PRE + "samples_total") > get(m0, PRE + "samples_total") + 500, 30,
        "polling going on",
    )  # fmt: skip


async def test_full_disk_under_the_outbox(tmp_path: Path, small_disk: Path) -> None:
    outbox = small_disk / "outbox"
    outbox.mkdir()
    (outbox / ".17.tmp").write_bytes(b"\0" * 50_000)  # a write a kill cut short, from an older life
    fill(small_disk, FREE_BYTES)
    with mosquitto(tmp_path / "broker") as broker:
        tap = Tap(broker.port)
        tap_task = asyncio.create_task(tap.run())
        await asyncio.wait_for(tap.ready.wait(), 10)
        broker.proc.send_signal(signal.SIGSTOP)  # type: ignore[union-attr]  # up, but answers nobody
        try:
            async with lab_run("demo", tmp_path / "lab") as lab:
                cport = free_port()
                cfg = tmp_path / "collector.yaml"
                cfg.write_text(
                    f"inventory: {lab.inventory_path}\n"
                    "intervals: {counters: 0.5, dom: 1, discovery: 3600}\n"
                    f'exporter: {{listen: "127.0.0.1:{cport}"}}\n'
                    f"bus: {{kind: mqtt, host: 127.0.0.1, port: {broker.port}, outbox_dir: {outbox}}}\n"
                )

                def start(name: str) -> subprocess.Popen[bytes]:
                    log = (tmp_path / f"{name}.log").open("wb")
                    return subprocess.Popen([EXE, "collect", "--config", str(cfg)], stdout=log, stderr=log)

                first = start("collector1")
                try:
                    m1 = await polling_goes_on(cport, 5)
                    assert first.poll() is None
                    assert not (outbox / ".17.tmp").exists()
                    assert get(m1, PRE + "outbox_batches") > 5
                finally:
                    first.send_signal(signal.SIGKILL)
                    first.wait(10)
                st = os.statvfs(small_disk)
                assert st.f_bavail * st.f_frsize < FREE_BYTES // 2  # the outbox took what was left
                (outbox / ".99.tmp").touch()  # what a kill mid-write leaves (empty: the disk is full)
                held = sorted(outbox.glob("*.msg"))
                left = len(held)
                killed = decode_batch(held[0].read_bytes().partition(b"\n")[2]).producer
                second = start("collector2")
                try:
                    # a restart on the still-full disk works; the oldest go: the killed one's, then its own
                    m2 = await polling_goes_on(cport, left + 5)
                    assert second.poll() is None and not (outbox / ".99.tmp").exists()
                    broker.proc.send_signal(signal.SIGCONT)  # type: ignore[union-attr]
                    m2 = await until(cport, PRE, drained, 60, "the outbox drained once the broker answered")
                finally:
                    second.send_signal(signal.SIGTERM)
                    rc = second.wait(30)
        finally:
            if broker.proc is not None and broker.proc.poll() is None:
                broker.proc.send_signal(signal.SIGCONT)
            await tap.settle()
            tap_task.cancel()
    assert rc == 0
    for name in ("collector1", "collector2"):
        log = (tmp_path / f"{name}.log").read_text()
        assert "Traceback" not in log, log
        assert log.count("message dropped (disk_full)") == 1, log  # once, however many drops
    streams: dict[tuple[str, str], list[int]] = {}
    for p, _, d, seq in dict.fromkeys(tap.seen):
        streams.setdefault((p, d), []).append(seq)
    for key, seqs in streams.items():  # of each device, in order (the outbox is a FIFO)
        assert seqs == sorted(seqs), key
    restarted = {p for p, _ in streams} - {killed}
    assert len(restarted) == 1
    (p2,) = restarted
    # every batch the restarted collector dropped is one counted: the killed one's it found and did
    # not deliver, and its own (each device's missing seqs: the oldest, or while the oldest was in flight
    # the next oldest). Its newest batches all arrived: the outbox drained and it stopped cleanly.
    p2_dropped = sum(seqs[-1] - len(seqs) for (p, _), seqs in streams.items() if p == p2)
    p1_delivered = sum(len(seqs) for (p, _), seqs in streams.items() if p == killed)
    assert drops(m2) == (left - p1_delivered) + p2_dropped
    assert p2_dropped > 0 and drops(m1) >= 5
    for reason in ("max_messages", "max_bytes", "write_error", "invalid"):
        assert drops(m2, reason) == 0
    print(f"\nfull disk: first life dropped >= {drops(m1):.0f} (disk_full); the restart found {left} "
          f"batches, dropped {drops(m2):.0f} ({left - p1_delivered} of the killed one's, {p2_dropped} of "
          f"its own) and delivered {len(set(tap.seen))} once the broker answered")  # fmt: skip
