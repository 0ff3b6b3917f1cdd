"""Mutated real requests (captured from net-snmp, v2c and v3 authPriv) never escape the handler."""

from __future__ import annotations

import random

from lab.agent.ber import BerError
from lab.agent.server import _DeviceProtocol, _Engine
from tests.lab.agent.helpers import SHA_USER, ThreadedAgent, netsnmp, v3_args


def test_mutated_requests_are_dropped_or_answered(agent: ThreadedAgent) -> None:
    proto = agent.server._running["sw-sha"].protocol
    captured: list[bytes] = []
    real = proto.handle

    def recording(buf: bytes) -> bytes | None:
        captured.append(bytes(buf))
        return real(buf)

    proto.handle = recording  # type: ignore[method-assign]
    try:
        port = agent.port("sw-sha")
        netsnmp("snmpbulkwalk", "-v2c", "-c", "public", "-Cr5", f"127.0.0.1:{port}", "1.3.6.1.2.1.1")
        netsnmp("snmpget", *v3_args(SHA_USER, port), "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.3.0")
    finally:
        del proto.handle
    assert len(captured) >= 4  # v2c pages, v3 discovery, v3 authPriv get

    # A private twin with the same engine ID and user, so captured v3 messages still authenticate.
    eng = proto.engine
    twin = _DeviceProtocol("fuzz", proto.ep, _Engine(eng.engine_id, eng.boots, list(eng.users.values())))
    assert all(twin.handle(c) is not None for c in captured)  # unmutated: every one is answered
    rng = random.Random(7)
    answered = dropped = 0
    for _ in range(4000):
        m = bytearray(rng.choice(captured))
        op = rng.randrange(4)
        if op == 0:
            m[rng.randrange(len(m))] = rng.randrange(256)
        elif op == 1:
            del m[rng.randrange(len(m)) :]
        elif op == 2:
            i = rng.randrange(len(m))
            m[i:i] = rng.randbytes(rng.randrange(1, 8))
        else:
            for _ in range(rng.randrange(1, 6)):
                m[rng.randrange(len(m))] ^= 1 << rng.randrange(8)
        try:
            r = twin.handle(bytes(m))
        except (BerError, ValueError, IndexError, OverflowError):
            dropped += 1
            continue
        if r is None:
            dropped += 1
        else:
            answered += 1
            assert r[0] == 0x30 and len(r) < 65507
    assert answered > 0 and dropped > 0
