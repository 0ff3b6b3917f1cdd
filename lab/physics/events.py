"""The event table of a run: scheduled events from the scenario plus seeded background and faults.

One numpy row per event, sorted by time; every random draw an event needs (is the mating dirty,
how big is the step, which fibers, how much a cleaning leaves) is drawn here, up front, so a run is
a pure function of (scenario, seed) whatever times it is evaluated at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from lab.physics.fleet import MAX_LANES, Fleet
from lab.physics.wear import mating_step
from lab.scenario import EventSpec
from linkmargin.catalog import connector

KINDS: Final = (
    "mate",
    "clean",
    "reterminate",
    "contaminate",
    "bend",
    "failing_laser",
    "reboot",
    "admin_down",
    "admin_up",
)
KIND_CODE: Final = {k: i for i, k in enumerate(KINDS)}


@dataclass
class EventTable:
    """Columns of the event table (length = number of events)."""

    t: npt.NDArray[np.float64]
    kind: npt.NDArray[np.int64]
    link: npt.NDArray[np.int64]  # -1 when not link-scoped
    point: npt.NDArray[np.int64]  # -1 when not point-scoped
    port: npt.NDArray[np.int64]  # failing laser
    device: npt.NDArray[np.int64]  # reboot
    db: npt.NDArray[np.float64]  # contamination / bend step (0 for a clean mating)
    cells: npt.NDArray[np.bool_]  # (events, 2 directions, MAX_LANES) cells the step applies to
    residual: npt.NDArray[np.float64]  # fraction a cleaning leaves
    rate: npt.NDArray[np.float64]
    recorded: npt.NDArray[np.bool_]
    perm_db: npt.NDArray[
        np.float64
    ]  # the part of a mating's step that cleaning cannot remove (end-face damage)
    matings_at: npt.NDArray[np.int64]  # a mating: the point's cumulative matings before it (-1 otherwise)

    def __len__(self) -> int:
        return len(self.t)

    def rows(self, fleet: Fleet) -> list[dict[str, Any]]:
        """Plain rows (for the truth Parquet and the inventory)."""
        out = []
        for i in range(len(self)):
            lanes = np.nonzero(self.cells[i].any(axis=0))[0] + 1
            dirs = [d for d, name in ((0, "ab"), (1, "ba")) if self.cells[i, d].any()]
            out.append(
                {
                    "t_s": float(self.t[i]),
                    "kind": KINDS[int(self.kind[i])],
                    "link_id": fleet.link_ids[int(self.link[i])] if self.link[i] >= 0 else None,
                    "point_id": fleet.point_ids[int(self.point[i])] if self.point[i] >= 0 else None,
                    "device": fleet.dev_names[int(self.device[i])] if self.device[i] >= 0 else None,
                    "port": fleet.port_names[int(self.port[i])] if self.port[i] >= 0 else None,
                    "db": float(self.db[i]),
                    "lanes": ",".join(str(int(x)) for x in lanes),
                    "direction": "+".join(("ab", "ba")[d] for d in dirs),
                    "recorded": bool(self.recorded[i]),
                }
            )
        return out


def _cells(lanes: tuple[int, ...] | None, direction: str) -> npt.NDArray[np.bool_]:
    c = np.zeros((2, MAX_LANES), dtype=bool)
    sel = np.zeros(MAX_LANES, dtype=bool)
    if lanes:
        sel[[x - 1 for x in lanes]] = True
    else:
        sel[:] = True
    for d, name in ((0, "ab"), (1, "ba")):
        if direction in (name, "both"):
            c[d] = sel
    return c


def build_events(
    fleet: Fleet,
    specs: tuple[EventSpec, ...],
    background: dict[str, Any],
    random_faults: dict[str, int],
    duration_s: float,
    rng: np.random.Generator,
) -> EventTable:
    """Expand scheduled events, background matings/cleanings and random faults into one table."""
    rows: list[tuple[float, int, int, int, int, int, float, npt.NDArray[np.bool_], float, float, bool]] = []
    draws: list[tuple[float, float]] = []  # per row: a mating's uniform and normal draws (nan otherwise)

    def add(
        row: tuple[float, int, int, int, int, int, float, npt.NDArray[np.bool_], float, float, bool],
        u: float = np.nan,
        z: float = np.nan,
    ) -> None:
        rows.append(row)
        draws.append((u, z))

    def mating(t: float, link: int, point: int, recorded: bool = True) -> None:
        # the draws only: whether it is dirty and how big the step is depend on the point's wear at
        # that time, settled in time order by :func:`_settle_wear`
        u, z = float(rng.random()), float(rng.normal())
        cells = rng.random((2, MAX_LANES)) < 0.3
        if not cells.any():
            cells[int(rng.integers(0, 2)), int(rng.integers(0, MAX_LANES))] = True
        add((t, KIND_CODE["mate"], link, point, -1, -1, 0.0, cells, 0.0, 0.0, recorded), u, z)

    def cleaning(t: float, link: int, point: int, recorded: bool = True) -> None:
        res = float(rng.uniform(0.0, 2.0 * fleet.point_clean_residual[point]))
        cells = np.ones((2, MAX_LANES), dtype=bool)
        add((t, KIND_CODE["clean"], link, point, -1, -1, 0.0, cells, res, 0.0, recorded))

    # splices are never mated or unmated; only connectors take part in maintenance
    mateable = np.array([not connector(t).is_splice for t in fleet.point_type], dtype=bool)

    def point_of(link: int, pos: int | None) -> int:
        idx = np.nonzero(fleet.point_link == link)[0]
        if len(idx) == 0:
            raise ValueError(f"link {fleet.link_ids[link]} has no connection points")
        return int(idx[0 if pos is None else pos])

    for e in specs:
        link = fleet.link_index(e.link) if e.link is not None else -1
        if e.kind == "mate":
            mating(e.at_s, link, point_of(link, e.point), e.recorded)
        elif e.kind == "clean":
            cleaning(e.at_s, link, point_of(link, e.point), e.recorded)
        elif e.kind == "reterminate":
            p = point_of(link, e.point)
            add(
                (
                    e.at_s,
                    KIND_CODE["reterminate"],
                    link,
                    p,
                    -1,
                    -1,
                    0.0,
                    np.ones((2, MAX_LANES), bool),
                    0.0,
                    0.0,
                    e.recorded,
                )
            )
        elif e.kind == "contaminate":
            add(
                (
                    e.at_s,
                    KIND_CODE["contaminate"],
                    link,
                    point_of(link, e.point),
                    -1,
                    -1,
                    e.db,
                    _cells(e.lanes, e.direction),
                    0.0,
                    0.0,
                    e.recorded,
                )
            )
        elif e.kind == "bend":
            add(
                (
                    e.at_s,
                    KIND_CODE["bend"],
                    link,
                    -1,
                    -1,
                    -1,
                    e.db,
                    _cells(e.lanes, e.direction),
                    0.0,
                    0.0,
                    e.recorded,
                )
            )
        elif e.kind == "failing_laser":
            port = int(fleet.link_a_port[link] if e.side == "a" else fleet.link_b_port[link])
            add(
                (
                    e.at_s,
                    KIND_CODE["failing_laser"],
                    link,
                    -1,
                    port,
                    -1,
                    0.0,
                    np.zeros((2, MAX_LANES), bool),
                    0.0,
                    e.rate_db_per_day or 0.5,
                    e.recorded,
                )
            )
        elif e.kind == "maintenance":
            # planned window: the link is shut (laser off), re-patched, and every point re-mated on return
            port = int(fleet.link_a_port[link])
            none = np.zeros((2, MAX_LANES), bool)
            end = e.at_s + e.duration_s
            add((e.at_s, KIND_CODE["admin_down"], link, -1, port, -1, 0.0, none, 0.0, 0.0, e.recorded))
            for pp in np.nonzero((fleet.point_link == link) & mateable)[0]:
                mating(end - 1.0, link, int(pp), e.recorded)
            add((end, KIND_CODE["admin_up"], link, -1, port, -1, 0.0, none, 0.0, 0.0, e.recorded))
        elif e.kind == "reboot":
            dev = fleet.device_index(str(e.device))
            add(
                (
                    e.at_s,
                    KIND_CODE["reboot"],
                    -1,
                    -1,
                    -1,
                    dev,
                    0.0,
                    np.zeros((2, MAX_LANES), bool),
                    0.0,
                    0.0,
                    e.recorded,
                )
            )
        else:
            raise ValueError(f"unknown event kind {e.kind!r} (expected one of {', '.join(KINDS)})")

    # Background maintenance: matings per point as a Poisson process; some preceded by a cleaning.
    rate = float(background.get("matings_per_point_per_day", 0.0))
    p_clean = float(background.get("clean_before_mating", 0.5))
    if rate > 0:
        counts = rng.poisson(rate * duration_s / 86400.0, len(fleet.point_ids))
        for pp in np.nonzero(counts * mateable)[0]:
            p = int(pp)
            for t in np.sort(rng.uniform(0.0, duration_s, counts[p])):
                link = int(fleet.point_link[p])
                if rng.random() < p_clean:
                    cleaning(float(t) - 60.0, link, int(p))
                mating(float(t), link, int(p))

    n_links = fleet.n_links
    for kind, count in random_faults.items():
        for _ in range(count):
            link = int(rng.integers(0, n_links))
            t = float(rng.uniform(0.2, 0.8) * duration_s)
            if kind == "contaminated_trunk":
                p = point_of(link, None)
                add(
                    (
                        t,
                        KIND_CODE["contaminate"],
                        link,
                        p,
                        -1,
                        -1,
                        float(rng.uniform(1.5, 4.0)),
                        np.ones((2, MAX_LANES), bool),
                        0.0,
                        0.0,
                        False,
                    )
                )
            elif kind == "bent_fiber":
                add(
                    (
                        t,
                        KIND_CODE["bend"],
                        link,
                        -1,
                        -1,
                        -1,
                        float(rng.uniform(0.5, 3.0)),
                        _cells(None, "ab" if rng.random() < 0.5 else "ba"),
                        0.0,
                        0.0,
                        False,
                    )
                )
            elif kind == "failing_laser":
                port = int(fleet.link_a_port[link] if rng.random() < 0.5 else fleet.link_b_port[link])
                add(
                    (
                        t,
                        KIND_CODE["failing_laser"],
                        link,
                        -1,
                        port,
                        -1,
                        0.0,
                        np.zeros((2, MAX_LANES), bool),
                        0.0,
                        np.nan,  # the port's own drawn failure (lab.physics.aging), not a scripted one
                        False,
                    )
                )
            else:
                raise ValueError(f"unknown random fault {kind!r}")

    order = sorted(range(len(rows)), key=lambda i: rows[i][0])  # stable: same-time rows keep their order
    rows = [rows[i] for i in order]
    draws = [draws[i] for i in order]
    n = len(rows)
    table = EventTable(
        t=np.array([r[0] for r in rows], dtype=np.float64),
        kind=np.array([r[1] for r in rows], dtype=np.int64),
        link=np.array([r[2] for r in rows], dtype=np.int64),
        point=np.array([r[3] for r in rows], dtype=np.int64),
        port=np.array([r[4] for r in rows], dtype=np.int64),
        device=np.array([r[5] for r in rows], dtype=np.int64),
        db=np.array([r[6] for r in rows], dtype=np.float64),
        cells=np.array([r[7] for r in rows], dtype=bool).reshape(n, 2, MAX_LANES),
        residual=np.array([r[8] for r in rows], dtype=np.float64),
        rate=np.array([r[9] for r in rows], dtype=np.float64),
        recorded=np.array([r[10] for r in rows], dtype=bool),
        perm_db=np.zeros(n),
        matings_at=np.full(n, -1, dtype=np.int64),
    )
    _settle_wear(table, fleet, np.array(draws, dtype=np.float64).reshape(n, 2))
    return table


def _settle_wear(table: EventTable, fleet: Fleet, draws: npt.NDArray[np.float64]) -> None:
    """Decide each mating, in time order, from its point's wear (lab.physics.wear) at that time."""
    count = fleet.point_matings_before.astype(np.int64).copy()
    mate, reterm = KIND_CODE["mate"], KIND_CODE["reterminate"]
    for i in range(len(table)):
        k, p = int(table.kind[i]), int(table.point[i])
        if k == reterm:
            count[p] = 0  # a new end face: the wear starts again
        elif k == mate:
            n = int(count[p])
            table.matings_at[i] = n
            step, perm = mating_step(
                n,
                float(fleet.point_rated_matings[p]),
                float(fleet.point_p_dirty[p]),
                float(fleet.point_step_median[p]),
                float(draws[i, 0]),
                float(draws[i, 1]),
            )
            table.db[i], table.perm_db[i] = step, perm
            count[p] = n + 1
