"""Composition root: the CLI and the wiring of lab, collector, bus and analyzer.

This package is the only place where all parts meet. Each command group lives in its own module
and registers itself on :data:`app` when imported here.
"""

from __future__ import annotations

# Each import registers its commands on `app`.
from linkmargin.cli import analyze as _analyze  # noqa: F401  (analyze, risk)
from linkmargin.cli import backtest as _backtest  # noqa: F401  (backtest)
from linkmargin.cli import collect as _collect  # noqa: F401  (poll, collect)
from linkmargin.cli import dashboards as _dashboards  # noqa: F401  (dashboards build)
from linkmargin.cli import demo as _demo  # noqa: F401  (demo, run)
from linkmargin.cli import inventory as _inventory  # noqa: F401  (inventory check/show)
from linkmargin.cli import lab as _lab  # noqa: F401  (lab serve/snapshot/truth)
from linkmargin.cli import query as _query  # noqa: F401  (query cohorts/trending/sql)
from linkmargin.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
