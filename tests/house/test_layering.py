"""The layering contracts in pyproject.toml hold, and they really catch an import that breaks them.

Each check runs `lint-imports` (import-linter, as `make lint` does) on a copy of the packages, so a
violating import can be added without touching the repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("linkmargin", "linkmargin_cli", "collector", "analyzer", "lab", "dashboards")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _copy_tree(dst: Path) -> Path:
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, dst / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", dst / "pyproject.toml")
    return dst


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _add_import(tree: Path, module: str, statement: str) -> None:
    path = tree / Path(*module.split(".")).with_suffix(".py")
    path.write_text(path.read_text() + f"\n{statement}  # added by the test\n")


@pytest.fixture(scope="module")
def clean_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy_tree(tmp_path_factory.mktemp("tree"))


def test_contracts_hold_on_the_repository(clean_tree: Path) -> None:
    res = _lint(clean_tree)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "3 kept, 0 broken" in res.stdout


@pytest.mark.parametrize(
    ("module", "statement", "contract"),
    [
        ("collector.poller", "import analyzer.state", "never import each other"),
        ("analyzer.state", "from lab.physics import sim", "never import each other"),
        ("linkmargin.samples", "import collector.scheduler", "The core imports no other part"),
        ("analyzer.report", "import linkmargin_cli.wiring", "Only the composition root"),
    ],
)
def test_a_violating_import_breaks_a_contract(
    tmp_path: Path, module: str, statement: str, contract: str
) -> None:
    tree = _copy_tree(tmp_path)
    _add_import(tree, module, statement)
    res = _lint(tree)
    assert res.returncode == 1, res.stdout + res.stderr
    broken = [line for line in res.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(contract in line for line in broken), res.stdout


def test_inventory_check_loads_no_part() -> None:
    """`inventory check` runs on the core and the CLI alone: no lab, collector, analyzer or polars."""
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from linkmargin_cli import app\n"
        "res = CliRunner().invoke(app, ['inventory', 'check', 'configs/inventory.example.yaml'])\n"
        "assert res.exit_code == 0, res.output\n"
        "heavy = ('lab', 'collector', 'analyzer', 'dashboards', 'polars', 'matplotlib', 'pysnmp')\n"
        "print(' '.join(m for m in heavy if m in sys.modules))\n"
    )
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ""
