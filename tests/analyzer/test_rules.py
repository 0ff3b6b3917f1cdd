"""The shipped Prometheus rules and Alertmanager routes, checked by the real promtool and amtool."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.services import Webhook, alertmanager

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "configs" / "prometheus"
AM = ROOT / "configs" / "alertmanager.example.yml"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
AMTOOL = shutil.which("amtool") or "/usr/bin/amtool"


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=60)


def test_rules_check_and_unit_tests_pass() -> None:
    res = _run(PROMTOOL, "check", "rules", "rules.yml", cwd=PROM)
    assert res.returncode == 0, res.stdout + res.stderr
    res = _run(PROMTOOL, "test", "rules", "rules_test.yml", cwd=PROM)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout


def test_rule_tests_can_fail(tmp_path: Path) -> None:
    # the same tests with link B dropped from the expected page must fail: the tests have teeth
    shutil.copy(PROM / "rules.yml", tmp_path / "rules.yml")
    text = (PROM / "rules_test.yml").read_text()
    broken = text.replace("link: B, point: trunk-7", "link: B, point: trunk-8")
    assert broken != text
    (tmp_path / "rules_test.yml").write_text(broken)
    res = _run(PROMTOOL, "test", "rules", "rules_test.yml", cwd=tmp_path)
    assert res.returncode != 0


def test_alertmanager_config_valid_and_routes() -> None:
    res = _run(AMTOOL, "check-config", str(AM))
    assert res.returncode == 0, res.stdout + res.stderr

    def route(*labels: str) -> str:
        r = _run(AMTOOL, "config", "routes", "test", f"--config.file={AM}", *labels)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    assert route("severity=critical", "team=fabric", "alertname=LinkMarginExhausted") == "fabric-oncall"
    assert route("severity=warning", "team=fabric", "alertname=LinkMarginForecastRisk") == "fabric-oncall"
    assert route("severity=info", "team=fabric", "alertname=LinkDegrading") == "noc-webhook"
    dead = ("severity=critical", "team=fabric", "alertname=LinkMarginDeviceUnreachable", "device=leaf1")
    assert route(*dead, "a_device=leaf1", "b_device=leaf1") == "fabric-oncall"
    assert route("severity=critical", "team=fabric", "alertname=LinkDown", "link=L1") == "fabric-oncall"
    assert (
        route("severity=critical", "team=fabric", "alertname=LinkUncorrectableCodewords") == "fabric-oncall"
    )
    assert route("severity=critical", "team=fabric", "alertname=LinkMarginBusDown") == "fabric-oncall"
    assert route("severity=warning", "team=fabric", "alertname=LinkFlapping") == "noc-webhook"
    assert route("severity=warning", "team=fabric", "alertname=LinkMarginOutboxGrowing") == "noc-webhook"
    # wear and reflections are tickets: planned work, nothing fails now (configs/prometheus/rules.yml)
    worn = ("severity=warning", "team=fabric", "alertname=LinkConnectionPointWorn", "point=W-mmc")
    assert route(*worn) == "noc-webhook"
    assert (
        route("severity=warning", "team=fabric", "alertname=LinkReflection", "point=R-mmc") == "noc-webhook"
    )


def test_alerts_grouped_by_suspect_point() -> None:
    cfg = YAML(typ="safe").load(AM.read_text())
    assert "point" in cfg["route"]["group_by"] and "link" not in cfg["route"]["group_by"]
    rules = YAML(typ="safe").load((PROM / "rules.yml").read_text())
    margin = next(g for g in rules["groups"] if g["name"] == "linkmargin-margin")
    for rule in margin["rules"]:
        assert "linkmargin_link_suspect_point_info" in rule["expr"], rule["alert"]


def test_every_alert_has_a_runbook_and_a_summary() -> None:
    rules = YAML(typ="safe").load((PROM / "rules.yml").read_text())
    runbooks = (ROOT / "docs" / "RUNBOOKS.md").read_text()
    anchors = {
        "#" + re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
        for h in re.findall(r"^## (.+)$", runbooks, re.M)
    }
    alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    assert len(alerts) >= 14
    for rule in alerts:
        url = rule["annotations"]["runbook_url"]
        assert url.startswith("docs/RUNBOOKS.md#") and url.split("RUNBOOKS.md")[1] in anchors, rule["alert"]
        assert "{{ $labels." in rule["annotations"]["summary"], rule["alert"]


def _post_alerts(am: str, alerts: list[dict[str, dict[str, str]]]) -> None:
    req = urllib.request.Request(
        f"http://{am}/api/v2/alerts",
        data=json.dumps(alerts).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(req, timeout=5).read()


def test_one_dead_switch_pages_once(tmp_path: Path) -> None:
    # leaf1 stops answering: its own page arrives, the alerts of the three links it ends (as a or b end) do
    # not; a link between two other switches still pages. A real Alertmanager with the shipped config.
    cfg = tmp_path / "alertmanager.yml"
    cfg.write_text(AM.read_text().replace("group_wait: 30s", "group_wait: 1s"))
    hook = Webhook()

    def alert(name: str, **labels: str) -> dict[str, dict[str, str]]:
        return {
            "labels": {"alertname": name, "team": "fabric", "severity": "critical", **labels},
            "annotations": {"summary": name},
        }

    try:
        with alertmanager(tmp_path / "am", cfg, webhook_url=hook.url) as am:
            _post_alerts(
                am,
                [
                    alert(
                        "LinkMarginDeviceUnreachable",
                        device="leaf1",
                        a_device="leaf1",
                        b_device="leaf1",
                        instance="c1",
                    )
                ],
            )
            time.sleep(0.5)
            _post_alerts(
                am,
                [
                    alert("LinkDown", link="L1", a_device="spine1", b_device="leaf1"),
                    alert("LinkDown", link="L2", a_device="leaf1", b_device="spine2"),
                    alert("LinkUncorrectableCodewords", link="L3", a_device="spine2", b_device="leaf1"),
                    alert("LinkMarginBreakerOpen", device="leaf1", instance="c1", severity="warning"),
                    alert("LinkDown", link="L9", a_device="spine3", b_device="leaf9"),
                ],
            )
            hook.wait(lambda path, body: any(a["labels"].get("link") == "L9" for a in body["alerts"]), 30)
            time.sleep(3)  # anything else that was going to be sent has been
    finally:
        hook.close()
    sent = [
        (a["labels"]["alertname"], a["labels"].get("link") or a["labels"].get("device"))
        for _, body in hook.received
        for a in body["alerts"]
    ]
    assert sorted(set(sent)) == [("LinkDown", "L9"), ("LinkMarginDeviceUnreachable", "leaf1")], sent
    assert sent.count(("LinkMarginDeviceUnreachable", "leaf1")) == 1  # one page for the switch


@pytest.mark.parametrize("tool", [PROMTOOL, AMTOOL])
def test_tools_present(tool: str) -> None:
    assert Path(tool).exists()
