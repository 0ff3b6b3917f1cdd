"""The shipped Prometheus rules and Alertmanager routes, checked by the real promtool and amtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

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


def test_alerts_grouped_by_suspect_point() -> None:
    cfg = YAML(typ="safe").load(AM.read_text())
    assert "point" in cfg["route"]["group_by"] and "link" not in cfg["route"]["group_by"]
    rules = YAML(typ="safe").load((PROM / "rules.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert "linkmargin_link_suspect_point_info" in rule["expr"], rule["alert"]


@pytest.mark.parametrize("tool", [PROMTOOL, AMTOOL])
def test_tools_present(tool: str) -> None:
    assert Path(tool).exists()
