"""The whole stack, started as a user starts it: `linkmargin demo` (lab agents, collector, bus,
analyzer, /metrics) scraped by a real Prometheus that evaluates our alert rules and sends to a real
Alertmanager routing to a webhook this test holds. Every dashboard query must return data.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dashboards.build import DASHBOARDS, queries, to_json
from tests.services import Webhook, alertmanager, free_port, prometheus

ROOT = Path(__file__).resolve().parents[2]


def _fast(text: str) -> str:
    """Test timings: the rules' `for:` and Alertmanager's grouping waits shortened, logic unchanged."""
    for old, new in (
        ("for: 5m", "for: 0s"),
        ("for: 15m", "for: 0s"),
        ("for: 1h", "for: 0s"),
        ("group_wait: 30s", "group_wait: 1s"),
        ("group_interval: 5m", "group_interval: 1s"),
    ):
        text = text.replace(old, new)
    return text


@pytest.mark.timeout(420)
def test_demo_feeds_prometheus_alertmanager_and_every_dashboard(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(_fast((ROOT / "configs/prometheus/rules.yml").read_text()))
    am_cfg = tmp_path / "alertmanager.yml"
    am_cfg.write_text(_fast((ROOT / "configs/alertmanager.example.yml").read_text()))
    port = free_port()
    hook = Webhook()
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "linkmargin_cli",
            "demo",
            "--duration",
            "300",  # an upper bound: the test ends the demo with SIGINT (Ctrl-C) once it has seen enough
            "--speed",
            "1800",
            "--poll",
            "1",
            "--metrics-port",
            str(port),
            "--workdir",
            str(tmp_path / "demo"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"COLUMNS": "160", "PATH": "/usr/bin:/bin"},
    )
    try:
        with (
            alertmanager(tmp_path / "am", am_cfg, webhook_url=hook.url) as am,
            prometheus(tmp_path / "prom", [f"127.0.0.1:{port}"], rule_files=[rules], alertmanager=am) as prom,
        ):
            # The lab's optics arrive through SNMP and the collector, in physical units.
            rx = prom.wait_for("linkmargin_rx_power_dbm", timeout=90)
            assert len(rx) > 100
            values = [float(s["value"][1]) for s in rx]
            assert all(-30.0 < v < 8.0 for v in values), "Rx outside any PMD window: a unit error"
            prom.wait_for('linkmargin_risk_probability{horizon="21d"}', timeout=90)
            one = rx[0]["metric"]
            subst = {"$horizon": "21d", "$device": one["device"], "$port": one["port"]}
            # The links the demo drives toward zero margin (a failing laser, dirty re-matings of a field
            # point) must page as a forecast risk, routed by our own config.
            received = hook.wait(
                lambda path, body: any(
                    a["labels"].get("alertname") == "LinkMarginForecastRisk" for a in body.get("alerts", [])
                ),
                timeout=240,  # a loaded machine slows the analysis passes, not the lab's clock
            )
            paths = {path for path, _ in received}
            assert "/fabric" in paths, paths
            time.sleep(3)  # a few scrapes, so rate() and changes() have two points
            empty = []
            for dash in DASHBOARDS:
                for title, expr in queries(to_json(dash)):
                    for k, v in subst.items():
                        expr = expr.replace(k, v)
                    if title.startswith("annotation"):
                        continue  # an event marker may rightly be empty now; its metric is checked below
                    if not prom.query(expr):
                        empty.append(f"{dash.uid} / {title}: {expr}")
            assert not empty, "dashboard panels with no data:\n" + "\n".join(empty)
            assert prom.query("linkmargin_connection_matings_total"), "annotation source missing"
    finally:
        if demo.poll() is None:
            demo.send_signal(signal.SIGINT)  # as a user ends it: the pre-flight report still prints
        out, _ = demo.communicate(timeout=120)
        hook.close()
    assert demo.returncode == 0, out[-3000:]
    assert "Pre-flight" in out
