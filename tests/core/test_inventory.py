"""Inventory API: load_inventory, InventoryError.errors, mating counts, CSV import and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkmargin.budget import expected_channel_loss
from linkmargin.catalog import optic
from linkmargin.inventory import InventoryError, load_inventory

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "configs" / "inventory.example.yaml"
EXAMPLE_CSV = ROOT / "configs" / "inventory.example.csv"

HEADER = "link_id,a_device,a_port,b_device,b_port,optic,fiber_type,length_m,position,point_id,type,events\n"


def test_example_loads() -> None:
    inv = load_inventory(EXAMPLE)
    assert inv.site.name == "dc1-example"
    assert len(inv.devices) == 8 and len(inv.links) == 8
    kinds = {cp.catalog.family for lk in inv.links for cp in lk.connections}
    assert {"MTP", "MPO", "MMC-field"} <= kinds
    assert {optic(lk.optic).nominal_rate_gbps for lk in inv.links} >= {400, 800}
    p = inv.link("spine01-e1-1--leaf01-e49").connections[0]
    assert p.mating_count == 3 + 1  # matings_before_records + one mated event
    patch = inv.link("spine01-e1-2--leaf02-e49").connections[1]
    assert patch.mating_count == 13
    assert inv.link("spine01-e1-1--leaf01-e49").channel.fiber.length_m == 62


def test_replaced_resets_matings() -> None:
    from linkmargin.inventory import ConnectionPoint

    cp = ConnectionPoint.model_validate(
        {
            "id": "x",
            "type": "MPO-12",
            "matings_before_records": 40,
            "events": [
                {"at": "2026-01-01T00:00:00Z", "kind": "mated"},
                {"at": "2026-01-02T00:00:00Z", "kind": "replaced"},
                {"at": "2026-01-03T00:00:00Z", "kind": "mated"},
            ],
        }
    )
    assert cp.mating_count == 2  # the replacement mates the new part, then one more mating


def test_error_list_and_naive_time(tmp_path: Path) -> None:
    f = tmp_path / "x.yaml"
    f.write_text(
        "site: s\nlinks:\n  - id: a\n    a: {device: d1, port: p}\n    b: {device: d2, port: p}\n"
        "    optic: 100GBASE-SR4\n    fiber: {type: OM5, length_m: 10}\n"
        "    connections:\n      - {id: c, type: LC-UPC, events: [{at: 2026-01-01T00:00:00, kind: mated}]}\n"
    )
    with pytest.raises(InventoryError) as ei:
        load_inventory(f)
    errs = [str(e).removeprefix(str(tmp_path) + "/") for e in ei.value.errors]
    assert errs[0] == "x.yaml:7:19: links[0].fiber.type: 100GBASE-SR4 has no catalogued reach on OM5"
    assert errs[1].startswith(
        "x.yaml:9:45: links[0].connections[0].events[0].at: timestamp needs a time zone"
    )
    assert len(errs) == 2


def test_csv_example_matches_yaml_physics() -> None:
    inv = load_inventory(EXAMPLE_CSV, devices_from=EXAMPLE)
    lk = inv.link("leaf03-e57--leaf04-e57")
    assert [cp.id for cp in lk.connections] == ["leaf03-panel2-p05", "row6-mmc-01", "leaf04-panel2-p05"]
    assert lk.connections[1].mating_count == 2  # terminated, then mated: both are matings
    assert lk.connections[1].events[2].result == "pass"
    loss = expected_channel_loss(optic(lk.optic), "OM4", 35, [cp.catalog for cp in lk.connections])
    # 0.035 x 3.5 + 0.35 + 1.0 + 0.35
    assert loss.max_db == pytest.approx(0.1225 + 1.7)
    assert inv.link("leaf05-e57--leaf06-e59").connections[1].catalog.id == "MPO-12-LL"


def test_csv_errors(tmp_path: Path) -> None:
    f = tmp_path / "pts.csv"
    f.write_text(
        HEADER
        + "l1,s1,E1,l1,E49,400GBASE-SR8,OM4,62,1,p1,MTP-16,2026-01-10T08:00:00Z mated\n"
        + "l1,s1,E1,l1,E49,400GBASE-SR8,OM4,63,2,p2,MPO-17,\n"
        + "l2,s1,E1,l2,E49,400GBASE-XX,OM4,-5,1,p3,MTP-16,2026-01-10T08:00:00Z wiped\n"
    )
    with pytest.raises(InventoryError) as ei:
        load_inventory(f)
    errs = [str(e) for e in ei.value.errors]
    assert "pts.csv:3: length_m: differs from row 2 of link 'l1'" in [e.split("/")[-1] for e in errs]
    tail = [e.split("/")[-1] for e in errs]
    assert any(e.startswith("pts.csv:3: type: unknown connector type 'MPO-17'") for e in tail)
    assert "pts.csv:4: length_m: Input should be greater than 0" in tail
    assert any(e.startswith("pts.csv:4: a_port: s1 E1 is already used by link 'l1'") for e in tail)
    assert any(e.startswith("pts.csv:4: events: event 0: Input should be 'installed'") for e in tail)


def test_csv_missing_column(tmp_path: Path) -> None:
    f = tmp_path / "c.csv"
    f.write_text("link_id,a_device,colour\nx,y,z\n")
    with pytest.raises(InventoryError) as ei:
        load_inventory(f)
    tail = [str(e).split("/")[-1] for e in ei.value.errors]
    assert "c.csv:1: a_port: missing required column" in tail
    assert any(e.startswith("c.csv:1: colour: unknown column") for e in tail)


def test_port_index_and_far_end() -> None:
    inv = load_inventory(EXAMPLE)
    idx = inv.port_index()
    lk, side = idx[("leaf03", "Ethernet49")]
    assert lk.id == "spine02-e1-1--leaf03-e49" and side == "b"
    assert lk.far_end(side).device == "spine02"
    assert len(idx) == 2 * len(inv.links)  # validation guarantees no port is shared
