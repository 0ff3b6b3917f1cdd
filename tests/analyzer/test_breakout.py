"""A 400GBASE-DR4 broken out to four 100GBASE-DR links: each link is joined on its own module lane.

The samples are what the collector makes of a breakout (collector.decode.common.map_breakouts): each
lane of the leaf's module arrives on the sub-port that owns it, with the module's lane number (lane 3 on
Ethernet1/1/3); module-level values on every sub-port. The far ends are single-lane 100GBASE-DR optics
on four switches (lane 1). The inventory is the user's (``lanes:``, ``module:``), turned into the
analyzer's lane table by the CLI wiring.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from analyzer.advice import advise
from analyzer.analysis import analyze
from analyzer.state import LaneState
from linkmargin.catalog import optic
from linkmargin.inventory import InventoryError, load_inventory
from linkmargin.samples import Metric, conform
from linkmargin_cli.wiring import spec_from_inventory

from .helpers import T0

REPO = Path(__file__).resolve().parents[2]
DAYS = 10
LOSS = {1: 1.0, 2: 1.4, 3: 1.8, 4: 2.2}  # each sub-link's own channel loss, dB (both directions)
TX = {1: 0.5, 2: 0.7, 3: 0.9, 4: 1.1}  # each spine's Tx, dBm (the leaf module's lanes: 0.0 dBm)
FAILING = 3  # spine3's laser: -0.25 dB/day, its bias climbing


def _inventory_text(extra_links: str = "") -> str:
    links = "".join(
        f"""
          - id: B{k}
            a: {{device: leaf1, port: Ethernet1/1/{k}, module: 400GBASE-DR4, lanes: [{k}]}}
            b: {{device: spine{k}, port: Ethernet1}}
            optic: 100GBASE-DR
            fiber: {{type: OS2, length_m: 120}}
            connections:
              - {{id: leaf1-cassette-{k}, type: MPO-12, termination: factory}}
              - {{id: spine{k}-lc, type: LC-UPC, termination: factory}}
        """
        for k in range(1, 5)
    )
    devices = "".join(
        f"\n          - {{name: {d}, address: 127.0.0.1, credentials: ro}}"
        for d in ("leaf1", "spine1", "spine2", "spine3", "spine4")
    )
    return textwrap.dedent(
        f"""\
        site: breakout-test
        credentials:
          ro: {{version: 2c, community_env: LINKMARGIN_COMMUNITY}}
        devices:{devices}
        links:{links}{extra_links}
        """
    )


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("inv") / "inventory.yaml"
    path.write_text(_inventory_text())
    return spec_from_inventory(load_inventory(path))


def _frame(failing: str = "spine") -> pl.DataFrame:
    """Hourly samples as the collector reports the breakout: leaf1 lane k on Ethernet1/1/k.

    ``failing``: whose laser on sub-link FAILING fades, spine3's or the leaf module's lane 3."""
    rng = np.random.default_rng(7)
    h = np.arange(DAYS * 24)
    temp = 40 + 3 * np.sin(2 * np.pi * h / 24)
    parts = []

    def add(device: str, port: str, lane: int | None, metric: str, values: np.ndarray) -> None:
        parts.append(
            pl.DataFrame(
                {"hour": h, "device": device, "port": port, "lane": lane, "metric": metric, "value": values},
                schema_overrides={"lane": pl.Int64},
            )
        )

    for k in range(1, 5):
        leaf_tx = np.full(h.size, 0.0)
        spine_tx = np.full(h.size, TX[k])
        spine_bias = np.full(h.size, 7.0)
        leaf_bias = np.full(h.size, 6.5)
        if k == FAILING and failing == "spine":
            spine_tx = spine_tx - 0.25 * h / 24
            spine_bias = spine_bias + 0.06 * h / 24
        if k == FAILING and failing == "leaf":
            leaf_tx = leaf_tx - 0.25 * h / 24
            leaf_bias = leaf_bias + 0.06 * h / 24
        sub = f"Ethernet1/1/{k}"
        add("leaf1", sub, k, "tx_power_dbm", leaf_tx + rng.normal(0, 0.02, h.size))
        add("leaf1", sub, k, "tx_bias_ma", leaf_bias + rng.normal(0, 0.01, h.size))
        add("leaf1", sub, k, "rx_power_dbm", spine_tx - LOSS[k] + rng.normal(0, 0.03, h.size))
        add("leaf1", sub, None, "temperature_c", temp)
        add(f"spine{k}", "Ethernet1", 1, "tx_power_dbm", spine_tx + rng.normal(0, 0.02, h.size))
        add(f"spine{k}", "Ethernet1", 1, "tx_bias_ma", spine_bias + rng.normal(0, 0.01, h.size))
        add(f"spine{k}", "Ethernet1", 1, "rx_power_dbm", leaf_tx - LOSS[k] + rng.normal(0, 0.03, h.size))
        add(f"spine{k}", "Ethernet1", None, "temperature_c", temp)
    frame = pl.concat(parts, how="vertical").with_columns(
        (pl.lit(T0) + pl.duration(minutes=pl.col("hour") * 60 + 30)).alias("ts")
    )
    return conform(frame.drop("hour")).sort("ts")


@pytest.fixture(scope="module")
def analysed(spec):
    st = LaneState(spec)
    st.ingest(_frame())
    return st, analyze(st, horizons={"21d": 21.0})


@pytest.fixture(scope="module")
def leaf_failing(spec):
    st = LaneState(spec)
    st.ingest(_frame("leaf"))
    return analyze(st, horizons={"21d": 21.0})


def test_the_lane_table_carries_module_lanes_and_the_far_lane(spec) -> None:
    lanes = spec.lanes.sort("link", "direction")
    leaf = lanes.filter(pl.col("device") == "leaf1").sort("link")
    assert leaf["port"].to_list() == [f"Ethernet1/1/{k}" for k in range(1, 5)]
    assert leaf["lane"].to_list() == [1, 2, 3, 4]  # the module's lane numbers
    assert leaf["far_lane"].to_list() == [1, 1, 1, 1]  # each faces its 100GBASE-DR's only lane
    spines = lanes.filter(pl.col("device") != "leaf1").sort("link")
    assert spines["lane"].to_list() == [1, 1, 1, 1]
    assert spines["far_port"].to_list() == [f"Ethernet1/1/{k}" for k in range(1, 5)]
    assert spines["far_lane"].to_list() == [1, 2, 3, 4]
    assert set(spines["port_rate_bps"].to_list()) == {optic("100GBASE-DR").port_rate_bps}


def test_each_link_sees_its_own_lane_and_its_own_far_transmitter(analysed, spec) -> None:
    st, an = analysed
    _, rx = st.matrix(Metric.RX_POWER_DBM)
    _, far_tx = st.matrix(Metric.TX_POWER_DBM, far_end=True)
    _, far_bias = st.matrix(Metric.TX_BIAS_MA, far_end=True)
    assert not np.isnan(rx).any() and not np.isnan(far_tx).any() and not np.isnan(far_bias).any()
    for i, row in enumerate(spec.lanes.iter_rows(named=True)):
        k = int(row["link"][1:])
        first_day = slice(0, 4)  # the failing laser has lost < 0.05 dB by then
        if row["device"] == "leaf1":
            # the leaf's lane k is fed by spine k's laser: its Tx, not lane k of some spine
            assert np.nanmean(far_tx[i, first_day]) == pytest.approx(TX[k], abs=0.1)
            assert np.nanmean(rx[i, first_day]) == pytest.approx(TX[k] - LOSS[k], abs=0.1)
            assert np.nanmean(far_bias[i, first_day]) == pytest.approx(7.0, abs=0.1)
        else:
            assert np.nanmean(far_tx[i, first_day]) == pytest.approx(0.0, abs=0.1)
            assert np.nanmean(far_bias[i, first_day]) == pytest.approx(6.5, abs=0.1)
    # the measured excess loss of each lane is its own channel's (Tx minus Rx, from its own far lane)
    lat = an.lanes.select("link", "device", "rx_dbm", "far_tx_dbm")
    assert lat["far_tx_dbm"].null_count() == 0
    for row in lat.iter_rows(named=True):
        k = int(row["link"][1:])
        assert row["far_tx_dbm"] - row["rx_dbm"] == pytest.approx(LOSS[k], abs=0.15)


def test_each_link_gets_only_its_own_lanes_margin(analysed) -> None:
    _, an = analysed
    sens = optic("100GBASE-DR").rx_sens_avg_dbm.value
    margin = dict(zip(an.links["link"], an.links["power_margin_db"], strict=True))
    # the weaker direction: the leaf receiving spine k's Tx - loss, or the spine receiving 0 - loss
    for k in (1, 2, 4):
        want = min(TX[k], 0.0) - LOSS[k] - sens
        assert margin[f"B{k}"] == pytest.approx(want, abs=0.15)
    end_tx = TX[FAILING] - 0.25 * (DAYS * 24 - 1) / 24
    assert margin[f"B{FAILING}"] == pytest.approx(end_tx - LOSS[FAILING] - sens, abs=0.2)


def test_a_failing_far_laser_is_named_on_its_sub_link_only(analysed) -> None:
    _, an = analysed
    adv = {r["link"]: r for r in advise(an, "21d", min_probability=0.0).iter_rows(named=True)}
    bad = adv[f"B{FAILING}"]
    assert bad["cause"] == "optic_tx_failing"
    assert f"spine{FAILING} Ethernet1 (side b)" in bad["action"]  # a plain optic: no breakout words
    for k in (1, 2, 4):
        row = adv.get(f"B{k}")
        assert row is None or row["cause"] != "optic_tx_failing"
        assert row is None or "spine" not in str(row["action"])
    fc = dict(zip(an.forecasts["21d"]["link"], an.forecasts["21d"]["p_cross"], strict=True))
    assert fc[f"B{FAILING}"] > 0.9
    # the others keep only what their DOM-read margins (1.0-2.2 dB, 1.1 dB error) leave: B4's 1.0 dB ~ 0.18
    assert max(fc[f"B{k}"] for k in (1, 2, 4)) < 0.25


def test_a_failing_lane_of_the_broken_out_module_is_named_on_its_sub_link_only(leaf_failing) -> None:
    # spine3 receives lane 3 of the leaf's DR4 on its lane 1: the join must read leaf1 Ethernet1/1/3 lane 3
    an = leaf_failing
    adv = {r["link"]: r for r in advise(an, "21d", min_probability=0.0).iter_rows(named=True)}
    bad = adv[f"B{FAILING}"]
    assert bad["cause"] == "optic_tx_failing"
    assert (
        f"leaf1 Ethernet1/1/{FAILING} (side a; lane {FAILING} of a broken-out 400GBASE-DR4" in bad["action"]
    )
    for k in (1, 2, 4):
        row = adv.get(f"B{k}")
        assert row is None or row["cause"] != "optic_tx_failing"
    fc = dict(zip(an.forecasts["21d"]["link"], an.forecasts["21d"]["p_cross"], strict=True))
    assert fc[f"B{FAILING}"] > 0.9
    # the others keep only what their DOM-read margins (1.0-2.2 dB, 1.1 dB error) leave: B4's 1.0 dB ~ 0.18
    assert max(fc[f"B{k}"] for k in (1, 2, 4)) < 0.25


def _errors(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    with pytest.raises(InventoryError) as exc:
        load_inventory(path)
    return [str(e) for e in exc.value.errors]


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_validation_names_bad_lanes_with_their_position(tmp_path: Path) -> None:
    text = _inventory_text()
    text = text.replace(
        "port: Ethernet1/1/2, module: 400GBASE-DR4, lanes: [2]",
        "port: Ethernet1/1/2, module: 400GBASE-DR4, lanes: [5]",
    )
    text = text.replace(
        "port: Ethernet1/1/4, module: 400GBASE-DR4, lanes: [4]",
        "port: Ethernet1/1/4, module: 400GBASE-DR4, lanes: [3, 4]",
    )
    errs = _errors(tmp_path, text)
    line2 = _line_of(text, "lanes: [5]")
    col2 = text.splitlines()[line2 - 1].index("[5]") + 2  # the 5 inside the brackets, 1-based
    assert any(
        e.startswith(f"{tmp_path / 'inventory.yaml'}:{line2}:{col2}:")
        and "lane 5 is beyond 400GBASE-DR4's 4 lanes" in e
        for e in errs
    ), errs
    line4 = _line_of(text, "lanes: [3, 4]")
    assert any(
        f":{line4}:" in e and "2 lane(s) given; a 100GBASE-DR link end uses 1 lane" in e for e in errs
    ), errs
    assert len(errs) == 2, errs


def test_validation_catches_a_lane_used_twice_and_a_module_without_lanes(tmp_path: Path) -> None:
    # two links on one module port (an agent that reports the whole module on Ethernet1/1): lanes
    # may be shared out, but not one lane twice
    text = (
        _inventory_text().replace("Ethernet1/1/1,", "Ethernet1/1,").replace("Ethernet1/1/2,", "Ethernet1/1,")
    )
    assert not _errors_or_none(tmp_path, text)  # lanes 1 and 2 of one port: fine
    shared = spec_from_inventory(load_inventory(tmp_path / "ok.yaml")).lanes.filter(
        pl.col("port") == "Ethernet1/1"
    )
    assert sorted(shared["lane"].to_list()) == [1, 2]
    # the port's counters cover both links' lanes: its rate is theirs together
    assert set(shared["port_rate_bps"].to_list()) == {2 * optic("100GBASE-DR").lane_rate_bps}
    text = text.replace(
        "port: Ethernet1/1, module: 400GBASE-DR4, lanes: [2]",
        "port: Ethernet1/1, module: 400GBASE-DR4, lanes: [1]",
    )
    errs = _errors(tmp_path, text)
    assert len(errs) == 1 and "lane 1 of leaf1 Ethernet1/1 is already used by link 'B1'" in errs[0], errs
    first, dup = [i for i, ln in enumerate(text.splitlines(), 1) if "lanes: [1]" in ln]
    assert f":{dup}:" in errs[0] and f":{first}:" not in errs[0]  # at B2's lane, not B1's
    # a module with no lanes, an unknown module, a module whose lanes are not the link's kind
    text = _inventory_text()
    text = text.replace("module: 400GBASE-DR4, lanes: [1]", "module: 400GBASE-DR4")
    text = text.replace("module: 400GBASE-DR4, lanes: [2]", "module: 400GBASE-DR5, lanes: [2]")
    text = text.replace("module: 400GBASE-DR4, lanes: [3]", "module: 400GBASE-SR8, lanes: [3]")
    text = text.replace("lanes: [4]}", "}")
    errs = _errors(tmp_path, text)
    joined = "\n".join(errs)
    assert "needs lanes" in joined
    assert "unknown optic '400GBASE-DR5' (did you mean '400GBASE-DR4'?)" in joined
    assert "400GBASE-SR8's lanes are not 100GBASE-DR lanes" in joined
    assert len(errs) == 4, errs
    # a far end without module naming lane 3 of a single-lane optic: the hint says what is missing
    text = _inventory_text().replace(
        "b: {device: spine1, port: Ethernet1}", "b: {device: spine1, port: Ethernet1, lanes: [3]}"
    )
    errs = _errors(tmp_path, text)
    assert len(errs) == 1 and "lane 3 is beyond 100GBASE-DR's 1 lane; a broken-out module?" in errs[0]


def _errors_or_none(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "ok.yaml"
    path.write_text(text)
    try:
        load_inventory(path)
    except InventoryError as exc:
        return [str(e) for e in exc.errors]
    return []


def test_the_documented_example_breakout_validates(tmp_path: Path) -> None:
    """The commented breakout in configs/inventory.example.yaml is a working inventory fragment."""
    text = (REPO / "configs" / "inventory.example.yaml").read_text()
    block = re.search(r"# --- breakout example ---\n(.*?)# --- end ---", text, re.S)
    assert block is not None
    body = "\n".join(re.sub(r"^# ?", "", ln) for ln in block.group(1).splitlines())
    path = tmp_path / "breakout.yaml"
    path.write_text(body)
    inv = load_inventory(path)
    lanes = spec_from_inventory(inv).lanes
    leaf = lanes.filter(pl.col("port").str.starts_with("Ethernet1/1/"))
    assert sorted(leaf["lane"].to_list()) == [1, 2, 3, 4]
    assert set(leaf["far_lane"].to_list()) == {1}


def test_a_csv_export_takes_lanes_and_module_columns(tmp_path: Path) -> None:
    devices = tmp_path / "devices.yaml"
    devices.write_text(_inventory_text().split("links:")[0])
    head = (
        "link_id,a_device,a_port,a_module,a_lanes,b_device,b_port,optic,fiber_type,length_m,point_id,type\n"
    )
    rows = "".join(
        f"B{k},leaf1,Ethernet1/1/{k},400GBASE-DR4,{k},spine{k},Ethernet1,100GBASE-DR,OS2,120,c{k},MPO-12\n"
        for k in range(1, 5)
    )
    path = tmp_path / "links.csv"
    path.write_text(head + rows)
    lanes = spec_from_inventory(load_inventory(path, devices)).lanes
    leaf = lanes.filter(pl.col("device") == "leaf1").sort("link")
    assert leaf["lane"].to_list() == [1, 2, 3, 4] and set(leaf["far_lane"].to_list()) == {1}
    path.write_text(head + rows.replace("Ethernet1/1/4,400GBASE-DR4,4", "Ethernet1/1/4,400GBASE-DR4,9"))
    with pytest.raises(InventoryError) as exc:
        load_inventory(path, devices)
    (err,) = exc.value.errors
    assert str(err) == f"{path}:5: a_lanes: lane 9 is beyond 400GBASE-DR4's 4 lanes"
