"""What counts as a mating of a connection point: one set of event kinds, one way to count them.

A mating brings a connector's end face into contact with another: ``mated`` (plugged in),
``terminated`` (a field termination, which ends with the new connector mated) and ``replaced``
(the new part is mated in). Each may leave a contamination step, and each wears the part.
``unmated``, ``cleaned``, ``inspected`` and ``installed`` are not matings. The inventory's counts,
its Prometheus view and the analyzer's step expectations all use this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

__all__ = ["MATING_KINDS", "count_matings", "is_mating", "matings_of_installed_part"]

MATING_KINDS: Final[frozenset[str]] = frozenset({"mated", "terminated", "replaced"})
"""Inventory event kinds that are a mating."""
NEW_END_FACE: Final[frozenset[str]] = frozenset({"replaced", "terminated"})
"""Event kinds after which the point has a new end face: its wear starts again."""


def is_mating(kind: str) -> bool:
    """Whether an inventory event of this kind is a mating."""
    return kind in MATING_KINDS


def count_matings(kinds: Iterable[str]) -> int:
    """How many of these event kinds are matings."""
    return sum(1 for k in kinds if k in MATING_KINDS)


def matings_of_installed_part(matings_before_records: int, kinds: Sequence[str]) -> int:
    """Matings of the part now installed, from its event kinds in recorded order.

    After a ``replaced`` or ``terminated`` event only the new end face counts: that event and the
    matings after it (the old part's matings, before records or not, went with it; a field
    termination cuts and polishes a new end face, so the old one's wear goes too). Otherwise every
    recorded mating plus ``matings_before_records``.
    """
    last = max((i for i, k in enumerate(kinds) if k in NEW_END_FACE), default=None)
    if last is None:
        return matings_before_records + count_matings(kinds)
    return count_matings(kinds[last:])
