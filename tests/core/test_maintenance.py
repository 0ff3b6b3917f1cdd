"""The inventory's planned work: `maintenance:` windows, validated like the rest, future times allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkmargin.inventory import InventoryError, load_inventory

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "configs" / "inventory.example.yaml"


def _with(tmp_path: Path, windows: str) -> Path:
    text = EXAMPLE.read_text().split("\nmaintenance:")[0]
    p = tmp_path / "inv.yaml"
    p.write_text(text + "\nmaintenance:\n" + windows)
    return p


def test_the_example_plans_work_in_the_future() -> None:
    inv = load_inventory(EXAMPLE)
    assert [w.id for w in inv.maintenance] == ["row4-repatch", "leaf06-trunk-swap"]
    work = inv.planned_work()
    assert ("row4-repatch", "spine02-e1-1--leaf03-e49", "row4-mmc-07") in {w[:3] for w in work}
    kinds = {(w[2], w[4]) for w in work}
    assert ("row4-mmc-07", "cleaned") in kinds and ("row4-mmc-07", "mated") in kinds
    # a window on a link covers every connection point of it
    swap = {w[2] for w in work if w[0] == "leaf06-trunk-swap"}
    assert swap == {"spine01-panel9-p01", "mdf-xconn-p17", "leaf06-panel2-p01"}


def test_a_window_on_a_link_does_not_mate_its_splice(tmp_path: Path) -> None:
    inv = load_inventory(
        _with(
            tmp_path,
            "  - {id: w, start: 2030-01-01T00:00:00Z, end: 2030-01-01T04:00:00Z,\n"
            "     links: [spine01-e1-3--leaf05-e49], actions: [mate]}\n",
        )
    )
    assert "tray2-splice-11" not in {w[2] for w in inv.planned_work()}
    assert {w[2] for w in inv.planned_work()} == {"spine01-panel4-p01", "leaf05-panel1-p01"}


@pytest.mark.parametrize(
    ("window", "where", "says"),
    [
        (
            "  - {id: w, start: 2030-01-01T00:00:00Z, end: 2030-01-01T04:00:00Z,"
            " links: [spine01-e1-1--leaf01-e4],"
            " actions: [mate]}\n",
            "maintenance[0].links[0]",
            "did you mean 'spine01-e1-1--leaf01-e49'",
        ),
        (
            "  - {id: w, start: 2030-01-01T00:00:00Z, end: 2030-01-01T04:00:00Z, points: [row4-mmc-7],"
            " actions: [mate]}\n",
            "maintenance[0].points[0]",
            "unknown connection point 'row4-mmc-7'",
        ),
        (
            "  - {id: w, start: 2030-01-01T00:00:00Z, end: 2030-01-01T04:00:00Z, points: [tray2-splice-11],"
            " actions: [mate]}\n",
            "maintenance[0].points[0]",
            "splice",
        ),
        (
            "  - {id: w, start: 2030-01-01T04:00:00Z, end: 2030-01-01T00:00:00Z, points: [row4-mmc-07],"
            " actions: [mate]}\n",
            "maintenance[0]",
            "not after start",
        ),
        (
            "  - {id: w, start: 2030-01-01T00:00:00Z, end: 2030-01-01T04:00:00Z, actions: [mate]}\n",
            "maintenance[0]",
            "either links",
        ),
        (
            "  - {id: w, start: 2030-01-01T00:00:00Z, end: 2030-01-01T04:00:00Z, points: [row4-mmc-07],"
            " actions: [polish]}\n",
            "maintenance[0].actions[0]",
            "clean",
        ),
        (
            "  - {id: w, start: 2030-01-01T00:00:00, end: 2030-01-01T04:00:00Z, points: [row4-mmc-07],"
            " actions: [mate]}\n",
            "maintenance[0].start",
            "time zone",
        ),
    ],
)
def test_a_bad_window_is_an_error_at_its_position(tmp_path: Path, window: str, where: str, says: str) -> None:
    p = _with(tmp_path, window)
    with pytest.raises(InventoryError) as exc:
        load_inventory(p)
    errs = [str(e) for e in exc.value.errors]
    assert len(errs) == 1, errs
    lines = p.read_text().splitlines()
    line = next(i for i, t in enumerate(lines, start=1) if t.startswith("maintenance:")) + 1
    assert errs[0].startswith(f"{p}:{line}:") and f": {where}: " in errs[0] and says in errs[0], errs


def test_duplicate_window_ids(tmp_path: Path) -> None:
    w = (
        "  - {id: w, start: 2030-01-01T00:00:00Z, end: 2030-01-01T04:00:00Z,"
        " points: [row4-mmc-07], actions: [mate]}\n"
    )
    with pytest.raises(InventoryError) as exc:
        load_inventory(_with(tmp_path, w + w))
    assert [e.path for e in exc.value.errors] == ["maintenance[1].id"]


def test_recorded_events_in_the_future_are_still_errors(tmp_path: Path) -> None:
    p = tmp_path / "inv.yaml"
    text = EXAMPLE.read_text().replace("2026-02-14T10:05:00Z", "2099-02-14T10:05:00Z")
    p.write_text(text)
    with pytest.raises(InventoryError) as exc:
        load_inventory(p)
    assert any("event in the future" in str(e) for e in exc.value.errors)
