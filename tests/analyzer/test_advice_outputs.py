from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from analyzer.advice import advise
from analyzer.analysis import analyze
from analyzer.events import RiskTracker
from analyzer.exporter import AnalyzerCollector
from analyzer.state import LaneState
from linkmargin.wire import decode_event, encode_event

from . import scenario


@pytest.fixture(scope="module")
def analysis():
    spec, frame = scenario.build()
    st = LaneState(spec)
    st.ingest(frame)
    return st, analyze(st, horizons={"21d": 21.0, "7d": 7.0})


def test_risk_ranking_and_advice(analysis) -> None:
    _, an = analysis
    fc = an.forecasts["21d"].sort("p_cross", descending=True)
    risk = dict(zip(fc["link"], fc["p_cross"], strict=True))
    # 1.2 dB gone in 10 days, 1.5 dB left: -1.0 dB expected at 21 d; a margin on the DOM alone is known
    # to 1.1 dB (analyzer.forecast.DOM_SD_DB), so P ~ Phi(1.0 / 1.1) = 0.82 at least
    assert risk["L-optic"] > 0.8
    # what is left for the stable link is its DOM error (Phi(-2.5 / 1.1) = 1.2 %) and the background:
    # an unexplained step is expected 0.027 times in 21 days (the prior from a fleet that has seen
    # none) and half of such steps exceed its 2.5 dB
    assert risk["L-ok"] < 0.04
    adv = {r["link"]: r for r in advise(an, "21d", min_probability=0.0).iter_rows(named=True)}
    assert adv["L-optic"]["cause"] == "optic_tx_failing"
    assert "spine2 Ethernet9" in adv["L-optic"]["action"]
    assert adv["L-dirty"]["cause"] == "step_at_point"
    assert adv["L-dirty"]["point"] == "L-dirty-mmc"
    assert "+2.5" in adv["L-dirty"]["evidence"]
    # after the 2.5 dB step the dirty link has Tx 1 - loss 8 = -7 dBm against -7 dBm: 0 dB margin
    dirty = an.links.filter(pl.col("link") == "L-dirty")
    assert dirty["power_margin_db"][0] == pytest.approx(-0.0, abs=0.15)


def test_exporter_exposes_documented_metrics(analysis) -> None:
    st, an = analysis
    col = AnalyzerCollector()
    reg = CollectorRegistry()
    reg.register(col)
    col.update(an, suspects=advise(an, "21d", min_probability=0.0), samples_seen=st.samples_seen)
    text = generate_latest(reg).decode()
    assert 'linkmargin_margin_db{device="leaf3",direction="rx",lane="1",link="L-ok",port="Ethernet1"}' in text
    assert 'linkmargin_risk_probability{horizon="21d",link="L-optic"}' in text
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    suspect = {s.labels["link"]: s.labels for s in fams["linkmargin_link_suspect_point_info"].samples}
    assert suspect["L-dirty"]["point"] == "L-dirty-mmc" and suspect["L-dirty"]["cause"] == "step_at_point"
    assert suspect["L-dirty"]["action"] not in ("", "none")  # the action a technician takes, by name
    # one time to zero margin per link whatever the horizon, and never an astronomical number
    ttz = fams["linkmargin_time_to_zero_margin_days"].samples
    assert ttz and all(set(s.labels) == {"link"} for s in ttz)
    assert len({s.labels["link"] for s in ttz}) == len(ttz)
    assert all(0.0 <= s.value <= 3650.0 for s in ttz)
    assert 'linkmargin_cohort_step_probability{family="MMC",termination="field"}' in text
    assert f"linkmargin_analyzer_samples_total {float(st.samples_seen)}" in text
    for name in (
        "linkmargin_link_margin_db",
        "linkmargin_margin_forecast_db",
        "linkmargin_excess_loss_db",
        "linkmargin_degradation_db_per_day",
    ):
        assert f"\n{name}{{" in text


def test_risk_events_hysteresis_no_flapping() -> None:
    tr = RiskTracker("21d")
    seq = [0.05, 0.25, 0.15, 0.25, 0.6, 0.4, 0.6, 0.3, 0.05, 0.15]
    states = []
    events = []
    for p in seq:
        evs = tr.update(
            pl.DataFrame({"link": ["X"], "p_cross": [p], "forecast_db": [1.0], "days_to_cross": [9.0]})
        )
        events.extend(evs)
        states.append(tr.state.get("X", "ok"))
    assert states == [
        "ok",
        "warning",
        "warning",
        "warning",
        "critical",
        "critical",
        "critical",
        "warning",
        "ok",
        "ok",
    ]
    assert [e.severity for e in events] == ["warning", "critical", "warning", "info"]
    back = decode_event(encode_event(events[1]))
    assert (
        back.subject == "X"
        and back.data["to"] == "critical"
        and back.topic == "linkmargin/v1/events/critical"
    )


def test_preflight_report_outputs(analysis, tmp_path) -> None:
    import json

    from rich.console import Console

    from analyzer import report

    _, an = analysis
    table = report.risk_table(an, "21d", advise(an, "21d", min_probability=0.0))
    assert table["link"].to_list()[0] == "L-optic"  # riskiest first
    assert table["rank"].to_list() == [1, 2, 3]
    doc = json.loads(report.to_json(table, horizon="21d"))
    assert [r["link"] for r in doc["links"]][-1] == "L-ok"
    report.to_csv(table, tmp_path / "r.csv")
    assert pl.read_csv(tmp_path / "r.csv")["link"].to_list() == table["link"].to_list()
    png = report.plot(an, "21d", 21.0, tmp_path / "r.png", table=table)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    con = Console(record=True, width=200)
    report.render(table, "21d", console=con)
    text = con.export_text()
    assert "L-optic" in text and "replace the optic" in text


def test_advice_names_a_dom_offset_measured_from_the_ber(analysis) -> None:
    _, an = analysis
    lanes = an.lanes.with_columns(
        pl.when(pl.col("link") == "L-optic")
        .then(-0.45)
        .otherwise(pl.col("rx_offset_db"))
        .alias("rx_offset_db")
    )
    adv = {
        r["link"]: r
        for r in advise(replace(an, lanes=lanes), "21d", min_probability=0.0).iter_rows(named=True)
    }
    assert "Rx reads -0.45 dB against its own pre-FEC BER" in adv["L-optic"]["evidence"]
    assert "L-ok" not in adv  # healthy, no finding: no advice at all (and no offset note)


def test_exporter_carries_the_dom_offset_and_ber_margin_where_known(analysis) -> None:
    _, an = analysis
    lanes = an.lanes.with_columns(
        pl.when(pl.col("link") == "L-optic").then(-0.45).otherwise(None).alias("rx_offset_db"),
        pl.when(pl.col("link") == "L-optic").then(0.72).otherwise(None).alias("ber_margin_db"),
    )
    col = AnalyzerCollector()
    reg = CollectorRegistry()
    reg.register(col)
    col.update(replace(an, lanes=lanes), suspects=advise(an, "21d", min_probability=0.0), samples_seen=0)
    labels = {"link": "L-optic", "device": "leaf2", "port": "Ethernet1", "lane": "1", "direction": "rx"}
    assert reg.get_sample_value("linkmargin_dom_rx_offset_db", labels) == -0.45
    assert reg.get_sample_value("linkmargin_ber_margin_db", labels) == 0.72
    # unknown stays absent, never 0
    assert (
        reg.get_sample_value("linkmargin_dom_rx_offset_db", {**labels, "link": "L-ok", "device": "leaf3"})
        is None
    )
