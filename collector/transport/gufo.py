"""gufo_snmp transport: the fast default (Rust BER core, asyncio); v2c and v3 authPriv."""

from __future__ import annotations

import asyncio
from typing import Any

from gufo.snmp import Aes128Key, Aes256Key, Sha1Key, Sha256Key, SnmpVersion, User
from gufo.snmp import SnmpError as GufoError
from gufo.snmp.aio import SnmpSession

from collector.transport.base import SnmpError, SnmpTimeout, Target, VarBinds

_AUTH = {"sha": Sha1Key, "sha256": Sha256Key}
_PRIV = {"aes": Aes128Key, "aes256": Aes256Key}


class GufoTransport:
    """A gufo_snmp session with one target; retries are done here (gufo has none)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        creds = target.credentials
        kw: dict[str, Any] = {
            "addr": target.host,
            "port": target.port,
            "timeout": target.timeout,
            "max_repetitions": target.max_repetitions,
        }
        if creds.version == "3":
            a, p = creds.resolve_keys()
            kw["version"] = SnmpVersion.v3
            kw["user"] = User(
                creds.user or "",
                auth_key=_AUTH[creds.auth](a.encode()),
                priv_key=_PRIV[creds.priv](p.encode()),
            )
        else:
            kw["version"] = SnmpVersion.v2c
            kw["community"] = creds.resolve_community()
        self._session = SnmpSession(**kw)
        self._entered = False

    async def __aenter__(self) -> GufoTransport:
        await self._retry(self._enter)
        return self

    async def _enter(self) -> None:
        await self._session.__aenter__()  # v3: engine-id discovery
        self._entered = True

    async def __aexit__(self, *exc: object) -> None:
        if self._entered:
            await self._session.__aexit__(None, None, None)
            self._entered = False

    async def _retry(self, fn: Any, *args: Any) -> Any:
        last: Exception | None = None
        for _ in range(self.target.retries + 1):
            try:
                return await fn(*args)
            except TimeoutError as exc:
                last = exc
            except GufoError as exc:
                raise SnmpError(f"{self.target.name}: {type(exc).__name__}") from None
            except (asyncio.CancelledError, KeyboardInterrupt, SystemExit, GeneratorExit):
                raise
            except BaseException as exc:
                # gufo 0.13's Rust BER parser panics on some garbage datagrams; pyo3 raises that as a
                # PanicException deriving from BaseException. One bad agent must not kill the collector.
                if type(exc).__name__ != "PanicException":
                    raise
                raise SnmpError(f"{self.target.name}: undecodable answer (gufo panic)") from None
        raise SnmpTimeout(f"{self.target.name}: no answer after {self.target.retries + 1} tries") from last

    async def get(self, oids: list[str]) -> VarBinds:
        """GET numeric OIDs; absent ones come back as None."""
        got: dict[str, Any] = await self._retry(self._session.get_many, oids)
        return VarBinds(list(oids), [got.get(o) for o in oids])

    async def _walk(self, root: str, max_repetitions: int | None) -> VarBinds:
        out = VarBinds()
        oids, vals = out.oids, out.values
        it: Any = self._session.getbulk(root, max_repetitions=max_repetitions)
        while True:
            try:
                oid, val = await it.__anext__()  # one PDU round trip when the buffer is empty
            except StopAsyncIteration:
                return out
            oids.append(oid)
            vals.append(val)
            # Why: gufo yields one varbind per coroutine call (~1 us each); drain the PDU it already
            # decoded in one go. ``_buffer`` is gufo 0.13's list of (oid, value), None marking the end.
            buf = getattr(it, "_buffer", None)
            if type(buf) is not list or not buf:
                continue
            it._buffer = []
            for item in buf:
                if item is None:
                    return out
                oids.append(item[0])
                vals.append(item[1])

    async def bulk_walk(self, root: str, max_repetitions: int | None = None) -> VarBinds:
        """GETBULK-walk the subtree under ``root``."""
        try:
            res: VarBinds = await self._retry(self._walk, root, max_repetitions)
        except asyncio.CancelledError:
            raise
        return res
