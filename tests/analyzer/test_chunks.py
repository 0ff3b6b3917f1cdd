"""Chunks of whole groups: never more lanes than asked unless one group is bigger, every lane once,
and the estimators that split themselves into them do not split a chunk again (the full
training-21d's 16,384 lanes in chunks of 8,192 once recursed without end in the DOM offsets)."""

from __future__ import annotations

import numpy as np
import pytest

import analyzer.calibration as calibration
import analyzer.reflection as reflection
from analyzer.trend import group_chunks


def test_chunks_hold_whole_groups_and_at_most_the_chunk_size() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        sizes = rng.integers(1, 12, rng.integers(1, 300))
        group = np.repeat(np.arange(sizes.size), sizes)
        rng.shuffle(group)
        step = int(rng.integers(1, 40))
        chunks = group_chunks(group, step)
        np.testing.assert_array_equal(np.sort(np.concatenate(chunks)), np.arange(group.size))
        for c in chunks:
            ids = np.unique(group[c])
            assert c.size <= step or ids.size == 1  # a group bigger than a chunk is one of its own
            assert sum(int((group == i).sum()) for i in ids) == c.size  # whole groups only


@pytest.mark.parametrize("module", [calibration, reflection])
def test_an_estimator_in_chunks_of_uneven_ports_ends(module, monkeypatch) -> None:
    """Ports of 3 and 9 lanes against chunks of 8: a chunk of one 9-lane port is not split again."""
    monkeypatch.setattr(module, "LANE_CHUNK", 8)
    group = np.repeat(np.arange(6), [3, 9, 3, 3, 9, 3])
    n, hours = group.size, 30
    rng = np.random.default_rng(1)
    margin = rng.normal(3.0, 0.1, (n, hours))
    ber = np.full((n, hours), 1e-6)
    limit = np.full(n, 2.4e-4)
    if module is calibration:
        off, used = calibration.rx_offsets(margin, ber, limit, group)
        assert off.shape == (n,) and used.shape == (n,)
    else:
        got = reflection.ber_beyond_rx(margin, ber, limit, np.full(n, 53.125e9), group=group)
        assert got.flagged.shape == (n,)
