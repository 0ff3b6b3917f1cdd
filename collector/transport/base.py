"""The SNMP transport interface: get and bulk walk, numeric OIDs in, columnar results out.

Both implementations (gufo_snmp, pysnmp) return a :class:`VarBinds` — two parallel lists of
numeric OID strings (no leading dot) and Python values (int, bytes, str for OIDs) — so the
decoder can build one polars frame per walk instead of per-varbind objects.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable


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


def _secret(env: str | None, path: str | None, what: str) -> str | None:
    if env:
        val = os.environ.get(env)
        if val is None:
            raise SnmpError(f"{what}: environment variable {env} is not set")
        return val
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise SnmpError(f"{what}: cannot read secret file {path}: {exc.strerror}") from None
    return None


@dataclass(frozen=True, slots=True)
class Credentials:
    """SNMP credentials by reference: secrets are read from env vars or files, never held in argv.

    ``repr`` never shows secret material (only the references are stored).
    """

    version: Literal["2c", "3"] = "2c"
    community: str | None = None  # a plain community for tests / CLI; prefer community_env
    community_env: str | None = None
    community_file: str | None = None
    user: str | None = None
    auth: Literal["sha", "sha256"] = "sha"
    auth_key_env: str | None = None
    auth_key_file: str | None = None
    priv: Literal["aes", "aes256"] = "aes"
    priv_key_env: str | None = None
    priv_key_file: str | None = None

    def __repr__(self) -> str:
        return f"Credentials(version={self.version!r}, user={self.user!r})"

    def resolve_community(self) -> str:
        """The v2c community, from the literal, env var or file."""
        c = self.community or _secret(self.community_env, self.community_file, "community")
        if not c:
            raise SnmpError("v2c credentials without a community")
        return c

    def resolve_keys(self) -> tuple[str, str]:
        """The v3 (auth, priv) passphrases from env vars or files."""
        a = _secret(self.auth_key_env, self.auth_key_file, "auth key")
        p = _secret(self.priv_key_env, self.priv_key_file, "priv key")
        if not (self.user and a and p):
            raise SnmpError("v3 authPriv needs user, auth key and priv key")
        return a, p


@dataclass(frozen=True, slots=True)
class Target:
    """One agent to poll."""

    name: str
    host: str
    port: int = 161
    credentials: Credentials = field(default_factory=lambda: Credentials(community="public"))
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
