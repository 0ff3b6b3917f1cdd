"""``linkmargin history``: check, compact and age out a Parquet history (a directory or s3://)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from linkmargin_cli.app import app

history_app = typer.Typer(help="Inspect the collector's Parquet history.", no_args_is_help=True)
app.add_typer(history_app, name="history")

EXIT_BAD = 2


def _duration(text: str | None) -> str | None:
    from linkmargin.durations import DurationError, parse_duration

    if text is not None:
        try:
            parse_duration(text)
        except DurationError as exc:
            raise typer.BadParameter(str(exc)) from None
    return text


@history_app.command("check")
def check(
    root: Annotated[
        str,
        typer.Argument(
            metavar="ROOT",
            help="History directory (the collector's parquet root) or s3://BUCKET/PREFIX (AWS_* env keys)",
        ),
    ],
    compact: Annotated[
        bool,
        typer.Option(
            "--compact",
            help="Then merge each partition's small files into one per day (and device group); safe while "
            "collecting, but run one compaction per history at a time on S3",
        ),
    ] = False,
    retain: Annotated[
        str | None,
        typer.Option(
            "--retain",
            help="First delete the days wholly older than this (30d, 8w): retention by age",
            callback=_duration,
        ),
    ] = None,
) -> None:
    """Read every file of the history; print each unreadable one as FILE: reason and exit 2 on any."""
    from linkmargin import history
    from linkmargin.durations import parse_duration

    if not history.is_object_url(root) and not Path(root).is_dir():
        typer.echo(f"{root}: not a directory", err=True)
        raise typer.Exit(EXIT_BAD)
    store = history.open_store(root)
    if retain is not None:
        gone = history.retain(store, parse_duration(retain))
        typer.echo(f"{root}: deleted {len(gone)} day partitions older than {retain}" + (
            f" ({gone[0].removeprefix('date=')} .. {gone[-1].removeprefix('date=')})" if gone else ""
        ))  # fmt: skip
    files = history.list_history(store, deep=True, warn=False)
    for bad in files.bad:
        typer.echo(str(bad), err=True)
    typer.echo(
        f"{root}: {len(files.good)} readable files, {files.rows:,} rows, {len(files.bad)} unreadable"
        + (f", {len(files.superseded)} superseded by a compaction" if files.superseded else "")
    )
    if compact:
        history.clean(store)
        merged = history.compact(store, force=True)
        typer.echo(
            f"{root}: compacted {merged} files into {len(history.list_history(store, warn=False).good)}"
        )
    if files.bad:
        raise typer.Exit(EXIT_BAD)
