"""CLI parameter parsing shared by the commands: a bad value is one line on stderr and exit status 2."""

from __future__ import annotations

import typer

from linkmargin.durations import DurationError, parse_duration


def seconds(text: str, option: str) -> float:
    """The duration ``text`` given to ``option`` (e.g. ``--horizon``) in seconds; s, m, h, d or w."""
    try:
        return parse_duration(text)
    except DurationError as exc:
        typer.echo(f"{option}: {exc}", err=True)  # one line (typer's error box wraps a long message)
        raise typer.Exit(2) from None
