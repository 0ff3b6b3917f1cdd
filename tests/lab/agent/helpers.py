"""Test helpers: a sample view with awkward values, a threaded agent, net-snmp runners and parser."""

from __future__ import annotations

import asyncio
import re
import subprocess
import threading
from collections.abc import Mapping

from lab.agent import (
    AgentServer,
    AuthProtocol,
    Counter32,
    Counter64,
    DeviceEndpoint,
    Gauge32,
    Integer,
    MibView,
    ObjectIdentifier,
    OctetString,
    SnmpValue,
    TimeTicks,
    V3User,
    parse_oid,
)

AUTH_PW = "lab-auth-pass-1"  # test-only secrets
PRIV_PW = "lab-priv-pass-1"
SHA_USER = V3User("labsha", AUTH_PW, PRIV_PW)
SHA256_USER = V3User("labsha256", AUTH_PW, PRIV_PW, auth_protocol=AuthProtocol.SHA256)


def sample_view(rows: int = 60) -> MibView:
    """A switch-like view: scalars, an ifTable/ifXTable slice, sensors; every value type and edge."""
    e: dict[tuple[int, ...], SnmpValue] = {
        (1, 3, 6, 1, 2, 1, 1, 1, 0): OctetString("lab switch \u00e9 \u2603"),  # UTF-8, non-ASCII
        (1, 3, 6, 1, 2, 1, 1, 2, 0): ObjectIdentifier("1.3.6.1.4.1.30065.1.3011.7050.3282.52"),
        (1, 3, 6, 1, 2, 1, 1, 3, 0): TimeTicks(4_294_967_295),
        (1, 3, 6, 1, 2, 1, 1, 5, 0): OctetString("leaf-1"),
        (1, 3, 6, 1, 2, 1, 1, 6, 0): OctetString(b""),
    }
    for i in range(1, rows + 1):
        e[(1, 3, 6, 1, 2, 1, 2, 2, 1, 1, i)] = Integer(i)
        e[(1, 3, 6, 1, 2, 1, 2, 2, 1, 2, i)] = OctetString(f"Ethernet{i}")
        e[(1, 3, 6, 1, 2, 1, 2, 2, 1, 6, i)] = OctetString(bytes([0x00, 0x1C, 0x73, 0xFF, 0x80, i % 256]))
        e[(1, 3, 6, 1, 2, 1, 2, 2, 1, 10, i)] = Counter32(2**32 - i)
        e[(1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, i)] = Counter64(2**64 - 1 - i * 7919)
        e[(1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 15, i)] = Gauge32(400_000)
        e[(1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 19, i)] = TimeTicks(i * 100)
        e[(1, 3, 6, 1, 2, 1, 99, 1, 1, 1, 4, 1000 + i)] = Integer(-(2**31) + i if i % 2 else -40 * i)
        e[(1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 3, 1000 + i)] = ObjectIdentifier(
            (1, 3, 6, 1, 2, 1, 2, 2, 1, 1, i)
        )
        e[(1, 3, 6, 1, 4, 1, 30065, 3, 16384 + i, 2**32 - i)] = Integer(2**31 - 1)  # big arcs
    return MibView(e)


class ThreadedAgent:
    """AgentServer on its own loop thread, so blocking subprocess clients and async clients both work."""

    def __init__(self, devices: Mapping[str, DeviceEndpoint]) -> None:
        self.loop = asyncio.new_event_loop()
        self.server = AgentServer()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.endpoints = asyncio.run_coroutine_threadsafe(self.server.start(devices), self.loop).result(30)

    def port(self, name: str) -> int:
        """UDP port of a device."""
        return self.endpoints[name][1]

    def run(self, fn: object, *args: object) -> object:
        """Call fn(*args) on the agent's loop thread and return its result."""

        async def call() -> object:
            return fn(*args)  # type: ignore[operator]

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(10)

    def stop(self) -> None:
        """Close the sockets and stop the loop thread."""
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


_LINE = re.compile(r"^(\.[\d.]+) = (?:([\w-]+): )?(.*)$")


def parse_netsnmp(out: str) -> list[tuple[tuple[int, ...], SnmpValue | str]]:
    """Parse `-On -Ox` output into (oid, value); exception values come back as their text."""
    rows: list[tuple[tuple[int, ...], SnmpValue | str]] = []
    lines: list[str] = []
    for raw in out.splitlines():
        if raw.startswith(".") or not lines:
            lines.append(raw)
        else:  # net-snmp wraps long Hex-STRINGs onto continuation lines
            lines[-1] += " " + raw
    for line in lines:
        m = _LINE.match(line)
        assert m, f"unparsed net-snmp line: {line!r}"
        oid, typ, text = parse_oid(m.group(1)), m.group(2), m.group(3)
        v: SnmpValue | str
        if typ == "INTEGER":
            v = Integer(int(text))
        elif typ == "Hex-STRING":
            v = OctetString(bytes.fromhex(text.replace(" ", "")))
        elif typ is None and text == '""':  # net-snmp prints the empty string with no type
            v = OctetString(b"")
        elif typ == "OID":
            v = ObjectIdentifier(text)
        elif typ == "Counter32":
            v = Counter32(int(text))
        elif typ == "Gauge32":
            v = Gauge32(int(text))
        elif typ == "Counter64":
            v = Counter64(int(text))
        elif typ == "Timeticks":
            m2 = re.match(r"\((\d+)\)", text)
            assert m2, text
            v = TimeTicks(int(m2.group(1)))
        else:
            v = text if typ is None else f"{typ}: {text}"
        rows.append((oid, v))
    return rows


def netsnmp(tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a net-snmp client with numeric OIDs, hex strings, no MIBs, short timeout."""
    cmd = [tool, "-On", "-Ox", "-m", "", "-M", "/nonexistent", "-t", "2", "-r", "1", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=check)


def v3_args(user: V3User, port: int) -> list[str]:
    """net-snmp authPriv arguments for a test user."""
    a = "SHA" if user.auth_protocol is AuthProtocol.SHA else "SHA-256"
    assert user.priv_password is not None
    return [
        "-v3",
        "-l",
        "authPriv",
        "-u",
        user.name,
        "-a",
        a,
        "-A",
        user.auth_password,
        "-x",
        "AES",
        "-X",
        user.priv_password,
        f"127.0.0.1:{port}",
    ]
