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
            first = "terminated" if f.point_termination[p] == "field" else "installed"
            conns.append(
                {
                    "id": f.point_ids[p],
                    "type": f.point_type[p],
                    # only families sold in grades carry one (the catalog refuses a grade on MMC)
                    **({"grade": f.point_grade[p]} if f.point_grade[p] else {}),
                    "termination": f.point_termination[p],
                    "matings_before_records": int(f.point_matings_before[p]),
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
    }
