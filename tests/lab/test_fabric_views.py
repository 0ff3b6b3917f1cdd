"""The fabric's views, updated step by step from the dynamic rows only, serve exactly what a switch
rendered from scratch at the same time serves: the static rows (rendered once) never move."""

from __future__ import annotations

from lab.agent import MibView
from lab.agent.values import SnmpValue
from lab.fabric import LabFabric
from lab.layouts.render import SwitchRenderer
from lab.scenario import load_scenario

H = 3600.0


def test_static_and_dynamic_rows_split_every_row_once_in_a_stable_order() -> None:
    fab = LabFabric(load_scenario("demo"), refresh_s=0.0, clock=lambda: 0.0)
    for d in range(len(fab.devices)):
        r = SwitchRenderer(fab.sim, d)
        static, dynamic = r.static_rows(), r.dynamic_rows()
        assert {o for o, _ in static}.isdisjoint(o for o, _ in dynamic)
        assert len(static) + len(dynamic) == len(r.rows()) == len(dict(r.rows()))
        assert r.static_rows() is static  # rendered once
        fab.sim.advance_to(fab.sim.t + 600.0)
        assert [o for o, _ in r.dynamic_rows()] == [o for o, _ in dynamic]


def test_fabric_views_updated_in_place_equal_views_rendered_from_scratch() -> None:
    # demo: every vendor layout; a contamination at 6 h, leaf03 reboots at 12 h, a mating at 20 h
    clock = [0.0]
    fab = LabFabric(load_scenario("demo"), refresh_s=0.0, clock=lambda: clock[0])
    before: dict[str, list[SnmpValue]] = {}
    for t in (0.0, H, 6 * H + 60, 12 * H + 30, 20 * H + 300, 30 * H):
        clock[0] = t
        for d, name in enumerate(fab.devices):
            got = fab.view(name)
            values = [v for _, v in got]
            assert name not in before or values != before[name]  # the physics moved something
            before[name] = values
            fresh = MibView(SwitchRenderer(fab.sim, d).rows())  # a renderer with nothing cached
            assert list(got) == list(fresh), (t, name)
            assert [got.vb_at(i) for i in range(len(got))] == [fresh.vb_at(i) for i in range(len(fresh))]
            for start in (0, len(fresh) // 3, len(fresh) - 5):  # GETBULK's byte budget reads the sizes
                assert got.run(start, 200, 1400) == fresh.run(start, 200, 1400)
    leaf03 = fab.view("leaf03").get((1, 3, 6, 1, 2, 1, 1, 3, 0))
    assert leaf03 is not None and leaf03.value == (30 - 12) * H * 100  # sysUpTime restarted at the reboot
