"""The inventory a scenario implies: what a user would have recorded (recorded events, never faults)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from lab.gnmi.login import LAB_GNMI_USER
from lab.physics.events import KINDS
from lab.physics.sim import FabricSim

INVENTORY_EVENT_KIND = {"mate": "mated", "clean": "cleaned", "reterminate": "terminated"}
INSTALLED_DAYS_BEFORE = (
    30  # the fleet is installed this long before the scenario starts (matches the gel model)
)


def inventory(
    sim: FabricSim,
    host: str = "127.0.0.1",
    base_port: int = 16100,
    secrets_dir: Path | None = None,
    gnmi_ports: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The inventory this scenario implies, as a user would record it (ARCHITECTURE.md "The inventory").

    Devices named in ``gnmi_ports`` are read over gNMI on that port (``transport: gnmi``, the lab's
    username and its password in ``secrets_dir/gnmi``); the others over SNMP at ``base_port + i``.
    """
    f, sc = sim.fleet, sim.scenario
    installed = sc.start - timedelta(days=INSTALLED_DAYS_BEFORE)
    sdir = secrets_dir or Path("secrets")
    ev = sim.events
    point_events: dict[int, list[dict[str, Any]]] = {}
    for i in range(len(ev)):
        kind = KINDS[int(ev.kind[i])]
        if ev.recorded[i] and kind in INVENTORY_EVENT_KIND and ev.point[i] >= 0:
            point_events.setdefault(int(ev.point[i]), []).append(
                {
                    "at": sim.wallclock(float(ev.t[i])).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "kind": INVENTORY_EVENT_KIND[kind],
                }
            )
    links = []
    for k in range(f.n_links):
        a, b = int(f.link_a_port[k]), int(f.link_b_port[k])
        conns = []
        for pp in np.nonzero(f.point_link == k)[0]:
            p = int(pp)
            # a field point's install is its termination (a new end face); one that was mated before the
            # records began was terminated before them too, so its first record is the installation and
            # its count runs from the matings before the records (the core restarts it at a termination)
            before = int(f.point_matings_before[p])
            first = "terminated" if f.point_termination[p] == "field" and before == 0 else "installed"
            conns.append(
                {
                    "id": f.point_ids[p],
                    "type": f.point_type[p],
                    # only families sold in grades carry one (the catalog refuses a grade on MMC)
                    **({"grade": f.point_grade[p]} if f.point_grade[p] else {}),
                    "termination": f.point_termination[p],
                    "matings_before_records": before,
                    "events": [
                        {"at": installed.strftime("%Y-%m-%dT%H:%M:%SZ"), "kind": first},
                        *point_events.get(p, []),
                    ],
                }
            )
        links.append(
            {
                "id": f.link_ids[k],
                "a": {"device": f.dev_names[int(f.port_dev[a])], "port": f.port_names[a]},
                "b": {"device": f.dev_names[int(f.port_dev[b])], "port": f.port_names[b]},
                "optic": f.pmd_names[int(f.link_pmd[k])],
                "fiber": {"type": f.link_fiber[k], "length_m": round(float(f.link_length_m[k]), 1)},
                "connections": conns,
            }
        )
    gp = gnmi_ports or {}
    devices: list[dict[str, Any]] = [
        {"name": n, "address": host, "port": base_port + i, "credentials": "lab-v2c", "profile": "auto"}
        if n not in gp
        else {"name": n, "address": host, "port": gp[n], "credentials": "lab-gnmi", "transport": "gnmi"}
        for i, n in enumerate(f.dev_names)
    ]
    # plaintext on loopback with the lab's password (lab.gnmi.login): a user's entry would add ca_file
    login = {"tls": False, "username": LAB_GNMI_USER, "password_file": str(sdir / "gnmi")}
    gnmi = {"gnmi_credentials": {"lab-gnmi": login}} if gp else {}
    return {
        "site": f"lab-{sc.name}",
        **gnmi,
        "credentials": {
            "lab-v2c": {"version": "2c", "community_env": "LINKMARGIN_LAB_COMMUNITY"},
            "lab-v3": {
                "version": 3,
                "user": sc.v3_user,
                "auth": "sha",
                "auth_key_file": str(sdir / "auth"),
                "priv": "aes",
                "priv_key_file": str(sdir / "priv"),
            },
        },
        "devices": devices,
        "links": links,
        "maintenance": planned_work(sim),
    }


ANNOUNCE_SEED = 19
"""Stream of the announcement draws, apart from the physics' (announcing changes no sample)."""
WINDOW_BEFORE_S = 3600.0
"""An announced window opens this long before the work is done."""


def planned_work(sim: FabricSim) -> list[dict[str, Any]]:
    """The maintenance the lab announces ahead of time: what the analyzer may know, never the outcome.

    Every scheduled ``maintenance`` event is a window on its link (every connector re-mated); of the
    other recorded matings (background re-patching and scheduled ``mate`` events), the scenario's
    ``background.announced_share`` are announced as a one-point window. A window opens
    :data:`WINDOW_BEFORE_S` before the work and closes an hour after it.
    """
    f, sc, ev = sim.fleet, sim.scenario, sim.events
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    out: list[dict[str, Any]] = []
    for i, e in enumerate(x for x in sc.events if x.kind == "maintenance" and x.recorded):
        link = f.link_ids[f.link_index(e.link if e.link is not None else 0)]
        out.append(
            {
                "id": f"mw-{i + 1}",
                "start": sim.wallclock(e.at_s - WINDOW_BEFORE_S).strftime(stamp),
                "end": sim.wallclock(e.at_s + e.duration_s + 3600.0).strftime(stamp),
                "links": [link],
                "actions": ["mate"],
                "note": "scheduled maintenance window",
            }
        )
    share = float(sc.background.get("announced_share", 0.0))
    windows = {sim.wallclock(e.at_s + e.duration_s - 1.0) for e in sc.events if e.kind == "maintenance"}
    mate = KINDS.index("mate")
    idx = [
        int(i)
        for i in np.flatnonzero((ev.kind == mate) & ev.recorded & (ev.point >= 0))
        if sim.wallclock(float(ev.t[i])) not in windows  # a window's own matings are announced above
    ]
    rng = np.random.default_rng([sc.seed, ANNOUNCE_SEED])
    chosen = [i for i, u in zip(idx, rng.random(len(idx)), strict=True) if u < share]
    for n, k in enumerate(chosen, start=len(out) + 1):
        t = float(ev.t[k])
        out.append(
            {
                "id": f"mw-{n}",
                "start": sim.wallclock(t - WINDOW_BEFORE_S).strftime(stamp),
                "end": sim.wallclock(t + 3600.0).strftime(stamp),
                "points": [f.point_ids[int(ev.point[k])]],
                "actions": ["mate"],
                "note": "announced re-patching",
            }
        )
    return out
