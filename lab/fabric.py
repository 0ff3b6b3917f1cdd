"""A running lab fabric: a FabricSim on a (possibly accelerated) clock, one MibView per switch.

This is what `linkmargin lab serve` and the tests hand to lab.agent.AgentServer.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import compress
from operator import attrgetter, itemgetter, ne

from lab.agent import DeviceEndpoint, MibView, V3User
from lab.layouts.render import SwitchRenderer
from lab.physics.sim import DomReadings, FabricSim, OpticalState
from lab.scenario import Scenario

_VALUE, _NUMBER = itemgetter(1), attrgetter("value")  # a row's value, a value's number (or bytes)

AUTH_ENV, PRIV_ENV = "LINKMARGIN_LAB_AUTH_KEY", "LINKMARGIN_LAB_PRIV_KEY"


def v3_keys() -> tuple[str, str]:
    """SNMPv3 auth/priv passphrases of the lab agents: from the environment, else lab defaults."""
    return os.environ.get(AUTH_ENV, "lab-auth-passphrase"), os.environ.get(PRIV_ENV, "lab-priv-passphrase")


@dataclass(frozen=True)
class EndpointInfo:
    """One row of the `lab serve` table."""

    device: str
    host: str
    port: int
    community: str
    v3_user: str
    layout: str


class LabFabric:
    """A scenario running on a clock: sim time = start_s + (wall - wall0) x speed."""

    def __init__(
        self,
        scenario: Scenario,
        speed: float = 1.0,
        start_s: float = 0.0,
        refresh_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.scenario = scenario
        self.sim = FabricSim(scenario)
        self.speed = speed
        self.refresh_s = refresh_s
        self._clock = clock
        self.sim.advance_to(start_s)
        self._start_s = start_s
        self._wall0 = clock()
        self._last_refresh = -1e18
        self._index = {name: i for i, name in enumerate(self.sim.fleet.dev_names)}
        self._renderers = [SwitchRenderer(self.sim, d) for d in range(len(self.sim.fleet.dev_names))]
        self._views: dict[int, tuple[float, MibView]] = {}
        # per switch: the view positions of its dynamic rows and their values at the last render
        self._dynamic: dict[int, tuple[list[int], list[object]]] = {}
        self._optics: tuple[OpticalState, DomReadings] | None = None
        self._boot_seen = self.sim.boot_s.copy()
        self.on_reboot: Callable[[str], None] | None = None
        self.max_steps_per_tick = 20  # bounds the work of one tick when the clock runs fast

    @property
    def devices(self) -> list[str]:
        """Device names in scenario order."""
        return list(self.sim.fleet.dev_names)

    def sim_now(self) -> float:
        """The simulation time the clock says it is now."""
        return self._start_s + (self._clock() - self._wall0) * self.speed

    def tick(self) -> None:
        """Advance the sim to now (at most once per refresh_s of wall time)."""
        now = self._clock()
        if now - self._last_refresh < self.refresh_s:
            return
        self._last_refresh = now
        self.sim.advance_to(self.sim_now(), max_steps=self.max_steps_per_tick)
        rebooted = self.sim.boot_s != self._boot_seen
        if rebooted.any():
            self._boot_seen = self.sim.boot_s.copy()
            for d in rebooted.nonzero()[0]:
                if self.on_reboot:
                    self.on_reboot(self.sim.fleet.dev_names[int(d)])

    def view(self, device: str) -> MibView:
        """The device's MibView at the current sim time (re-rendered when the sim moved).

        The static rows (names, indexes, thresholds) are rendered once; after the first view only the
        dynamic rows are rendered again, and the agent gets the values that changed (cheap re-encode).
        """
        self.tick()
        d = self._index[device]
        cached = self._views.get(d)
        if cached and cached[0] == self.sim.t:
            return cached[1]
        r = self._renderers[d]
        st, dom = self._state()
        rows = r.dynamic_rows(st, dom)
        values = list(map(_VALUE, rows))
        numbers = list(map(_NUMBER, values))
        prev = self._dynamic.get(d)
        if cached and prev is not None and len(prev[1]) == len(rows):
            pos, old = prev
            # a position's value type never changes (the renderers fix it): compare the numbers, in C
            moved = compress(range(len(rows)), map(ne, old, numbers))
            v = cached[1].replaced([(pos[i], values[i]) for i in moved])
        else:
            v = MibView([*r.static_rows(), *rows])
            pos = [v.index(oid) for oid, _ in rows]
        self._dynamic[d] = (pos, numbers)
        self._views[d] = (self.sim.t, v)
        return v

    def _state(self) -> tuple[OpticalState, DomReadings]:
        """The fleet's optical state and DOM readings at the sim's time, worked out once for every switch."""
        if self._optics is None or self._optics[0].t != self.sim.t:
            st = self.sim.optical(self.sim.t)
            self._optics = (st, self.sim.dom(st))
        return self._optics

    def endpoints(self, base_port: int = 16100) -> dict[str, DeviceEndpoint]:
        """DeviceEndpoints for AgentServer: one UDP port per switch from base_port (0 = any free)."""
        auth, priv = v3_keys()
        out = {}
        for i, name in enumerate(self.devices):
            out[name] = DeviceEndpoint(
                port=base_port + i if base_port else 0,
                view=lambda n=name: self.view(n),  # type: ignore[misc]
                community=self.scenario.community,
                v3_user=V3User(self.scenario.v3_user, auth, priv),
            )
        return out

    def table(self, bound: dict[str, tuple[str, int]]) -> list[EndpointInfo]:
        """The device/endpoint/credentials/layout table for bound endpoints."""
        f = self.sim.fleet
        return [
            EndpointInfo(
                n, bound[n][0], bound[n][1], self.scenario.community, self.scenario.v3_user, f.dev_layout[i]
            )
            for i, n in enumerate(f.dev_names)
            if n in bound
        ]
