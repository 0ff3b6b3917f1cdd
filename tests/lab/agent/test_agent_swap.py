"""The view callable is consulted per request (the physics swaps views); a failing view drops, not dies."""

from __future__ import annotations

from lab.agent import Counter64, DeviceEndpoint, MibView, OctetString
from tests.lab.agent.helpers import ThreadedAgent, netsnmp, parse_netsnmp

HC_IN = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1)
NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)


def test_view_swaps_and_failures() -> None:
    state: dict[str, MibView | None] = {"v": MibView({NAME: OctetString("a"), HC_IN: Counter64(10)})}

    def current() -> MibView:
        v = state["v"]
        if v is None:
            raise RuntimeError("physics bug")
        return v

    agent = ThreadedAgent({"sw": DeviceEndpoint(port=0, view=current)})
    try:
        target = f"127.0.0.1:{agent.port('sw')}"
        get = ("snmpget", "-v2c", "-c", "public", target, ".".join(map(str, HC_IN)))
        assert parse_netsnmp(netsnmp(*get).stdout) == [(HC_IN, Counter64(10))]
        v0 = state["v"]
        assert v0 is not None
        state["v"] = v0.updated({HC_IN: Counter64(2**64 - 2)})
        assert parse_netsnmp(netsnmp(*get).stdout) == [(HC_IN, Counter64(2**64 - 2))]
        state["v"] = None
        r = netsnmp(*get[:-2], "-t", "0.3", "-r", "0", target, ".".join(map(str, HC_IN)), check=False)
        assert r.returncode != 0 and "Timeout" in r.stderr
        assert agent.server.stats("sw").internal_errors == 1
        state["v"] = v0
        assert parse_netsnmp(netsnmp(*get).stdout) == [(HC_IN, Counter64(10))]
    finally:
        agent.stop()
