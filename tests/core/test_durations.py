"""One duration parser for every part: s, m, h, d, w; anything else is refused with one clear line,
and on the CLI that line comes with exit status 2, before any work starts."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lab.scenario import parse_time
from linkmargin.durations import UNITS, DurationError, parse_duration

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("90m", 5400), ("36h", 129600), ("21d", 1814400), ("3w", 1814400), ("2.5d", 216000),
     (" 6h ", 21600), ("0.5m", 30), (".5h", 1800)],
)  # fmt: skip
def test_units(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@given(st.integers(min_value=0, max_value=10**9), st.sampled_from(sorted(UNITS)))
def test_integer_amounts_round_trip(n: int, unit: str) -> None:
    assert parse_duration(f"{n}{unit}") == n * UNITS[unit]


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False), st.sampled_from(sorted(UNITS)))
def test_decimal_amounts(x: float, unit: str) -> None:
    text = f"{x:.6f}{unit}"
    assert parse_duration(text) == pytest.approx(float(f"{x:.6f}") * UNITS[unit])


@given(st.text(max_size=12))
def test_anything_else_is_refused_cleanly(text: str) -> None:
    """Arbitrary text is either a duration or a DurationError naming the text; never another error."""
    try:
        got = parse_duration(text)
    except DurationError as exc:
        assert repr(text) in str(exc) and "s, m, h, d or w" in str(exc)
    else:
        assert got >= 0 and text.strip()[-1] in UNITS


@pytest.mark.parametrize(
    "bad", ["", "21", "d", "21x", "21 days", "-3d", "1e3s", "nan h", "inf d", "3dd", "1mo"]
)
def test_bad(bad: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(bad)


def test_scenario_offsets_use_it() -> None:
    """A scenario's offsets take the same units as the CLI (weeks included), times stay ISO."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_time("1w", start) == start + timedelta(weeks=1)
    assert parse_time("30s", start) == start + timedelta(seconds=30)
    assert parse_time("2026-11-02T00:00:00Z", start) == start + timedelta(days=1)
    with pytest.raises(ValueError, match=r"expected a time .* or an offset"):
        parse_time("3x", start)


@pytest.mark.parametrize(
    "args",
    [
        ["backtest", "--scenario", "demo", "--horizon", "21x"],
        ["backtest", "--scenario", "demo", "--min-lead", "6"],
        ["risk", "--history", ".", "--spec", ".", "--horizon", "3 weeks"],
    ],
)
def test_cli_bad_duration_is_a_usage_error(args: list[str]) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "linkmargin_cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    option, bad = args[-2:]
    assert r.stderr.splitlines() == [
        f"linkmargin {args[0]}: Invalid value for '{option}': {bad!r} is not a duration: "
        "expected a number and s, m, h, d or w (e.g. 30s, 21d)",
        f"Try 'linkmargin {args[0]} --help'.",
    ]
