"""Inventory models: the site's devices, credentials references, links and their physical channels.

Key names: docs/ARCHITECTURE.md "The inventory". Credentials are the core's one SNMP credentials
model (:mod:`linkmargin.credentials`): secrets by ``*_env`` / ``*_file`` reference only, protocols
limited to what the collector's transports implement.
"""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from linkmargin.catalog import ConnectorType, resolve_connector
from linkmargin.credentials import GnmiCredentials, SnmpCredentials
from linkmargin.inventory.matings import matings_of_installed_part

__all__ = [
    "ACTION_EVENT",
    "DEFAULT_PORTS",
    "EVENT_KINDS",
    "TRANSPORTS",
    "Channel",
    "ConnectionPoint",
    "Device",
    "End",
    "Event",
    "FiberSpan",
    "Inventory",
    "Link",
    "MaintenanceWindow",
    "Site",
]

EventKind = Literal["installed", "terminated", "mated", "unmated", "cleaned", "inspected", "replaced"]
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)
MaintenanceAction = Literal["clean", "mate", "reterminate", "replace"]
ACTION_EVENT: dict[str, str] = {
    "clean": "cleaned",
    "mate": "mated",
    "reterminate": "terminated",
    "replace": "replaced",
}
"""The event a planned action becomes once done (what counts as a mating: :mod:`.matings`)."""
DeviceTransport = Literal["snmp", "gnmi"]
TRANSPORTS: tuple[str, ...] = get_args(DeviceTransport)
DEFAULT_PORTS: dict[str, int] = {"snmp": 161, "gnmi": 9339}
"""A device's port when the inventory gives none: SNMP's 161, gNMI's IANA-assigned 9339."""
MAX_LANE = 16  # more lanes than any module has (OSFP/QSFP-DD: 8): anything above is a typo
MAX_LENGTH_M = 20_000.0  # longer than any catalogued reach x10: anything above is a typo (km for m)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Site(_Strict):
    """The site the inventory describes."""

    name: str = Field(min_length=1)


class Device(_Strict):
    """A switch the collector reads: polled over SNMP, or streamed over gNMI (``transport: gnmi``).

    ``credentials`` names an entry of the inventory's ``credentials`` (SNMP) or ``gnmi_credentials``
    (gNMI), by the device's transport; the port defaults to the transport's (161 or 9339).
    """

    name: str = Field(min_length=1)
    address: str = Field(min_length=1)
    port: int = Field(default=161, ge=1, le=65535)
    credentials: str
    profile: str = "auto"
    transport: DeviceTransport = "snmp"

    @field_validator("transport", mode="before")
    @classmethod
    def _transport(cls, v: object) -> object:
        if v in TRANSPORTS:
            return v
        text = str(v)
        hint = difflib.get_close_matches(text.lower(), TRANSPORTS, n=1)
        if text.lower() in TRANSPORTS:
            hint = [text.lower()]
        said = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ValueError(f"unknown transport {text!r}{said}; one of: {', '.join(TRANSPORTS)}")

    @model_validator(mode="before")
    @classmethod
    def _transport_port(cls, data: Any) -> Any:
        if isinstance(data, dict) and "port" not in data and data.get("transport") in DEFAULT_PORTS:
            return {**data, "port": DEFAULT_PORTS[data["transport"]]}
        return data


class End(_Strict):
    """One end of a link: a device and the interface name it reports (ifName).

    A broken-out module (a 400GBASE-DR4 split into four 100GBASE-DR links) gives each sub-port its own
    link end: ``port`` is the sub-port's ifName (``Ethernet1/1/3``, SONiC ``Ethernet8``), ``module`` the
    module's PMD and ``lanes`` the module lane(s) this end uses, numbered as the module numbers them
    (lane 3 of the DR4) and listed in the order of the link's lanes: the i-th lane of one end faces the
    i-th lane of the other. Without ``lanes`` an end uses lanes 1..N of the link's optic.
    """

    device: str = Field(min_length=1)
    port: str = Field(min_length=1)
    module: str | None = Field(default=None, min_length=1)
    lanes: list[Annotated[int, Field(ge=1, le=MAX_LANE)]] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _module_lanes(self) -> End:
        if self.module is not None and self.lanes is None:
            raise ValueError(f"a broken-out {self.module} needs lanes: the module lane(s) this end uses")
        if self.lanes is not None and len(set(self.lanes)) != len(self.lanes):
            raise ValueError(f"lanes {self.lanes} name a lane twice")
        return self

    def lane_numbers(self, n: int) -> list[int]:
        """The ``n`` lane numbers this end's samples carry: ``lanes`` if given, else 1..n."""
        return list(self.lanes) if self.lanes is not None else list(range(1, n + 1))


class FiberSpan(_Strict):
    """The fiber of a channel: type (OM3/OM4/OM5/OS2/OS1a) and total length."""

    type: str
    length_m: float = Field(gt=0, le=MAX_LENGTH_M)


class Event(_Strict):
    """Something done to a connection point, with its UTC timestamp."""

    at: datetime
    kind: EventKind
    result: Literal["pass", "fail"] | None = None
    note: str | None = None

    @field_validator("at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("timestamp needs a time zone (e.g. 2026-01-10T08:00:00Z)")
        return v

    @model_validator(mode="after")
    def _result(self) -> Event:
        if self.kind == "inspected" and self.result is None:
            raise ValueError("an inspected event needs result: pass or fail")
        if self.kind != "inspected" and self.result is not None:
            raise ValueError("result is only for inspected events")
        return self


class ConnectionPoint(_Strict):
    """A connector pair or splice on the channel, with its event history."""

    id: str = Field(min_length=1)
    type: str
    grade: Literal["standard", "low-loss"] | None = None
    termination: Literal["factory", "field"] | None = None
    polish: Literal["UPC", "APC"] | None = None
    matings_before_records: int = Field(default=0, ge=0)
    events: list[Event] = Field(default_factory=list)

    @property
    def catalog(self) -> ConnectorType:
        """The catalog entry for this point's type and grade."""
        return resolve_connector(self.type, self.grade)

    @property
    def mating_count(self) -> int:
        """Matings of the part now installed (see :mod:`linkmargin.inventory.matings`)."""
        return matings_of_installed_part(self.matings_before_records, [e.kind for e in self.events])


class Channel(_Strict):
    """The physical channel of a link: fiber and ordered connection points from end a to end b."""

    fiber: FiberSpan
    connections: list[ConnectionPoint]


class Link(_Strict):
    """A link: two ends, the optic PMD on both, and the channel between them."""

    id: str = Field(min_length=1)
    a: End
    b: End
    optic: str
    fiber: FiberSpan
    connections: list[ConnectionPoint] = Field(default_factory=list)

    def far_end(self, side: Literal["a", "b"]) -> End:
        """The other end of the link (whose Tx feeds this end's Rx)."""
        return self.b if side == "a" else self.a

    @property
    def channel(self) -> Channel:
        """Fiber and connection points as one Channel."""
        return Channel(fiber=self.fiber, connections=self.connections)


class MaintenanceWindow(_Strict):
    """Planned work: actions on some links' connection points (or on named points) in a time window.

    Unlike recorded events, its times may lie in the future. ``links`` means every connection point
    of those links that the actions apply to (a splice is never mated).
    """

    id: str = Field(min_length=1)
    start: datetime
    end: datetime
    links: list[str] | None = Field(default=None, min_length=1)
    points: list[str] | None = Field(default=None, min_length=1)
    actions: list[MaintenanceAction] = Field(min_length=1)
    note: str | None = None

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("timestamp needs a time zone (e.g. 2026-06-06T08:00:00Z)")
        return v

    @model_validator(mode="after")
    def _shape(self) -> MaintenanceWindow:
        if self.end <= self.start:
            raise ValueError(f"end {self.end.isoformat()} is not after start {self.start.isoformat()}")
        if (self.links is None) == (self.points is None):
            raise ValueError("give either links: [...] or points: [...]")
        return self


class Inventory(_Strict):
    """A validated inventory: site, credential references, devices, links and planned maintenance."""

    site: Site
    credentials: dict[str, SnmpCredentials] = Field(default_factory=dict)
    gnmi_credentials: dict[str, GnmiCredentials] = Field(default_factory=dict)
    devices: list[Device] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    source: str | None = None

    def planned_work(self) -> list[tuple[str, str, str, datetime, str]]:
        """Every planned action as (window id, link id, point id, window start, event kind).

        A window on ``links`` covers each of their connection points; ``mate`` skips splices (they
        are never mated). Times are the window's start: the work may happen any time after it.
        """
        where = {cp.id: (lk, cp) for lk in self.links for cp in lk.connections}
        out: list[tuple[str, str, str, datetime, str]] = []
        for w in self.maintenance:
            if w.points is not None:
                targets = [where[p] for p in w.points if p in where]
            else:
                targets = [
                    (lk, cp)
                    for lid in (w.links or [])
                    for lk in self.links
                    if lk.id == lid
                    for cp in lk.connections
                ]
            for lk, cp in targets:
                for action in w.actions:
                    if action == "mate" and cp.catalog.is_splice:
                        continue
                    out.append((w.id, lk.id, cp.id, w.start, ACTION_EVENT[action]))
        return out

    def credentials_of(self, device: Device) -> SnmpCredentials | GnmiCredentials:
        """The credentials entry ``device`` names, from the map of its transport (KeyError if absent)."""
        if device.transport == "gnmi":
            return self.gnmi_credentials[device.credentials]
        return self.credentials[device.credentials]

    def device(self, name: str) -> Device:
        """The device called ``name`` (KeyError if absent)."""
        for d in self.devices:
            if d.name == name:
                return d
        raise KeyError(name)

    def link(self, link_id: str) -> Link:
        """The link with id ``link_id`` (KeyError if absent)."""
        for lk in self.links:
            if lk.id == link_id:
                return lk
        raise KeyError(link_id)

    def port_index(self) -> dict[tuple[str, str], tuple[Link, Literal["a", "b"]]]:
        """(device, port) -> (link, which end): how a Sample's device/port finds its link.

        A port whose lanes several links share (``lanes:`` on one module port) maps to the last of them;
        a lane's link is the analyzer's lane table (``linkmargin_cli.wiring``)."""
        out: dict[tuple[str, str], tuple[Link, Literal["a", "b"]]] = {}
        for lk in self.links:
            out[(lk.a.device, lk.a.port)] = (lk, "a")
            out[(lk.b.device, lk.b.port)] = (lk, "b")
        return out
