"""Dashboards: the committed JSON is what the code generates, and every query is PromQL Prometheus accepts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dashboards.build import DASHBOARDS, queries, to_json
from tests.services import prometheus

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("dash", DASHBOARDS, ids=lambda d: d.uid)
def test_committed_json_is_current(dash: object) -> None:
    committed = json.loads((ROOT / "dashboards" / f"{dash.uid}.json").read_text())  # type: ignore[attr-defined]
    assert committed == to_json(dash), "run `linkmargin dashboards build` and commit the result"  # type: ignore[arg-type]


def test_layout_has_no_overlaps_and_fits_the_grid() -> None:
    for dash in DASHBOARDS:
        cells: set[tuple[int, int]] = set()
        for p in to_json(dash)["panels"]:
            g = p["gridPos"]
            assert g["x"] >= 0 and g["x"] + g["w"] <= 24, p["title"]
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    assert (x, y) not in cells, f"{dash.uid}: {p['title']} overlaps"
                    cells.add((x, y))


def test_cli_builds(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "linkmargin_cli", "dashboards", "build", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "provisioning.yaml" in out.stdout
    expected = {f"{d.uid}.json" for d in DASHBOARDS} | {"provisioning.yaml"}
    assert {p.name for p in tmp_path.iterdir()} == expected


def test_every_query_parses_in_real_prometheus(tmp_path: Path) -> None:
    # Variables get a concrete value, as Grafana would substitute them.
    subst = {"$horizon": "21d", "$device": "leaf01", "$port": "Ethernet1"}
    with prometheus(tmp_path, targets=[]) as prom:
        for dash in DASHBOARDS:
            for title, expr in queries(to_json(dash)):
                for k, v in subst.items():
                    expr = expr.replace(k, v)
                try:
                    prom.query(expr)
                except Exception as exc:  # bad_data: a typo in the PromQL
                    raise AssertionError(f"{dash.uid} / {title}: {expr}: {exc}") from exc
