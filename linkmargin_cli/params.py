"""CLI parameter parsing shared by the commands: a bad value is a usage error (two lines, exit 2)."""

from __future__ import annotations

import typer

from linkmargin.durations import DurationError, parse_duration


def seconds(text: str, option: str) -> float:
    """The duration ``text`` given to ``option`` (e.g. ``--horizon``) in seconds; s, m, h, d or w."""
    try:
        return parse_duration(text)
    except DurationError as exc:
        raise typer.BadParameter(str(exc), param_hint=f"'{option}'") from None
