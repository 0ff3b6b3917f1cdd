"""Durations as people write them: a number and one unit — s, m, h, d or w (``30s``, ``90m``, ``36h``,
``2.5d``, ``3w``) — the one parser of every part (CLI options, lab scenarios). ``m`` is minutes; a
calendar period such as polars' ``1mo`` is another thing and not parsed here.
"""

from __future__ import annotations

import re

__all__ = ["UNITS", "DurationError", "parse_duration"]

UNITS: dict[str, float] = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhdw])\s*")


class DurationError(ValueError):
    """Text that is not a duration; the message says what is expected."""


def parse_duration(text: str) -> float:
    """``'21d'`` -> 1814400.0 seconds; raises :class:`DurationError` for anything else (no unit,
    an unknown unit, a negative or non-finite number)."""
    m = _DURATION.fullmatch(text)
    if m is None:
        raise DurationError(
            f"{text!r} is not a duration: expected a number and s, m, h, d or w (e.g. 30s, 21d)"
        )
    return float(m.group(1)) * UNITS[m.group(2)]
