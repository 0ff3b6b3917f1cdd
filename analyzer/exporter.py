"""Prometheus exposition of the latest analysis, as a custom collector (no per-sample metrics state).

Names (prefix ``linkmargin_``, unit in the name; lane labels = link, device, port, lane, direction):

| metric | labels | meaning |
|---|---|---|
| ``linkmargin_margin_db`` | lane labels | Rx power minus PMD sensitivity (avg-power equivalent) |
| ``linkmargin_warn_margin_db`` | lane labels | Rx power minus the module's low-warning threshold |
| ``linkmargin_ber_margin_decades`` | lane labels | log10(FEC limit) - log10(pre-FEC BER) |
| ``linkmargin_ber_margin_db`` | lane labels | OMA margin the pre-FEC BER implies (Gaussian decision) |
| ``linkmargin_dom_rx_offset_db`` | lane labels | module's DOM Rx reading minus the level its BER implies |
| ``linkmargin_link_margin_db`` | link | worst effective margin over lanes and directions |
| ``linkmargin_margin_forecast_db`` | link, horizon | forecast margin at the horizon |
| ``linkmargin_margin_forecast_low_db`` | link, horizon | lower end of the 90 % prediction interval |
| ``linkmargin_risk_probability`` | link, horizon | P(zero margin or FEC limit crossed before H) |
| ``linkmargin_time_to_zero_margin_days`` | link | days until the worst lane's mean path hits zero |
| ``linkmargin_degradation_db_per_day`` | link, device, port, lane | drift (shrunk toward the cohort) |
| ``linkmargin_excess_loss_db`` | link | measured minus expected channel loss, worst lane |
| ``linkmargin_link_flaps`` | link, device, port | flaps of the receiving port, last 24 h |
| ``linkmargin_uncorrectable_rate`` | link, device, port | uncorrectable codewords/s, last 24 h |
| ``linkmargin_link_suspect_point_info`` | link, point, cause, action | 1; suspect point or ``optic:DEV P`` |
| ``linkmargin_cohort_step_probability`` | family, termination | P(loss step per mating) |
| ``linkmargin_cohort_step_db`` | family, termination | mean loss step size |
| ``linkmargin_cohort_drift_db_per_day`` | family, termination | cohort drift |
| ``linkmargin_cohort_thermal_db_per_celsius`` | family, termination | cohort thermal sensitivity |
| ``linkmargin_cohort_matings`` | family, termination | recorded matings behind the cohort figures |
| ``linkmargin_analyzer_samples_total`` | | samples folded into the state |
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator

import polars as pl
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from analyzer.analysis import Analysis

LANE_LABELS = ("link", "device", "port", "lane", "direction")


TTZ_MAX_DAYS = 3650.0
"""Beyond ten years a time to zero margin is "not heading to zero", not a number to plot or alert on."""


def _ok(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


def _time_to_zero(an: Analysis) -> list[tuple[str, float]]:
    """Per link, one time to zero margin whatever the horizon: its earliest lane on any horizon's
    expected path (a longer horizon counts more expected steps); none above the bound."""
    if not an.lane_forecasts:
        return []
    return (
        pl.concat([f.select("link", "days_to_cross") for f in an.lane_forecasts.values()])
        .filter(pl.col("days_to_cross").is_finite())
        .group_by("link")
        .agg(pl.col("days_to_cross").min())
        .filter(pl.col("days_to_cross") <= TTZ_MAX_DAYS)
        .sort("link")
        .rows()
    )


class AnalyzerCollector(Collector):
    """Exposes the most recent :class:`Analysis` handed to :meth:`update`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._analysis: Analysis | None = None
        self._suspects: pl.DataFrame | None = None
        self._samples = 0

    def update(
        self, analysis: Analysis, *, suspects: pl.DataFrame | None = None, samples_seen: int = 0
    ) -> None:
        """Swap in a new analysis (and the advice frame naming each link's suspect point)."""
        with self._lock:
            self._analysis, self._suspects, self._samples = analysis, suspects, samples_seen

    def collect(self) -> Iterator[Metric]:
        """Yield every metric family from the current analysis."""
        with self._lock:
            an, suspects, samples = self._analysis, self._suspects, self._samples
        yield CounterMetricFamily(
            "linkmargin_analyzer_samples", "Samples folded into the analyzer state", samples
        )
        if an is None:
            return
        lane_metrics = {
            "margin_db": GaugeMetricFamily(
                "linkmargin_margin_db", "Rx power minus PMD sensitivity, dB", labels=LANE_LABELS
            ),
            "warn_margin_db": GaugeMetricFamily(
                "linkmargin_warn_margin_db",
                "Rx power minus the module low-warning threshold, dB",
                labels=LANE_LABELS,
            ),
            "ber_margin_dec": GaugeMetricFamily(
                "linkmargin_ber_margin_decades",
                "log10(FEC limit) - log10(pre-FEC BER), decades",
                labels=LANE_LABELS,
            ),
            "ber_margin_db": GaugeMetricFamily(
                "linkmargin_ber_margin_db", "OMA margin the pre-FEC BER implies, dB", labels=LANE_LABELS
            ),
            "rx_offset_db": GaugeMetricFamily(
                "linkmargin_dom_rx_offset_db",
                "DOM Rx reading minus the level the module's pre-FEC BER implies, dB",
                labels=LANE_LABELS,
            ),
        }
        drift = GaugeMetricFamily(
            "linkmargin_degradation_db_per_day",
            "Rx power drift, dB/day",
            labels=("link", "device", "port", "lane"),
        )
        for row in an.lanes.select(*LANE_LABELS, *lane_metrics, "drift_shrunk").iter_rows(named=True):
            labels = [str(row[k]) for k in LANE_LABELS]
            for col, fam in lane_metrics.items():
                if _ok(row[col]):
                    fam.add_metric(labels, row[col])
            if _ok(row["drift_shrunk"]):
                drift.add_metric(labels[:4], row["drift_shrunk"])
        yield from lane_metrics.values()
        yield drift
        link_margin = GaugeMetricFamily(
            "linkmargin_link_margin_db", "Worst effective margin of the link, dB", labels=["link"]
        )
        excess = GaugeMetricFamily(
            "linkmargin_excess_loss_db", "Measured minus expected loss, dB", labels=["link"]
        )
        for row in an.links.iter_rows(named=True):
            if _ok(row["link_margin_db"]):
                link_margin.add_metric([row["link"]], row["link_margin_db"])
            if _ok(row["excess_loss_db"]):
                excess.add_metric([row["link"]], row["excess_loss_db"])
        yield link_margin
        yield excess
        yield from _evidence(an.lanes)
        fmean = GaugeMetricFamily(
            "linkmargin_margin_forecast_db", "Forecast margin, dB", labels=["link", "horizon"]
        )
        flow = GaugeMetricFamily(
            "linkmargin_margin_forecast_low_db",
            "Forecast margin, 5th percentile, dB",
            labels=["link", "horizon"],
        )
        risk = GaugeMetricFamily(
            "linkmargin_risk_probability",
            "Probability (0 to 1) that the link crosses zero margin or the FEC limit before the horizon",
            labels=["link", "horizon"],
        )
        ttc = GaugeMetricFamily(
            "linkmargin_time_to_zero_margin_days",
            "Days until the link's worst lane reaches zero margin on its expected path (drift and the steps "
            f"expected within the horizons), days; absent when not within {TTZ_MAX_DAYS:g} days",
            labels=["link"],
        )
        for label, fc in an.forecasts.items():
            for row in fc.iter_rows(named=True):
                key = [row["link"], label]
                if _ok(row["forecast_db"]):
                    fmean.add_metric(key, row["forecast_db"])
                    flow.add_metric(key, row["forecast_lo_db"])
                if _ok(row["p_cross"]):
                    risk.add_metric(key, row["p_cross"])
        for link, days in _time_to_zero(an):
            ttc.add_metric([link], days)
        yield from (fmean, flow, risk, ttc)
        info = GaugeMetricFamily(
            "linkmargin_link_suspect_point_info",
            "The connection point most likely at fault, the likely cause and the action to take (value 1); "
            "point link:<id> when none stands out",
            labels=["link", "point", "cause", "action"],
        )
        known: dict[str, tuple[str, str, str]] = {}
        if suspects is not None:
            for row in suspects.iter_rows(named=True):
                # an optic pages apart from every connection point: its own grouping key
                where = row["point"] or (f"optic:{row['optic']}" if row.get("optic") else None)
                known[row["link"]] = (where or f"link:{row['link']}", row["cause"], row["action"] or "none")
        for link in an.links["link"].to_list():
            point, cause, action = known.get(link, (f"link:{link}", "none", "none"))
            info.add_metric([link, point, cause, action], 1.0)
        yield info
        cohort = {
            "p_step": GaugeMetricFamily(
                "linkmargin_cohort_step_probability",
                "Probability (0 to 1) that one mating of this connector family leaves a loss step",
                labels=["family", "termination"],
            ),
            "step_db": GaugeMetricFamily(
                "linkmargin_cohort_step_db", "Mean loss step, dB", labels=["family", "termination"]
            ),
            "drift_db_per_day": GaugeMetricFamily(
                "linkmargin_cohort_drift_db_per_day", "Cohort drift, dB/day", labels=["family", "termination"]
            ),
            "thermal_db_per_c": GaugeMetricFamily(
                "linkmargin_cohort_thermal_db_per_celsius",
                "Rx power change per degree of module temperature in the cohort, dB per degree Celsius",
                labels=["family", "termination"],
            ),
            "matings": GaugeMetricFamily(
                "linkmargin_cohort_matings",
                "Recorded matings the cohort's figures rest on (beside the catalog prior)",
                labels=["family", "termination"],
            ),
        }
        for row in an.cohorts.table.iter_rows(named=True):
            for col, fam in cohort.items():
                if _ok(row[col]):
                    fam.add_metric([row["family"], row["termination"]], row[col])
        yield from cohort.values()


def _evidence(lanes: pl.DataFrame) -> Iterator[Metric]:
    """Flaps and the uncorrectable-codeword rate per receiving port (what the link's margin rests on)."""
    flaps = GaugeMetricFamily(
        "linkmargin_link_flaps",
        "Oper-status flaps of the receiving port in the analyzer's evidence window",
        labels=["link", "device", "port"],
    )
    unc = GaugeMetricFamily(
        "linkmargin_uncorrectable_rate",
        "Uncorrectable FEC codewords per second over the analyzer's evidence window",
        labels=["link", "device", "port"],
    )
    if "flaps" in lanes.columns:
        ports = lanes.group_by("link", "device", "port", maintain_order=True).agg(
            pl.col("flaps").max(), pl.col("uncorrectable_rate").max()
        )
        for row in ports.iter_rows(named=True):
            key = [row["link"], row["device"], row["port"]]
            if _ok(row["flaps"]):
                flaps.add_metric(key, row["flaps"])
            if _ok(row["uncorrectable_rate"]):
                unc.add_metric(key, row["uncorrectable_rate"])
    yield flaps
    yield unc
