"""Splitting a fleet between N collectors: ``--shard i/N`` and rendezvous (highest random weight) hashing.

Each device goes to the shard whose ``blake2b(shard number, device name)`` is highest. The hash is
stable across processes and machines (never Python's salted ``hash``), every device lands in exactly
one shard, and going from N to N+1 shards moves only the devices the new shard wins: about 1/(N+1).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
MAX_SHARDS = 4096


class ShardError(ValueError):
    """A shard spec that is not ``i/N`` with 1 <= i <= N."""


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``of``; ``Shard(1, 1)`` is the whole fleet."""

    index: int
    of: int

    def __post_init__(self) -> None:
        if not 1 <= self.of <= MAX_SHARDS:
            raise ShardError(f"shard count {self.of} must be 1..{MAX_SHARDS}")
        if not 1 <= self.index <= self.of:
            raise ShardError(f"shard {self.index}/{self.of}: the shard number must be 1..{self.of}")

    def __str__(self) -> str:
        return f"{self.index}/{self.of}"

    def owns(self, name: str) -> bool:
        """Whether this shard polls the device ``name``."""
        return shard_of(name, self.of) == self.index

    def select(self, names: Iterable[str]) -> list[str]:
        """The names this shard owns, in their given order."""
        return [n for n in names if self.owns(n)]


def parse_shard(spec: str) -> Shard:
    """``"2/4"`` -> ``Shard(2, 4)``; raises :class:`ShardError` with a one-line reason."""
    m = _SPEC.match(spec)
    if m is None:
        raise ShardError(f"shard {spec!r}: expected i/N, e.g. 1/4 (the first of four collectors)")
    return Shard(int(m.group(1)), int(m.group(2)))


def _weight(name: str, shard: int) -> int:
    digest = hashlib.blake2b(f"{shard}\x00{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def shard_of(name: str, of: int) -> int:
    """The 1-based shard of ``of`` that owns device ``name`` (rendezvous hashing)."""
    return max(range(1, of + 1), key=lambda s: _weight(name, s))
