"""Corrupted sample batches cannot crash the process that decodes them.

Arrow's IPC reader checks a message's structure, not the offsets and lengths inside its buffers: a
batch with a few bytes flipped used to abort or segfault the decoder (found by fuzzing). A crash
there is a dead analyzer, so this runs seeded corruptions in a child process, where a crash shows as
a signal instead of taking pytest down with it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_CHILD = textwrap.dedent(
    """
    import random, sys
    from datetime import UTC, datetime
    import polars as pl
    from linkmargin.samples import conform
    from linkmargin.wire import SampleBatch, WireError, decode_batch, encode_batch

    frame = conform(pl.DataFrame({
        "ts": [datetime(2026, 1, 1, tzinfo=UTC)] * 4, "device": ["d1"] * 4,
        "port": ["Ethernet1", "Ethernet1", "Ethernet2", None], "lane": [1, 2, 1, None],
        "metric": ["rx_power_dbm", "tx_bias_ma", "fec_corrected_cw", "sys_uptime_cs"],
        "value": [-3.0, 6.5, 12.0, 100.0], "counter": [None, None, 12, None],
    }))
    valid = encode_batch(SampleBatch(device="d1", seq=1, frame=frame, producer="p", epoch=1))
    rng = random.Random(int(sys.argv[1]))
    rejected = 0
    for _ in range(int(sys.argv[2])):
        p = bytearray(valid)
        for _ in range(rng.randint(1, 8)):
            p[rng.randrange(len(p))] = rng.randrange(256)
        try:
            decode_batch(bytes(p))
        except WireError:
            rejected += 1
    print(rejected)
    """
)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_flipped_bytes_never_crash_the_decoder(seed: int) -> None:
    res = subprocess.run(
        [sys.executable, "-c", _CHILD, str(seed), "4000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert res.returncode == 0, f"decoder crashed (exit {res.returncode}): {res.stderr[-2000:]}"
    assert int(res.stdout) > 1000  # most corruptions are refused as WireError, none crash
