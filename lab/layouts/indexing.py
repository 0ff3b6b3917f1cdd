"""Entity index numbering per layout (SONiC's as in sonic-snmpagent PR #168); n is the 1-based port."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

# sensor kind -> digit, per scheme
SONIC_TYPE: Final = {"temp": 1, "tx": 2, "rx": 3, "bias": 4, "volt": 5}  # 1.3 current scheme
ARISTA_S: Final = {"bias": 1, "tx": 2, "rx": 3}  # 1003PP2LS (1.2 Arista row, [UNVERIFIED] there)
ARISTA_MODULE: Final = {"temp": 1, "volt": 2}  # 1003PP201 temp, 1003PP202 volt
CISCO_K: Final = {"temp": 1, "volt": 2, "bias": 1, "tx": 2, "rx": 3}  # [lab]


def _sonic(if_index: int, n: int, kind: str | None, lane: int) -> int:
    xcvr = 1_000_000_000 + if_index * 100
    return xcvr if kind is None else xcvr + SONIC_TYPE[kind] * 10 + lane


def _arista(if_index: int, n: int, kind: str | None, lane: int) -> int:
    xcvr = 100_300_000 + n * 1000 + 100
    if kind is None:
        return xcvr
    if lane == 0:
        return xcvr + 100 + ARISTA_MODULE[kind]
    return xcvr + 100 + lane * 10 + ARISTA_S[kind]


def _cisco(if_index: int, n: int, kind: str | None, lane: int) -> int:
    xcvr = 300_000_000 + n * 1000
    return xcvr if kind is None else xcvr + lane * 10 + CISCO_K[kind]


def _juniper(if_index: int, n: int, kind: str | None, lane: int) -> int:
    return 1000 + n * 10 + 1


SENSOR_INDEX: Final[dict[str, Callable[[int, int, str | None, int], int]]] = {
    "sonic_current": _sonic,
    "arista_fixed": _arista,
    "cisco_nxos": _cisco,
    "juniper": _juniper,
}

PORT_ENTITY: Final[dict[str, Callable[[int], int]]] = {
    "sonic_current": lambda n: 0,  # SONiC has no port entity: the transceiver sits in the chassis
    "arista_fixed": lambda n: 100_300_000 + n * 1000,
    "cisco_nxos": lambda n: 200_000_000 + n * 1000,
    "juniper": lambda n: 1000 + n * 10,
}
