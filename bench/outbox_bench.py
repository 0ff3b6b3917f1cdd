"""What an outbox write costs the event loop. Three ways, the same batches, the same run:

- *previous*: the outbox as it was: write + rename on the loop, no fsync;
- *durable, on the loop*: today's :class:`collector.outbox.Outbox` (write, fsync, rename, directory
  fsync) called on the loop, as the previous publisher called its outbox;
- *durable, off the loop*: :class:`collector.publisher.MqttPublisher.publish` (the same outbox on the
  publisher's writer thread).

Each queues ``MESSAGES`` batches of ``SIZE`` bytes (about a DOM batch of a 32-port switch), one every
2 ms, into a directory on the worktree's disk, interleaved round by round. Measured:

- **publish**: how long ``await publish()`` takes (durable: until the data and the rename are on
  disk; previous: until the page cache has them);
- **ticker lateness**: how much later than asked a 1 ms sleep of another task on the same loop wakes
  (p99 and max over all ticks): how long the polls of other devices are held up.

Run: .venv/bin/python bench/outbox_bench.py [MESSAGES] [SIZE] [ROUNDS]
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collector.outbox import Outbox
from collector.publisher import MqttPublisher
from linkmargin.mqtt import MqttSettings

ROOT = Path(__file__).resolve().parents[1]


class PreviousOutbox:
    """The outbox as it was: synchronous tmp write + rename on the event loop, no fsync."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.next = 0

    async def publish(self, topic: str, payload: bytes) -> None:
        i, self.next = self.next, self.next + 1
        tmp = self.path / f".{i}.tmp"
        tmp.write_bytes(topic.encode() + b"\n" + payload)
        os.replace(tmp, self.path / f"{i:020d}.msg")


class OnTheLoop:
    """The durable outbox called synchronously on the loop."""

    def __init__(self, path: Path) -> None:
        self.outbox = Outbox(path)

    async def publish(self, topic: str, payload: bytes) -> None:
        self.outbox.append(topic, payload)


async def measure(pub: object, n: int, size: int) -> tuple[list[float], list[float]]:
    """Per-message publish latencies and ticker lateness (s) while publishing ``n`` messages."""
    payload = os.urandom(size)
    late: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.001)
            late.append(max(0.0, time.perf_counter() - t - 0.001))

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        await pub.publish("linkmargin/v1/samples/leaf01", payload)  # type: ignore[attr-defined]
        lat.append(time.perf_counter() - t)
        await asyncio.sleep(0.002)
    done.set()
    await tick
    return lat, late


def pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))]


async def run(n: int, size: int, rounds: int) -> str:
    base = Path(tempfile.mkdtemp(prefix="outbox-bench-", dir=ROOT))
    makers = {
        "previous": PreviousOutbox,
        "durable, on the loop": OnTheLoop,
        # never connects (port 1, no sender task): what is measured is the queueing
        "durable, off the loop": lambda d: MqttPublisher(MqttSettings(port=1), d),
    }
    res: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in makers}
    try:
        for r in range(rounds):
            for name, make in makers.items():
                d = base / f"{r}-{len(res[name][1])}-{name.replace(' ', '').replace(',', '-')}"
                lat, late = await measure(make(d), n, size)
                res[name][0].extend(lat)
                res[name][1].extend(late)
                shutil.rmtree(d)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    rows = []
    for name, (lat, late) in res.items():
        rows.append(
            f"| {name} | {statistics.median(lat) * 1e3:.3f} | {pct(lat, 0.99) * 1e3:.2f} | "
            f"{pct(late, 0.5) * 1e3:.2f} | {pct(late, 0.99) * 1e3:.2f} | {max(late) * 1e3:.1f} |"
        )
    load = os.getloadavg()[0]
    return (
        "# Outbox: what a queued batch costs the event loop\n\n"
        f"`bench/outbox_bench.py {n} {size} {rounds}` (MESSAGES SIZE ROUNDS), "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, this 2-core machine shared with other jobs "
        f"(load {load:.1f}), ext4 on a virtual disk. {rounds} rounds of {n} messages of {size} B each, "
        "one every 2 ms, the three interleaved.\n\n"
        "| outbox | publish median ms | publish p99 ms | ticker late median ms | ticker late p99 ms | "
        "ticker late max ms |\n|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        "*previous*: write + rename on the loop, no fsync (a kill leaves whole messages, a power cut may "
        "not). *durable*: write, fsync, rename, directory fsync: `await publish()` returns once the "
        "batch is on disk. On the loop, every fsync holds up every other task; off the loop (the "
        "publisher's writer thread) the loop stays free for other devices' polls meanwhile.\n"
    )


def main() -> None:
    args = [int(a) for a in sys.argv[1:] if a.isdigit()]
    n, size, rounds = (args + [200, 20_000, 5][len(args) :])[:3]
    text = asyncio.run(run(n, size, rounds))
    out = ROOT / "bench" / "results" / "outbox.md"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
