"""The SNMP transport interface: get and bulk walk, numeric OIDs in, columnar results out.

Both implementations (gufo_snmp, pysnmp) return a :class:`VarBinds` — two parallel lists of
numeric OID strings (no leading dot) and Python values (int, bytes, str for OIDs) — so the
decoder can build one polars frame per walk instead of per-varbind objects. Credentials are the
core's :class:`linkmargin.credentials.SnmpCredentials`; each transport maps every protocol name it
defines (checked by tests/collector/test_transport.py against net-snmp).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from linkmargin.credentials import SecretError, SnmpCredentials


class SnmpError(Exception):
    """Any failure talking to an agent (timeout, auth, malformed answer)."""


class SnmpTimeout(SnmpError):
    """The agent did not answer in time."""


@dataclass(slots=True)
class VarBinds:
    """Columnar varbinds: ``oids[i]`` answered ``values[i]`` (None for noSuchObject/Instance)."""

    oids: list[str] = field(default_factory=list)
    values: list[int | bytes | str | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.oids)

    def extend(self, other: VarBinds) -> None:
        """Append another result in place."""
        self.oids.extend(other.oids)
        self.values.extend(other.values)


def community_of(creds: SnmpCredentials) -> str:
    """The v2c community; an unreadable secret is an :class:`SnmpError` like any failed session."""
    try:
        return creds.community_secret()
    except SecretError as exc:
        raise SnmpError(str(exc)) from None


def v3_keys_of(creds: SnmpCredentials) -> tuple[str, str]:
    """The v3 (auth, priv) passphrases; an unreadable secret is an :class:`SnmpError`."""
    try:
        return creds.v3_keys()
    except SecretError as exc:
        raise SnmpError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class Target:
    """One agent to poll."""

    name: str
    host: str
    port: int = 161
    credentials: SnmpCredentials = field(default_factory=lambda: SnmpCredentials.v2c("public"))
    timeout: float = 2.0
    retries: int = 1
    max_repetitions: int = 25


class Transport(Protocol):
    """A session with one agent. Open with ``async with``."""

    async def __aenter__(self) -> Transport: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def get(self, oids: list[str]) -> VarBinds:
        """GET the given numeric OIDs; absent ones come back with value None."""
        ...

    async def bulk_walk(self, root: str, max_repetitions: int | None = None) -> VarBinds:
        """GETBULK-walk the subtree under ``root`` (stops at its end)."""
        ...


@runtime_checkable
class ColumnWalker(Protocol):
    """A transport that walks several columns in one call (fewer hand-offs than one call each)."""

    async def walk_columns(self, roots: list[str], max_repetitions: int | None = None) -> list[VarBinds]:
        """GETBULK-walk each root in turn; one VarBinds per root."""
        ...


async def walk_columns(tr: Transport, roots: list[str], max_repetitions: int | None = None) -> list[VarBinds]:
    """Walk each root in turn, one VarBinds per root (in one call where the transport can: gufo's is
    one thread hop for all of them)."""
    if isinstance(tr, ColumnWalker):
        return await tr.walk_columns(roots, max_repetitions)
    return [await tr.bulk_walk(root, max_repetitions) for root in roots]
