"""Dashboards: valid against the JSON schema generated from Grafana's own ``@grafana/schema`` types (the
pinned npm package, installed by ``make setup``), the committed JSON is what the code generates, the
drill-downs carry what they must, and every query is PromQL Prometheus accepts."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from dashboards.build import dashboards, panel_queries, variable_queries
from tests.services import prometheus

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PKG = Path(__file__).resolve().parent / "grafana-schema"
TYPES = SCHEMA_PKG / "node_modules/@grafana/schema/dist/esm/raw/dashboard/x/dashboard_types.gen.d.ts"
GENERATOR = SCHEMA_PKG / "node_modules/.bin/ts-json-schema-generator"
BUILT = dashboards()
# what Grafana substitutes into a query before it runs it (one value each)
SUBST = {
    "$__rate_interval": "1m",
    "$horizon": "21d",
    "$link": "L1",
    "$device": "leaf01",
    "$port": "Ethernet1",
}


def substitute(expr: str, values: dict[str, str]) -> str:
    for k in sorted(values, key=len, reverse=True):  # $device before $d...
        expr = expr.replace(k, values[k])
    return expr


@pytest.fixture(scope="session")
def grafana_schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The Dashboard type of the pinned @grafana/schema as JSON schema, generated now by the pinned
    ts-json-schema-generator (strict: no property the type does not declare)."""
    if not (TYPES.exists() and GENERATOR.exists()):
        pytest.fail(f"{SCHEMA_PKG}/node_modules is missing: run `make setup` (npm ci --prefix {SCHEMA_PKG})")
    out = tmp_path_factory.mktemp("schema") / "dashboard.schema.json"
    res = subprocess.run(
        [str(GENERATOR), "--path", str(TYPES), "--type", "Dashboard", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=SCHEMA_PKG,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    schema: dict[str, Any] = json.loads(out.read_text())
    return schema


def errors(schema: dict[str, Any], doc: dict[str, Any]) -> list[str]:
    return [
        f"{list(e.absolute_path)}: {e.message}" for e in jsonschema.Draft7Validator(schema).iter_errors(doc)
    ]


@pytest.mark.parametrize("b", BUILT, ids=lambda b: b.uid)
def test_valid_against_grafana_schema(b: Any, grafana_schema: dict[str, Any]) -> None:
    assert errors(grafana_schema, b.doc) == []


def test_the_schema_has_teeth(grafana_schema: dict[str, Any]) -> None:
    # what the hand-written dashboards had: an annotation with top-level expr, a variable with definition
    doc = copy.deepcopy(BUILT[0].doc)
    doc["annotations"] = {
        "list": [{"name": "m", "datasource": {"uid": "x"}, "enable": True, "iconColor": "red", "expr": "up"}]
    }
    doc["templating"]["list"][1]["definition"] = "label_values(up, job)"
    doc["panels"][1]["gridPos"]["w"] = "wide"
    found = errors(grafana_schema, doc)
    assert len(found) == 3, found


@pytest.mark.parametrize("b", BUILT, ids=lambda b: b.uid)
def test_committed_json_is_current(b: Any) -> None:
    committed = json.loads((ROOT / "dashboards" / f"{b.uid}.json").read_text())
    assert committed == b.doc, "run `linkmargin dashboards build` and commit the result"


def test_layout_has_no_overlaps_and_fits_the_grid() -> None:
    for b in BUILT:
        cells: set[tuple[int, int]] = set()
        for p in b.doc["panels"]:
            g = p["gridPos"]
            assert g["x"] >= 0 and g["x"] + g["w"] <= 24, p["title"]
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    assert (x, y) not in cells, f"{b.uid}: {p['title']} overlaps"
                    cells.add((x, y))


def test_every_panel_explains_itself() -> None:
    for b in BUILT:
        assert b.doc.get("description"), b.uid
        for p in b.doc["panels"]:
            if p["type"] != "row":
                assert len(p.get("description", "")) >= 40, f"{b.uid} / {p['title']}: no description"
        for v in b.doc["templating"]["list"]:
            if v["type"] == "query":
                assert v.get("description"), f"{b.uid} / ${v['name']}"


def _urls(node: Any) -> list[str]:
    """Every link URL anywhere in a JSON document."""
    if isinstance(node, dict):
        own = [node["url"]] if isinstance(node.get("url"), str) else []
        return own + [u for v in node.values() for u in _urls(v)]
    if isinstance(node, list):
        return [u for v in node for u in _urls(v)]
    return []


def test_drill_downs_carry_time_range_datasource_and_variables() -> None:
    by = {b.uid: b.doc for b in BUILT}
    to_link = [u for u in _urls(by["linkmargin-fleet"]["panels"]) if u.startswith("/d/linkmargin-link")]
    assert to_link, "fleet panels link to no link dashboard"
    to_lanes = [u for u in _urls(by["linkmargin-link"]["panels"]) if u.startswith("/d/linkmargin-lanes")]
    assert to_lanes, "link panels link to no lanes dashboard"
    for u in to_link + to_lanes:
        assert "${__url_time_range}" in u and "${datasource:queryparam}" in u and "var-link=" in u, u
    for u in to_lanes:
        assert "var-device=${__field.labels.device}" in u and "var-port=${__field.labels.port}" in u, u
    # the worst-links table links from its link column
    table = next(p for p in by["linkmargin-fleet"]["panels"] if p["type"] == "table")
    assert any("var-link=${__value.raw}" in u for u in _urls(table["fieldConfig"]["overrides"]))
    # the lanes dashboard is keyed by a link, and its device and port come from that link's ends
    names = [n for n, _, _ in variable_queries(by["linkmargin-lanes"])]
    assert names[:3] == ["link", "device", "port"]
    for b in BUILT:  # every dashboard reaches the others with time and variables
        assert b.doc["links"] and all(x["keepTime"] and x["includeVars"] for x in b.doc["links"])


def test_worst_links_table_shows_what_to_do() -> None:
    fleet = next(b.doc for b in BUILT if b.uid == "linkmargin-fleet")
    table = next(p for p in fleet["panels"] if p["type"] == "table")
    exprs = " ".join(t["expr"] for t in table["targets"])
    for metric in (
        "linkmargin_risk_probability",
        "linkmargin_link_margin_db",
        "linkmargin_margin_forecast_db",
    ):
        assert metric in exprs
    assert "max by (link, point, cause, action) (linkmargin_link_suspect_point_info)" in exprs
    shown = set(table["transformations"][1]["options"]["renameByName"].values())
    assert {
        "Margin now (dB)",
        "Forecast at horizon (dB)",
        "P(margin lost)",
        "Suspect point",
        "Likely cause",
        "Action",
    } <= shown


def test_fec_is_shown_per_port_and_thresholds_and_events_on_rx() -> None:
    for b in BUILT:
        for title, exprs in panel_queries(b.doc):
            p = next(p for p in b.doc["panels"] if p["title"] == title)
            if any("fec_" in e for e in exprs):
                assert "port" in title.lower(), title
                assert all("lane" not in t.get("legendFormat", "") for t in p["targets"]), title
            if title.startswith("Rx power"):
                assert any("linkmargin_module_threshold" in e for e in exprs), title
                assert any(
                    "linkmargin_connection_events_total" in e and "point" in t["legendFormat"]
                    for e, t in zip(exprs, p["targets"], strict=True)
                ), title
    wanted = ("Oper status", "Uncorrectable", "Pre-FEC", "FCS and symbol", "Transceiver")
    for uid in ("linkmargin-link", "linkmargin-lanes"):
        titles = " | ".join(t for t, _ in panel_queries(next(b.doc for b in BUILT if b.uid == uid)))
        assert all(w in titles for w in wanted), (uid, titles)


def test_cli_builds(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "linkmargin_cli", "dashboards", "build", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "provisioning.yaml" in out.stdout
    expected = {f"{b.uid}.json" for b in BUILT} | {"provisioning.yaml"}
    assert {p.name for p in tmp_path.iterdir()} == expected


def test_every_query_parses_in_real_prometheus(tmp_path: Path) -> None:
    with prometheus(tmp_path, targets=[]) as prom:
        for b in BUILT:
            queries = [(t, e) for t, es in panel_queries(b.doc) for e in es]
            queries += [
                (f"${n}", re.sub(r"^query_result\((.*)\)$", r"\1", q)) for n, q, _ in variable_queries(b.doc)
            ]
            for title, expr in queries:
                if expr.startswith("label_values("):
                    expr = re.sub(r"^label_values\((.*), *\w+\)$", r"\1", expr)
                expr = substitute(expr, SUBST)
                try:
                    prom.query(expr)
                except Exception as exc:  # bad_data: a typo in the PromQL
                    raise AssertionError(f"{b.uid} / {title}: {expr}: {exc}") from exc


def test_schema_package_is_pinned() -> None:
    pkg = json.loads((SCHEMA_PKG / "package.json").read_text())
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in pkg["dependencies"].values()), pkg
    lock = json.loads((SCHEMA_PKG / "package-lock.json").read_text())
    assert (
        lock["packages"]["node_modules/@grafana/schema"]["version"] == pkg["dependencies"]["@grafana/schema"]
    )
    assert shutil.which("node") or Path("/usr/bin/node").exists()


def test_panel_ids_unique() -> None:
    for b in BUILT:
        ids = [p["id"] for p in b.doc["panels"]]
        assert len(set(ids)) == len(ids) and 0 not in ids, b.uid


def test_wear_and_reflections_are_on_the_dashboards() -> None:
    """A link's points with matings against rated cycles and the next mating's hazard; the fleet's wear
    curve per family; the reflection excess per lane."""
    by = {b.uid: dict(panel_queries(b.doc)) for b in BUILT}
    link = next(e for t, e in by["linkmargin-link"].items() if "linkmargin_connection_point_matings" in e[0])
    for metric in (
        "linkmargin_connection_point_rated_matings",
        "linkmargin_connection_point_step_probability",
        "linkmargin_connection_point_step_probability_low",
        "linkmargin_connection_point_step_probability_high",
    ):
        assert any(metric + "{" in e for e in link), metric
    assert all('link="$link"' in e for e in link)
    assert any("linkmargin_wear_step_probability" in e[0] for e in by["linkmargin-fleet"].values())
    lanes = [e for e in by["linkmargin-lanes"].values() if "linkmargin_ber_excess_db" in e[0]]
    assert lanes and 'device="$device",port="$port"' in lanes[0][0]
