"""Composition root: the CLI and the wiring of lab, collector, bus and analyzer.

This package is the only place where all parts meet. Each command group lives in its own module
and registers itself on :data:`app` when imported here.
"""

from __future__ import annotations

from linkmargin.cli import dashboards as _dashboards  # noqa: F401  (registers commands)
from linkmargin.cli import lab as _lab  # noqa: F401  (registers `linkmargin lab`)
from linkmargin.cli import collect as _collect  # noqa: F401
from linkmargin.cli import analyze as _analyze  # noqa: F401  (registers analyze, risk)
from linkmargin.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()


import linkmargin.cli.inventory  # noqa: E402,F401  registers `linkmargin inventory`
