"""The lab is its own world: it shares no estimator-facing function with the analyzer.

The analyzer reads BER and margin through ``linkmargin.budget``'s Q mapping; a lab that computed its
BER with the same functions would make every DOM calibration exact by construction. This walks the
AST of every module in lab/ and fails on an import of ``analyzer`` or of any such function (by name,
or through the ``budget`` module object).
"""

from __future__ import annotations

import ast
from pathlib import Path

import linkmargin.budget as budget

LAB = Path(__file__).resolve().parents[2] / "lab"

# what the analyzer uses to turn telemetry into BER, Q or margin (its estimators)
ESTIMATORS = {
    "ber_at_margin_db",
    "ber_margin_db",
    "ber_from_q",
    "q_from_ber",
    "ber_from_corrected_cw",
    "ber_from_corrected_fraction",
    "ber_from_symbol_errors",
    "ber_margin_decades",
    "ber_floor",
    "p_uncorrectable_cw",
    "lane_power_margin_db",
    "lane_power_margin_db_array",
    "threshold_margin_db",
}


def _violations(src: str, name: str) -> list[str]:
    out = []
    tree = ast.parse(src)
    budget_aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] == "analyzer":
                out.append(f"{name}:{node.lineno}: imports {node.module}")
            if node.module == "linkmargin.budget":
                out += [
                    f"{name}:{node.lineno}: imports budget.{a.name}"
                    for a in node.names
                    if a.name in ESTIMATORS
                ]
                out += [f"{name}:{node.lineno}: imports budget.*" for a in node.names if a.name == "*"]
            if node.module == "linkmargin":
                budget_aliases |= {a.asname or a.name for a in node.names if a.name == "budget"}
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "analyzer":
                    out.append(f"{name}:{node.lineno}: imports {a.name}")
                if a.name == "linkmargin.budget":
                    budget_aliases.add(a.asname or "linkmargin.budget")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ESTIMATORS:
            base = ast.unparse(node.value)
            if base in budget_aliases or base.endswith("budget"):
                out.append(f"{name}:{node.lineno}: uses {base}.{node.attr}")
    return out


def test_the_estimator_list_names_real_functions() -> None:
    assert all(callable(getattr(budget, f)) for f in ESTIMATORS)


def test_the_checker_catches_each_way_in() -> None:
    assert _violations("from linkmargin.budget import ber_at_margin_db\n", "x")
    assert _violations("from linkmargin import budget as b\nb.ber_margin_db(1, 2)\n", "x")
    assert _violations("import linkmargin.budget\nlinkmargin.budget.q_from_ber(1)\n", "x")
    assert _violations("from analyzer.laser import CLIMB_PER_DAY\n", "x")
    assert _violations("import analyzer.calibration\n", "x")
    assert not _violations("from linkmargin.catalog import optic\n", "x")


def test_nothing_in_the_lab_uses_an_analyzer_estimator() -> None:
    files = sorted(LAB.rglob("*.py"))
    assert len(files) > 20
    bad = [v for f in files for v in _violations(f.read_text(), str(f.relative_to(LAB.parent)))]
    assert bad == []
