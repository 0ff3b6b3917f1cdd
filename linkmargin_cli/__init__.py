"""Composition root: the CLI and the wiring of lab, collector, bus and analyzer.

This package is the only place where all parts meet (docs/ARCHITECTURE.md, "Layering"). Each
command lives in a module of its own and registers itself on :data:`app` when imported here; those
modules import only typer and the standard library at their top, and the parts they drive inside
the command, so `linkmargin inventory check` does not load the lab, the collector or polars.
"""

from __future__ import annotations

import sys

import typer

# Each import registers its commands on `app`.
from linkmargin_cli import analyze as _analyze  # noqa: F401  (analyze, risk)
from linkmargin_cli import backtest as _backtest  # noqa: F401  (backtest)
from linkmargin_cli import collect as _collect  # noqa: F401  (poll, collect)
from linkmargin_cli import dashboards as _dashboards  # noqa: F401  (dashboards build)
from linkmargin_cli import demo as _demo  # noqa: F401  (demo)
from linkmargin_cli import history as _history  # noqa: F401  (history check)
from linkmargin_cli import inventory as _inventory  # noqa: F401  (inventory check/show)
from linkmargin_cli import lab as _lab  # noqa: F401  (lab serve/snapshot/truth)
from linkmargin_cli import profiles as _profiles  # noqa: F401  (profiles)
from linkmargin_cli import query as _query  # noqa: F401  (query cohorts/trending/sql)
from linkmargin_cli import run as _run  # noqa: F401  (run)
from linkmargin_cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point: a mistake on the command line is two lines on stderr and exit 2."""
    # typer 0.29 carries its own copy of click; its exceptions are these (typer is pinned to 0.29.x)
    from typer._click import exceptions as click
    from typer._click.utils import echo

    try:
        rv = app(standalone_mode=False, prog_name="linkmargin")
    except click.NoArgsIsHelpError as exc:
        echo(exc.ctx.get_help() if exc.ctx else exc.format_message(), err=True)
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        path = exc.ctx.command_path if exc.ctx else "linkmargin"
        echo(f"{path}: {exc.format_message()}", err=True)
        echo(f"Try '{path} --help'.", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        echo(f"linkmargin: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except OSError as exc:  # a history store that cannot be used (S3 keys, endpoint): its own two lines
        from linkmargin.history import StoreError

        if not isinstance(exc, StoreError):
            raise
        echo(f"linkmargin: {exc}", err=True)
        sys.exit(2)
    sys.exit(rv if isinstance(rv, int) else 0)
