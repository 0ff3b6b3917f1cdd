"""The analyzer's /metrics rendered from columns: the same families, names, labels, HELP and values as
the prometheus-client families, and no series for a lane or link the latest analysis lacks."""

from __future__ import annotations

import urllib.request
from dataclasses import replace

import polars as pl
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from analyzer.advice import advise
from analyzer.analysis import Analysis, analyze
from analyzer.exporter import AnalyzerCollector
from analyzer.state import LaneState
from bench.analyzer_scrape_bench import synthetic_analysis
from linkmargin.exposition.http import serve
from linkmargin.exposition.scrape import render_registry

from . import scenario

FAMILIES = [
    ("linkmargin_analyzer_samples", "counter", "Samples folded into the analyzer state"),
    ("linkmargin_margin_db", "gauge", "Rx power minus PMD sensitivity, dB"),
    ("linkmargin_warn_margin_db", "gauge", "Rx power minus the module low-warning threshold, dB"),
    ("linkmargin_ber_margin_decades", "gauge", "log10(FEC limit) - log10(pre-FEC BER), decades"),
    ("linkmargin_ber_margin_db", "gauge", "OMA margin the pre-FEC BER implies, dB"),
    (
        "linkmargin_dom_rx_offset_db",
        "gauge",
        "DOM Rx reading minus the level the module's pre-FEC BER implies, dB",
    ),
    ("linkmargin_degradation_db_per_day", "gauge", "Rx power drift, dB/day"),
    ("linkmargin_link_margin_db", "gauge", "Worst effective margin of the link, dB"),
    ("linkmargin_excess_loss_db", "gauge", "Measured minus expected loss, dB"),
    (
        "linkmargin_link_flaps",
        "gauge",
        "Oper-status flaps of the receiving port in the analyzer's evidence window",
    ),
    (
        "linkmargin_uncorrectable_rate",
        "gauge",
        "Uncorrectable FEC codewords per second over the analyzer's evidence window",
    ),
    ("linkmargin_margin_forecast_db", "gauge", "Forecast margin, dB"),
    ("linkmargin_margin_forecast_low_db", "gauge", "Forecast margin, 5th percentile, dB"),
    (
        "linkmargin_risk_probability",
        "gauge",
        "Probability (0 to 1) that the link crosses zero margin or the FEC limit before the horizon",
    ),
    (
        "linkmargin_time_to_zero_margin_days",
        "gauge",
        "Days until the link's worst lane reaches zero margin on its expected path (drift and the steps "
        "expected within the horizons), days; absent when not within 3650 days",
    ),
    (
        "linkmargin_link_suspect_point_info",
        "gauge",
        "The connection point most likely at fault, the likely cause and the action to take (value 1); "
        "point link:<id> when none stands out",
    ),
    (
        "linkmargin_device_counter_reset_timestamp_seconds",
        "gauge",
        "When the device's counters last reset (its boot time for a reboot), Unix seconds; evidence, "
        "not a fault: spiked says whether rates derived across it jumped",
    ),
    (
        "linkmargin_cohort_step_probability",
        "gauge",
        "Probability (0 to 1) that one mating of this connector family leaves a loss step",
    ),
    ("linkmargin_cohort_step_db", "gauge", "Mean loss step, dB"),
    ("linkmargin_cohort_drift_db_per_day", "gauge", "Cohort drift, dB/day"),
    (
        "linkmargin_cohort_thermal_db_per_celsius",
        "gauge",
        "Rx power change per degree of module temperature in the cohort, dB per degree Celsius",
    ),
    (
        "linkmargin_cohort_matings",
        "gauge",
        "Recorded matings the cohort's figures rest on (beside the catalog prior)",
    ),
    (
        "linkmargin_ber_excess_db",
        "gauge",
        "Margin the pre-FEC BER lost over the last week beyond what Rx power explains (a reflection "
        "penalty on PAM4 lanes when it grows), dB",
    ),
    (
        "linkmargin_ber_beyond_rx",
        "gauge",
        "1 when the lane's pre-FEC BER grew worse than its Rx power explains over the last week (the "
        "reflection cause: re-terminate the reflective points), else 0",
    ),
    (
        "linkmargin_connection_point_matings",
        "gauge",
        "Matings of the connection point's installed end face (recorded before the records plus mating "
        "events since; re-termination or replacement starts again), count",
    ),
    (
        "linkmargin_connection_point_rated_matings",
        "gauge",
        "Mating cycles the point's connector type is rated for (connector catalog), count",
    ),
    (
        "linkmargin_connection_point_step_probability",
        "gauge",
        "Probability (0 to 1) that the point's next mating leaves a loss step, from the fleet's wear curve "
        "at its mating count (else its cohort's figure)",
    ),
    (
        "linkmargin_connection_point_step_probability_low",
        "gauge",
        "Lower end of the 95 % interval of the point's step probability at its next mating (0 to 1)",
    ),
    (
        "linkmargin_connection_point_step_probability_high",
        "gauge",
        "Upper end of the 95 % interval of the point's step probability at its next mating (0 to 1)",
    ),
    (
        "linkmargin_wear_step_probability",
        "gauge",
        "Probability (0 to 1) of a loss step per mating of points whose mating count, relative to their "
        "rated cycles, falls in the bin (wear_bin: the bin's lower edge, matings per rated cycle)",
    ),
    (
        "linkmargin_wear_step_probability_low",
        "gauge",
        "Lower end of the 95 % interval of the wear bin's step probability per mating (0 to 1)",
    ),
    (
        "linkmargin_wear_step_probability_high",
        "gauge",
        "Upper end of the 95 % interval of the wear bin's step probability per mating (0 to 1)",
    ),
    ("linkmargin_wear_step_db", "gauge", "Mean loss step of a mating in the wear bin, dB"),
    (
        "linkmargin_wear_matings",
        "gauge",
        "Recorded matings the wear bin's figures rest on (beside the catalog prior), count",
    ),
]

Parsed = dict[tuple[str, str, str], list[tuple[str, tuple[tuple[str, str], ...], float | str]]]


def parse(text: str) -> Parsed:
    out: Parsed = {}
    for f in text_string_to_metric_families(text):
        out[(f.name, f.type, f.documentation)] = sorted(
            (s.name, tuple(sorted(s.labels.items())), s.value if s.value == s.value else "nan")
            for s in f.samples
        )
    return out


def scraped(an: Analysis, suspects: pl.DataFrame | None, samples: int = 7) -> tuple[Parsed, Parsed]:
    """(from columns, from prometheus-client families) of one collector."""
    col = AnalyzerCollector()
    reg = CollectorRegistry()
    reg.register(col)
    col.update(an, suspects=suspects, samples_seen=samples)
    return parse(render_registry(reg).decode()), parse(generate_latest(reg).decode())


@pytest.fixture(scope="module")
def scenario_analysis() -> tuple[Analysis, pl.DataFrame]:
    spec, frame = scenario.build()
    st = LaneState(spec)
    st.ingest(frame)
    an = analyze(st, horizons={"21d": 21.0, "7d": 7.0})
    return an, advise(an, "21d", min_probability=0.0)


def test_columns_give_the_families_of_the_scenario(scenario_analysis) -> None:
    an, adv = scenario_analysis
    text, fams = scraped(an, adv)
    assert text == fams
    assert list(text) == FAMILIES
    margin = dict((dict(lab)["link"], v) for _, lab, v in text[FAMILIES[1]] if dict(lab)["lane"] == "1")
    assert set(margin) == {"L-ok", "L-optic", "L-dirty"}
    assert margin["L-ok"] == pytest.approx(an.lanes.filter(pl.col("link") == "L-ok")["margin_db"][0])


def test_columns_escape_labels_skip_unknowns_and_name_optics() -> None:
    an, sus = synthetic_analysis(800)
    sus = sus.with_columns(
        pl.when(pl.int_range(pl.len()) % 5 == 1).then(pl.lit("leaf1 Ethernet8")).alias("optic")
    )
    lanes = an.lanes.with_columns(
        pl.when(pl.col("li") == 3).then(pl.lit('le"af\\x\n')).otherwise(pl.col("device")).alias("device")
    )
    fc = an.forecasts["7d"].with_columns(
        pl.when(pl.int_range(pl.len()) % 3 == 0)
        .then(float("nan"))
        .otherwise(pl.col("forecast_lo_db"))
        .alias("forecast_lo_db")
    )
    an = replace(an, lanes=lanes, forecasts={**an.forecasts, "7d": fc})
    text, fams = scraped(an, sus)
    assert text == fams
    margin = text[FAMILIES[1]]
    assert len(margin) == lanes["margin_db"].is_not_nan().sum()  # NaN: no series, never a 0
    assert any(dict(lab)["device"] == 'le"af\\x\n' for _, lab, _ in margin)
    points = {dict(lab)["point"] for _, lab, _ in text[FAMILIES[15]]}
    assert "optic:leaf1 Ethernet8" in points and "patch-A:3" in points and "link:L000002" in points
    low = [v for _, lab, v in text[FAMILIES[12]] if dict(lab)["horizon"] == "7d"]
    assert "nan" in low and len(low) == 100  # beside every finite forecast, as before


def test_series_go_when_their_lane_or_link_goes(scenario_analysis) -> None:
    an, adv = scenario_analysis
    col = AnalyzerCollector()
    reg = CollectorRegistry()
    reg.register(col)
    server, _ = serve(reg, 0)
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    try:
        col.update(an, suspects=adv)
        with urllib.request.urlopen(url, timeout=30) as r:
            before = r.read().decode()
        assert 'link="L-dirty"' in before
        keep = pl.col("link") != "L-dirty"
        smaller = Analysis(
            an.lanes.filter(keep),
            an.links.filter(keep),
            an.steps,
            an.cohorts,
            {h: f.filter(keep) for h, f in an.forecasts.items()},
            {h: f.filter(keep) for h, f in an.lane_forecasts.items()},
        )
        col.update(smaller, suspects=adv.filter(keep))
        with urllib.request.urlopen(url, timeout=30) as r:
            after = r.read().decode()
    finally:
        server.shutdown()
    assert 'link="L-dirty"' not in after
    assert 'link="L-ok"' in after
    assert set(parse(after)) == set(FAMILIES)


def test_wear_and_reflection_families_carry_the_analysis(scenario_analysis) -> None:
    an, adv = scenario_analysis
    text, _ = scraped(an, adv)
    by = {name: rows for (name, _, _), rows in text.items()}
    matings = {dict(lab)["point"]: v for _, lab, v in by["linkmargin_connection_point_matings"]}
    rated = {dict(lab)["point"]: v for _, lab, v in by["linkmargin_connection_point_rated_matings"]}
    assert matings == dict(an.point_wear.select("point", pl.col("matings").cast(pl.Float64)).iter_rows())
    assert matings["L-dirty-mmc"] == 1.0 and rated["L-dirty-mmc"] == 50.0 and rated["L-ok-panel"] == 500.0
    fam = {dict(lab)["point"]: dict(lab)["family"] for _, lab, _ in by["linkmargin_connection_point_matings"]}
    assert fam["L-dirty-mmc"] == "MMC" and fam["L-ok-panel"] == "MTP-16"
    p = {dict(lab)["point"]: v for _, lab, v in by["linkmargin_connection_point_step_probability"]}
    lo = {dict(lab)["point"]: v for _, lab, v in by["linkmargin_connection_point_step_probability_low"]}
    hi = {dict(lab)["point"]: v for _, lab, v in by["linkmargin_connection_point_step_probability_high"]}
    assert set(p) == set(matings)
    assert all(0.0 <= lo[k] < p[k] < hi[k] <= 1.0 for k in p)
    # the curve: one series per (family, termination, bin) the analysis has, labelled by the bin's edge
    curve = an.wear.filter(pl.col("wear_bin") >= 0)
    got = {
        (dict(lab)["family"], dict(lab)["termination"], dict(lab)["wear_bin"]): v
        for _, lab, v in by["linkmargin_wear_step_probability"]
    }
    assert curve.height > 0 and len(got) == curve.height
    for r in curve.iter_rows(named=True):
        assert got[(r["family"], r["termination"], f"{r['x_lo']:.2f}")] == pytest.approx(r["p_step"])
    # reflection: every lane has the flag; the excess only where it is a number (absent, never 0)
    flags = by["linkmargin_ber_beyond_rx"]
    assert len(flags) == an.lanes.height and {v for *_, v in flags} <= {0.0, 1.0}
    assert len(by["linkmargin_ber_excess_db"]) == an.lanes["ber_excess_db"].is_finite().sum()


def test_reflection_excess_and_a_worn_point_show_when_the_analysis_has_them(scenario_analysis) -> None:
    an, adv = scenario_analysis
    lanes = an.lanes.with_columns(
        pl.when(pl.col("link") == "L-ok").then(0.9).otherwise(pl.col("ber_excess_db")).alias("ber_excess_db"),
        (pl.col("link") == "L-ok").alias("ber_beyond_rx"),
    )
    pw = an.point_wear.with_columns(
        pl.when(pl.col("point") == "L-ok-mmc").then(61).otherwise(pl.col("matings")).alias("matings")
    )
    worn = replace(an, lanes=lanes, point_wear=pw)
    text, fams = scraped(worn, adv)
    assert text == fams
    by = {name: rows for (name, _, _), rows in text.items()}
    excess = {(dict(lab)["link"], dict(lab)["lane"]): v for _, lab, v in by["linkmargin_ber_excess_db"]}
    assert excess == {("L-ok", "1"): 0.9, ("L-ok", "2"): 0.9}
    flagged = {dict(lab)["link"] for _, lab, v in by["linkmargin_ber_beyond_rx"] if v == 1.0}
    assert flagged == {"L-ok"}
    m = {dict(lab)["point"]: v for _, lab, v in by["linkmargin_connection_point_matings"]}
    assert m["L-ok-mmc"] == 61.0
