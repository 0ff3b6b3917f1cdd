"""Rendezvous hashing splits a fleet between N collectors: every device in exactly one shard, stable
across processes, and adding a shard moves only the devices the new shard wins (about 1/(N+1))."""

from __future__ import annotations

import subprocess
import sys

import pytest

from linkmargin.shards import Shard, ShardError, parse_shard, shard_of

NAMES = [f"leaf{i:04d}" for i in range(4000)] + [f"spine{i:02d}" for i in range(64)]


@pytest.mark.parametrize("n", range(1, 9))
def test_every_device_in_exactly_one_of_n_shards(n: int) -> None:
    owners = {name: [i for i in range(1, n + 1) if Shard(i, n).owns(name)] for name in NAMES}
    assert all(len(o) == 1 for o in owners.values())
    sizes = [sum(1 for o in owners.values() if o == [i]) for i in range(1, n + 1)]
    assert sum(sizes) == len(NAMES)
    fair = len(NAMES) / n
    assert all(abs(s - fair) < 0.12 * fair for s in sizes), sizes  # balanced within 12 %


@pytest.mark.parametrize("n", range(1, 8))
def test_adding_a_shard_moves_about_its_share(n: int) -> None:
    before = {name: shard_of(name, n) for name in NAMES}
    after = {name: shard_of(name, n + 1) for name in NAMES}
    moved = [name for name in NAMES if before[name] != after[name]]
    assert all(after[name] == n + 1 for name in moved)  # only the new shard takes devices
    share = len(moved) / len(NAMES)
    assert abs(share - 1 / (n + 1)) < 0.03, (n, share)


def test_stable_across_processes() -> None:
    code = "from linkmargin.shards import shard_of; print([shard_of(f'leaf{i:04d}', 5) for i in range(50)])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == str([shard_of(f"leaf{i:04d}", 5) for i in range(50)])


def test_select_keeps_order_and_partitions() -> None:
    names = NAMES[:100]
    parts = [Shard(i, 3).select(names) for i in (1, 2, 3)]
    assert sorted(n for p in parts for n in p) == sorted(names)
    assert all(p == [n for n in names if n in set(p)] for p in parts)


@pytest.mark.parametrize("spec", ["3/2", "0/2", "2", "a/b", "1/0", "-1/2", "1/5000"])
def test_bad_specs_are_refused(spec: str) -> None:
    with pytest.raises(ShardError):
        parse_shard(spec)


def test_parse() -> None:
    assert parse_shard(" 2 / 4 ") == Shard(2, 4)
    assert str(parse_shard("1/1")) == "1/1"
