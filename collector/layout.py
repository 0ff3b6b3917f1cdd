"""Table layouts: how the rows of a walked table become samples, as a small typed protocol.

A profile's table names its ``layout:``; the layout says what the table's YAML holds (its pydantic
``spec`` model), which columns a poll walks, what discovery learns from it and how a poll's walk
decodes. Layouts are looked up by name in a :class:`LayoutRegistry` (the built-in one, with every
layout of :mod:`collector.decode`, is ``collector.decode.LAYOUTS``); an unknown name raises
:class:`UnknownLayout`. Adding a vendor whose table shape already exists is a profile YAML only;
a new shape is one class here plus its registration.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal, NamedTuple, Protocol, TypeVar

import polars as pl
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from collector.state import DiscoveryState
from collector.transport.base import Transport, VarBinds
from linkmargin.yamlcheck import did_you_mean

__all__ = [
    "GROUPS",
    "Decoded",
    "Group",
    "Layout",
    "LayoutRegistry",
    "Oid",
    "TableSpec",
    "UnknownLayout",
]

Oid = Annotated[str, StringConstraints(pattern=r"^\d+(\.\d+)+$")]
Group = Literal["discovery", "dom", "counters"]
GROUPS: tuple[Group, ...] = ("discovery", "dom", "counters")


def _compiles(text: str) -> str:
    try:
        re.compile(text)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    return text


class TableSpec(BaseModel):
    """What every table of every layout has; a layout's ``spec`` model adds its own fields.

    ``when_sys_descr`` / ``unless_sys_descr`` make a release switch: the table is polled only on
    agents whose sysDescr matches (does not match) the pattern — a vendor that changed a column's
    unit between releases gets one table per unit.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    layout: str
    group: Group
    root: Oid
    when_sys_descr: Annotated[str, AfterValidator(_compiles)] | None = None
    unless_sys_descr: Annotated[str, AfterValidator(_compiles)] | None = None

    def applies(self, sys_descr: str | None) -> bool:
        """Whether this table is polled on an agent with this sysDescr (None: unknown, so only
        tables without a release condition)."""
        text = sys_descr or ""
        if self.when_sys_descr is not None and not re.search(self.when_sys_descr, text):
            return False
        return not (self.unless_sys_descr is not None and re.search(self.unless_sys_descr, text))


T = TypeVar("T", bound=TableSpec)


class Decoded(NamedTuple):
    """One poll of a layout's tables: samples (port, lane, metric, value, aggregate, reason and, for
    counters, counter and counter_bits), or None; and whether a row appeared that discovery never saw
    (the poller then rediscovers and decodes again)."""

    frame: pl.LazyFrame | None
    unknown: bool = False


class Layout(Protocol[T]):
    """One table shape. ``stage`` orders discovery: layouts that learn port names (stage 0) run
    before layouts that map their rows onto those ports (stage 1)."""

    name: ClassVar[str]
    spec: ClassVar[type[TableSpec]]
    stage: ClassVar[int]

    def poll_oids(self, table: T, walk_metadata: bool) -> list[str]:
        """The column roots a poll of ``table`` walks."""
        ...

    def metrics(self, table: T) -> frozenset[str]:
        """Every metric ``table`` can yield (the poller skips normalize steps that cannot apply)."""
        ...

    def threshold_oids(self, table: T) -> list[str]:
        """The walked column roots that can yield module thresholds."""
        ...

    async def discover(self, tr: Transport, tables: list[T], state: DiscoveryState) -> None:
        """Learn from the device what decoding ``tables`` needs (all the profile's tables of this layout)."""
        ...

    def decode(self, tables: list[T], walked: list[dict[str, VarBinds]], state: DiscoveryState) -> Decoded:
        """Samples of one poll of ``tables`` (``walked``: per table, column root -> varbinds)."""
        ...


class UnknownLayout(LookupError):
    """A table names a layout no decoder is registered for."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name, self.known = name, known
        super().__init__(f"unknown layout {name!r}{did_you_mean(name, known)}; known: {', '.join(known)}")

    def __str__(self) -> str:
        return str(self.args[0])


class LayoutRegistry:
    """Layouts by name (``register`` then ``get``)."""

    def __init__(self) -> None:
        self._layouts: dict[str, Layout[Any]] = {}

    def register(self, layout: Layout[Any]) -> None:
        """Add a layout under its ``name``; registering another layout under a taken name is an error."""
        have = self._layouts.get(layout.name)
        if have is not None and type(have) is not type(layout):
            raise ValueError(f"layout {layout.name!r} is already registered ({type(have).__name__})")
        self._layouts[layout.name] = layout

    def get(self, name: str) -> Layout[Any]:
        """The layout registered as ``name``; raises :class:`UnknownLayout`."""
        try:
            return self._layouts[name]
        except KeyError:
            raise UnknownLayout(name, self.names()) from None

    def names(self) -> list[str]:
        """Every registered layout name, sorted."""
        return sorted(self._layouts)
