"""Physics of the lab checked against physics: known dB steps, counter arithmetic, the BER model."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from ruamel.yaml import YAML

from lab.agent import MibView
from lab.layouts import specs as S
from lab.layouts.render import SwitchRenderer, render_all
from lab.physics.fleet import MAX_LANES
from lab.physics.optics import fec_params
from lab.physics.receiver import codeword_failure_prob, codewords_per_second, symbol_error_prob
from lab.physics.sim import FabricSim
from lab.scenario import load_scenario
from lab.truth import inventory, run_truth
from tests.lab.decode import from_rows, rx_dbm

H = 3600.0
LSB_DB = {"sonic": 0.01, "arista": 0.01, "cisco": 0.1, "juniper": 0.01}  # one reporting step, in dB


def _rx_all(sim: FabricSim) -> dict[tuple[str, str, int], float]:
    out = {}
    for dev, rows in render_all(sim).items():
        for (port, lane), dbm in rx_dbm(from_rows(rows)).items():
            out[(dev, port, lane)] = dbm
    return out


def test_same_seed_same_truth_and_other_seed_differs() -> None:
    a = run_truth(FabricSim(load_scenario("demo")), step_s=1800, until_s=3 * H)
    b = run_truth(FabricSim(load_scenario("demo")), step_s=1800, until_s=3 * H)
    c = run_truth(FabricSim(load_scenario("demo", seed=8)), step_s=1800, until_s=3 * H)
    assert a.shape[0] > 1000
    assert a.equals(b)
    assert not a.equals(c)


def test_contamination_step_moves_exactly_that_link_lanes_and_direction() -> None:
    sc = load_scenario("demo")  # link 0, point 0: +2.0 dB at 6h on lanes 1,2 direction a->b
    sim = FabricSim(sc)
    f = sim.fleet
    sim.advance_to(6 * H - 1)
    before = _rx_all(sim)
    sim.advance_to(6 * H + 1)
    after = _rx_all(sim)
    b = int(f.link_b_port[0])
    rx_dev, rx_port = f.dev_names[int(f.port_dev[b])], f.port_names[b]
    assert set(before) == set(after) and len(before) > 300
    moved = {k for k in before if abs(after[k] - before[k]) > 1e-9}
    for k in before:
        delta = after[k] - before[k]
        lsb = LSB_DB[f.dev_layout[f.dev_names.index(k[0])]]
        if k[0] == rx_dev and k[1] == rx_port and k[2] in (1, 2):
            assert delta == pytest.approx(-2.0, abs=lsb), k
        else:
            assert abs(delta) <= lsb, (k, delta)
    assert {(rx_dev, rx_port, 1), (rx_dev, rx_port, 2)} <= moved


def test_counter32_wraps_while_counter64_carries_on() -> None:
    sim = FabricSim(load_scenario("demo"))
    sim.advance_to(H)
    r = SwitchRenderer(sim, 0)
    first = MibView(r.rows())
    sim.advance_to(H + 60)
    second = MibView(r.rows())
    wrapped = 0
    for pv in r.ports:
        if sim.oper[pv.pos] != 1:
            continue
        hc0 = first.get((*S.IFX_TABLE, 6, pv.if_index)).value  # type: ignore[union-attr]
        hc1 = second.get((*S.IFX_TABLE, 6, pv.if_index)).value  # type: ignore[union-attr]
        c1 = second.get((*S.IF_TABLE, 10, pv.if_index)).value  # type: ignore[union-attr]
        assert c1 == hc1 % 2**32
        assert hc1 - hc0 > 2**32  # >= one full wrap of ifInOctets in a minute at 100G+
        wrapped += 1
    assert wrapped >= 4


def test_reboot_resets_uptime_and_counters_of_that_switch_only() -> None:
    sim = FabricSim(load_scenario("demo"))  # leaf03 reboots at 12h
    d, other = sim.fleet.device_index("leaf03"), sim.fleet.device_index("leaf04")
    sim.advance_to(12 * H - 30)
    pre = {n: from_rows(rows) for n, rows in render_all(sim).items()}
    sim.advance_to(12 * H + 30)
    post = {n: from_rows(rows) for n, rows in render_all(sim).items()}
    up = "1.3.6.1.2.1.1.3.0"
    assert int(post["leaf03"][up]) <= 30 * 100 < int(pre["leaf03"][up])
    assert int(post["leaf04"][up]) > int(pre["leaf04"][up])
    hc = "1.3.6.1.2.1.31.1.1.1.6."
    disc = "1.3.6.1.2.1.31.1.1.1.19."
    r = SwitchRenderer(sim, d)
    live = [pv for pv in r.ports if sim.oper[pv.pos] == 1]
    assert live
    for pv in live:
        i = str(pv.if_index)
        assert int(post["leaf03"][hc + i]) < int(pre["leaf03"][hc + i])
        assert int(post["leaf03"][disc + i]) == 0  # discontinuity at the (new) boot
    for pv in SwitchRenderer(sim, other).ports:
        if sim.oper[pv.pos] == 1:
            i = str(pv.if_index)
            assert int(post["leaf04"][hc + i]) > int(pre["leaf04"][hc + i])


def test_fec_counts_grow_at_the_rate_the_ber_model_says() -> None:
    """Tolerance: 5 Poisson sigmas of the expected count plus 0.3% for the interpolated fast path."""
    sim = FabricSim(load_scenario("demo"))
    f = sim.fleet
    sim.advance_to(H)
    # push one lane of link 0 (b receives) to -1.0 dB margin so uncorrectables are frequent
    b = int(f.link_b_port[0])
    st = sim.optical(sim.t)
    p0 = int(np.nonzero(f.point_link == 0)[0][0])
    sim.contam[p0, 0, 3] += float(st.margin_db[b, 3]) + 1.0
    c0, u0 = sim.fec_corrected.copy(), sim.fec_uncorrectable.copy()
    fcs0 = int(sim.fcs_errors[b])
    exp_c = np.zeros_like(sim.fec_corrected, dtype=float)
    exp_u = np.zeros_like(exp_c)
    dt = 60.0
    for _ in range(30):
        sim.advance_to(sim.t + dt)
        st = sim.optical(sim.t)
        for pi, fec in enumerate(f.pmd_fec):
            sel = (f.port_pmd == pi) & (sim.oper == 1)
            if not sel.any():
                continue
            n = fec_params(fec).n_symbols
            cw = float(codewords_per_second(f.pmd_lane_gbps[pi], fec)) * dt
            ber = st.ber[sel]
            fail = codeword_failure_prob(ber, fec)
            anyerr = 1.0 - (1.0 - symbol_error_prob(ber)) ** n
            exp_u[sel] += cw * fail
            exp_c[sel] += cw * (anyerr - fail)
    lanes = f.lane_mask()
    got_c = (sim.fec_corrected - c0)[lanes]
    got_u = (sim.fec_uncorrectable - u0)[lanes]
    for got, exp in ((got_c, exp_c[lanes]), (got_u, exp_u[lanes])):
        tol = 5 * np.sqrt(exp) + 0.003 * exp + 1
        assert np.all(np.abs(got - exp) <= tol), np.max(np.abs(got - exp) - tol)
    assert exp_u[b, 3] > 1e5  # the pushed lane really exercised the uncorrectable path
    # FCS errors: each uncorrectable codeword corrupts a frame with probability = load (0.9 in a job)
    unc_b = int((sim.fec_uncorrectable[b] - u0[b]).sum())
    fcs = int(sim.fcs_errors[b]) - fcs0
    assert abs(fcs - 0.9 * unc_b) <= 5 * math.sqrt(unc_b * 0.9 * 0.1) + 1
    assert int(sim.in_errors[b]) == int(sim.fcs_errors[b])
    assert exp_c[lanes].min() < exp_c[lanes].max()  # rates differ with each lane's margin


def test_dom_readings_are_quantized_and_offset_not_true() -> None:
    sim = FabricSim(load_scenario("demo"))
    sim.advance_to(H)
    st = sim.optical(sim.t)
    dom = sim.dom(st)
    f = sim.fleet
    lit = (st.rx_dbm > -40) & f.lane_mask()
    reported = 10 * np.log10(dom.rx_raw[lit] / 1e4)
    # the module's offset moves with its temperature and drifts; its dark level adds on top
    off = (
        f.dom_rx_offset_db
        + f.dom_rx_tempco_db_per_c * (st.module_c - 45.0)
        + f.dom_rx_drift_db_per_day * st.t / 86400.0
    )
    offset = np.broadcast_to(off[:, None], (f.n_ports, MAX_LANES))[lit]
    dark = np.broadcast_to(f.dom_dark_mw[:, None], (f.n_ports, MAX_LANES))[lit]
    expected = 10 * np.log10(np.power(10.0, (st.rx_dbm[lit] + offset) / 10.0) + dark)
    np.testing.assert_allclose(reported, expected, atol=0.002)
    assert np.all(expected > st.rx_dbm[lit] + offset)  # the dark level reads high, most near the floor
    assert np.abs(offset).max() > 0.1
    assert np.all(np.abs(dom.temp_c * 256 - np.rint(dom.temp_c * 256)) < 1e-9)
    assert np.all(np.abs(dom.bias_ma * 500 - np.rint(dom.bias_ma * 500)) < 1e-6)


def test_inventory_uses_design_keys_and_only_recorded_events() -> None:
    sim = FabricSim(load_scenario("demo"))
    inv = inventory(sim)
    assert set(inv) >= {"site", "credentials", "devices", "links"}
    link = inv["links"][0]
    assert set(link) == {"id", "a", "b", "optic", "fiber", "connections"}
    assert set(link["fiber"]) == {"type", "length_m"}
    conn = link["connections"][0]
    assert set(conn) >= {"id", "type", "termination", "matings_before_records", "events"}
    kinds = {e["kind"] for lk in inv["links"] for c in lk["connections"] for e in c["events"]}
    assert kinds <= {"installed", "terminated", "mated", "cleaned"}
    assert "mated" in kinds  # the demo's scheduled mating is recorded; its contamination is not
    ev = pl.DataFrame(sim.events.rows(sim.fleet))
    assert ev.filter(pl.col("kind") == "contaminate")["recorded"].to_list() == [False]


def test_layout_shapes_match_the_reference() -> None:
    sim = FabricSim(load_scenario("demo"))
    sim.advance_to(H)
    views = {n: from_rows(r) for n, r in render_all(sim).items()}
    f = sim.fleet
    by_layout = {lay: f.dev_names[f.dev_layout.index(lay)] for lay in S.LAYOUTS}
    sonic, arista, cisco, jnx = (views[by_layout[k]] for k in ("sonic", "arista", "cisco", "juniper"))
    # SONiC: current index scheme 1e9 + ifIndex*100 + type*10 + lane, rx type 3; no thresholds, no FEC MIB
    rx1 = 1_000_000_000 + 1 * 100 + 3 * 10 + 1
    assert str(sonic[f"1.3.6.1.2.1.47.1.1.1.1.7.{rx1}"]).startswith("DOM RX Power Sensor for ")
    assert not any(k.startswith("1.3.6.1.4.1.") for k in sonic)
    # Arista: thresholds in sensor units with +-1e9 "not set"; PHY MIB present
    assert any(
        k.startswith("1.3.6.1.4.1.30065.3.12.1.1.1.") and v == 1_000_000_000 for k, v in arista.items()
    )
    assert any(
        k.startswith("1.3.6.1.4.1.30065.3.12.1.1.1.") and v == -1_000_000_000 for k, v in arista.items()
    )
    assert any(k.startswith("1.3.6.1.4.1.30065.3.37.1.1.1.3.") for k in arista)
    # Cisco: dBm(14) and per-lane names; threshold rows carry severity and relation
    names = [v for k, v in cisco.items() if k.startswith("1.3.6.1.2.1.47.1.1.1.1.7.")]
    assert any(
        isinstance(n, str) and n.endswith("Lane 8 Transceiver Receive Power Sensor") for n in names
    ) or any(isinstance(n, str) and n.endswith("Lane 4 Transceiver Receive Power Sensor") for n in names)
    sev = {v for k, v in cisco.items() if k.startswith("1.3.6.1.4.1.9.9.91.1.2.1.1.2.")}
    rel = {v for k, v in cisco.items() if k.startswith("1.3.6.1.4.1.9.9.91.1.2.1.1.3.")}
    assert sev == {10, 20} and rel == {1, 3}
    # Juniper: module-level power 0 on multi-lane optics, lane table 0-based
    lanes = {k for k in jnx if k.startswith("1.3.6.1.4.1.2636.3.60.1.2.1.1.6.")}
    assert any(k.endswith(".0") for k in lanes)
    for k, v in jnx.items():
        if k.startswith("1.3.6.1.4.1.2636.3.60.1.1.1.1.30."):
            i = k.rsplit(".", 1)[1]
            if int(v) > 1:
                assert jnx[f"1.3.6.1.4.1.2636.3.60.1.1.1.1.5.{i}"] == 0
                assert f"1.3.6.1.4.1.2636.3.60.1.2.1.1.6.{i}.{v}" not in jnx
    # every switch: alias mapping points at ifIndex
    for v in views.values():
        assert any(
            k.startswith("1.3.6.1.2.1.47.1.3.2.1.2.") and str(val).startswith("1.3.6.1.2.1.2.2.1.1.")
            for k, val in v.items()
        )
    assert math.isfinite(sum(rx_dbm(views[by_layout["juniper"]]).values()))


def test_deep_negative_margin_flaps_the_link_and_moves_iflastchange() -> None:
    sim = FabricSim(load_scenario("demo"))
    f = sim.fleet
    sim.advance_to(H)
    k = 2
    a, b = int(f.link_a_port[k]), int(f.link_b_port[k])
    assert sim.oper[a] == sim.oper[b] == 1
    st = sim.optical(sim.t)
    p0 = int(np.nonzero(f.point_link == k)[0][0])
    # put the a->b direction at -2.2 dB margin on every lane: inside the flap zone (-3 .. -1.5 dB)
    sim.contam[p0, 0, :] += np.nan_to_num(st.margin_db[b], nan=0.0) + 2.2
    states = []
    for _ in range(40):
        sim.advance_to(sim.t + 60)
        states.append(int(sim.oper[b]))
    assert {1, 2} <= set(states)  # it goes down and comes back: a flapping link
    assert sim.state_changes[b] >= 4
    assert sim.last_change_s[b] > H
    # deeper than -3 dB the link stays down
    sim.contam[p0, 0, :] += 2.0
    for _ in range(5):
        sim.advance_to(sim.t + 60)
        assert sim.oper[a] == sim.oper[b] == 2
    ifx = from_rows(SwitchRenderer(sim, int(f.port_dev[b])).rows())
    i = SwitchRenderer(sim, int(f.port_dev[b]))
    pv = next(p for p in i.ports if p.pos == b)
    assert ifx[f"1.3.6.1.2.1.2.2.1.8.{pv.if_index}"] == 2


def test_fabric_incremental_view_equals_a_fresh_render() -> None:
    from lab.fabric import LabFabric

    clock = [0.0]
    fab = LabFabric(load_scenario("demo"), refresh_s=0.0, clock=lambda: clock[0])
    first = fab.view("spine02")
    clock[0] += 120.0
    second = fab.view("spine02")
    fresh = MibView(fab._renderers[fab.devices.index("spine02")].rows())
    assert list(second) == list(fresh)
    assert list(second) != list(first)


def test_failing_laser_raises_bias_first_then_loses_power() -> None:
    sim = FabricSim(
        load_scenario("demo")
    )  # link 9, b side: failing laser from 2h, 0.8 dB/day after the bias phase
    f = sim.fleet
    port = int(f.link_b_port[9])
    lanes = f.lane_mask()[port]
    sim.advance_to(H)
    s0 = sim.optical(sim.t)
    sim.advance_to(H + 86400.0, max_steps=100)  # same hour next day: the daily thermal cycle cancels
    s1 = sim.optical(sim.t)
    t2 = H + 2 * 86400.0
    sim.advance_to(t2, max_steps=100)
    s2 = sim.optical(sim.t)
    bias_rise = s1.bias_ma[port, lanes] / s0.bias_ma[port, lanes]
    assert np.all(bias_rise > 1.3)
    assert np.all(np.abs(s1.tx_dbm[port, lanes] - s0.tx_dbm[port, lanes]) < 0.1)  # power held by the APC loop
    # (t2 - 2h) / 1 day - 1 day of bias phase = 23 h of fall at 0.8 dB/day; same hour, so thermal cancels
    drop = s0.tx_dbm[port, lanes] - s2.tx_dbm[port, lanes]
    np.testing.assert_allclose(drop, 0.8 * ((t2 - 2 * H) / 86400.0 - 1.0), atol=0.02)


def test_maintenance_window_shuts_the_link_then_re_mates_its_points() -> None:
    sim = FabricSim(load_scenario("demo"))  # link 6: maintenance 30h..32h
    f = sim.fleet
    a, b = int(f.link_a_port[6]), int(f.link_b_port[6])
    sim.advance_to(29 * H, max_steps=200)
    assert sim.oper[a] == sim.oper[b] == 1
    sim.advance_to(31 * H)
    assert sim.oper[a] == sim.oper[b] == 2 and not sim.admin_up[a]
    assert np.all(sim.optical(sim.t).rx_dbm[b] <= -40.0)  # a's laser is off: b sees no light
    sim.advance_to(32 * H + 60)
    assert sim.oper[a] == sim.oper[b] == 1 and sim.admin_up[a]
    inv = inventory(sim)
    link = next(lk for lk in inv["links"] if lk["id"] == f.link_ids[6])
    mated = [e for c in link["connections"] for e in c["events"] if e["kind"] == "mated"]
    assert len(mated) == len(link["connections"])


def test_scenario_can_take_an_inventory_instead_of_generating_one(tmp_path: Path) -> None:
    src = FabricSim(load_scenario("demo"))
    inv = inventory(src)
    yaml = YAML()
    with (tmp_path / "inv.yaml").open("w") as fh:
        yaml.dump(inv, fh)
    dl = dict(zip(src.fleet.dev_names, src.fleet.dev_layout, strict=True))
    (tmp_path / "sc.yaml").write_text(
        "name: from-inventory\nseed: 3\nduration: 6h\nstep_s: 300\n"
        f"fabric: {{inventory: inv.yaml, device_layouts: {dl}, admin_down_links: 0}}\n"
        "events:\n  - {at: 1h, kind: contaminate, link: " + inv["links"][2]["id"] + ", db: 1.0}\n"
    )
    sim = FabricSim(load_scenario(tmp_path / "sc.yaml"))
    f = sim.fleet
    assert f.link_ids == src.fleet.link_ids
    assert f.point_ids == src.fleet.point_ids and f.point_type == src.fleet.point_type
    assert [f.port_names[int(p)] for p in f.link_a_port] == [
        src.fleet.port_names[int(p)] for p in src.fleet.link_a_port
    ]
    assert (
        len(set(zip(f.port_dev.tolist(), f.port_names, strict=True))) == f.n_ports
    )  # names unique per device
    np.testing.assert_allclose(f.link_length_m, [lk["fiber"]["length_m"] for lk in inv["links"]])
    st0 = sim.optical(0.0)
    sim.advance_to(2 * H)
    st1 = sim.optical(sim.t)
    step = st1.loss_db[2] - st0.loss_db[2]
    assert np.allclose(step, 1.0, atol=0.05)  # gel swing/drift on MMC points stays well under 0.05 dB
    rows = render_all(sim)
    assert set(rows) == set(f.dev_names)


@pytest.mark.parametrize("return_loss_db", [55.0, 20.0])
def test_the_true_margin_is_what_the_labs_own_ber_curve_says(return_loss_db: float) -> None:
    """The truth's margin and the BER the lab's receiver makes are one physics: a lane 0.05 dB under
    its true margin of zero runs above the FEC-limit BER, 0.05 dB over it below, reflections (MPI)
    included. With the channel's points at 20 dB return loss (worn gel) the receiver needs over 0.3 dB
    more OMA for the limit; a truth that left that penalty out would call those lanes that much better
    than their own BER."""
    sim = FabricSim(load_scenario("demo"))
    f = sim.fleet
    link = int(np.flatnonzero(np.bincount(f.point_link, minlength=f.n_links) >= 2)[0])  # two reflectors
    f.point_rl0_db[f.point_link == link] = return_loss_db
    f.point_rl_db_per_cycle[f.point_link == link] = 0.0
    b = int(f.link_b_port[link])  # direction a->b: received at b
    n = int(f.port_lanes[b])
    st = sim.optical(0.0)
    pmd = f.port_pmd[b]
    clean = st.rx_dbm[b, :n] + f.pmd_er_corr[pmd] - f.pmd_sens[pmd] - f.rx_sens_delta_db[b, :n]
    penalty = clean - st.margin_db[b, :n]  # what the truth takes off for the channel's reflections
    assert (penalty > 0.3).all() if return_loss_db < 30 else (penalty < 0.05).all()
    limit = float(f.pmd_ber_limit[f.port_pmd[b]])
    floor = float(f.rx_ber_floor[b])
    for delta, above in ((0.05, True), (-0.05, False)):
        sim.link_extra[link, 0, :n] = st.margin_db[b, :n] + delta  # the true margin becomes -delta
        moved = sim.optical(0.0)
        np.testing.assert_allclose(moved.margin_db[b, :n], -delta, atol=1e-9)
        assert ((moved.ber[b, :n] - floor > limit) == above).all()
