"""Load an inventory from YAML (keeping line/column of every key) or from a CSV export.

Every problem becomes ``FILE:LINE:COL: path.to.field: message`` (YAML) or
``FILE:ROW: column: message`` (CSV); all are raised together in one :class:`InventoryError`.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from linkmargin.inventory.errors import InventoryError, InventoryIssue
from linkmargin.inventory.models import Inventory
from linkmargin.inventory.validate import validate_document
from linkmargin.yamlcheck import FileIssues, issues_at, plain, read_yaml

__all__ = ["CSV_COLUMNS", "load_csv", "load_inventory", "load_yaml"]


def load_yaml(path: str | Path) -> Inventory:
    """Load and validate a YAML inventory; raises InventoryError with every problem found."""
    name = str(path)
    try:
        root = read_yaml(path)
    except FileIssues as exc:
        raise InventoryError(exc.errors) from None
    inv, problems = validate_document(plain(root))
    if problems or inv is None:
        raise InventoryError(issues_at(name, root, problems))
    return inv.model_copy(update={"source": name})


# One row per connection point; link columns repeat on each of a link's rows.
LINK_COLUMNS = {
    "link_id": ("id",),
    "a_device": ("a", "device"),
    "a_port": ("a", "port"),
    "b_device": ("b", "device"),
    "b_port": ("b", "port"),
    "a_module": ("a", "module"),  # a broken-out module's optic at this end
    "a_lanes": ("a", "lanes"),  # its module lane(s) this end uses: "3" or "1 2" (";" or "," too)
    "b_module": ("b", "module"),
    "b_lanes": ("b", "lanes"),
    "optic": ("optic",),
    "fiber_type": ("fiber", "type"),
    "length_m": ("fiber", "length_m"),
}
POINT_COLUMNS = {
    "point_id": "id",
    "type": "type",
    "grade": "grade",
    "termination": "termination",
    "polish": "polish",
    "matings_before_records": "matings_before_records",
    "events": "events",  # "2026-01-10T08:00:00Z mated; 2026-05-02T13:20:00Z inspected:pass"
}
CSV_COLUMNS = (*LINK_COLUMNS, "position", *POINT_COLUMNS)
REQUIRED_CSV = ("link_id", "a_device", "a_port", "b_device", "b_port", "optic", "fiber_type", "length_m")


def _parse_events(cell: str) -> list[dict[str, str]]:
    events = []
    for chunk in filter(None, (c.strip() for c in cell.split(";"))):
        at, _, kind = chunk.partition(" ")
        kind, _, result = kind.strip().partition(":")
        ev = {"at": at, "kind": kind}
        if result:
            ev["result"] = result
        events.append(ev)
    return events


def load_csv(path: str | Path, base: Inventory | None = None) -> Inventory:
    """Load links from a CSV (one row per connection point), with devices from ``base`` if given."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError([InventoryIssue(name, 1, None, "(file)", f"cannot read: {exc}")]) from None
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    issues = [
        InventoryIssue(name, 1, None, col, "missing required column")
        for col in REQUIRED_CSV
        if col not in header
    ]
    issues += [
        InventoryIssue(name, 1, None, col, f"unknown column (known: {', '.join(CSV_COLUMNS)})")
        for col in header
        if col not in CSV_COLUMNS
    ]
    if issues:
        raise InventoryError(issues)
    links: list[dict[str, Any]] = []
    by_id: dict[str, int] = {}
    link_row: dict[int, int] = {}
    point_row: dict[tuple[int, int], int] = {}
    ordered: list[tuple[int, int, float, dict[str, Any]]] = []
    for rowno, row in enumerate(reader, start=2):
        cells = {k: (v or "").strip() for k, v in row.items() if k is not None}
        lid = cells["link_id"]
        if lid not in by_id:
            doc: dict[str, Any] = {"connections": []}
            for col, path_ in LINK_COLUMNS.items():
                if cells.get(col):
                    tgt = doc
                    for p in path_[:-1]:
                        tgt = tgt.setdefault(p, {})
                    tgt[path_[-1]] = cells[col]
            by_id[lid] = len(links)
            link_row[len(links)] = rowno
            links.append(doc)
        else:
            i = by_id[lid]
            first = links[i]
            for col, path_ in LINK_COLUMNS.items():
                val: Any = first
                for p in path_:
                    val = val.get(p, "") if isinstance(val, dict) else ""
                if cells.get(col, "") != val:
                    issues.append(
                        InventoryIssue(
                            name, rowno, None, col, f"differs from row {link_row[i]} of link {lid!r}"
                        )
                    )
        if not cells.get("point_id") and not cells.get("type"):
            continue  # a link row with no connection point
        point: dict[str, Any] = {}
        for col, key in POINT_COLUMNS.items():
            if cells.get(col):
                point[key] = _parse_events(cells[col]) if key == "events" else cells[col]
        try:
            pos = float(cells["position"]) if cells.get("position") else float(rowno)
        except ValueError:
            issues.append(InventoryIssue(name, rowno, None, "position", "expected a number"))
            pos = float(rowno)
        ordered.append((by_id[lid], rowno, pos, point))
    for i, rowno, _pos, point in sorted(ordered, key=lambda t: (t[0], t[2])):
        point_row[(i, len(links[i]["connections"]))] = rowno
        links[i]["connections"].append(point)
    for lk in links:
        for side in ("a", "b"):
            end = lk.get(side)
            if isinstance(end, dict) and isinstance(end.get("lanes"), str):
                end["lanes"] = end["lanes"].replace(";", " ").replace(",", " ").split()
    doc_all: dict[str, Any] = {"site": Path(path).stem, "links": links}
    if base is not None:
        doc_all["site"] = base.site.model_dump()
        doc_all["credentials"] = {k: v.model_dump(exclude_none=True) for k, v in base.credentials.items()}
        if base.gnmi_credentials:
            doc_all["gnmi_credentials"] = {
                k: v.model_dump(exclude_none=True) for k, v in base.gnmi_credentials.items()
            }
        doc_all["devices"] = [d.model_dump() for d in base.devices]
    inv, problems = validate_document(doc_all)
    rev_link = {v: k for k, v in LINK_COLUMNS.items()}
    rev_point = {v: k for k, v in POINT_COLUMNS.items()}
    for loc, msg in problems:
        r, col = 1, "(file)"
        if len(loc) >= 2 and loc[0] == "links" and isinstance(loc[1], int):
            i = loc[1]
            if len(loc) >= 4 and loc[2] == "connections" and isinstance(loc[3], int):
                r = point_row.get((i, loc[3]), link_row[i])
                col = rev_point.get(str(loc[4]), "point_id") if len(loc) > 4 else "point_id"
                if len(loc) > 5 and loc[4] == "events":
                    col = "events"
                    msg = f"event {loc[5]}: {msg}"
            else:
                r = link_row[i]
                field = tuple(str(p) for p in loc[2:])
                col = rev_link.get(field) or rev_link.get(field[:2], "link_id")  # a.lanes.0: a_lanes
        issues.append(InventoryIssue(name, r, None, col, msg))
    if issues or inv is None:
        raise InventoryError(issues)
    return inv.model_copy(update={"source": name})


def load_inventory(path: str | Path, devices_from: str | Path | None = None) -> Inventory:
    """Load and validate an inventory (YAML, or CSV with devices from the YAML ``devices_from``).

    Raises :class:`InventoryError` whose ``errors`` list holds every problem found.
    """
    if str(path).lower().endswith(".csv"):
        return load_csv(path, load_yaml(devices_from) if devices_from else None)
    return load_yaml(path)
