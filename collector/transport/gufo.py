"""gufo_snmp transport: the fast default (Rust BER core); v2c and v3 authPriv (every protocol of
:mod:`linkmargin.credentials`).

Requests run on gufo's blocking client in a worker thread, one thread hop per call (a GET, or a
whole set of column walks), not on gufo's asyncio client. Why: the asyncio client costs one event
loop wake-up, a ``wait_for`` and an add/remove of the socket reader per PDU — on this project's
2-core box ~4 us of CPU per varbind more than the same walk on the blocking client (8.8 vs 4.4 us/vb,
one 1,664-row column, max-repetitions 25; bench/results/collector.md). The blocking ``recv``
releases the GIL, so the event loop and other devices' threads run meanwhile; the scheduler stays
asyncio and never waits on a thread for longer than one request's timeout x retries.

The threads come from a pool of this module's own, sized for the scheduler's concurrency, so a dead
device (a thread blocked until its timeout) never holds up the others.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from gufo.snmp import (
    Aes128Key,
    Aes192Key,
    Aes256Key,
    BaseAuthKey,
    BasePrivKey,
    DesKey,
    KeyExpansion,
    Md5Key,
    Sha1Key,
    Sha224Key,
    Sha256Key,
    Sha384Key,
    Sha512Key,
    SnmpVersion,
    User,
)
from gufo.snmp import SnmpError as GufoError
from gufo.snmp.sync import SnmpSession

from collector.transport.base import SnmpError, SnmpTimeout, Target, VarBinds, community_of, v3_keys_of
from linkmargin.credentials import AuthProtocol, PrivProtocol

# every name of linkmargin.credentials, mapped (tests/collector/test_transport.py checks both ways)
AUTH: dict[AuthProtocol, type[BaseAuthKey]] = {
    "md5": Md5Key,
    "sha": Sha1Key,
    "sha224": Sha224Key,
    "sha256": Sha256Key,
    "sha384": Sha384Key,
    "sha512": Sha512Key,
}
# key class and the AES-192/256 key extension (gufo's default is Blumenthal; "c" names are Cisco/Reeder)
PRIV: dict[PrivProtocol, tuple[type[BasePrivKey], KeyExpansion]] = {
    "des": (DesKey, KeyExpansion.Blumenthal),
    "aes": (Aes128Key, KeyExpansion.Blumenthal),
    "aes192": (Aes192Key, KeyExpansion.Blumenthal),
    "aes192c": (Aes192Key, KeyExpansion.Cisco),
    "aes256": (Aes256Key, KeyExpansion.Blumenthal),
    "aes256c": (Aes256Key, KeyExpansion.Cisco),
}
# threads are made on demand; more than the scheduler's default global limit (64) leaves room for
# threads still blocked on a timed-out request of a device whose poll was already given up
_POOL = ThreadPoolExecutor(max_workers=128, thread_name_prefix="gufo-snmp")
T = TypeVar("T")


class _Aborted(Exception):
    """The awaiting poll was cancelled: stop walking at the next PDU."""


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
            assert creds.user and creds.auth and creds.priv, "validated: v3 is authPriv"
            a, p = v3_keys_of(creds)
            priv_key, expansion = PRIV[creds.priv]
            kw["version"] = SnmpVersion.v3
            kw["user"] = User(
                creds.user,
                auth_key=AUTH[creds.auth](a.encode()),
                priv_key=priv_key(p.encode()),
                key_expansion=expansion,
            )
        else:
            kw["version"] = SnmpVersion.v2c
            kw["community"] = community_of(creds)
        self._session = SnmpSession(**kw)
        # one request at a time on the socket: a cancelled call's thread may still be finishing
        self._lock = threading.Lock()

    async def __aenter__(self) -> GufoTransport:
        await self._call(lambda _abort: self._retry(self._session.refresh))  # v3: engine-id discovery
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None  # the socket closes with the session object

    async def _call(self, fn: Callable[[threading.Event], T]) -> T:
        """Run ``fn(abort)`` on the pool; if the awaiting task is cancelled, ``abort`` is set so the
        thread stops at its next request instead of walking on for nobody."""
        abort = threading.Event()

        def run() -> T:
            with self._lock:
                return fn(abort)

        fut = asyncio.wrap_future(_POOL.submit(run))
        try:
            return await fut
        except asyncio.CancelledError:
            abort.set()
            raise

    def _retry(self, fn: Callable[..., T], *args: Any) -> T:
        last: Exception | None = None
        for _ in range(self.target.retries + 1):
            try:
                return fn(*args)
            except (TimeoutError, BlockingIOError) as exc:
                # gufo 0.13 raises BlockingIOError when the agent goes silent after engine discovery
                # (e.g. it cannot decrypt with our priv key): a timeout like any other
                last = exc
            except GufoError as exc:
                raise SnmpError(f"{self.target.name}: {type(exc).__name__}") from None
            except (_Aborted, KeyboardInterrupt, SystemExit, GeneratorExit):
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
        got: dict[str, Any] = await self._call(lambda _abort: self._retry(self._session.get_many, oids))
        return VarBinds(list(oids), [got.get(o) for o in oids])

    def _walk(self, root: str, max_repetitions: int | None, abort: threading.Event, out: VarBinds) -> None:
        oids, vals = out.oids, out.values
        n0 = len(oids)
        it: Any = self._session.getbulk(root, max_repetitions)
        while True:
            if abort.is_set():
                raise _Aborted
            try:
                oid, val = next(it)  # one PDU round trip when gufo's buffer is empty
            except StopIteration:
                return
            except BaseException:
                del oids[n0:], vals[n0:]  # a retry walks the column again from its start
                raise
            oids.append(oid)
            vals.append(val)
            # Why: gufo yields one varbind per call; take the PDU it already decoded in one go.
            # ``_buffer`` is gufo 0.13's list of (oid, value), None marking the end of the subtree.
            buf = getattr(it, "_buffer", None)
            if type(buf) is not list or not buf:
                continue
            it._buffer = []
            for item in buf:
                if item is None:
                    return
                oids.append(item[0])
                vals.append(item[1])

    def _walk_all(
        self, roots: list[str], max_repetitions: int | None, abort: threading.Event
    ) -> list[VarBinds]:
        out = []
        for root in roots:
            vb = VarBinds()
            self._retry(self._walk, root, max_repetitions, abort, vb)
            out.append(vb)
        return out

    async def bulk_walk(self, root: str, max_repetitions: int | None = None) -> VarBinds:
        """GETBULK-walk the subtree under ``root``."""
        return (await self.walk_columns([root], max_repetitions))[0]

    async def walk_columns(self, roots: list[str], max_repetitions: int | None = None) -> list[VarBinds]:
        """GETBULK-walk each root in turn, all in one thread hop; one VarBinds per root."""
        return await self._call(lambda abort: self._walk_all(roots, max_repetitions, abort))
