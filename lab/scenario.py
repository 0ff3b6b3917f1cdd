"""Scenario files: fleet size and mix, duration, seed, scheduled events. YAML in, a typed spec out.

Read like every user-written YAML (:mod:`linkmargin.yamlcheck`): unknown keys (with a did-you-mean),
wrong types and values out of range all come out at once as FILE:LINE:COL: path: message in a
:class:`ScenarioError`; a scenario that loads cannot hang the physics (a step of at least 1 s, a
bounded number of steps) nor silently run something else than written.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lab.physics.optics import MAX_LANES
from linkmargin import catalog
from linkmargin.durations import DurationError, parse_duration
from linkmargin.yamlcheck import (
    FileIssue,
    FileIssues,
    Loc,
    Problem,
    did_you_mean,
    issues_at,
    plain,
    pydantic_problems,
    read_yaml,
)

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
        try:
            return start + timedelta(seconds=parse_duration(text))
        except OverflowError:
            raise ValueError(f"{text!r}: too far from the start") from None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r}: expected a time (2026-11-01T00:00:00Z) or an offset (30s, 90m, 36h, 2d, 1w)"
        ) from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class ScenarioError(FileIssues):
    """A scenario file has errors; ``errors`` holds all of them as FILE:LINE:COL: path: message."""


# --- the file's shape: pydantic models, every key known, every number in range ------------------

MAX_DURATION_S = 366 * 86400.0  # a year of simulated time; a longer run is a typo (21w for 21d)
MIN_STEP_S = 1.0  # the physics advances in steps: a zero step never gets anywhere
MAX_STEPS = 10_000_000  # duration / step: more would run for days
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)  # a start to simulate
MAX_COUNT = 100_000  # switches, ports per switch, faults: far above any fabric the lab can serve
MAX_LINKS = 1_000_000

EventKind = Literal[
    "contaminate", "bend", "failing_laser", "reboot", "mate", "clean", "reterminate", "maintenance"
]
Layout = Literal["sonic", "arista", "cisco", "juniper"]  # lab.physics.fleet.PORT_NAME_FORMATS
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Metres = Annotated[float, Field(gt=0, le=20_000)]
TimeRef = datetime | str | int | float  # an offset (36h, 2d; a bare number is hours) or a time


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class ChainPoint(_Strict):
    """One connection point of a generated channel."""

    id: str | None = None
    type: str
    grade: Literal["standard", "low-loss"] | None = None
    termination: Literal["factory", "field"] = "factory"
    matings_before_records: Count | None = None

    @field_validator("type")
    @classmethod
    def _known_type(cls, v: str) -> str:
        known = catalog.all_connectors()
        if v not in known:
            raise ValueError(f"unknown connector type {v!r}{did_you_mean(v, known)}")
        return v


class Chain(_Strict):
    """A channel template: how often it occurs, and its points from end a to end b."""

    share: float = Field(gt=0, allow_inf_nan=False)
    points: list[ChainPoint] = Field(min_length=1)


class FabricDoc(_Strict):
    """``fabric:``: a generated leaf-spine fabric, or the links of an ``inventory:`` file."""

    spines: int = Field(default=2, ge=1, le=MAX_COUNT)
    leaves: int = Field(default=6, ge=1, le=MAX_COUNT)
    uplinks_per_leaf: int = Field(default=4, ge=1, le=MAX_COUNT)
    dark_ports_per_switch: Count = 1
    empty_ports_per_switch: Count = 1
    admin_down_links: Count = 1
    layouts: list[Layout] = Field(default=["sonic", "arista", "cisco", "juniper"], min_length=1)
    optics: dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(
        default={"400GBASE-DR4": 0.5, "400GBASE-SR8": 0.5}, min_length=1
    )
    length_m: tuple[Metres, Metres] = (10.0, 90.0)
    aging_share: float = Field(default=0.01, ge=0, le=1)
    chains: list[Chain] | None = Field(default=None, min_length=1)
    fiber: dict[str, str] = Field(default_factory=dict)  # optic -> fiber type, instead of the optic's own
    inventory: str | None = Field(default=None, min_length=1)  # the fleet from this inventory file
    device_layouts: dict[str, Layout] = Field(default_factory=dict)

    @field_validator("optics", "fiber")
    @classmethod
    def _known_optics(cls, v: dict[str, Any]) -> dict[str, Any]:
        known = catalog.all_optics()
        for name in v:
            if name not in known:
                raise ValueError(f"unknown optic {name!r}{did_you_mean(name, known)}")
        return v

    @model_validator(mode="after")
    def _sizes(self) -> FabricDoc:
        lo, hi = self.length_m
        if lo > hi:
            raise ValueError(f"length_m: the shortest ({lo:g}) is longer than the longest ({hi:g})")
        if self.leaves * self.uplinks_per_leaf > MAX_LINKS:
            raise ValueError(f"leaves x uplinks_per_leaf is over {MAX_LINKS:,} links")
        return self


class BackgroundDoc(_Strict):
    """``background:``: maintenance nobody scheduled, as rates."""

    matings_per_point_per_day: float = Field(default=0.0, ge=0, le=100, allow_inf_nan=False)
    clean_before_mating: float = Field(default=0.5, ge=0, le=1)
    # share of recorded re-patching (background and scheduled matings) announced ahead of time as a
    # maintenance window in the implied inventory; scheduled ``maintenance`` events always are
    announced_share: float = Field(default=0.0, ge=0, le=1)


class RandomFaultsDoc(_Strict):
    """``random_faults:``: how many of each unrecorded fault to inject at random."""

    contaminated_trunk: Count = 0
    bent_fiber: Count = 0
    failing_laser: Count = 0


class EventDoc(_Strict):
    """One scheduled event (see :class:`EventSpec`)."""

    at: TimeRef
    kind: EventKind
    link: int | str | None = None
    point: Annotated[int, Field(ge=0)] | None = None
    db: float = Field(default=0.0, ge=-40, le=40, allow_inf_nan=False)
    lanes: list[Annotated[int, Field(ge=1, le=MAX_LANES)]] | None = Field(default=None, min_length=1)
    direction: Literal["ab", "ba", "both"] = "both"
    side: Literal["a", "b"] = "a"
    device: str | None = None
    rate_db_per_day: float = Field(default=0.0, ge=0, le=100, allow_inf_nan=False)
    recorded: bool | None = None
    duration: TimeRef | None = None

    @field_validator("link")
    @classmethod
    def _link(cls, v: int | str | None) -> int | str | None:
        if isinstance(v, int) and v < 0:
            raise ValueError("a link index counts from 0")
        return v

    @model_validator(mode="after")
    def _needs(self) -> EventDoc:
        if self.kind == "reboot" and self.device is None:
            raise ValueError("a reboot needs device: NAME")
        if self.kind != "reboot" and self.link is None:
            raise ValueError(f"a {self.kind} event needs link: (an index or a link id)")
        return self


class ScenarioDoc(_Strict):
    """A scenario file."""

    name: str | None = Field(default=None, min_length=1)
    seed: int = Field(default=1, ge=0, lt=2**63)
    start: datetime | str = "2026-11-01T00:00:00Z"
    duration: TimeRef = "1d"
    step_s: float = Field(default=300.0, ge=MIN_STEP_S, allow_inf_nan=False)
    truth_step_s: float | None = Field(default=None, ge=MIN_STEP_S, allow_inf_nan=False)
    community: str = Field(default="public", min_length=1)
    v3_user: str = Field(default="labv3", min_length=1)
    fabric: FabricDoc = Field(default_factory=FabricDoc)
    background: BackgroundDoc | None = None
    random_faults: RandomFaultsDoc | None = None
    events: list[EventDoc] | None = None


# --- times and durations: linkmargin.durations, or an ISO time; a bare number is hours ------------


def _seconds(v: Any, start: datetime) -> float:
    if isinstance(v, bool):
        raise ValueError(f"expected a duration (30m, 36h, 2d) or a time, got {v!r}")
    if isinstance(v, int | float):
        if not math.isfinite(v):
            raise ValueError(f"expected a duration (30m, 36h, 2d) or a time, got {v!r}")
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
    if p.suffix in ("", ".yaml", ".yml") and shipped.exists() and p.parent == Path("."):
        return shipped
    known = sorted(f.stem for f in SCENARIO_DIR.glob("*.yaml"))
    raise ScenarioError(
        [
            FileIssue(
                str(name_or_path),
                1,
                1,
                "(file)",
                f"no such scenario file, nor a shipped scenario{did_you_mean(p.stem, known)} "
                f"(shipped: {', '.join(known)})",
            )
        ]
    )


def _check(doc: ScenarioDoc, start: datetime, out: list[Problem]) -> tuple[float, list[EventSpec]]:
    """Times, durations and references the models cannot check alone; the run's length and events."""
    duration_s = 86400.0
    try:
        duration_s = _seconds(doc.duration, start)
        if not 0 < duration_s <= MAX_DURATION_S:
            out.append((("duration",), f"must be more than 0 and at most 366d, got {duration_s:g} s"))
        elif duration_s / doc.step_s > MAX_STEPS:
            msg = f"duration / step_s is {duration_s / doc.step_s:,.0f} steps, over {MAX_STEPS:,}"
            out.append((("step_s",), msg))
    except ValueError as exc:
        out.append((("duration",), str(exc)))
    f = doc.fabric
    generated = f.inventory is None
    n_links = f.leaves * f.uplinks_per_leaf
    devices = [f"spine{i + 1:02d}" for i in range(f.spines)] + [f"leaf{i + 1:02d}" for i in range(f.leaves)]
    events: list[EventSpec] = []
    for i, e in enumerate(doc.events or []):
        loc: Loc = ("events", i)
        try:
            at_s = _seconds(e.at, start)
        except ValueError as exc:
            out.append(((*loc, "at"), str(exc)))
            continue
        if not 0 <= at_s <= duration_s:
            out.append(((*loc, "at"), f"{at_s:g} s is outside the run (0 to {duration_s:g} s)"))
        length = 3600.0
        if e.duration is not None:
            try:
                length = _seconds(e.duration, start)
            except ValueError as exc:
                out.append(((*loc, "duration"), str(exc)))
            if not 0 < length <= MAX_DURATION_S:
                out.append(((*loc, "duration"), "must be more than 0 and at most 366d"))
        if generated and isinstance(e.link, int) and e.link >= n_links:
            msg = f"link {e.link} is not in the fabric (leaves x uplinks_per_leaf = {n_links} links)"
            out.append(((*loc, "link"), msg))
        if generated and e.device is not None and e.device not in devices:
            out.append(((*loc, "device"), f"no device {e.device!r}{did_you_mean(e.device, devices)}"))
        events.append(
            EventSpec(
                at_s=at_s,
                kind=e.kind,
                link=e.link,
                point=e.point,
                db=e.db,
                lanes=tuple(e.lanes) if e.lanes else None,
                direction=e.direction,
                side=e.side,
                device=e.device,
                rate_db_per_day=e.rate_db_per_day,
                recorded=e.recorded if e.recorded is not None else e.kind in RECORDED_BY_DEFAULT,
                duration_s=length,
            )
        )
    return duration_s, events


RECORDED_BY_DEFAULT = ("mate", "clean", "reterminate", "maintenance")


def load_scenario(name_or_path: str | Path, seed: int | None = None) -> Scenario:
    """Load and validate a scenario YAML file (a path or a shipped name); `seed` overrides the file's.

    Raises :class:`ScenarioError` with every problem as FILE:LINE:COL: path: message: unknown keys
    (with a did-you-mean), wrong types, values out of range, times outside the run.
    """
    path = resolve(name_or_path)
    name = str(path)
    try:
        root = read_yaml(path, max_bytes=MAX_SCENARIO_BYTES)
    except FileIssues as exc:
        raise ScenarioError(exc.errors) from None
    raw = plain(root)
    if not isinstance(raw, dict):
        got = "an empty file" if raw is None else f"a {type(raw).__name__}"
        raise ScenarioError([FileIssue(name, 1, 1, "(root)", f"a scenario is a mapping, got {got}")])
    out: list[Problem] = []
    try:
        doc = ScenarioDoc.model_validate(raw)
    except ValidationError as err:
        raise ScenarioError(issues_at(name, root, pydantic_problems(err, (), ScenarioDoc))) from None
    start = doc.start
    if isinstance(start, str):
        try:
            start = parse_time(start, datetime.now(UTC))
        except ValueError as exc:
            out.append((("start",), str(exc)))
            start = datetime(2026, 11, 1, tzinfo=UTC)
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    if not EARLIEST <= start <= LATEST:
        out.append((("start",), f"must be between {EARLIEST:%Y} and {LATEST:%Y}, got {start.isoformat()}"))
        start = datetime(2026, 11, 1, tzinfo=UTC)
    duration_s, events = _check(doc, start, out)
    if out:
        raise ScenarioError(issues_at(name, root, out))
    fabric = doc.fabric.model_dump(exclude_unset=True, exclude_none=True)
    return Scenario(
        name=doc.name or path.stem,
        seed=int(seed if seed is not None else doc.seed),
        start=start,
        duration_s=duration_s,
        step_s=doc.step_s,
        truth_step_s=doc.truth_step_s or doc.step_s,
        community=doc.community,
        v3_user=doc.v3_user,
        fabric=fabric,
        background=doc.background.model_dump(exclude_unset=True) if doc.background else {},
        random_faults=doc.random_faults.model_dump(exclude_unset=True) if doc.random_faults else {},
        events=tuple(sorted(events, key=lambda e: e.at_s)),
        path=path,
    )


MAX_SCENARIO_BYTES = 4 * 2**20  # a scenario is a page of YAML; its fleet, if large, is an inventory file
