"""gNMI device profiles as data (``collector/gnmi/profiles/*.yaml``), validated at load with
``FILE:LINE:COL`` like the SNMP profiles (docs/ARCHITECTURE.md "gNMI").

A profile names what to subscribe to (path, poll group, SAMPLE or ON_CHANGE) and what each leaf is:
a path pattern (:mod:`collector.gnmi.paths`), the metric, how to read it (unit, scale, enum table,
threshold quantity and bound) and where its port comes from (``{port}`` directly, or ``{component}``
through the component-to-interface mapping leaf ``role: port_map``).
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from collector.decode.common import MetricName
from collector.gnmi.paths import PLACEHOLDERS, compile_pattern
from linkmargin.samples import Metric
from linkmargin.yamlcheck import (
    FileIssue,
    FileIssues,
    Problem,
    did_you_mean,
    issues_at,
    plain,
    pydantic_problems,
    read_yaml,
)

PROFILE_DIR = Path(__file__).parent / "profiles"
PATH_ENV = "LINKMARGIN_GNMI_PROFILE_PATH"
Group = Literal["dom", "counters", "discovery"]
Quantity = Literal["rx_power_dbm", "tx_power_dbm", "tx_bias_ma", "temperature_c", "voltage_v"]


class ProfileError(Exception):
    """A gNMI profile with problems (every one, with positions)."""

    def __init__(self, issues: list[FileIssue]) -> None:
        super().__init__("\n".join(str(i) for i in issues))
        self.issues = issues


class Subscription(BaseModel):
    """One subscription of the device's stream."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    group: Group
    mode: Literal["sample", "on_change"] = "sample"

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not v.startswith("/") or "{" in v:
            raise ValueError("a subscription path starts with / and has no placeholders")
        return v


class LeafSpec(BaseModel):
    """What one leaf (path pattern) means."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    metric: MetricName | None = None  # the sample metric (not for role: port_map / boot_time)
    role: Literal["reading", "port_map", "boot_time"] = "reading"
    unit: Literal["dbm", "mw"] | None = None  # power: as sent (mW is converted, <= 0 mW is no light)
    scale: float = 1.0  # value x scale = the metric's unit
    enum: str | None = None  # the name of a profile enum table (text values -> numbers)
    threshold: tuple[Quantity, Literal["high", "low"]] | None = None
    group: Group | None = None  # the batch it travels in (default: from the metric's kind)

    @field_validator("path")
    @classmethod
    def _pattern(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError("a leaf path starts with /")
        for name in re.findall(r"\{([^}]*)\}", v):
            if name not in PLACEHOLDERS:
                raise ValueError(f"unknown placeholder {{{name}}}{did_you_mean(name, PLACEHOLDERS)}")
        compile_pattern(v)
        return v

    @model_validator(mode="after")
    def _complete(self) -> Self:
        has_port = "{port}" in self.path or "{component}" in self.path
        if self.role == "reading":
            if (self.metric is None) == (self.threshold is None):
                raise ValueError("a reading has either a metric or a threshold: [quantity, high|low]")
            if self.threshold is not None and "{severity}" not in self.path:
                raise ValueError("a threshold leaf needs {severity} in its path")
        elif self.role == "port_map":
            if "{port}" not in self.path or self.metric is not None:
                raise ValueError("a port_map leaf has {port} in its path and no metric")
        elif self.metric is not None or has_port:
            raise ValueError("a boot_time leaf is device-level: no metric, no {port}/{component}")
        return self


class GnmiProfileDocument(BaseModel):
    """A gNMI profile file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    encoding: Literal["json", "json_ietf", "proto"] = "proto"  # asked for in Subscribe
    lane_base: int = Field(default=1, ge=0, le=1)  # the device's number of the first lane
    unmapped_component: Literal["drop", "as_port"] = "drop"  # a {component} with no port_map entry
    severities: dict[str, Literal["alarm", "warn"]] = Field(default_factory=dict)
    enums: dict[str, dict[str, int]] = Field(default_factory=dict)
    subscribe: list[Subscription] = Field(min_length=1)
    leaves: list[LeafSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _refs(self) -> Self:
        for i, leaf in enumerate(self.leaves):
            if leaf.enum is not None and leaf.enum not in self.enums:
                raise ValueError(
                    f"leaves[{i}]: unknown enum {leaf.enum!r}{did_you_mean(leaf.enum, self.enums)}"
                )
        return self


def default_group(leaf: LeafSpec) -> Group:
    """The batch a leaf travels in: counters and state with the counters, the rest with the optics."""
    if leaf.group is not None:
        return leaf.group
    if leaf.metric is not None and leaf.metric in (
        Metric.OPER_STATUS,
        Metric.ADMIN_STATUS,
    ):
        return "counters"
    from linkmargin.samples import MetricKind, metric_kind

    return "counters" if leaf.metric is not None and metric_kind(leaf.metric) == MetricKind.COUNTER else "dom"


def profile_dirs() -> list[Path]:
    """Site directories (``LINKMARGIN_GNMI_PROFILE_PATH``, searched first), then the packaged ones."""
    extra = [Path(p) for p in os.environ.get(PATH_ENV, "").split(os.pathsep) if p]
    return [*extra, PROFILE_DIR]


def _problems(data: Any) -> list[Problem]:
    try:
        GnmiProfileDocument.model_validate(data)
    except ValidationError as exc:
        return pydantic_problems(exc, (), GnmiProfileDocument)
    return []


def load_file(path: str | Path) -> GnmiProfileDocument:
    """Validate one profile file; raises :class:`ProfileError` with every problem, positioned."""
    try:
        root = read_yaml(path)
    except FileIssues as exc:
        raise ProfileError(exc.errors) from None
    data = plain(root)
    problems = _problems(data)
    if problems:
        raise ProfileError(issues_at(str(path), root, problems))
    return GnmiProfileDocument.model_validate(data)


@cache
def _load_named(name: str, dirs: tuple[Path, ...]) -> GnmiProfileDocument:
    for d in dirs:
        p = d / f"{name}.yaml"
        if p.is_file():
            doc = load_file(p)
            if doc.name != name:
                raise ProfileError(
                    [FileIssue(str(p), 1, 1, "name", f"the profile in {p.name} must be named {name!r}")]
                )
            return doc
    known = sorted({p.stem for d in dirs if d.is_dir() for p in d.glob("*.yaml")})
    raise ProfileError(
        [
            FileIssue(
                name,
                1,
                1,
                "(profile)",
                f"unknown gNMI profile {name!r}{did_you_mean(name, known)}; one of: {', '.join(known)}",
            )
        ]
    )


def gnmi_profile_names() -> list[str]:
    """Every gNMI profile name found (site directories and the packaged ones)."""
    return sorted({p.stem for d in profile_dirs() if d.is_dir() for p in d.glob("*.yaml")})


def load_gnmi_profile(name: str) -> GnmiProfileDocument:
    """A gNMI profile by name (site directories first)."""
    return _load_named(name, tuple(profile_dirs()))
