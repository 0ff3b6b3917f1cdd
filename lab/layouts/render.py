"""Render one switch of a running FabricSim at its current time into SNMP rows of its vendor layout.

Rows are (OID tuple, typed value) pairs from lab.agent.values, ready for MibView or write_snmprec.
Vendor differences come from lab.layouts.specs (data); the functions here only walk the tables.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lab.agent.values import (
    Counter32,
    Counter64,
    Gauge32,
    Integer,
    ObjectIdentifier,
    OctetString,
    Oid,
    SnmpValue,
    TimeTicks,
)
from lab.layouts import specs as S
from lab.layouts.indexing import PORT_ENTITY, SENSOR_INDEX
from lab.physics.optics import er_correction_db, lab_optic
from lab.physics.sim import OPER_UP, DomReadings, FabricSim, OpticalState

Row = tuple[Oid, SnmpValue]
M32, M64 = 2**32, 2**64
KINDS_MODULE = ("temp", "volt")
KINDS_LANE = ("tx", "rx", "bias")


@dataclass(frozen=True)
class PortView:
    """What the renderers need of one port, in reporting units."""

    pos: int  # fleet port index
    n: int  # 1-based front-panel number
    name: str
    if_index: int
    optic: bool
    lanes: int
    pmd: str | None


def module_thresholds(pmd: str, rx_lw_offset_db: float = -1.5) -> dict[str, dict[str, float]]:
    """Module alarm/warning limits (dBm, mA, C, V) derived from the PMD window (vendor-like).

    The Rx low warning sits ``rx_lw_offset_db`` from the datasheet Rx minimum (average power at
    sensitivity); each module of a fleet has its own (``Fleet.rx_lw_offset_db``, a vendor spread).
    """
    p = lab_optic(pmd)
    rx_lw = p.rx_sens_oma_dbm - er_correction_db(p.er_db) + rx_lw_offset_db
    return {
        "rx": {"ha": p.tx_avg_max_dbm + 2.0, "hw": p.tx_avg_max_dbm + 1.0, "lw": rx_lw, "la": rx_lw - 3.0},
        "tx": {
            "ha": p.tx_avg_max_dbm + 2.0,
            "hw": p.tx_avg_max_dbm + 1.0,
            "lw": p.tx_avg_min_dbm,
            "la": p.tx_avg_min_dbm - 2.0,
        },
        "bias": {"ha": 15.0, "hw": 13.0, "lw": 2.0, "la": 1.0},
        "temp": {"ha": 75.0, "hw": 70.0, "lw": 0.0, "la": -5.0},
        "volt": {"ha": 3.63, "hw": 3.46, "lw": 3.13, "la": 2.97},
    }


def _mw_from_dbm(dbm: float) -> float:
    return 10 ** (dbm / 10.0)


def encode_entity(kind: str, enc: S.SensorEncoding, physical: float) -> int:
    """ENTITY-SENSOR / CISCO-ENTITY-SENSOR integer for a physical value (power in mW, or dBm if type 14)."""
    scale = 1e-3 if enc.scale == S.MILLI else 1.0
    if kind in ("tx", "rx") and enc.type != S.CISCO_DBM:
        v = physical  # mW; milli scale means the unit is mW already
        return int(max(-1e9, min(1e9, round(v * 10**enc.precision))))
    v = physical * 1e-3 / scale if kind == "bias" else physical  # bias: mA -> A -> scaled
    return int(max(-1e9, min(1e9, round(v * 10**enc.precision))))


class SwitchRenderer:
    """Renders one device of a FabricSim; call :meth:`rows` after advancing the sim."""

    def __init__(self, sim: FabricSim, dev: int) -> None:
        self.sim = sim
        self.dev = dev
        self._static: list[Row] | None = None
        self._thresholds: dict[int, dict[str, dict[str, float]]] = {}
        self._cisco: dict[tuple[int, str], dict[int, int]] = {}
        f = sim.fleet
        self.layout = S.LAYOUTS[f.dev_layout[dev]]
        idx = np.nonzero(f.port_dev == dev)[0]
        self.ports = [
            PortView(
                pos=int(p),
                n=int(f.port_index[p]) + 1,
                name=f.port_names[p],
                if_index=self.layout.if_index_base + int(f.port_index[p]) * self.layout.if_index_step,
                optic=bool(f.port_optic[p]),
                lanes=int(f.port_lanes[p]),
                pmd=f.pmd_names[int(f.port_pmd[p])] if f.port_pmd[p] >= 0 else None,
            )
            for p in idx
        ]

    # -- helpers --------------------------------------------------------------------------------
    def _ticks(self, sim_s: float) -> TimeTicks:
        boot = self.sim.boot_s[self.dev]
        return TimeTicks(max(0, math.floor((sim_s - boot) * 100.0)) % M32)

    def thresholds(self, pv: PortView) -> dict[str, dict[str, float]]:
        """The module's alarm/warning limits (:func:`module_thresholds`), worked out once per port."""
        thr = self._thresholds.get(pv.pos)
        if thr is None:
            assert pv.pmd is not None
            thr = module_thresholds(pv.pmd, float(self.sim.fleet.rx_lw_offset_db[pv.pos]))
            self._thresholds[pv.pos] = thr
        return thr

    def cisco_limits(self, pv: PortView, kind: str) -> dict[int, int]:
        """The module's thresholds of one sensor kind as CISCO-ENTITY-SENSOR-MIB encodes them, by
        threshold index; worked out once per port and kind."""
        key = (pv.pos, kind)
        got = self._cisco.get(key)
        if got is None:
            enc, thr = self.layout.sensors[kind], self.thresholds(pv)[kind]
            got = {i: _cisco_limit(kind, enc, thr[which]) for i, _, _, which in S.CISCO_THRESHOLD_ROWS}
            self._cisco[key] = got
        return got

    def rows(self, st: OpticalState | None = None, dom: DomReadings | None = None) -> list[Row]:
        """Every OID row of this switch at the sim's current time."""
        return [*self.static_rows(), *self.dynamic_rows(st, dom)]

    def static_rows(self) -> list[Row]:
        """The rows no physics moves (names, indexes, types, units, thresholds): rendered once."""
        if self._static is None:
            self._static = self._render(None, None, static=True)
        return self._static

    def dynamic_rows(self, st: OpticalState | None = None, dom: DomReadings | None = None) -> list[Row]:
        """The rows the physics moves (readings, counters, states, uptimes), in the same OID order at
        every call: together with :meth:`static_rows`, every row of the switch."""
        st = st or self.sim.optical(self.sim.t)
        dom = dom or self.sim.dom(st)
        return self._render(st, dom, static=False)

    def _render(self, st: OpticalState | None, dom: DomReadings | None, *, static: bool) -> list[Row]:
        """One part of the rows: the static ones (``st`` and ``dom`` unused) or the dynamic ones."""
        out: list[Row] = []
        out += self._system(static)
        out += self._interfaces(static)
        if static:
            out += self._entities()
        out += DOM_RENDERERS[self.layout.dom](self, st, dom, static)  # type: ignore[arg-type]
        out += self._etherlike(static)
        out += self._mau(static)
        if self.layout.phy_mib:
            out += self._arista_phy(st, static)  # type: ignore[arg-type]
        return out

    # -- standard MIBs on every switch ---------------------------------------------------------
    def _system(self, static: bool) -> list[Row]:
        f = self.sim.fleet
        lay = self.layout
        if not static:
            return [((*S.SYSTEM, 3, 0), TimeTicks(self.sim.uptime_cs(self.dev)))]
        return [
            ((*S.SYSTEM, 1, 0), OctetString(lay.sys_descr)),
            ((*S.SYSTEM, 2, 0), ObjectIdentifier(lay.sys_object_id)),
            ((*S.SYSTEM, 4, 0), OctetString("noc@lab")),
            ((*S.SYSTEM, 5, 0), OctetString(f.dev_names[self.dev])),
            ((*S.SYSTEM, 6, 0), OctetString("linkmargin lab")),
        ]

    def _interfaces(self, static: bool) -> list[Row]:
        sim = self.sim
        t = S.IF_TABLE
        x = S.IFX_TABLE
        if static:
            out: list[Row] = [(S.IF_NUMBER, Integer(len(self.ports)))]
            for pv in self.ports:
                i = pv.if_index
                speed = sim._speed_bps[pv.pos]
                out += [
                    ((*t, 1, i), Integer(i)),
                    ((*t, 2, i), OctetString(pv.name)),
                    ((*t, 3, i), Integer(6)),
                    ((*t, 5, i), Gauge32(int(min(speed, M32 - 1)))),
                    ((*t, 13, i), Counter32(0)),
                    ((*t, 20, i), Counter32(0)),
                    ((*x, 1, i), OctetString(pv.name)),
                    ((*x, 15, i), Gauge32(int(speed // 1_000_000))),
                    ((*x, 18, i), OctetString(self._alias(pv))),
                ]
            return out
        out = []
        for pv in self.ports:
            p, i = pv.pos, pv.if_index
            out += [
                ((*t, 7, i), Integer(1 if sim.admin_up[p] else 2)),
                ((*t, 8, i), Integer(int(sim.oper[p]))),
                ((*t, 9, i), self._ticks(max(sim.last_change_s[p], sim.boot_s[self.dev]))),
                ((*t, 10, i), Counter32(int(sim.in_octets[p]) % M32)),
                ((*t, 11, i), Counter32(int(sim.in_pkts[p]) % M32)),
                ((*t, 14, i), Counter32(int(sim.in_errors[p]) % M32)),
                ((*t, 16, i), Counter32(int(sim.out_octets[p]) % M32)),
                ((*t, 17, i), Counter32(int(sim.out_pkts[p]) % M32)),
                ((*x, 6, i), Counter64(int(sim.in_octets[p]) % M64)),
                ((*x, 7, i), Counter64(int(sim.in_pkts[p]) % M64)),
                ((*x, 10, i), Counter64(int(sim.out_octets[p]) % M64)),
                ((*x, 11, i), Counter64(int(sim.out_pkts[p]) % M64)),
                ((*x, 19, i), self._ticks(max(sim.discontinuity_s[p], sim.boot_s[self.dev]))),
            ]
        return out

    def _alias(self, pv: PortView) -> str:
        f = self.sim.fleet
        link = int(f.port_link[pv.pos])
        return f.link_ids[link] if link >= 0 else ""

    def _entities(self) -> list[Row]:
        lay = self.layout
        e = S.ENT_PHYSICAL
        out: list[Row] = [
            ((*e, 2, 1), OctetString(lay.sys_descr.split(",")[0])),
            ((*e, 4, 1), Integer(0)),
            ((*e, 5, 1), Integer(3)),
            ((*e, 6, 1), Integer(-1)),
            ((*e, 7, 1), OctetString("Chassis")),
        ]
        sensor_index = SENSOR_INDEX[lay.index_scheme]
        for pv in self.ports:
            port_ent = PORT_ENTITY[lay.index_scheme](pv.n) if lay.port_entities else 0
            if port_ent:
                out += [
                    ((*e, 2, port_ent), OctetString(f"Port {pv.name}")),
                    ((*e, 4, port_ent), Integer(1)),
                    ((*e, 5, port_ent), Integer(10)),
                    ((*e, 6, port_ent), Integer(pv.n)),
                    ((*e, 7, port_ent), OctetString(pv.name)),
                    ((*S.ENT_ALIAS, port_ent, 0), ObjectIdentifier((*S.IF_TABLE, 1, pv.if_index))),
                ]
            if not pv.optic or pv.pmd is None:
                continue
            x = sensor_index(pv.if_index, pv.n, None, 0)
            out += [
                ((*e, 2, x), OctetString(f"{pv.pmd} for {pv.name}")),
                ((*e, 4, x), Integer(port_ent or 1)),
                ((*e, 5, x), Integer(9 if port_ent else 10)),
                ((*e, 6, x), Integer(1 if port_ent else pv.n)),
                ((*e, 7, x), OctetString(pv.name)),
                # the module's identity, as entPhysicalSerialNum / MfgName / ModelName (RFC 6933)
                ((*e, 11, x), OctetString(f"LAB{self.dev:03d}{pv.pos:06d}")),
                ((*e, 12, x), OctetString("LAB OPTICS")),
                ((*e, 13, x), OctetString(pv.pmd)),
            ]
            if not port_ent:
                out.append(((*S.ENT_ALIAS, x, 0), ObjectIdentifier((*S.IF_TABLE, 1, pv.if_index))))
            if lay.dom == "juniper_dom":
                continue
            for rel, (kind, lane) in enumerate(self._sensor_list(pv), start=1):
                s = sensor_index(pv.if_index, pv.n, kind, lane)
                name = self._sensor_name(pv, kind, lane)
                out += [
                    ((*e, 2, s), OctetString(name)),
                    ((*e, 4, s), Integer(x)),
                    ((*e, 5, s), Integer(8)),
                    ((*e, 6, s), Integer(rel)),
                    ((*e, 7, s), OctetString("" if lay.entity_name_empty else name)),
                ]
        return out

    def _sensor_list(self, pv: PortView) -> list[tuple[str, int]]:
        return [(k, 0) for k in KINDS_MODULE] + [(k, ln) for ln in range(1, pv.lanes + 1) for k in KINDS_LANE]

    def _sensor_name(self, pv: PortView, kind: str, lane: int) -> str:
        lay = self.layout
        if lay.dom == "cisco_sensor":
            return lay.sensor_name.format(
                port=pv.name, lane_infix=f" Lane {lane}" if lane else "", kind=S.CISCO_KINDS[kind]
            )
        return lay.sensor_name.format(
            kind=S.SONIC_KINDS[kind], port=pv.name, lane_suffix=f"/{lane}" if lane else ""
        )

    def physical(self, pv: PortView, kind: str, lane: int, dom: DomReadings) -> float:
        """A sensor's physical value: mW for power, mA, C, V."""
        p = pv.pos
        if kind == "temp":
            return float(dom.temp_c[p])
        if kind == "volt":
            return float(dom.volt_v[p])
        if kind == "bias":
            return float(dom.bias_ma[p, lane - 1])
        raw = dom.tx_raw if kind == "tx" else dom.rx_raw
        return float(raw[p, lane - 1]) / 1e4

    def _etherlike(self, static: bool) -> list[Row]:
        sim = self.sim
        d = S.DOT3_STATS
        out: list[Row] = []
        for pv in self.ports:
            i, p = pv.if_index, pv.pos
            if static:
                out += [((*d, 1, i), Integer(i)), ((*d, 2, i), Counter32(0))]
                continue
            out += [
                ((*d, 3, i), Counter32(int(sim.fcs_errors[p]) % M32)),
                ((*d, 18, i), Counter32(int(sim.symbol_errors[p]) % M32)),
            ]
        return out

    def _mau(self, static: bool) -> list[Row]:
        sim = self.sim
        m = S.MAU_PPL
        out: list[Row] = []
        for pv in self.ports:
            if static or not pv.optic:
                continue
            for ln in range(1, pv.lanes + 1):
                out += [
                    ((*m, 2, pv.if_index, ln), Counter64(int(sim.fec_corrected[pv.pos, ln - 1]) % M64)),
                    ((*m, 3, pv.if_index, ln), Counter64(int(sim.fec_uncorrectable[pv.pos, ln - 1]) % M64)),
                ]
        return out

    def _arista_phy(self, st: OpticalState, static: bool) -> list[Row]:
        sim = self.sim
        a = S.ARISTA_PHY
        out: list[Row] = []
        for pv in self.ports:
            if not pv.optic:
                continue
            p, i = pv.pos, pv.if_index
            if static:
                # pcsBer, preFecBer, fecUncorrectedCodewords, stateChanges
                out.append(((*a, 1, i), OctetString(b"\xf0")))
                continue
            lit = sim.oper[p] == OPER_UP
            ber = float(np.mean(st.ber[p, : pv.lanes])) if lit else 0.0
            mant, prec, scale = encode_ber(ber)
            unc = int(sim.fec_uncorrectable[p].sum())
            out += [
                (
                    (*a, 2, i),
                    Counter64(unc * 10 % M64),
                ),  # post-FEC bit errors: ~10 bits per failed codeword [lab]
                ((*a, 3, i), Integer(mant)),
                ((*a, 4, i), Integer(prec)),
                ((*a, 5, i), Integer(scale)),
                ((*a, 6, i), Counter64(unc % M64)),
                ((*a, 7, i), Counter32(int(sim.state_changes[p]) % M32)),
            ]
        return out


def encode_ber(ber: float) -> tuple[int, int, int]:
    """BER as (mantissa, precision, SI scale enum) with 3 significant digits (ARISTA-PHY-MIB style)."""
    if ber <= 0.0:
        return 0, 0, 9
    # SI scale enum: 1 yocto (1e-24) ... 8 milli (1e-3), 9 units
    for enum in range(1, 10):
        unit = 10.0 ** (-24 + 3 * (enum - 1))
        if ber / unit < 1000.0:
            v = ber / unit
            return round(v * 100), 2, enum
    return round(ber * 100), 2, 9


_ENTITY_DYNAMIC = (4, 7)  # entSensorValue, entSensorValueTimeStamp


def _entity_sensor(r: SwitchRenderer, st: OpticalState, dom: DomReadings, static: bool) -> list[Row]:
    lay = r.layout
    es = S.ENT_SENSOR
    idx = SENSOR_INDEX[lay.index_scheme]
    out: list[Row] = []
    dyn = [c for c in lay.sensor_columns if c in _ENTITY_DYNAMIC]
    fixed = [c for c in lay.sensor_columns if c not in _ENTITY_DYNAMIC]
    uptime = None if static else TimeTicks(r.sim.uptime_cs(r.dev))
    for pv in r.ports:
        if not pv.optic or pv.pmd is None:
            continue
        for kind, lane in r._sensor_list(pv):
            s = idx(pv.if_index, pv.n, kind, lane)
            enc = lay.sensors[kind]
            if not static:
                value = Integer(encode_entity(kind, enc, r.physical(pv, kind, lane, dom)))
                out += [((*es, c, s), value if c == 4 else uptime) for c in dyn]  # type: ignore[misc]
                continue
            cols: dict[int, SnmpValue] = {
                1: Integer(enc.type),
                2: Integer(enc.scale),
                3: Integer(enc.precision),
                5: Integer(1),
                6: OctetString({"tx": "mW", "rx": "mW", "bias": "mA", "temp": "C", "volt": "V"}[kind]),
                8: Gauge32(2),
            }
            out += [((*es, c, s), cols[c]) for c in fixed]
            thr = r.thresholds(pv)
            if lay.thresholds == "arista":
                for col, which in S.ARISTA_THRESHOLD_COLUMNS:
                    if (kind, which) in S.ARISTA_UNSET_LIMITS:
                        v = -S.ARISTA_UNSET if which in ("lw", "la") else S.ARISTA_UNSET
                    else:
                        lim = thr[kind][which]
                        v = encode_entity(kind, enc, _mw_from_dbm(lim) if kind in ("tx", "rx") else lim)
                    out.append(((*S.ARISTA_THRESH, col, s), Integer(v)))
                out.append(((*S.ARISTA_THRESH, 5, s), OctetString("Sensor value is within bounds")))
    return out


def _cisco_sensor(r: SwitchRenderer, st: OpticalState, dom: DomReadings, static: bool) -> list[Row]:
    lay = r.layout
    idx = SENSOR_INDEX[lay.index_scheme]
    out: list[Row] = []
    c, t = S.CISCO_SENSOR, S.CISCO_THRESH
    uptime = None if static else TimeTicks(r.sim.uptime_cs(r.dev))
    for pv in r.ports:
        if not pv.optic or pv.pmd is None:
            continue
        port_ent = PORT_ENTITY[lay.index_scheme](pv.n)
        for kind, lane in r._sensor_list(pv):
            s = idx(pv.if_index, pv.n, kind, lane)
            enc = lay.sensors[kind]
            if static:
                out += [
                    ((*c, 1, s), Integer(enc.type)),
                    ((*c, 2, s), Integer(enc.scale)),
                    ((*c, 3, s), Integer(enc.precision)),
                    ((*c, 5, s), Integer(1)),
                    ((*c, 7, s), Integer(10)),
                    ((*c, 8, s), Integer(port_ent)),
                ]
                for thr_idx, severity, relation, _which in S.CISCO_THRESHOLD_ROWS:
                    out += [
                        ((*t, 2, s, thr_idx), Integer(severity)),
                        ((*t, 3, s, thr_idx), Integer(relation)),
                        ((*t, 4, s, thr_idx), Integer(r.cisco_limits(pv, kind)[thr_idx])),
                        ((*t, 6, s, thr_idx), Integer(1)),
                    ]
                continue
            phys = r.physical(pv, kind, lane, dom)
            if kind in ("tx", "rx"):
                phys = 10 * math.log10(phys) if phys > 0 else -40.0  # -40.0 dBm = no light (1.2 Cisco)
            value = (
                round(phys * 10**enc.precision) if kind in ("tx", "rx") else encode_entity(kind, enc, phys)
            )
            out += [((*c, 4, s), Integer(int(value))), ((*c, 6, s), uptime)]  # type: ignore[list-item]
            limits = r.cisco_limits(pv, kind)
            for thr_idx, _severity, relation, _which in S.CISCO_THRESHOLD_ROWS:
                tv = limits[thr_idx]
                met = (value > tv) if relation == 3 else (value < tv)
                out.append(((*t, 5, s, thr_idx), _MET if met else _NOT_MET))
    return out


_MET, _NOT_MET = Integer(1), Integer(2)  # entSensorThresholdEvaluation: true(1), false(2)


def _cisco_limit(kind: str, enc: S.SensorEncoding, lim: float) -> int:
    """A threshold as CISCO-ENTITY-SENSOR-MIB encodes it (power in dBm at the sensor's precision)."""
    return round(lim * 10**enc.precision) if kind in ("tx", "rx") else encode_entity(kind, enc, lim)


def _dbm100(raw: int) -> int:
    return round(1000 * math.log10(raw / 1e4)) if raw > 0 else -4000


def _juniper_dom(r: SwitchRenderer, st: OpticalState, dom: DomReadings, static: bool) -> list[Row]:
    out: list[Row] = []
    m, ln = S.JNX_DOM, S.JNX_LANE
    for pv in r.ports:
        if not pv.optic or pv.pmd is None:
            continue
        p, i = pv.pos, pv.if_index
        multi = pv.lanes > 1
        if static:
            thr = r.thresholds(pv)
            fixed: dict[int, int] = {30: pv.lanes}
            for base, kind, scale in (
                (9, "rx", 100),
                (13, "bias", 1000),
                (17, "tx", 100),
                (21, "temp", 1),
                (26, "volt", 1000),
            ):
                for off, which in enumerate(("ha", "la", "hw", "lw")):
                    fixed[base + off] = round(thr[kind][which] * scale)
            out.append(((*m, 1, i), OctetString(b"\x00\x00\x00")))
            out.append(((*m, 4, i), OctetString(b"\x00\x00\x00")))
            out += [((*m, c, i), Integer(v)) for c, v in sorted(fixed.items())]
            out += [((*ln, 2, i, lane), OctetString(b"\x00")) for lane in range(pv.lanes)]
            continue
        cols: dict[int, int] = {
            5: 0 if multi else _dbm100(int(dom.rx_raw[p, 0])),  # module power reads 0 on multi-lane optics
            6: round(float(dom.bias_ma[p, 0]) * 1000),
            7: 0 if multi else _dbm100(int(dom.tx_raw[p, 0])),
            8: round(float(dom.temp_c[p])),
            25: round(float(dom.volt_v[p]) * 1000),
        }
        out += [((*m, c, i), Integer(v)) for c, v in cols.items()]
        for lane in range(pv.lanes):  # jnxDomLaneIndex is 0-based
            out += [
                ((*ln, 6, i, lane), Integer(_dbm100(int(dom.rx_raw[p, lane])))),
                ((*ln, 7, i, lane), Integer(round(float(dom.bias_ma[p, lane]) * 1000))),
                ((*ln, 8, i, lane), Integer(_dbm100(int(dom.tx_raw[p, lane])))),
                ((*ln, 9, i, lane), Integer(round(float(dom.temp_c[p])))),
            ]
    return out


DOM_RENDERERS: dict[str, Callable[[SwitchRenderer, OpticalState, DomReadings, bool], list[Row]]] = {
    "entity_sensor": _entity_sensor,
    "cisco_sensor": _cisco_sensor,
    "juniper_dom": _juniper_dom,
}


def render_switch(sim: FabricSim, device: str) -> list[Row]:
    """All OID rows of one device at the sim's current time."""
    return SwitchRenderer(sim, sim.fleet.device_index(device)).rows()


def render_all(sim: FabricSim) -> dict[str, list[Row]]:
    """All OID rows of every device at the sim's current time (one optical evaluation shared)."""
    st = sim.optical(sim.t)
    dom = sim.dom(st)
    return {name: SwitchRenderer(sim, d).rows(st, dom) for d, name in enumerate(sim.fleet.dev_names)}


_ = npt  # numpy typing kept for callers extending renderers
