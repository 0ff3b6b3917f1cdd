"""Inventory models: the site's devices, credentials references, links and their physical channels.

Key names: docs/ARCHITECTURE.md "The inventory". Secrets are never inline: only
``*_env`` (environment variable name) or ``*_file`` (path) references are accepted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from linkmargin.catalog import ConnectorType, resolve_connector
from linkmargin.inventory.matings import matings_of_installed_part

__all__ = [
    "EVENT_KINDS",
    "Channel",
    "ConnectionPoint",
    "Credentials",
    "Device",
    "End",
    "Event",
    "FiberSpan",
    "Inventory",
    "Link",
    "Site",
]

EventKind = Literal["installed", "terminated", "mated", "unmated", "cleaned", "inspected", "replaced"]
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)
MAX_LENGTH_M = 20_000.0  # longer than any catalogued reach x10: anything above is a typo (km for m)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _no_inline(v: object, name: str) -> None:
    if v is not None:
        raise ValueError(f"inline secrets are not allowed; use {name}_env or {name}_file")


class Credentials(_Strict):
    """SNMP credentials by reference: the secret itself lives in an env var or a file."""

    version: Literal["1", "2c", "3"]
    community_env: str | None = None
    community_file: str | None = None
    user: str | None = None
    auth: Literal["md5", "sha", "sha224", "sha256", "sha384", "sha512"] | None = None
    auth_key_env: str | None = None
    auth_key_file: str | None = None
    priv: Literal["des", "aes", "aes128", "aes192", "aes256"] | None = None
    priv_key_env: str | None = None
    priv_key_file: str | None = None
    # accepted only to reject them with a clear message
    community: None = None
    auth_key: None = None
    priv_key: None = None
    password: None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version_str(cls, v: object) -> object:
        return str(v) if isinstance(v, int) else v

    @field_validator("community", "auth_key", "priv_key", "password", mode="before")
    @classmethod
    def _reject_inline(cls, v: object, info: object) -> None:
        name = getattr(info, "field_name", "secret")
        _no_inline(v, "community" if name in ("community", "password") else name)
        return None

    @model_validator(mode="after")
    def _complete(self) -> Credentials:
        if self.version in ("1", "2c") and not (self.community_env or self.community_file):
            raise ValueError("SNMP v1/v2c needs community_env or community_file")
        if self.version == "3":
            if not self.user:
                raise ValueError("SNMPv3 needs user")
            if self.auth and not (self.auth_key_env or self.auth_key_file):
                raise ValueError("auth needs auth_key_env or auth_key_file")
            if self.priv and not self.auth:
                raise ValueError("priv needs auth (SNMPv3 has no privacy without authentication)")
            if self.priv and not (self.priv_key_env or self.priv_key_file):
                raise ValueError("priv needs priv_key_env or priv_key_file")
        return self


class Site(_Strict):
    """The site the inventory describes."""

    name: str = Field(min_length=1)


class Device(_Strict):
    """A switch the collector polls."""

    name: str = Field(min_length=1)
    address: str = Field(min_length=1)
    port: int = Field(default=161, ge=1, le=65535)
    credentials: str
    profile: str = "auto"


class End(_Strict):
    """One end of a link: a device and the interface name it reports (ifName)."""

    device: str = Field(min_length=1)
    port: str = Field(min_length=1)


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


class Inventory(_Strict):
    """A validated inventory: site, credential references, devices and links."""

    site: Site
    credentials: dict[str, Credentials] = Field(default_factory=dict)
    devices: list[Device] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    source: str | None = None

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
        """(device, port) -> (link, which end): how a Sample's device/port finds its link."""
        out: dict[tuple[str, str], tuple[Link, Literal["a", "b"]]] = {}
        for lk in self.links:
            out[(lk.a.device, lk.a.port)] = (lk, "a")
            out[(lk.b.device, lk.b.port)] = (lk, "b")
        return out
