"""``linkmargin history``: check (and optionally compact) a Parquet history directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from linkmargin_cli.app import app

history_app = typer.Typer(help="Inspect the collector's Parquet history.", no_args_is_help=True)
app.add_typer(history_app, name="history")

EXIT_BAD = 2


@history_app.command("check")
def check(
    root: Annotated[
        Path, typer.Argument(metavar="DIR", help="History directory (the collector's parquet root)")
    ],
    compact: Annotated[
        bool,
        typer.Option("--compact", help="Then merge each partition's small files (safe while collecting)"),
    ] = False,
) -> None:
    """Read every file of the history; print each unreadable one as FILE: reason and exit 2 on any."""
    from linkmargin import history

    if not root.is_dir():
        typer.echo(f"{root}: not a directory", err=True)
        raise typer.Exit(EXIT_BAD)
    files = history.list_history(root, deep=True, warn=False)
    for bad in files.bad:
        typer.echo(str(bad), err=True)
    typer.echo(
        f"{root}: {len(files.good)} readable files, {files.rows:,} rows, {len(files.bad)} unreadable"
        + (f", {len(files.superseded)} superseded by a compaction" if files.superseded else "")
    )
    if compact:
        history.clean(root)
        merged = history.compact(root, force=True)
        typer.echo(
            f"{root}: compacted {merged} files into {len(history.list_history(root, warn=False).good)}"
        )
    if files.bad:
        raise typer.Exit(EXIT_BAD)
