"""One definition of a mating: the inventory's counts and the analyzer spec's agree on every event kind."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from linkmargin.inventory import Inventory
from linkmargin.inventory.matings import MATING_KINDS, count_matings
from linkmargin.inventory.metrics import InventoryCollector
from linkmargin.inventory.models import EVENT_KINDS
from linkmargin_cli.wiring import spec_from_inventory


def _ev(day: int, kind: str) -> dict[str, object]:
    return {
        "at": f"2026-01-{day:02d}T08:00:00Z",
        "kind": kind,
        **({"result": "pass"} if kind == "inspected" else {}),
    }


# p-all: every event kind once, the replacement in the middle; p-norep: no replacement, 4 before records
EVERY_KIND = [
    "installed",
    "mated",
    "unmated",
    "mated",
    "replaced",
    "terminated",
    "cleaned",
    "inspected",
    "mated",
]
NO_REPLACE = ["installed", "terminated", "mated", "unmated", "cleaned", "inspected", "mated"]


def _inventory() -> Inventory:
    return Inventory.model_validate(
        {
            "site": {"name": "t"},
            "links": [
                {
                    "id": "L1",
                    "a": {"device": "d1", "port": "p1"},
                    "b": {"device": "d2", "port": "p1"},
                    "optic": "400GBASE-DR4",
                    "fiber": {"type": "OS2", "length_m": 40},
                    "connections": [
                        {
                            "id": "p-all",
                            "type": "MPO-12",
                            "matings_before_records": 7,
                            "events": [_ev(i + 1, k) for i, k in enumerate(EVERY_KIND)],
                        },
                        {
                            "id": "p-norep",
                            "type": "LC-UPC",
                            "matings_before_records": 4,
                            "events": [_ev(i + 1, k) for i, k in enumerate(NO_REPLACE)],
                        },
                    ],
                }
            ],
        }
    )


def test_inventory_and_analyzer_spec_count_the_same_matings() -> None:
    assert set(EVERY_KIND) == set(EVENT_KINDS) and set(EVENT_KINDS) > MATING_KINDS
    inv = _inventory()
    spec = spec_from_inventory(inv)
    # the analyzer's count: spec events it expects a step after, per point
    ev = spec.events.filter(pl.col("kind").is_in(list(MATING_KINDS)))
    spec_count = dict(ev.group_by("point").len().iter_rows())
    assert spec_count == {"p-all": 5, "p-norep": 3}  # mated x3 + replaced + terminated; terminated + mated x2
    # the inventory's recorded count, its Prometheus counter (everything has happened by 2027), and the
    # count of the installed part all agree with it
    metrics = {
        s.labels["point"]: s.value
        for fam in InventoryCollector(inv, clock=lambda: datetime(2027, 1, 1, tzinfo=UTC)).collect()
        if fam.name == "linkmargin_connection_matings"
        for s in fam.samples
    }
    for cp in inv.links[0].connections:
        assert count_matings(e.kind for e in cp.events) == spec_count[cp.id]
        assert metrics[cp.id] == cp.matings_before_records + spec_count[cp.id]
    p_all, p_norep = inv.links[0].connections
    # a field termination cuts a new end face: its own mating and those after it count, not the 4
    # matings before records
    assert p_norep.mating_count == spec_count["p-norep"] == 3
    # after a replacement or a re-termination only the new end face counts: that event's own mating
    # and those after it (p-all: replaced, then terminated, then mated once)
    new_face_at = ev.filter(pl.col("point") == "p-all", pl.col("kind") == "terminated")["ts"][0]
    assert (
        p_all.mating_count == ev.filter(pl.col("point") == "p-all", pl.col("ts") >= new_face_at).height == 2
    )
