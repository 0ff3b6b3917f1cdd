"""Generate the Grafana dashboards (JSON model, schemaVersion 39) from the panel tables below.

Plain dicts rather than grafana-foundation-sdk: the SDK's newest PyPI build targets Grafana 11.6 and
does not validate (checked when this was written), so it would add a dependency without catching errors.
Every panel's PromQL is run against a real Prometheus in the tests, which is the check that matters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


@dataclass(frozen=True)
class Panel:
    """One panel: a title, its PromQL targets, and how to draw it."""

    title: str
    exprs: tuple[str, ...]
    kind: str = "timeseries"  # timeseries | stat | table | bargauge
    unit: str = "none"
    legend: str = ""
    description: str = ""
    width: int = 12
    height: int = 8
    thresholds: tuple[tuple[float | None, str], ...] = ((None, "green"),)
    overrides: list[dict[str, Any]] = field(default_factory=list)
    instant: bool = False


@dataclass(frozen=True)
class Dashboard:
    """A dashboard: uid, title, template variables and rows of panels."""

    uid: str
    title: str
    description: str
    rows: tuple[tuple[str, tuple[Panel, ...]], ...]
    variables: tuple[tuple[str, str], ...] = ()  # (name, label_values query)
    annotations: tuple[tuple[str, str], ...] = ()  # (name, PromQL whose samples mark events)


MARGIN_STEPS = ((None, "red"), (0.0, "orange"), (1.0, "yellow"), (2.0, "green"))
RISK_STEPS = ((None, "green"), (0.1, "yellow"), (0.5, "red"))

FLEET = Dashboard(
    uid="linkmargin-fleet",
    title="linkmargin — fleet optical margin",
    description="Margin now and at the run horizon for every link; the worst first.",
    variables=(("horizon", "label_values(linkmargin_risk_probability, horizon)"),),
    annotations=(("Connector matings", "changes(linkmargin_connection_matings_total[5m]) > 0"),),
    rows=(
        (
            "Fleet",
            (
                Panel(
                    "Links at risk before the horizon",
                    ('count(linkmargin_risk_probability{horizon="$horizon"} >= 0.5) or vector(0)',),
                    kind="stat",
                    width=6,
                    height=4,
                    thresholds=((None, "green"), (1, "red")),
                    description="Links whose probability of crossing zero margin or the FEC limit "
                    "before the horizon is at least 50%.",
                    instant=True,
                ),
                Panel(
                    "Worst link margin now",
                    ("min(linkmargin_link_margin_db)",),
                    kind="stat",
                    unit="dB",
                    width=6,
                    height=4,
                    thresholds=MARGIN_STEPS,
                    instant=True,
                ),
                Panel(
                    "Worst forecast margin at the horizon",
                    ('min(linkmargin_margin_forecast_db{horizon="$horizon"})',),
                    kind="stat",
                    unit="dB",
                    width=6,
                    height=4,
                    thresholds=MARGIN_STEPS,
                    instant=True,
                ),
                Panel(
                    "Fastest degradation",
                    ("max(-linkmargin_degradation_db_per_day)",),
                    kind="stat",
                    unit="dB/day",
                    width=6,
                    height=4,
                    instant=True,
                ),
            ),
        ),
        (
            "Worst links",
            (
                Panel(
                    "20 worst links by risk at the horizon",
                    ('topk(20, linkmargin_risk_probability{horizon="$horizon"})',),
                    kind="table",
                    unit="percentunit",
                    width=12,
                    height=10,
                    thresholds=RISK_STEPS,
                    instant=True,
                ),
                Panel(
                    "Link margin now (20 worst)",
                    ("bottomk(20, linkmargin_link_margin_db)",),
                    kind="bargauge",
                    unit="dB",
                    legend="{{link}}",
                    width=12,
                    height=10,
                    thresholds=MARGIN_STEPS,
                    instant=True,
                ),
                Panel(
                    "Forecast margin at the horizon (10 worst)",
                    ('bottomk(10, linkmargin_margin_forecast_db{horizon="$horizon"})',),
                    unit="dB",
                    legend="{{link}}",
                    width=12,
                    thresholds=MARGIN_STEPS,
                ),
                Panel(
                    "Excess loss over the recorded channel's budget",
                    ("topk(10, linkmargin_excess_loss_db)",),
                    unit="dB",
                    legend="{{link}}",
                    width=12,
                ),
            ),
        ),
        (
            "Cohorts",
            (
                Panel(
                    "Loss-step probability per mating, by connector family x termination",
                    ("linkmargin_cohort_step_probability",),
                    kind="bargauge",
                    unit="percentunit",
                    legend="{{family}} {{termination}}",
                    width=24,
                    instant=True,
                ),
            ),
        ),
    ),
)

LANES = Dashboard(
    uid="linkmargin-lanes",
    title="linkmargin — per-lane drill-down",
    description="Optics, FEC and errors of one device and port, lane by lane.",
    variables=(
        ("device", "label_values(linkmargin_rx_power_dbm, device)"),
        ("port", 'label_values(linkmargin_rx_power_dbm{device="$device"}, port)'),
    ),
    annotations=(
        ("Connector matings", "changes(linkmargin_connection_matings_total[5m]) > 0"),
        ("Oper status changes", 'changes(linkmargin_oper_status{device="$device",port="$port"}[5m]) > 0'),
    ),
    rows=(
        (
            "Optics",
            (
                Panel(
                    "Rx power per lane",
                    ('linkmargin_rx_power_dbm{device="$device",port="$port"}',),
                    unit="dBm",
                    legend="lane {{lane}}",
                ),
                Panel(
                    "Tx power per lane",
                    ('linkmargin_tx_power_dbm{device="$device",port="$port"}',),
                    unit="dBm",
                    legend="lane {{lane}}",
                ),
                Panel(
                    "Tx bias per lane",
                    ('linkmargin_tx_bias_milliamperes{device="$device",port="$port"}',),
                    unit="mamp",
                    legend="lane {{lane}}",
                    width=8,
                ),
                Panel(
                    "Module temperature",
                    ('linkmargin_temperature_celsius{device="$device",port="$port"}',),
                    unit="celsius",
                    width=8,
                ),
                Panel(
                    "Power margin per lane",
                    ('linkmargin_margin_db{device="$device",port="$port"}',),
                    unit="dB",
                    legend="lane {{lane}} {{direction}}",
                    width=8,
                    thresholds=MARGIN_STEPS,
                ),
            ),
        ),
        (
            "FEC and errors",
            (
                Panel(
                    "FEC corrected codewords per second",
                    ('rate(linkmargin_fec_corrected_codewords_total{device="$device",port="$port"}[5m])',),
                    unit="cps",
                    legend="lane {{lane}}",
                    width=8,
                ),
                Panel(
                    "FEC uncorrectable codewords per second",
                    ('rate(linkmargin_fec_uncorrected_codewords_total{device="$device",port="$port"}[5m])',),
                    unit="cps",
                    legend="lane {{lane}}",
                    width=8,
                ),
                Panel(
                    "Degradation rate",
                    ('linkmargin_degradation_db_per_day{device="$device",port="$port"}',),
                    unit="dB/day",
                    legend="lane {{lane}}",
                    width=8,
                ),
            ),
        ),
    ),
)

COLLECTOR = Dashboard(
    uid="linkmargin-collector",
    title="linkmargin — collector health",
    description="Is the collector keeping its schedule? Poll durations, timeouts, freshness.",
    rows=(
        (
            "Collector",
            (
                Panel(
                    "Poll duration p95 by group",
                    (
                        "histogram_quantile(0.95, sum by (group, le) "
                        "(rate(linkmargin_collector_poll_duration_seconds_bucket[5m])))",
                    ),
                    unit="s",
                    legend="{{group}}",
                ),
                Panel(
                    "Seconds since last successful poll",
                    ("time() - linkmargin_collector_last_success_timestamp_seconds",),
                    unit="s",
                    legend="{{device}}",
                ),
                Panel(
                    "Timeouts per second",
                    ("sum by (device) (rate(linkmargin_collector_timeouts_total[5m]))",),
                    unit="ops",
                    legend="{{device}}",
                ),
                Panel(
                    "Varbinds per second",
                    ("sum(rate(linkmargin_collector_varbinds_total[5m]))",),
                    unit="ops",
                ),
            ),
        ),
    ),
)

DASHBOARDS = (FLEET, LANES, COLLECTOR)


def _panel_json(panel: Panel, pid: int, x: int, y: int) -> dict[str, Any]:
    steps = [{"color": color, "value": value} for value, color in panel.thresholds]
    targets = [
        {
            "refId": chr(ord("A") + i),
            "datasource": DATASOURCE,
            "expr": expr,
            "legendFormat": panel.legend,
            "instant": panel.instant,
            "range": not panel.instant,
        }
        for i, expr in enumerate(panel.exprs)
    ]
    doc: dict[str, Any] = {
        "id": pid,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "targets": targets,
        "fieldConfig": {
            "defaults": {"unit": panel.unit, "thresholds": {"mode": "absolute", "steps": steps}},
            "overrides": panel.overrides,
        },
        "options": {},
    }
    if panel.kind == "stat":
        doc["options"] = {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background"}
    return doc


def to_json(dash: Dashboard) -> dict[str, Any]:
    """The Grafana JSON model of ``dash``, laid out left to right, row by row."""
    panels: list[dict[str, Any]] = []
    pid, y = 1, 0
    for row_title, row_panels in dash.rows:
        panels.append(
            {
                "id": pid,
                "type": "row",
                "title": row_title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                "panels": [],
            }
        )
        pid, y, x, row_h = pid + 1, y + 1, 0, 0
        for panel in row_panels:
            if x + panel.width > 24:
                x, y, row_h = 0, y + row_h, 0
            panels.append(_panel_json(panel, pid, x, y))
            pid, x, row_h = pid + 1, x + panel.width, max(row_h, panel.height)
        y += row_h
    templating = [
        {
            "name": "datasource",
            "type": "datasource",
            "query": "prometheus",
            "label": "Prometheus",
        }
    ] + [
        {
            "name": name,
            "type": "query",
            "datasource": DATASOURCE,
            "query": {"query": query, "refId": "var"},
            "definition": query,
            "refresh": 2,
            "includeAll": False,
        }
        for name, query in dash.variables
    ]
    annotations = [
        {
            "name": name,
            "datasource": DATASOURCE,
            "enable": True,
            "iconColor": "orange",
            "expr": expr,
            "step": "60s",
            "titleFormat": name,
        }
        for name, expr in dash.annotations
    ]
    return {
        "uid": dash.uid,
        "title": dash.title,
        "description": dash.description,
        "tags": ["linkmargin"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "time": {"from": "now-24h", "to": "now"},
        "templating": {"list": templating},
        "annotations": {"list": annotations},
        "panels": panels,
    }


PROVISIONING = """\
# Grafana provisioning: point Grafana at this folder (e.g. /etc/grafana/provisioning/dashboards/).
apiVersion: 1
providers:
  - name: linkmargin
    folder: linkmargin
    type: file
    disableDeletion: false
    updateIntervalSeconds: 60
    options:
      path: {path}
"""


def build(out_dir: Path, grafana_path: str = "/var/lib/grafana/dashboards/linkmargin") -> list[Path]:
    """Write every dashboard and the provisioning file to ``out_dir``; return the paths written.

    ``grafana_path`` is where Grafana will find the JSON files (the provisioning file names it).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for dash in DASHBOARDS:
        path = out_dir / f"{dash.uid}.json"
        path.write_text(json.dumps(to_json(dash), indent=2) + "\n")
        written.append(path)
    prov = out_dir / "provisioning.yaml"
    prov.write_text(PROVISIONING.format(path=grafana_path))
    written.append(prov)
    return written


def queries(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """Every (panel title, PromQL) of a dashboard JSON, annotations included, variables expanded."""
    found = [(p["title"], t["expr"]) for p in doc["panels"] for t in p.get("targets", [])]
    found += [(f"annotation: {a['name']}", a["expr"]) for a in doc["annotations"]["list"]]
    return found


if __name__ == "__main__":
    for p in build(Path(__file__).parent):
        print(p)
