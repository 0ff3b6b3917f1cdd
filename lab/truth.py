"""Ground truth of a scenario run: per-lane true loss, margin and BER over time, the injected events,
and the inventory a user would have recorded (only recorded events; faults are not in it)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from ruamel.yaml import YAML

from lab.physics.events import KINDS
from lab.physics.fleet import MAX_LANES
from lab.physics.sim import OPER_UP, FabricSim
from linkmargin.catalog import connector

INVENTORY_EVENT_KIND = {"mate": "mated", "clean": "cleaned", "reterminate": "terminated"}
INSTALLED_DAYS_BEFORE = (
    30  # the fleet is installed this long before the scenario starts (matches the gel model)
)


def lane_frame(sim: FabricSim) -> pl.DataFrame:
    """One row per (link, direction, lane) with the true state at the sim's current time.

    dB/dBm columns are float32 (1e-6 dB is far below any effect); BER stays float64 (tiny values).
    """
    f = sim.fleet
    st = sim.optical(sim.t)
    rows_rx = np.concatenate([f.link_b_port, f.link_a_port])  # direction ab: b receives; ba: a receives
    rows_tx = np.concatenate([f.link_a_port, f.link_b_port])
    link = np.concatenate([np.arange(f.n_links), np.arange(f.n_links)])
    loss = np.concatenate([st.loss_db[:, 0], st.loss_db[:, 1]])
    lanes = f.port_lanes[rows_rx]
    mask = np.arange(MAX_LANES)[None, :] < lanes[:, None]
    li, lane = np.nonzero(mask)
    n = len(li)
    rx = rows_rx[li]
    return pl.DataFrame(
        {
            "t": pl.Series("t", [sim.wallclock(sim.t)], dtype=pl.Datetime("us", "UTC")).gather(
                np.zeros(n, np.int64)
            ),
            "link_id": pl.Series(f.link_ids, dtype=pl.Utf8).gather(link[li]),
            "direction": pl.Series(["ab", "ba"]).gather((li >= f.n_links).astype(np.int64)),
            "lane": (lane + 1).astype(np.int16),
            "rx_device": pl.Series(f.dev_names, dtype=pl.Utf8).gather(f.port_dev[rx]),
            "rx_port": pl.Series(f.port_names, dtype=pl.Utf8).gather(rx),
            "loss_db": loss[li, lane].astype(np.float32),
            "tx_power_dbm": st.tx_dbm[rows_tx[li], lane].astype(np.float32),
            "rx_power_dbm": st.rx_dbm[rx, lane].astype(np.float32),
            "margin_db": st.margin_db[rx, lane].astype(np.float32),
            "pre_fec_ber": st.ber[rx, lane],
            "oper_up": sim.oper[rx] == OPER_UP,
        }
    )


def run_truth(sim: FabricSim, step_s: float | None = None, until_s: float | None = None) -> pl.DataFrame:
    """Run the sim from its current time to `until_s`, sampling the lane truth every step_s."""
    step = step_s or sim.scenario.truth_step_s
    end = sim.scenario.duration_s if until_s is None else until_s
    frames = []
    t = sim.t
    while t <= end + 1e-9:
        sim.advance_to(t)
        frames.append(lane_frame(sim))
        t += step
    return pl.concat(frames)


def events_frame(sim: FabricSim) -> pl.DataFrame:
    """The full event table (injected faults included, `recorded` says what the user knows)."""
    rows = sim.events.rows(sim.fleet)
    for r in rows:
        r["t"] = sim.wallclock(r.pop("t_s"))
    schema: dict[str, Any] = {
        "t": pl.Datetime("us", "UTC"),
        "kind": pl.Utf8,
        "link_id": pl.Utf8,
        "point_id": pl.Utf8,
        "device": pl.Utf8,
        "port": pl.Utf8,
        "db": pl.Float64,
        "lanes": pl.Utf8,
        "direction": pl.Utf8,
        "recorded": pl.Boolean,
    }
    return pl.DataFrame(rows, schema=schema)


def inventory(
    sim: FabricSim, host: str = "127.0.0.1", base_port: int = 16100, secrets_dir: Path | None = None
) -> dict[str, Any]:
    """The inventory this scenario implies, as a user would record it (ARCHITECTURE.md "The inventory")."""
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
    devices = [
        {"name": n, "address": host, "port": base_port + i, "credentials": "lab-v2c", "profile": "auto"}
        for i, n in enumerate(f.dev_names)
    ]
    return {
        "site": f"lab-{sc.name}",
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


def write_truth(sim: FabricSim, out: Path, base_port: int = 16100) -> dict[str, Path]:
    """Write lanes.parquet, events.parquet and inventory.yaml (plus v3 key files) into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    lanes = run_truth(sim)
    paths = {
        "lanes": out / "lanes.parquet",
        "events": out / "events.parquet",
        "inventory": out / "inventory.yaml",
    }
    lanes.write_parquet(paths["lanes"])
    events_frame(sim).write_parquet(paths["events"])
    secrets = out / "secrets"
    secrets.mkdir(exist_ok=True)
    from lab.fabric import v3_keys

    auth, priv = v3_keys()
    for name, key in (("auth", auth), ("priv", priv)):
        p = secrets / name
        p.write_text(key + "\n")
        os.chmod(p, 0o600)
    yaml = YAML()
    yaml.default_flow_style = None
    yaml.width = 4096
    with paths["inventory"].open("w") as fh:
        yaml.dump(inventory(sim, base_port=base_port, secrets_dir=secrets.resolve()), fh)
    return paths


STEP_KINDS = ("contaminate", "bend", "mate")


def crossing_causes(sim: FabricSim, crossings: pl.DataFrame, lead_s: float) -> pl.DataFrame:
    """Why each link crossed, and whether a forecaster could have seen it ``lead_s`` ahead.

    ``crossings`` has ``link`` and ``crossed_at`` (null: never). A crossing is *sudden* when a loss
    step (contamination, bend, dirty mating) hit the link within ``lead_s`` before it: nothing in the
    telemetry announced it that early. Otherwise the cause is the laser aging on either end, or the
    drift that took the link there (after an earlier step, if any).
    """
    f, ev = sim.fleet, sim.events
    index = {lid: k for k, lid in enumerate(f.link_ids)}
    aging = f.aging_start_s  # the fleet's own aging lasers; injected ones are failing_laser events
    rows: list[tuple[str, str | None, bool | None]] = []
    for link, crossed_at in crossings.select("link", "crossed_at").iter_rows():
        if crossed_at is None:
            rows.append((link, None, None))
            continue
        k = index[link]
        t_cross = (crossed_at - sim.scenario.start).total_seconds()
        on_link = (ev.link == k) & (ev.t <= t_cross)
        steps = on_link & np.isin(ev.kind, [KINDS.index(s) for s in STEP_KINDS]) & (ev.db > 0)
        last_step = float(ev.t[steps].max()) if steps.any() else -np.inf
        lasers = on_link & (ev.kind == KINDS.index("failing_laser"))
        ports = (int(f.link_a_port[k]), int(f.link_b_port[k]))
        aged = lasers.any() or any(aging[p] <= t_cross for p in ports)
        if last_step > t_cross - lead_s:
            kind = str(KINDS[int(ev.kind[steps][np.argmax(ev.t[steps])])])
            rows.append((link, kind, True))
        elif aged:
            rows.append((link, "failing_laser", False))
        else:
            rows.append((link, "drift", False))
    return pl.DataFrame(rows, schema={"link": pl.Utf8, "cause": pl.Utf8, "sudden": pl.Boolean}, orient="row")


def cohort_truth(sim: FabricSim) -> pl.DataFrame:
    """The lab's true mating behaviour per connector cohort (catalog family x termination).

    ``p_step``: probability that a mating leaves a contamination step; ``step_db``: the step's mean
    size (the lab draws median x lognormal(0, 0.6), clipped to 0.5-4 dB, as in
    :func:`lab.physics.events.build_events`); computed by quadrature, not sampled. ``points``: how
    many points of the cohort the fleet has. Splices are never mated in the lab and are left out.
    """
    f = sim.fleet
    z = np.linspace(-8.0, 8.0, 4001)
    w = np.exp(-0.5 * z * z)
    w /= w.sum()
    per_point: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for p, ctype in enumerate(f.point_type):
        cat = connector(ctype)
        if cat.is_splice:
            continue
        mean_step = float((np.clip(f.point_step_median[p] * np.exp(0.6 * z), 0.5, 4.0) * w).sum())
        per_point.setdefault((cat.family, f.point_termination[p]), []).append((f.point_p_dirty[p], mean_step))
    out = [
        (family, term, float(np.mean([v[0] for v in vals])), float(np.mean([v[1] for v in vals])), len(vals))
        for (family, term), vals in sorted(per_point.items())
    ]
    return pl.DataFrame(
        out,
        schema={
            "family": pl.Utf8,
            "termination": pl.Utf8,
            "p_step": pl.Float64,
            "step_db": pl.Float64,
            "points": pl.Int64,
        },
        orient="row",
    )
