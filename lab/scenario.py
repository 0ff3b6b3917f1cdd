"""Scenario files: fleet size and mix, duration, seed, scheduled events. YAML in, a typed spec out."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from linkmargin.durations import DurationError, parse_duration

SCENARIO_DIR = Path(__file__).parent / "scenarios"


@dataclass(frozen=True)
class EventSpec:
    """One scheduled event; `at_s` is seconds after the scenario start."""

    at_s: float
    kind: str  # contaminate | bend | failing_laser | reboot | mate | clean | reterminate | maintenance
    link: int | str | None = None
    point: int | None = None
    db: float = 0.0
    lanes: tuple[int, ...] | None = None  # 1-based; None = every lane
    direction: str = "both"  # ab | ba | both
    side: str = "a"
    device: str | None = None
    rate_db_per_day: float = 0.0
    recorded: bool = True  # whether a user would have written it into the inventory
    duration_s: float = 0.0  # maintenance windows


@dataclass(frozen=True)
class Scenario:
    """A parsed scenario file."""

    name: str
    seed: int
    start: datetime
    duration_s: float
    step_s: float
    truth_step_s: float
    community: str
    v3_user: str
    fabric: dict[str, Any]
    background: dict[str, Any]
    random_faults: dict[str, int]
    events: tuple[EventSpec, ...] = field(default_factory=tuple)
    path: Path | None = None

    def at(self, t: datetime | float | str) -> float:
        """Seconds after start for an absolute time, an ISO string, or seconds already."""
        if isinstance(t, int | float):
            return float(t)
        if isinstance(t, str):
            t = parse_time(t, self.start)
        return (t - self.start).total_seconds()


def parse_time(text: str, start: datetime) -> datetime:
    """Parse '2026-01-01T00:00:00Z', or an offset from start like '36h', '2d', '90m', '30s', '1w'."""
    with contextlib.suppress(DurationError):
        return start + timedelta(seconds=parse_duration(text))
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r}: expected a time (2026-11-01T00:00:00Z) or an offset (30s, 90m, 36h, 2d, 1w)"
        ) from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _seconds(v: Any, start: datetime) -> float:
    if isinstance(v, int | float):
        return float(v) * 3600.0  # bare numbers are hours
    if isinstance(v, datetime):
        v = v if v.tzinfo else v.replace(tzinfo=UTC)
        return (v - start).total_seconds()
    return (parse_time(str(v), start) - start).total_seconds()


def resolve(name_or_path: str | Path) -> Path:
    """A scenario path, or the name of one shipped in lab/scenarios ("demo" -> demo.yaml)."""
    p = Path(name_or_path)
    if p.exists():
        return p
    shipped = SCENARIO_DIR / f"{p.stem}.yaml"
    if shipped.exists():
        return shipped
    raise FileNotFoundError(f"no scenario {name_or_path!r} (nor {shipped})")


def load_scenario(name_or_path: str | Path, seed: int | None = None) -> Scenario:
    """Load and validate a scenario YAML file (a path or a shipped name); `seed` overrides the file's."""
    path = resolve(name_or_path)
    raw = YAML(typ="safe").load(path.read_text())
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a scenario is a mapping")
    start_raw = raw.get("start", "2026-11-01T00:00:00Z")
    start = start_raw if isinstance(start_raw, datetime) else parse_time(str(start_raw), datetime.now(UTC))
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    events = []
    for i, e in enumerate(raw.get("events", []) or []):
        if "kind" not in e or "at" not in e:
            raise ValueError(f"{path}: events[{i}]: needs 'at' and 'kind'")
        lanes = e.get("lanes")
        events.append(
            EventSpec(
                at_s=_seconds(e["at"], start),
                kind=str(e["kind"]),
                link=e.get("link"),
                point=e.get("point"),
                db=float(e.get("db", 0.0)),
                lanes=tuple(int(x) for x in lanes) if lanes else None,
                direction=str(e.get("direction", "both")),
                side=str(e.get("side", "a")),
                device=e.get("device"),
                rate_db_per_day=float(e.get("rate_db_per_day", 0.0)),
                recorded=bool(
                    e.get("recorded", e["kind"] in ("mate", "clean", "reterminate", "maintenance"))
                ),
                duration_s=_seconds(e["duration"], start) if "duration" in e else 3600.0,
            )
        )
    return Scenario(
        name=str(raw.get("name", path.stem)),
        seed=int(seed if seed is not None else raw.get("seed", 1)),
        start=start,
        duration_s=_seconds(raw.get("duration", "1d"), start),
        step_s=float(raw.get("step_s", 300)),
        truth_step_s=float(raw.get("truth_step_s") or raw.get("step_s") or 300),
        community=str(raw.get("community", "public")),
        v3_user=str(raw.get("v3_user", "labv3")),
        fabric=dict(raw.get("fabric", {})),
        background=dict(raw.get("background", {}) or {}),
        random_faults={k: int(v) for k, v in (raw.get("random_faults", {}) or {}).items()},
        events=tuple(sorted(events, key=lambda e: e.at_s)),
        path=path,
    )
