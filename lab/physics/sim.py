"""The fabric simulator: optical state at time t and counters advanced in steps, all vectorized.

Directions: 0 = a->b (a's transmitter, b's receiver), 1 = b->a. Arrays are (ports, MAX_LANES) for
module readings and (links, 2, MAX_LANES) for channels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from lab.physics.aging import SHAPE_CODE, laser_state
from lab.physics.events import KIND_CODE, EventTable, build_events
from lab.physics.fleet import MAX_LANES, Fleet, build_fleet
from lab.physics.optics import fec_params
from lab.physics.receiver import (
    codeword_failure_prob_fast,
    codewords_per_second,
    lab_ber,
    mpi_penalty_db,
    reflection_crosstalk,
    symbol_error_prob,
)
from lab.scenario import Scenario

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

LOS_DBM = -40.0  # DOM floor: 0.1 uW (docs/ARCHITECTURE.md "Optical conventions")
FLAP_DOWN_DB = -3.0  # margin below which the link stays down
FLAP_ZONE_DB = -1.5  # margin below which the link flaps (down on a step with probability 1/2)
TX_TEMPCO_DB_PER_C = -0.01  # lab assumption: VCSEL/DML output falls slightly with temperature
OPER_UP, OPER_DOWN, OPER_NOT_PRESENT = 1, 2, 6


@dataclass
class OpticalState:
    """True optical quantities at one instant."""

    t: float
    rack_c: F64  # per device
    module_c: F64  # per port
    tx_dbm: F64  # (ports, lanes) true launch power; LOS_DBM when the laser is off
    bias_ma: F64  # (ports, lanes)
    loss_db: F64  # (links, 2, lanes) channel loss
    rx_dbm: F64  # (ports, lanes) true received average power; LOS_DBM when dark
    margin_db: F64  # (ports, lanes) received OMA minus sensitivity; nan when no light/optic
    ber: F64  # (ports, lanes) pre-FEC BER at this receiver


@dataclass
class DomReadings:
    """What each module reports: offset by its accuracy error and quantized as the MSA encodes."""

    tx_raw: I64  # (ports, lanes) 0.1 uW units
    rx_raw: I64
    bias_ma: F64  # multiples of 2 uA
    temp_c: F64  # multiples of 1/256 C (per port)
    volt_v: F64  # multiples of 100 uV (per port)


def quantize_dom(tx_dbm: F64, rx_dbm: F64, bias_ma: F64, temp_c: F64, volt_v: F64) -> DomReadings:
    """Quantize true-with-offset readings to the DOM LSBs (SFF-8472 / SFF-8636 / CMIS)."""

    def raw(dbm: F64) -> I64:
        mw = np.where(dbm <= LOS_DBM, 0.0, np.power(10.0, dbm / 10.0))
        return np.clip(np.rint(mw * 1e4), 0, 65535).astype(np.int64)

    return DomReadings(
        tx_raw=raw(tx_dbm),
        rx_raw=raw(rx_dbm),
        bias_ma=np.clip(np.rint(bias_ma * 500.0) / 500.0, 0.0, 131.0),
        temp_c=np.rint(temp_c * 256.0) / 256.0,
        volt_v=np.rint(volt_v * 1e4) / 1e4,
    )


class FabricSim:
    """A running simulated fabric. Time is seconds after the scenario start and only moves forward."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        ss = np.random.SeedSequence(scenario.seed)
        fleet_rng, event_rng, run_rng = (np.random.Generator(np.random.PCG64(s)) for s in ss.spawn(3))
        fabric = dict(scenario.fabric)
        fabric["_duration_s"] = scenario.duration_s
        if "inventory" in fabric:  # the fleet comes from an inventory file instead of being generated
            fabric["_inventory"] = load_inventory_yaml(scenario, str(fabric["inventory"]))
        self.fleet: Fleet = build_fleet(fabric, fleet_rng)
        self.events: EventTable = build_events(
            self.fleet,
            scenario.events,
            scenario.background,
            scenario.random_faults,
            scenario.duration_s,
            event_rng,
        )
        self.rng = run_rng
        f = self.fleet
        n_dev, n_ports, n_links = len(f.dev_names), f.n_ports, f.n_links
        self.t = 0.0
        self._next_event = 0
        self.contam = np.zeros((len(f.point_ids), 2, MAX_LANES))
        self.damage = np.zeros((len(f.point_ids), 2, MAX_LANES))  # end-face wear: cleaning leaves it
        self.point_il = f.point_base_il.copy()
        self.link_extra = np.zeros((n_links, 2, MAX_LANES))
        self.aging_start = f.aging_start_s.copy()
        self.admin_up = f.port_admin_up.copy()
        self.aging_rate = f.aging_rate_db_per_day.copy()
        self.aging_shape = f.aging_shape.copy()
        self.rack_offset = run_rng.normal(0.0, 1.5, n_dev)
        self.boot_s = -run_rng.uniform(5.0, 60.0, n_dev) * 86400.0
        # counters: per port-lane FEC, per port interface counters (int64 holds any Counter64 we reach)
        self.fec_corrected = np.zeros((n_ports, MAX_LANES), dtype=np.int64)
        self.fec_uncorrectable = np.zeros((n_ports, MAX_LANES), dtype=np.int64)
        self.fec_symbol_errors = np.zeros((n_ports, MAX_LANES), dtype=np.int64)
        self.in_octets = run_rng.integers(0, 2**40, n_ports, dtype=np.int64)
        self.out_octets = run_rng.integers(0, 2**40, n_ports, dtype=np.int64)
        self.in_pkts = self.in_octets // 1500
        self.out_pkts = self.out_octets // 1500
        self.in_errors = np.zeros(n_ports, dtype=np.int64)
        self.fcs_errors = np.zeros(n_ports, dtype=np.int64)
        self.symbol_errors = np.zeros(n_ports, dtype=np.int64)
        self.discontinuity_s = self.boot_s[f.port_dev].copy()
        self.last_change_s = self.boot_s[f.port_dev] + 60.0
        self.oper = np.where(f.port_optic, OPER_DOWN, OPER_NOT_PRESENT).astype(np.int64)
        self.state_changes = np.zeros(n_ports, dtype=np.int64)
        self._speed_bps = np.where(f.port_pmd >= 0, f.pmd_port_gbps[np.maximum(f.port_pmd, 0)] * 1e9, 0.0)
        self._apply_events(0.0)
        self.oper = self._oper_status(self.optical(0.0))

    # -- time -----------------------------------------------------------------------------------
    def wallclock(self, t: float) -> datetime:
        """Absolute UTC time of a simulation time."""
        from datetime import timedelta

        return self.scenario.start + timedelta(seconds=t)

    def advance_to(self, t: float, max_steps: int | None = None) -> None:
        """Step the simulation forward to time t (seconds after start) in steps of at most step_s.

        With max_steps, the step grows so that at most that many steps are taken (accelerated clocks).
        """
        step = self.scenario.step_s
        if max_steps:
            step = max(step, (t - self.t) / max_steps)
        while self.t < t - 1e-9:
            dt = min(step, t - self.t)
            self._step(dt)

    # -- events ---------------------------------------------------------------------------------
    def _apply_events(self, until: float) -> None:
        ev = self.events
        f = self.fleet
        while self._next_event < len(ev) and ev.t[self._next_event] <= until:
            i = self._next_event
            self._next_event += 1
            k = int(ev.kind[i])
            p = int(ev.point[i])
            cells = ev.cells[i]
            if k == KIND_CODE["mate"]:
                self.contam[p][cells] += ev.db[i] - ev.perm_db[i]
                self.damage[p][cells] += ev.perm_db[i]
                # a clean re-seat moves IL a little (the "usually ~0" part of the mixture)
                self.point_il[p] = max(0.02, self.point_il[p] + float(self.rng.normal(0.0, 0.02)))
            elif k == KIND_CODE["clean"]:
                self.contam[p] *= ev.residual[i]
            elif k == KIND_CODE["reterminate"]:
                self.contam[p] = 0.0
                self.damage[p] = 0.0
                self.point_il[p] = f.point_base_il[p]
            elif k == KIND_CODE["contaminate"]:
                self.contam[p][cells] += ev.db[i]
            elif k == KIND_CODE["bend"]:
                self.link_extra[int(ev.link[i])][cells] += ev.db[i]
            elif k == KIND_CODE["failing_laser"]:
                port = int(ev.port[i])
                self.aging_start[port] = ev.t[i]
                if np.isfinite(ev.rate[i]):  # a scenario's scheduled failure: the scripted shape
                    self.aging_rate[port] = ev.rate[i]
                    self.aging_shape[port] = SHAPE_CODE["scripted"]
            elif k == KIND_CODE["admin_down"]:
                self.admin_up[int(ev.port[i])] = False
            elif k == KIND_CODE["admin_up"]:
                self.admin_up[int(ev.port[i])] = True
            elif k == KIND_CODE["reboot"]:
                self.reboot(int(ev.device[i]), float(ev.t[i]))

    def reboot(self, dev: int, at: float) -> None:
        """Agent reboot: sysUpTime restarts and every counter of the device resets to zero."""
        self.boot_s[dev] = at
        ports = self.fleet.port_dev == dev
        for arr in (self.fec_corrected, self.fec_uncorrectable, self.fec_symbol_errors):
            arr[ports] = 0
        for arr in (
            self.in_octets,
            self.out_octets,
            self.in_pkts,
            self.out_pkts,
            self.in_errors,
            self.fcs_errors,
            self.symbol_errors,
        ):
            arr[ports] = 0
        self.state_changes[ports] = 0
        self.discontinuity_s[ports] = at
        self.last_change_s[ports] = at

    # -- physics --------------------------------------------------------------------------------
    def rack_temperature(self, t: float) -> F64:
        """Rack inlet temperature per device: a daily cycle (peak mid-afternoon) plus a device offset."""
        start = self.scenario.start
        hour = (start.hour + start.minute / 60.0 + t / 3600.0) % 24.0
        return (
            25.0
            + self.rack_offset
            + 3.0 * np.sin(2 * np.pi * (hour - 9.0) / 24.0) * np.ones_like(self.rack_offset)
        )

    def load(self, t: float) -> float:
        """Training load 0..1: jobs of ~3 days separated by ~half-day gaps (heats modules, fills links)."""
        phase = (t / 86400.0) % 3.5
        return 0.9 if phase < 3.0 else 0.2

    def optical(self, t: float) -> OpticalState:
        """The true optical state at time t given the events applied so far."""
        f = self.fleet
        rack = self.rack_temperature(t)
        load = self.load(t)
        module_c = rack[f.port_dev] + f.self_heat_c + 4.0 * load
        dtemp = (module_c - 45.0)[:, None]
        age_days = np.clip((t - self.aging_start) / 86400.0, 0.0, None)
        age_days = np.where(np.isfinite(age_days), age_days, 0.0)
        # laser aging: the shape and rates each port's laser fails with (lab.physics.aging)
        bias_factor, power_drop = laser_state(
            self.aging_shape,
            age_days,
            self.aging_rate,
            f.aging_bias_per_day,
            f.aging_step_db,
            f.aging_lag_days,
        )
        tx = f.tx_base_dbm + TX_TEMPCO_DB_PER_C * dtemp - power_drop[:, None]
        bias = f.bias_base_ma * (1.0 + f.bias_tempco_per_c[:, None] * dtemp) * bias_factor[:, None]
        laser_on = f.port_optic & self.admin_up
        tx = np.where(laser_on[:, None], tx, LOS_DBM)
        bias = np.where(laser_on[:, None], bias, 0.0)

        # channel: fiber + connection points (base IL + contamination + gel drift and swing) + bends
        cycles = (t - 0.0) / 86400.0 + 30.0  # thermal cycles since install (installed ~30 days before)
        rack_at_point = rack[f.port_dev[f.link_a_port[f.point_link]]]
        gel = np.where(
            f.point_gel, f.point_gel_per_cycle * cycles + f.point_gel_per_c * (rack_at_point - 25.0), 0.0
        )
        point_loss = self.contam + self.damage + (self.point_il + gel)[:, None, None]
        loss = np.repeat(f.link_fiber_loss_db[:, None, None], 2, axis=1).repeat(MAX_LANES, axis=2).copy()
        np.add.at(loss, f.point_link, point_loss)
        loss += self.link_extra

        rx = np.full((f.n_ports, MAX_LANES), LOS_DBM)
        a, b = f.link_a_port, f.link_b_port
        rx[b] = tx[a] - loss[:, 0]
        rx[a] = tx[b] - loss[:, 1]
        dark = tx[a] <= LOS_DBM
        rx[b] = np.where(dark, LOS_DBM, rx[b])
        dark = tx[b] <= LOS_DBM
        rx[a] = np.where(dark, LOS_DBM, rx[a])
        rx = np.where(f.lane_mask() & f.port_optic[:, None], rx, LOS_DBM)
        pmd = np.maximum(f.port_pmd, 0)
        lit = rx > LOS_DBM
        # the lab's own receiver: each module's sensitivity, reflections (MPI) from the channel's
        # reflective points, an error floor (lab/physics/receiver.py)
        power_margin = rx + f.pmd_er_corr[pmd][:, None] - f.pmd_sens[pmd][:, None] - f.rx_sens_delta_db
        rl = f.point_rl0_db - f.point_rl_db_per_cycle * cycles
        mpi_link = reflection_crosstalk(np.power(10.0, -rl / 10.0), f.point_link, f.n_links)
        mpi = np.zeros(f.n_ports)
        mpi[a], mpi[b] = mpi_link, mpi_link
        # the true margin: OMA above what this receiver needs for the FEC-limit BER under its MPI
        margin = np.where(lit, power_margin - mpi_penalty_db(mpi)[:, None], np.nan)
        ber = np.where(
            lit,
            lab_ber(
                np.nan_to_num(power_margin, nan=-99.0),
                f.pmd_ber_limit[pmd][:, None],
                mpi[:, None],
                f.rx_ber_floor[:, None],
            ),
            0.5,
        )
        return OpticalState(t, rack, module_c, tx, bias, loss, rx, margin, ber)

    def dom(self, st: OpticalState) -> DomReadings:
        """DOM readings of every module at this state (offset + quantized), as an agent reports them."""
        f = self.fleet
        dtemp = st.module_c - 45.0
        days = st.t / 86400.0
        tx_off = f.dom_tx_offset_db + f.dom_tx_tempco_db_per_c * dtemp
        rx_off = f.dom_rx_offset_db + f.dom_rx_tempco_db_per_c * dtemp + f.dom_rx_drift_db_per_day * days
        tx = np.where(st.tx_dbm > LOS_DBM, st.tx_dbm + tx_off[:, None], LOS_DBM)
        # the Rx monitor reads its dark level on top of the light: readings flatten near the floor
        rx_mw = np.power(10.0, (st.rx_dbm + rx_off[:, None]) / 10.0) + f.dom_dark_mw[:, None]
        rx = np.where(st.rx_dbm > LOS_DBM, 10.0 * np.log10(rx_mw), LOS_DBM)
        return quantize_dom(tx, rx, st.bias_ma, st.module_c, f.volt_v)

    def _oper_status(self, st: OpticalState) -> I64:
        f = self.fleet
        worst = np.full(f.n_links, np.inf)
        for end in (f.link_a_port, f.link_b_port):
            m = np.where(f.lane_mask()[end], st.margin_db[end], np.inf)
            worst = np.minimum(worst, np.nan_to_num(m, nan=-np.inf).min(axis=1))
        up = worst >= FLAP_ZONE_DB
        flapping = (worst >= FLAP_DOWN_DB) & ~up
        up |= flapping & (self.rng.random(f.n_links) < 0.5)
        up &= self.admin_up[f.link_a_port] & self.admin_up[f.link_b_port]
        oper = np.where(f.port_optic, OPER_DOWN, OPER_NOT_PRESENT).astype(np.int64)
        oper[f.link_a_port] = np.where(up, OPER_UP, OPER_DOWN)
        oper[f.link_b_port] = np.where(up, OPER_UP, OPER_DOWN)
        return oper

    def rates(self, st: OpticalState) -> tuple[F64, F64, F64]:
        """Expected per-second FEC corrected codewords, uncorrectable codewords and symbol errors."""
        f = self.fleet
        cor = np.zeros((f.n_ports, MAX_LANES))
        unc = np.zeros_like(cor)
        sym = np.zeros_like(cor)
        for pi, fec in enumerate(f.pmd_fec):
            sel = (f.port_pmd == pi) & f.port_optic
            if not sel.any():
                continue
            ber = st.ber[sel]
            cw = float(codewords_per_second(f.pmd_lane_gbps[pi], fec))
            n = fec_params(fec).n_symbols
            ps = symbol_error_prob(ber)
            fail = codeword_failure_prob_fast(ber, fec)
            unc[sel] = cw * fail
            cor[sel] = cw * np.clip(-np.expm1(n * np.log1p(-ps)) - fail, 0.0, None)
            sym[sel] = cw * n * ps
        live = (self.oper == OPER_UP)[:, None] & f.lane_mask()
        return np.where(live, cor, 0.0), np.where(live, unc, 0.0), np.where(live, sym, 0.0)

    def _step(self, dt: float) -> None:
        t1 = self.t + dt
        self._apply_events(t1)
        st = self.optical(t1)
        new_oper = self._oper_status(st)
        changed = new_oper != self.oper
        self.last_change_s[changed] = t1
        self.state_changes += changed
        self.oper = new_oper
        cor, unc, sym = self.rates(st)
        draw = self.rng.poisson
        self.fec_corrected += draw(np.minimum(cor * dt, 1e15))
        u = draw(np.minimum(unc * dt, 1e15))
        self.fec_uncorrectable += u
        s = draw(np.minimum(sym * dt, 1e15))
        self.fec_symbol_errors += s
        up = self.oper == OPER_UP
        load = self.load(t1)
        octets = np.where(
            up, np.rint(self._speed_bps / 8.0 * dt * load * self.rng.uniform(0.9, 1.0, len(up))), 0
        )
        out = np.where(
            up, np.rint(self._speed_bps / 8.0 * dt * load * self.rng.uniform(0.9, 1.0, len(up))), 0
        )
        self.in_octets += octets.astype(np.int64)
        self.out_octets += out.astype(np.int64)
        self.in_pkts += (octets // 1500).astype(np.int64)
        self.out_pkts += (out // 1500).astype(np.int64)
        # a frame is lost when an uncorrectable codeword lands in it; idle codewords cost nothing
        frames_hit = self.rng.binomial(u.sum(axis=1), min(1.0, max(load, 0.0)))
        self.fcs_errors += frames_hit
        self.in_errors += frames_hit
        self.symbol_errors += s.sum(axis=1)
        self.t = t1

    def uptime_cs(self, dev: int) -> int:
        """sysUpTime of a device now, in centiseconds (TimeTicks wrap at 2**32)."""
        return math.floor((self.t - self.boot_s[dev]) * 100.0) % 2**32


def load_inventory_yaml(scenario: Scenario, path: str) -> dict[str, Any]:
    """Read an inventory YAML (docs/ARCHITECTURE.md "The inventory"), relative to the scenario file."""
    from pathlib import Path

    from linkmargin.yamlcheck import FileIssue, FileIssues, plain, read_yaml

    p = Path(path)
    if not p.is_absolute() and scenario.path is not None:
        p = scenario.path.parent / p
    data = plain(read_yaml(p))  # the one bounded YAML reader; FileIssues (FILE:LINE:COL) if broken
    if not isinstance(data, dict) or "links" not in data or "devices" not in data:
        raise FileIssues([FileIssue(str(p), 1, 1, "(root)", "an inventory needs 'devices' and 'links'")])
    return data


def build_sim(scenario: Scenario) -> FabricSim:
    """A simulator at time 0 of a scenario."""
    return FabricSim(scenario)
