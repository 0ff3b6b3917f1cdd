"""Every signal is evidence: flaps and uncorrectable codewords put a link out of margin, whatever its DOM
and its DOM calibration say (issue 13's flapping-after-mating case, with its numbers)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from analyzer.advice import advise
from analyzer.analysis import analyze
from analyzer.evidence import ber_from_uncorrectable_fraction
from analyzer.exporter import AnalyzerCollector
from analyzer.state import LaneState
from linkmargin.budget import p_uncorrectable_cw
from linkmargin.catalog import fec

from .scenario import flapping_after_mating


@pytest.fixture(scope="module")
def flapping():
    spec, frame = flapping_after_mating()
    st = LaneState(spec)
    st.ingest(frame)
    return st, analyze(st, horizons={"21d": 21.0})


def test_loss_at_a_mating_that_then_flaps_is_below_zero_with_the_point_named(flapping) -> None:
    # +2.0 dB before, 4 dB lost at the mating of P-mmc: the DOM reads -2.0 dB and the link flaps.
    # Before this fix: margin +0.74 dB, P(21d) = 0.03, the DOM "corrected" by -2.79 dB against a
    # corrected-codeword BER that saturates while codewords fail.
    _, an = flapping
    lanes = an.lanes
    assert lanes["rx_offset_db"].is_null().all()  # no offset taken from saturated, flapping hours
    assert lanes["flaps"].min() >= 90  # ifLastChange moved at (nearly) every 15-min poll of the last day
    assert lanes["uncorrectable_cw"].min() > 1e9
    link = an.links.row(0, named=True)
    assert -2.2 < link["link_margin_db"] < -1.9  # the DOM's -2.0 dB stands
    assert an.forecasts["21d"]["p_cross"][0] == 1.0
    adv = advise(an, "21d").row(0, named=True)
    assert adv["cause"] == "link_flapping"
    assert adv["point"] == "P-mmc" and "P-mmc" in adv["action"]
    assert "flaps" in adv["evidence"] and "uncorrectable codewords" in adv["evidence"]
    assert "4.0" in adv["evidence"] or "3.9" in adv["evidence"]  # the step at the mating, in dB


def test_uncorrectables_alone_cap_the_margin_below_zero(flapping) -> None:
    _, an = flapping
    lanes = an.lanes
    assert (lanes["evidence_margin_db"] < 0).all()
    assert lanes["ber_margin_db"].is_null().all()  # a saturated count says nothing about the margin
    assert (lanes["uncorrectable_rate"] > 1e6).all()


def test_uncorrectable_fraction_inverts_the_codeword_failure_probability() -> None:
    kp4 = fec("KP4")
    bers = np.array([2.4e-4, 5e-4, 2e-3])
    frac = np.array([p_uncorrectable_cw(float(b), kp4) for b in bers])
    back = ber_from_uncorrectable_fraction(frac, np.full(3, 544.0), np.full(3, 10.0))
    np.testing.assert_allclose(back, bers, rtol=0.02)
    assert np.isnan(ber_from_uncorrectable_fraction(np.array([0.0]), np.array([544.0]), np.array([10.0])))[0]


def test_a_healthy_link_has_no_evidence_and_admin_down_is_no_flap() -> None:
    spec, frame = flapping_after_mating(loss_db=0.0)
    # planned work: the port is taken admin-down for an hour and comes back (ifLastChange moves twice)
    t_last = frame["ts"].max()
    work = frame.filter(pl.col("metric").is_in(["admin_status", "oper_status", "last_change_cs"])).filter(
        pl.col("ts") > t_last - pl.duration(hours=6)
    )
    h = (t_last - work["ts"]).dt.total_minutes()
    in_work = (h >= 180) & (h < 240)
    up = work["uptime_cs"].cast(pl.Float64)
    went_down, came_back = float(up.filter(in_work).min()), float(up.filter(h < 180).min())  # type: ignore[arg-type]
    moved = pl.Series(np.where(h >= 240, 100.0, np.where(in_work, went_down, came_back)))
    work = work.with_columns(
        pl.when(pl.Series(in_work) & pl.col("metric").is_in(["admin_status", "oper_status"]))
        .then(2.0)
        .when(pl.col("metric") == "last_change_cs")
        .then(moved)
        .otherwise(pl.col("value"))
        .alias("value")
    )
    rest = frame.filter(
        ~(
            pl.col("metric").is_in(["admin_status", "oper_status", "last_change_cs"])
            & (pl.col("ts") > t_last - pl.duration(hours=6))
        )
    )
    st = LaneState(spec)
    st.ingest(pl.concat([rest, work]).sort("ts"))
    an = analyze(st, horizons={"21d": 21.0})
    assert an.lanes["evidence_cause"].is_null().all()
    assert an.forecasts["21d"]["p_cross"][0] < 0.05
    assert advise(an, "21d").height == 0  # +2 dB, P small, no finding: no advice


def test_exporter_shows_flaps_and_uncorrectable_rate(flapping) -> None:
    _, an = flapping
    col = AnalyzerCollector()
    col.update(an, suspects=advise(an, "21d"))
    fams = {m.name: m for m in col.collect()}
    flaps = fams["linkmargin_link_flaps"].samples
    assert (
        flaps and flaps[0].labels == {"link": "L1", "device": "dev-b", "port": "p1"} and flaps[0].value >= 90
    )
    assert fams["linkmargin_uncorrectable_rate"].samples[0].value > 1e6
    info = next(f for n, f in fams.items() if n.startswith("linkmargin_link_suspect_point")).samples[0].labels
    assert info["point"] == "P-mmc" and info["cause"] == "link_flapping"


def _at_the_limit(margin_db: float, seed: int):  # type: ignore[no-untyped-def]
    spec, frame = flapping_after_mating(loss_db=2.0 - margin_db, margin_before_db=2.0, seed=seed)
    st = LaneState(spec)
    st.ingest(frame)
    return analyze(st, horizons={"21d": 21.0})


def test_a_codeword_failed_at_the_fec_limit_is_not_a_crossing() -> None:
    """The FEC limit BER is where the post-FEC target is met, not where codewords start to fail: a
    4-lane KP4 port at 0.02 dB above it fails about one codeword a day (7.8e12 codewords a day, ~1e-13
    of them). One failed codeword in the last day implies a BER just under the limit (+0.023 dB), so
    the link is at the limit, about as likely above as below; it was P = 1 (any failed codeword put
    the margin at 0 and the link out). The same link with no failed codeword drawn gets about the
    same P, and five in a day (a rate above the limit's) is out of margin."""
    one = _at_the_limit(0.02, seed=5)
    lanes = one.lanes
    assert lanes["uncorrectable_cw"].max() == 1 and (lanes["flaps"] == 0).all()
    assert lanes["evidence_cause"][0] == "uncorrectable_codewords"
    assert 0.0 < lanes["evidence_margin_db"].min() < 0.05
    p_one = one.forecasts["21d"]["p_cross"][0]
    assert 0.3 < p_one < 0.7
    none = _at_the_limit(0.02, seed=7)
    assert none.lanes["uncorrectable_cw"].max() == 0 and none.lanes["evidence_cause"].is_null().all()
    assert abs(none.forecasts["21d"]["p_cross"][0] - p_one) < 0.1
    five = _at_the_limit(0.0, seed=5)
    assert five.lanes["uncorrectable_cw"].max() == 5
    assert five.lanes["evidence_margin_db"].max() < 0
    assert five.forecasts["21d"]["p_cross"][0] == 1.0
