"""The cyclic garbage collector settled for a long stepped run (the backtest and its lab process)."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

GC_GEN0_THRESHOLD = 100_000
"""Allocations between young-generation collections in a backtest (Python's default is 700)."""


@contextmanager
def gc_settled() -> Iterator[Callable[[], None]]:
    """A call that settles the cyclic garbage collector for the rest of the run; restored on exit.

    Called after the first step (the lab's views, the inventory, the spec: millions of objects that live
    for the whole run), it moves them out of the collector's sight and collects the young generation
    less often. Each step renders and drops some 10^5 rows per switch; with the default threshold the
    collector rescanned the survivors, half of the lab's CPU time per step. Nothing any layer computes
    changes; objects still die by reference counting."""
    old = gc.get_threshold()

    def settle() -> None:
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_GEN0_THRESHOLD, old[1], old[2])

    try:
        yield settle
    finally:
        gc.unfreeze()
        gc.set_threshold(*old)
