"""The lab simulates any catalog optic from the catalog's own figures, or says in one line why not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from lab.layouts.render import module_thresholds, render_all
from lab.physics import optics as lab_optics
from lab.physics.fleet import MAX_LANES
from lab.physics.optics import LabOpticError, er_correction_db, lab_optic
from lab.physics.sim import FabricSim
from lab.scenario import load_scenario
from linkmargin import catalog
from linkmargin_cli import app

CATALOG = sorted(catalog.all_optics())


def _scenario(tmp_path: Path, optic: str, duration: str = "20m") -> Path:
    doc = {
        "name": "one-optic",
        "seed": 3,
        "start": "2026-11-24T00:00:00Z",
        "duration": duration,
        "step_s": 300,
        "truth_step_s": 600,
        "fabric": {
            "spines": 1,
            "leaves": 2,
            "uplinks_per_leaf": 2,
            "admin_down_links": 0,
            "optics": {optic: 1.0},
            "aging_share": 0.0,
        },
    }
    p = tmp_path / "one-optic.yaml"
    with p.open("w") as fh:
        YAML().dump(doc, fh)
    return p


@pytest.fixture
def fresh_cache() -> Iterator[None]:
    lab_optics._from_catalog.cache_clear()
    yield
    lab_optics._from_catalog.cache_clear()


@pytest.mark.parametrize("name", CATALOG)
def test_every_catalog_optic_runs_or_says_why(name: str, tmp_path: Path) -> None:
    sc = load_scenario(_scenario(tmp_path, name))
    try:
        sim = FabricSim(sc)
    except LabOpticError as e:
        msg = str(e)
        assert name in msg and "\n" not in msg and "cannot simulate" in msg
        return
    o, f = catalog.optic(name), sim.fleet
    lit = f.port_optic
    # the fleet carries the catalog's figures, not a table of the lab's own
    assert set(f.port_lanes[lit]) == {o.lanes}
    assert f.pmd_names == [name]
    assert f.pmd_sens[0] == o.rx_sens_oma_dbm.value
    assert f.pmd_er_corr[0] == pytest.approx(er_correction_db(float(o.er_min_db.value or 0)))
    assert f.pmd_ber_limit[0] == o.fec_code.ber_limit.value
    assert f.pmd_lane_gbps[0] == o.lane_rate_gbps
    tx = f.tx_base_dbm[lit][:, : o.lanes]
    assert (tx >= (o.tx_avg_min_dbm.value or 0) + 0.5 - 1e-9).all()
    assert (tx <= (o.tx_avg_max_dbm.value or 0) - 0.5 + 1e-9).all()
    # fibers: a catalogued one the optic reaches on, lengths within that reach, catalog attenuation
    for fib, length, loss in zip(f.link_fiber, f.link_length_m, f.link_fiber_loss_db, strict=True):
        reach = o.reach_on(fib)
        assert reach is not None and length <= reach
        atten = catalog.fiber_attenuation_db_per_km(fib, o.wavelength_nm)
        assert loss == pytest.approx(atten * length / 1000)
    # a short run: every link comes up with a finite margin and a BER below the FEC limit
    sim.advance_to(sc.duration_s)
    st = sim.optical(sim.t)
    ends = np.concatenate([f.link_a_port, f.link_b_port])
    margin = st.margin_db[ends][:, : o.lanes]
    assert np.isfinite(margin).all() and (margin > 0).all()
    assert (st.ber[ends][:, : o.lanes] < f.pmd_ber_limit[0]).all()
    assert (sim.fec_corrected[ends][:, o.lanes :] == 0).all()  # no counts on lanes the optic lacks
    # the agents render it, with thresholds from the catalog's Tx window
    assert render_all(sim)
    thr = module_thresholds(name)
    assert thr["tx"]["lw"] == o.tx_avg_min_dbm.value


def test_sr4_2_scenario_runs_end_to_end(tmp_path: Path) -> None:
    """The issue's example: a scenario naming 400GBASE-SR4.2 (not in the old stop-gap table) runs."""
    path = _scenario(tmp_path, "400GBASE-SR4.2")
    res = CliRunner().invoke(app, ["lab", "truth", "--scenario", str(path), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    inv = YAML(typ="safe").load((tmp_path / "inventory.yaml").read_text())
    assert {lk["optic"] for lk in inv["links"]} == {"400GBASE-SR4.2"}
    assert {lk["fiber"]["type"] for lk in inv["links"]} == {"OM5"}  # its longest catalogued reach


def _doctored(name: str, **update: object) -> catalog.OpticPMD:
    return catalog.optic(name).model_copy(update=update)


@pytest.mark.parametrize(
    ("update", "why"),
    [
        ({"rx_sens_oma_dbm": catalog.Figure(value=None, status="M", src="x")}, "no rx_sens_oma_dbm figure"),
        ({"tx_avg_min_dbm": catalog.Figure(value=None, status="M", src="x")}, "no tx_avg_min_dbm figure"),
        ({"er_min_db": catalog.Figure(value=None, status="M", src="x")}, "no er_min_db figure"),
        ({"lanes": 16}, f"16 lanes, the lab models at most {MAX_LANES}"),
        ({"reach_m": {}}, "no reach on any fiber"),
    ],
)
def test_an_entry_lacking_a_figure_is_one_line(update: dict[str, object], why: str) -> None:
    with pytest.raises(LabOpticError) as ei:
        lab_optics.from_pmd(_doctored("400GBASE-DR4", **update))
    msg = str(ei.value)
    assert msg.startswith("optic 400GBASE-DR4: the lab cannot simulate it: ") and why in msg
    assert "\n" not in msg


def test_unknown_optic_is_one_line() -> None:
    with pytest.raises(LabOpticError, match=r"unknown optic '400GBASE-XX'; known: .*400GBASE-SR4\.2"):
        lab_optic("400GBASE-XX")


def test_cli_says_which_optic_and_why_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_cache: None
) -> None:
    """A catalog entry the lab cannot simulate: `lab truth` prints one line and exits 2, no traceback."""
    real = catalog.optic
    lacking = _doctored("100G-CWDM4", rx_sens_oma_dbm=catalog.Figure(value=None, status="M", src="x"))
    monkeypatch.setattr(catalog, "optic", lambda n: lacking if n == "100G-CWDM4" else real(n))
    path = _scenario(tmp_path, "100G-CWDM4")
    for cmd in (["truth", "--out", str(tmp_path / "t")], ["snapshot", "--out", str(tmp_path / "s")]):
        res = CliRunner().invoke(app, ["lab", *cmd, "--scenario", str(path)])
        assert res.exit_code == 2, res.output
        assert res.exception is None or isinstance(res.exception, SystemExit)
        lines = res.output.strip().splitlines()
        assert lines == [
            f"error: scenario {path}: optic 100G-CWDM4: the lab cannot simulate it: "
            "the catalog gives no rx_sens_oma_dbm figure (x)"
        ]
    res = CliRunner().invoke(app, ["lab", "truth", "--scenario", str(_scenario(tmp_path, "9GBASE-NOPE"))])
    assert res.exit_code == 2 and "unknown optic '9GBASE-NOPE'" in res.output
