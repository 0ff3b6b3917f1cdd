"""BER worse than Rx power explains: a reflection on a PAM4 link is its own cause, attributed to the
channel's reflective points; a loss that moves Rx and the BER together and a module whose DOM reads a
constant offset are not reflections.

Four 4-lane 400G (KP4) links, 8 days of hourly DOM Rx, module temperature and per-lane pre-FEC BER:

- ``L-refl``: Rx flat 2.5 dB over sensitivity; a growing reflection penalty (0 -> 1.6 dB over the last
  week) raises the BER the way a loss of that size would, while the power stays put. Its channel has
  a field MMC (index gel) and a mechanical splice: both reflective; and a factory MTP that is not.
- ``L-loss``: the channel loses 1.6 dB over the same week (a slow contamination); the BER follows.
- ``L-offset``: its module's DOM reads 0.8 dB high, constant; the BER is the true margin's.
- ``L-tempdom``: its DOM offset swings +-0.4 dB with module temperature each day; the BER is flat.

The BER here is generated with the core's Gaussian-decision curve (``linkmargin.budget``), so the
test is about the detector's logic, not about the lab.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from analyzer.advice import advise
from analyzer.reflection import ber_beyond_rx
from analyzer.spec import LinkSpec
from linkmargin.budget import ber_at_margin_db

from .helpers import analyzed, hourly, hourly_samples

DAYS = 8
SENS = -7.0
LIMIT = 2.4e-4


def _lanes(link: str, i: int) -> list[dict[str, object]]:
    return [
        {
            "link": link,
            "device": f"leaf{i}",
            "port": "Ethernet1",
            "lane": ln,
            "direction": "a->b",
            "far_device": f"spine{i}",
            "far_port": "Ethernet9",
            "sensitivity_dbm": SENS,
            "fec_limit_ber": LIMIT,
            "fec_n_symbols": 544,
            "fec_symbol_bits": 10,
            "lane_rate_bps": 53.125e9,
            "low_warn_dbm": SENS + 1.0,
            "expected_loss_db": 2.0,
        }
        for ln in (1, 2, 3, 4)
    ]


LINKS = ("L-refl", "L-loss", "L-offset", "L-tempdom")


def _fleet() -> tuple[LinkSpec, pl.DataFrame]:
    rng = np.random.default_rng(19)
    lanes, points, frames = [], [], []
    n = DAYS * 24
    h = np.arange(n)
    # the last week ramps (the first day is quiet history)
    ramp = np.clip((h - 24) / (n - 25), 0.0, 1.0)
    for i, link in enumerate(LINKS, start=1):
        lanes += _lanes(link, i)
        points += [
            {
                "link": link,
                "point": f"{link}-mtp",
                "position": 0,
                "connector": "MTP-16",
                "family": "MTP",
                "termination": "factory",
            },
            {
                "link": link,
                "point": f"{link}-mmc",
                "position": 1,
                "connector": "MMC",
                "family": "MMC-field",
                "termination": "field",
            },
            {
                "link": link,
                "point": f"{link}-splice",
                "position": 2,
                "connector": "MECH-SPLICE",
                "family": "splice",
                "termination": "field",
            },
        ]
        temp = 40 + 4 * np.sin(2 * np.pi * (h + 3 * i) / 24)
        for ln in (1, 2, 3, 4):
            true_margin = 1.25 + 0.05 * ln + 0.005 * (temp - 40)
            penalty = np.zeros(n)
            dom_err = np.zeros(n)
            if link == "L-refl":
                penalty = 1.6 * ramp
            elif link == "L-loss":
                true_margin = true_margin - 1.6 * ramp
            elif link == "L-offset":
                dom_err = np.full(n, 0.8)
            else:
                dom_err = 0.1 * (temp - 40)
            rx = SENS + true_margin + dom_err + rng.normal(0, 0.03, n)
            # the BER counted over an hour: the model's value with ~3 % counting noise
            ber = ber_at_margin_db(true_margin - penalty, LIMIT) * np.exp(rng.normal(0, 0.03, n))
            for metric, vals in (("rx_power_dbm", rx), ("pre_fec_ber", ber)):
                frames.append(hourly(h, f"leaf{i}", metric, vals, lane=ln))
        frames.append(hourly(h, f"leaf{i}", "temperature_c", temp))
    return LinkSpec.build(lanes, points, []), hourly_samples(frames)


@pytest.fixture(scope="module")
def analysis():
    return analyzed(*_fleet(), DAYS)


def test_ber_rising_with_rx_flat_is_a_reflection_named_at_the_reflective_points(analysis) -> None:
    lanes = analysis.lanes.filter(pl.col("link") == "L-refl")
    assert lanes["ber_beyond_rx"].all()
    assert lanes["ber_excess_db"].min() > 1.0  # most of the 1.6 dB penalty, read off the BER
    assert lanes["ber_excess_rx_change_db"].abs().max() < 0.2  # while Rx did not move
    adv = {r["link"]: r for r in advise(analysis, "21d", min_probability=0.0).iter_rows(named=True)}
    a = adv["L-refl"]
    assert a["cause"] == "ber_beyond_rx"
    assert a["point"] == "L-refl-mmc"
    # both gel points are named (the catalog's gel flag, as data), the factory MTP is not
    assert "L-refl-mmc" in a["action"] and "L-refl-splice" in a["action"] and "L-refl-mtp" not in a["action"]
    assert "factory APC" in a["action"]
    assert "BER worse than Rx power explains" in a["evidence"]
    # the reflection is not read as this module's DOM offset
    assert lanes["rx_offset_db"].is_null().all()


def test_rx_falling_with_the_ber_following_is_not_a_reflection(analysis) -> None:
    lanes = analysis.lanes.filter(pl.col("link") == "L-loss")
    assert not lanes["ber_beyond_rx"].any()
    assert lanes["ber_excess_db"].abs().max() < 0.3
    adv = {r["link"]: r for r in advise(analysis, "21d", min_probability=0.0).iter_rows(named=True)}
    assert adv.get("L-loss", {}).get("cause") != "ber_beyond_rx"


@pytest.mark.parametrize("link", ["L-offset", "L-tempdom"])
def test_a_dom_offset_constant_or_following_temperature_is_not_a_reflection(analysis, link: str) -> None:
    lanes = analysis.lanes.filter(pl.col("link") == link)
    assert not lanes["ber_beyond_rx"].any()
    adv = {r["link"]: r for r in advise(analysis, "21d", min_probability=0.0).iter_rows(named=True)}
    assert adv.get(link, {}).get("cause") != "ber_beyond_rx"
    if link == "L-offset":  # the constant offset is still read as the module's offset
        assert lanes["rx_offset_db"].drop_nulls().len() == 4
        assert lanes["rx_offset_db"].mean() == pytest.approx(0.8, abs=0.1)


def test_nrz_lanes_are_not_judged_and_a_short_history_says_nothing() -> None:
    n, hours = 2, 168
    ramp = np.linspace(0, 1.6, hours)
    margin = np.full((n, hours), 2.5)
    ber = np.vstack([ber_at_margin_db(2.5 - ramp, LIMIT)] * n)
    r = ber_beyond_rx(margin, ber, np.full(n, LIMIT), np.array([53.125e9, 25.78125e9]))
    assert r.flagged.tolist() == [True, False]  # the same BER rise on a 25G NRZ lane is left alone
    short = ber_beyond_rx(margin[:, :12], ber[:, :12], np.full(n, LIMIT), np.full(n, 53.125e9))
    assert not short.flagged.any()


def test_a_loss_step_on_one_lane_read_through_a_port_level_ber_is_not_a_reflection() -> None:
    hours = 168
    t = np.arange(hours)
    # lane 1 of the port takes a 1.6 dB step mid-window; lane 2 stays flat; the FEC counter is per port
    m1 = np.where(t >= 84, 2.5 - 1.6, 2.5)
    m2 = np.full(hours, 2.5)
    port_ber = 0.5 * (ber_at_margin_db(m1, LIMIT) + ber_at_margin_db(m2, LIMIT))
    margin, ber = np.vstack([m1, m2]), np.vstack([port_ber, port_ber])
    one_port = ber_beyond_rx(margin, ber, np.full(2, LIMIT), np.full(2, 53.125e9), group=np.array([7, 7]))
    assert not one_port.flagged.any()
    # the same ramp as a reflection, on both lanes of a port: flagged
    ramp = np.linspace(0, 1.6, hours)
    refl = np.vstack([ber_at_margin_db(2.5 - ramp, LIMIT)] * 2)
    r = ber_beyond_rx(
        np.vstack([m2, m2]), refl, np.full(2, LIMIT), np.full(2, 53.125e9), group=np.array([7, 7])
    )
    assert r.flagged.all()
