"""Build a fleet (devices, ports, modules, links, connection points) as numpy arrays from a scenario.

Everything random is drawn here from the scenario seed, so the same scenario and seed give the same
fleet. Nothing is per-lane Python objects: lanes are the last axis (MAX_LANES wide, masked).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from lab.physics.aging import draw_failures
from lab.physics.connectors import behaviour
from lab.physics.optics import MAX_LANES, LabOptic, er_correction_db, lab_optic
from lab.physics.wear import DEFAULT_RATED
from linkmargin.catalog import connector, optic

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

# Port names per layout (how each NOS names its front-panel ports).
PORT_NAME_FORMATS: dict[str, str] = {
    "sonic": "Ethernet{x8}",
    "arista": "Ethernet{n}/1",
    "cisco": "Ethernet1/{n}",
    "juniper": "et-0/0/{i}",
}

DEFAULT_CHAINS: list[dict[str, Any]] = [
    {
        "share": 0.5,
        "points": [
            {"type": "MTP-16", "grade": "low-loss", "termination": "factory"},
            {"type": "MTP-16", "grade": "low-loss", "termination": "factory"},
        ],
    },
    {
        "share": 0.3,
        "points": [
            {"type": "MTP-16", "grade": "low-loss", "termination": "factory"},
            {"type": "MMC", "termination": "field"},
            {"type": "MTP-16", "grade": "low-loss", "termination": "factory"},
        ],
    },
    {"share": 0.2, "points": [{"type": "MPO-12", "grade": "standard", "termination": "factory"}]},
]


def port_name(layout: str, i: int) -> str:
    """The interface name of front-panel port i (0-based) under a layout."""
    return PORT_NAME_FORMATS[layout].format(i=i, n=i + 1, x8=i * 8)


@dataclass
class Fleet:
    """The static fleet plus per-module draws. Arrays indexed by device, port, link or point."""

    dev_names: list[str]
    dev_layout: list[str]
    # ports
    port_dev: I64
    port_index: I64  # 0-based position on the device
    port_names: list[str]
    port_link: I64  # -1 when no link
    port_side: I64  # 0 = a end, 1 = b end
    port_optic: B  # a module is plugged in
    port_admin_up: B
    port_pmd: I64  # index into pmd_names, -1 when empty
    port_lanes: I64
    # per-module draws (port x lane)
    tx_base_dbm: F64
    bias_base_ma: F64
    dom_tx_offset_db: F64  # per port (accuracy offset of this module's Tx monitor)
    dom_rx_offset_db: F64  # per port
    self_heat_c: F64
    volt_v: F64
    aging_start_s: F64  # inf when the module does not age
    aging_rate_db_per_day: F64
    # the lab's own receiver and DOM (lab/physics/receiver.py, lab/physics/aging.py)
    bias_tempco_per_c: F64  # per port
    rx_sens_delta_db: F64  # (port, lane) this receiver's sensitivity minus the PMD figure
    rx_ber_floor: F64  # per port: error floor no power removes
    dom_rx_tempco_db_per_c: F64  # per port: Rx monitor offset's temperature slope
    dom_tx_tempco_db_per_c: F64
    dom_rx_drift_db_per_day: F64  # per port: slow drift of the Rx monitor
    dom_dark_mw: F64  # per port: the Rx monitor's dark reading (nonlinear near the floor)
    rx_lw_offset_db: F64  # per port: the module's Rx low-warning threshold vs the datasheet Rx min
    aging_shape: I64  # per port: lab.physics.aging shape its laser fails with (when it does)
    aging_bias_per_day: F64  # per port: bias climb of a wear-out laser (fraction of its base per day)
    aging_step_db: F64  # per port: the drop of an abrupt failure
    aging_lag_days: F64  # per port: how long an abrupt failure's precursor lasts
    # links
    link_ids: list[str]
    link_a_port: I64
    link_b_port: I64
    link_pmd: I64
    link_fiber: list[str]
    link_length_m: F64
    link_fiber_loss_db: F64
    # connection points
    point_ids: list[str]
    point_link: I64
    point_pos: I64
    point_type: list[str]
    point_grade: list[str]
    point_termination: list[str]
    point_base_il: F64
    point_rated_il: F64
    point_p_dirty: F64
    point_step_median: F64
    point_clean_residual: F64
    point_gel: B
    point_gel_per_cycle: F64
    point_gel_per_c: F64
    point_matings_before: I64
    point_rated_matings: F64  # the catalog's rated mating cycles (lab.physics.wear.DEFAULT_RATED if none)
    point_rl0_db: F64  # return loss at install (reflective gel points; others a fixed high figure)
    point_rl_db_per_cycle: F64  # how fast it worsens with thermal cycles
    pmd_names: list[str] = field(default_factory=list)
    # per-pmd vectors
    pmd_sens: F64 = field(default_factory=lambda: np.zeros(0))
    pmd_er_corr: F64 = field(default_factory=lambda: np.zeros(0))
    pmd_ber_limit: F64 = field(default_factory=lambda: np.zeros(0))
    pmd_lane_gbps: F64 = field(default_factory=lambda: np.zeros(0))
    pmd_port_gbps: F64 = field(default_factory=lambda: np.zeros(0))
    pmd_fec: list[str] = field(default_factory=list)

    @property
    def n_ports(self) -> int:
        """Number of ports in the fleet."""
        return len(self.port_names)

    @property
    def n_links(self) -> int:
        """Number of links in the fleet."""
        return len(self.link_ids)

    def lane_mask(self) -> B:
        """(ports, MAX_LANES) True where the port's module has that lane."""
        return np.arange(MAX_LANES)[None, :] < self.port_lanes[:, None]

    def link_index(self, ref: int | str) -> int:
        """A link by index or id."""
        if isinstance(ref, int):
            return ref
        return self.link_ids.index(ref)

    def device_index(self, name: str) -> int:
        """A device by name."""
        return self.dev_names.index(name)


def _pick(rng: np.random.Generator, shares: dict[str, float], n: int) -> list[str]:
    keys = list(shares)
    p = np.array([shares[k] for k in keys], dtype=np.float64)
    return [keys[i] for i in rng.choice(len(keys), size=n, p=p / p.sum())]


def build_fleet(fabric: dict[str, Any], rng: np.random.Generator) -> Fleet:
    """Generate a leaf-spine fleet from a scenario's `fabric` mapping."""
    n_spines = int(fabric.get("spines", 2))
    n_leaves = int(fabric.get("leaves", 6))
    uplinks = int(fabric.get("uplinks_per_leaf", 4))
    dark = int(fabric.get("dark_ports_per_switch", 1))
    empty = int(fabric.get("empty_ports_per_switch", 1))
    admin_down = int(fabric.get("admin_down_links", 1))
    layouts = list(fabric.get("layouts", ["sonic", "arista", "cisco", "juniper"]))
    optics: dict[str, float] = dict(fabric.get("optics", {"400GBASE-DR4": 0.5, "400GBASE-SR8": 0.5}))
    chains: list[dict[str, Any]] = list(fabric.get("chains", DEFAULT_CHAINS))
    lmin, lmax = (float(x) for x in fabric.get("length_m", [10, 90]))
    aging_share = float(fabric.get("aging_share", 0.01))
    duration_s = float(fabric.get("_duration_s", 86400.0))

    dev_names = [f"spine{i + 1:02d}" for i in range(n_spines)] + [f"leaf{i + 1:02d}" for i in range(n_leaves)]
    dev_layout = [layouts[i % len(layouts)] for i in range(len(dev_names))]
    next_port = [0] * len(dev_names)

    port_dev: list[int] = []
    port_index: list[int] = []
    port_link: list[int] = []
    port_side: list[int] = []
    port_optic: list[bool] = []
    port_pmd: list[int] = []
    inv: dict[str, Any] | None = fabric.get("_inventory")
    # the optics this fleet uses, each read from the core catalog (LabOpticError if it cannot be simulated)
    named = [*optics, *(str(lk["optic"]) for lk in (inv or {}).get("links", []))]
    pmds: dict[str, LabOptic] = {n: lab_optic(n) for n in dict.fromkeys(named)}
    pmd_names = list(pmds)

    def add_port(dev: int, link: int, side: int, optic: bool, pmd: int) -> int:
        port_dev.append(dev)
        port_index.append(next_port[dev])
        next_port[dev] += 1
        port_link.append(link)
        port_side.append(side)
        port_optic.append(optic)
        port_pmd.append(pmd)
        return len(port_dev) - 1

    names_given: dict[int, str] = {}
    link_a, link_b, link_pmd, link_ids = [], [], [], []
    inv_points: list[list[dict[str, Any]]] = []
    inv_len: list[float] = []
    inv_fiber: list[str] = []
    if inv is not None:
        # the fleet an inventory describes: its devices, links, optics, fibers and connection points
        dev_names = [str(d["name"]) for d in inv["devices"]]
        given = dict(fabric.get("device_layouts", {}))
        dev_layout = [str(given.get(n, layouts[i % len(layouts)])) for i, n in enumerate(dev_names)]
        next_port = [0] * len(dev_names)
        for li, lk in enumerate(inv["links"]):
            pmd = pmd_names.index(str(lk["optic"]))
            ends = []
            for side, key in ((0, "a"), (1, "b")):
                d = dev_names.index(str(lk[key]["device"]))
                ends.append(add_port(d, li, side, True, pmd))
                names_given[ends[-1]] = str(lk[key]["port"])
            link_a.append(ends[0])
            link_b.append(ends[1])
            link_pmd.append(pmd)
            link_ids.append(str(lk["id"]))
            inv_points.append(list(lk.get("connections", [])))
            inv_len.append(float(lk["fiber"]["length_m"]))
            inv_fiber.append(str(lk["fiber"]["type"]))
    else:
        link_pmd_names = _pick(rng, optics, n_leaves * uplinks)
        link_a, link_b, link_pmd, link_ids = [], [], [], []
        li = 0
        for leaf in range(n_leaves):
            for u in range(uplinks):
                spine = (leaf * uplinks + u) % n_spines
                pmd = pmd_names.index(link_pmd_names[li])
                a = add_port(n_spines + leaf, li, 0, True, pmd)
                b = add_port(spine, li, 1, True, pmd)
                link_a.append(a)
                link_b.append(b)
                link_pmd.append(pmd)
                li += 1
    default_pmd = pmd_names.index(next(iter(optics)))
    for d in range(len(dev_names)):
        for _ in range(dark):
            add_port(d, -1, 0, True, default_pmd)
        for _ in range(empty):
            add_port(d, -1, 0, False, -1)

    n_ports = len(port_dev)
    pdev = np.array(port_dev, dtype=np.int64)
    pidx = np.array(port_index, dtype=np.int64)
    port_names = [port_name(dev_layout[d], i) for d, i in zip(port_dev, port_index, strict=True)]
    if names_given:
        for pi, name in names_given.items():
            port_names[pi] = name
        used = set(zip(port_dev, port_names, strict=True))
        for pi in range(n_ports):  # ports the inventory does not name (dark, empty): next free name
            if pi in names_given:
                continue
            d, i = port_dev[pi], port_index[pi]
            while (d, port_names[pi]) in used:
                i += 1
                port_names[pi] = port_name(dev_layout[d], i)
            used.add((d, port_names[pi]))
    for k in range(len(link_a) if inv is None else 0):
        a, b = link_a[k], link_b[k]
        link_ids.append(
            f"{dev_names[port_dev[a]]}-{port_names[a]}--{dev_names[port_dev[b]]}-{port_names[b]}".replace(
                "/", "_"
            )
        )
    ppmd = np.array(port_pmd, dtype=np.int64)
    lanes = np.array([pmds[pmd_names[p]].lanes if p >= 0 else 0 for p in port_pmd], dtype=np.int64)
    admin = np.ones(n_ports, dtype=bool)
    if admin_down and link_a:
        for k in rng.choice(len(link_a), size=min(admin_down, len(link_a)), replace=False):
            admin[link_a[int(k)]] = False

    # Tx baseline inside the PMD window, away from its edges (typical modules launch mid-window).
    tmin = np.array([pmds[pmd_names[p]].tx_avg_min_dbm if p >= 0 else 0.0 for p in port_pmd])
    tmax = np.array([pmds[pmd_names[p]].tx_avg_max_dbm if p >= 0 else 0.0 for p in port_pmd])
    centre = tmin + 0.55 * (tmax - tmin)
    module_tx = centre + rng.normal(0.0, 0.6, n_ports)
    tx_base = np.clip(
        module_tx[:, None] + rng.normal(0.0, 0.3, (n_ports, MAX_LANES)),
        tmin[:, None] + 0.5,
        tmax[:, None] - 0.5,
    )
    bias_base = np.clip(rng.normal(7.5, 0.8, (n_ports, MAX_LANES)), 4.0, 12.0)
    dom_tx_off = np.clip(rng.normal(0.0, 0.4, n_ports), -1.5, 1.5)  # within the +-3 dB MSA accuracy
    dom_rx_off = np.clip(rng.normal(0.0, 0.4, n_ports), -1.5, 1.5)
    self_heat = rng.uniform(12.0, 20.0, n_ports)
    volt = rng.normal(3.30, 0.02, n_ports)
    ages = rng.random(n_ports) < aging_share
    aging_start = np.where(ages, rng.uniform(0.0, 0.6 * duration_s, n_ports), np.inf)
    shape_u = rng.random(n_ports)  # the failure shape's uniform (drawn here: the stream stays as it was)

    # links: fiber and connector chains
    n_links = len(link_a)
    chain_idx = rng.choice(
        len(chains), size=n_links, p=np.array([c["share"] for c in chains]) / sum(c["share"] for c in chains)
    )
    length = rng.uniform(lmin, lmax, n_links) if inv is None else np.array(inv_len)
    fibers = (
        inv_fiber
        if inv is not None
        else [str(fabric.get("fiber", {}).get(pmd_names[p], pmds[pmd_names[p]].fiber)) for p in link_pmd]
    )
    if inv is None:
        # a generated fabric stays inside each optic's catalogued reach on its fiber, as a designer would
        reach = np.array([_reach_m(pmd_names[p], f) for p, f in zip(link_pmd, fibers, strict=True)])
        length = np.round(np.minimum(length, 0.95 * reach), 1)
    atten = [pmds[pmd_names[p]].fiber_atten_db_per_km(f) for p, f in zip(link_pmd, fibers, strict=True)]
    fiber_loss = np.array(atten, dtype=np.float64) * length / 1000.0

    pts: dict[str, list[Any]] = {k: [] for k in ("id", "link", "pos", "type", "grade", "term", "mb")}
    for k in range(n_links):
        chain = chains[int(chain_idx[k])]["points"] if inv is None else inv_points[k]
        for j, pt in enumerate(chain):
            pts["id"].append(str(pt.get("id", f"{link_ids[k]}-c{j}")))
            pts["link"].append(k)
            pts["pos"].append(j)
            pts["type"].append(str(pt["type"]))
            pts["grade"].append(str(pt.get("grade") or ""))
            pts["term"].append(str(pt.get("termination", "factory")))
            mb = int(rng.integers(0, 6))
            pts["mb"].append(int(pt.get("matings_before_records", mb)))
    beh = [behaviour(t, m) for t, m in zip(pts["type"], pts["term"], strict=True)]
    n_pts = len(beh)
    base_il = np.clip(
        np.array([b.il_mean_db for b in beh])
        + rng.normal(0.0, 1.0, n_pts) * np.array([b.il_sd_db for b in beh]),
        0.02,
        None,
    )

    # lab assumption: monitor calibration is done at a few temperatures, the residual slope and a slow
    # drift are module-specific; SFF-8472 only bounds the total (+-3 dB over temperature and life)
    dom_rx_tc = rng.normal(0.0, 0.012, n_ports)
    dom_tx_tc = rng.normal(0.0, 0.008, n_ports)
    dom_rx_drift = rng.normal(0.0, 0.01, n_ports)
    # lab assumption: photodiode dark current + ADC offset reads as 0.1-1 uW (-40..-30 dBm): readings
    # flatten (read high) as the true Rx approaches it
    dom_dark = rng.uniform(1e-4, 1e-3, n_ports)
    # per-receiver sensitivity: a module term and a small lane term; the PMD figure is a worst case
    # most parts beat, a few miss it (lab assumption, "+-1 dB around the PMD figure")
    sens_delta = np.clip(
        rng.normal(-0.3, 0.45, n_ports)[:, None] + rng.normal(0.0, 0.15, (n_ports, MAX_LANES)), -1.0, 1.0
    )
    # error floor (lab assumption): PAM4 links on KP4 FEC run with residual pre-FEC errors no power
    # removes (DSP, crosstalk, jitter), field reports put healthy 400G links around 1e-8..1e-6
    # (unverified); NRZ links on KR4 sit far lower
    kp4 = np.array([p >= 0 and pmds[pmd_names[p]].fec.name == "KP4" for p in port_pmd], dtype=bool)
    u_floor = rng.random(n_ports)
    ber_floor = np.power(10.0, np.where(kp4, -9.0 + 2.5 * u_floor, -14.0 + 3.0 * u_floor))
    # lab assumption: vendors write the Rx low warning anywhere from 3 dB under to 1 dB over the
    # datasheet Rx minimum (EEPROM limits differ by vendor and lot; SFF-8472/CMIS leave them to vendors)
    rx_lw_off = rng.uniform(-3.0, 1.0, n_ports)
    # lab assumption: the APC loop raises bias with temperature, by a module-specific 0.3-1.2 %/C
    bias_tc = rng.uniform(0.003, 0.012, n_ports)
    laser = draw_failures(rng, n_ports, shape_u)
    aging_rate = laser.rate_db_per_day
    gel = np.array([b.gel for b in beh], dtype=bool)
    # return loss: gel points (field MMC, mechanical splice) 30-45 dB at install (the figure the issue
    # quotes, unverified), worsening with thermal cycles as the gel ages (lab assumption: lognormal,
    # median 0.08 dB per cycle); other points 55 dB (UPC-class, lab assumption; APC is better still)
    rl0 = np.where(gel, rng.uniform(30.0, 45.0, n_pts), 55.0)
    rl_drift = np.where(gel, rng.lognormal(np.log(0.08), 0.7, n_pts), 0.0)

    fleet = Fleet(
        dev_names=dev_names,
        dev_layout=dev_layout,
        port_dev=pdev,
        port_index=pidx,
        port_names=port_names,
        port_link=np.array(port_link, dtype=np.int64),
        port_side=np.array(port_side, dtype=np.int64),
        port_optic=np.array(port_optic, dtype=bool),
        port_admin_up=admin,
        port_pmd=ppmd,
        port_lanes=lanes,
        tx_base_dbm=tx_base,
        bias_base_ma=bias_base,
        dom_tx_offset_db=dom_tx_off,
        dom_rx_offset_db=dom_rx_off,
        self_heat_c=self_heat,
        volt_v=volt,
        aging_start_s=aging_start,
        aging_rate_db_per_day=aging_rate,
        bias_tempco_per_c=bias_tc,
        rx_sens_delta_db=sens_delta,
        rx_ber_floor=ber_floor,
        dom_rx_tempco_db_per_c=dom_rx_tc,
        dom_tx_tempco_db_per_c=dom_tx_tc,
        dom_rx_drift_db_per_day=dom_rx_drift,
        dom_dark_mw=dom_dark,
        rx_lw_offset_db=rx_lw_off,
        aging_shape=laser.shape,
        aging_bias_per_day=laser.bias_per_day,
        aging_step_db=laser.step_db,
        aging_lag_days=laser.lag_days,
        link_ids=link_ids,
        link_a_port=np.array(link_a, dtype=np.int64),
        link_b_port=np.array(link_b, dtype=np.int64),
        link_pmd=np.array(link_pmd, dtype=np.int64),
        link_fiber=fibers,
        link_length_m=length,
        link_fiber_loss_db=fiber_loss,
        point_ids=pts["id"],
        point_link=np.array(pts["link"], dtype=np.int64),
        point_pos=np.array(pts["pos"], dtype=np.int64),
        point_type=pts["type"],
        point_grade=pts["grade"],
        point_termination=pts["term"],
        point_base_il=base_il,
        point_rated_il=np.array([b.rated_il_db for b in beh]),
        point_p_dirty=np.array([b.p_dirty for b in beh]),
        point_step_median=np.array([b.step_median_db for b in beh]),
        point_clean_residual=np.array([b.p_clean_residual for b in beh]),
        point_gel=np.array([b.gel for b in beh], dtype=bool),
        point_gel_per_cycle=np.array([b.gel_db_per_cycle for b in beh]),
        point_gel_per_c=np.array([b.gel_db_per_c for b in beh]),
        point_matings_before=np.array(pts["mb"], dtype=np.int64),
        point_rated_matings=np.array([_rated(t) for t in pts["type"]], dtype=np.float64),
        point_rl0_db=rl0,
        point_rl_db_per_cycle=rl_drift,
        pmd_names=pmd_names,
        pmd_sens=np.array([pmds[n].rx_sens_oma_dbm for n in pmd_names]),
        pmd_er_corr=np.array([er_correction_db(pmds[n].er_db) for n in pmd_names]),
        pmd_ber_limit=np.array([pmds[n].fec.ber_limit for n in pmd_names]),
        pmd_lane_gbps=np.array([pmds[n].lane_gbps for n in pmd_names]),
        pmd_port_gbps=np.array([pmds[n].port_gbps for n in pmd_names]),
        pmd_fec=[pmds[n].fec.name for n in pmd_names],
    )
    return fleet


def _rated(ctype: str) -> float:
    """The catalog's rated mating cycles of a connector type (a published figure, or the lab default)."""
    try:
        v = connector(ctype).rated_matings.value
    except KeyError:
        v = None
    return float(v) if v else DEFAULT_RATED


def _reach_m(pmd: str, fiber: str) -> float:
    """The core catalog's reach of ``pmd`` on ``fiber`` (infinite where it names none)."""
    r = optic(pmd).reach_on(fiber)
    return float("inf") if r is None else float(r)
