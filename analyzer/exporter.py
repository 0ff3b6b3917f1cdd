"""Prometheus exposition of the latest analysis, as a custom collector (no per-sample metrics state).

Every family is a frame of label columns and a value column, built from the analysis with polars;
a scrape renders the frames as text from columns (:func:`linkmargin.exposition.text.family_lines`,
served by :mod:`linkmargin.exposition.http`), any other prometheus-client consumer gets Metric
families built from the same frames. A lane or link missing from the latest analysis has no series.

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
| ``linkmargin_device_counter_reset_timestamp_seconds`` | device, rebooted, spiked | last counter reset |
| ``linkmargin_cohort_step_probability`` | family, termination | P(loss step per mating) |
| ``linkmargin_cohort_step_db`` | family, termination | mean loss step size |
| ``linkmargin_cohort_drift_db_per_day`` | family, termination | cohort drift |
| ``linkmargin_cohort_thermal_db_per_celsius`` | family, termination | cohort thermal sensitivity |
| ``linkmargin_cohort_matings`` | family, termination | recorded matings behind the cohort figures |
| ``linkmargin_ber_excess_db`` | lane labels | BER margin lost over the week beyond what Rx explains |
| ``linkmargin_ber_beyond_rx`` | lane labels | 1: the reflection cause flags the lane, else 0 |
| ``linkmargin_connection_point_matings`` | link, point, family | matings of the installed end face |
| ``linkmargin_connection_point_rated_matings`` | link, point, family | the type's rated mating cycles |
| ``linkmargin_connection_point_step_probability`` | link, point, family | P(step) at its next mating |
| ``linkmargin_connection_point_step_probability_low``/``_high`` | link, point, family | its 95 % interval |
| ``linkmargin_wear_step_probability`` (``_low``, ``_high``) | family, termination, wear_bin | wear curve |
| ``linkmargin_wear_step_db`` | family, termination, wear_bin | mean loss step in the wear bin |
| ``linkmargin_wear_matings`` | family, termination, wear_bin | matings the bin's figures rest on |
| ``linkmargin_analyzer_samples_total`` | | samples folded into the state |
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from analyzer.analysis import Analysis
from analyzer.wear import WEAR_EDGES, point_hazard
from linkmargin.exposition import scrape
from linkmargin.exposition.scrape import gzip_member
from linkmargin.exposition.text import family_lines, header, label_block, split_families

LANE_LABELS = ("link", "device", "port", "lane", "direction")
SAMPLES = "linkmargin_analyzer_samples"
SAMPLES_HELP = "Samples folded into the analyzer state"


TTZ_MAX_DAYS = 3650.0
"""Beyond ten years a time to zero margin is "not heading to zero", not a number to plot or alert on."""

_LANE_FAMILIES = (
    ("margin_db", "linkmargin_margin_db", "Rx power minus PMD sensitivity, dB"),
    ("warn_margin_db", "linkmargin_warn_margin_db", "Rx power minus the module low-warning threshold, dB"),
    ("ber_margin_dec", "linkmargin_ber_margin_decades", "log10(FEC limit) - log10(pre-FEC BER), decades"),
    ("ber_margin_db", "linkmargin_ber_margin_db", "OMA margin the pre-FEC BER implies, dB"),
    (
        "rx_offset_db",
        "linkmargin_dom_rx_offset_db",
        "DOM Rx reading minus the level the module's pre-FEC BER implies, dB",
    ),
)
_COHORT_FAMILIES = (
    (
        "p_step",
        "linkmargin_cohort_step_probability",
        "Probability (0 to 1) that one mating of this connector family leaves a loss step",
    ),
    ("step_db", "linkmargin_cohort_step_db", "Mean loss step, dB"),
    ("drift_db_per_day", "linkmargin_cohort_drift_db_per_day", "Cohort drift, dB/day"),
    (
        "thermal_db_per_c",
        "linkmargin_cohort_thermal_db_per_celsius",
        "Rx power change per degree of module temperature in the cohort, dB per degree Celsius",
    ),
    (
        "matings",
        "linkmargin_cohort_matings",
        "Recorded matings the cohort's figures rest on (beside the catalog prior)",
    ),
)


_REFLECTION_FAMILIES = (
    (
        "ber_excess_db",
        "linkmargin_ber_excess_db",
        "Margin the pre-FEC BER lost over the last week beyond what Rx power explains (a reflection "
        "penalty on PAM4 lanes when it grows), dB",
    ),
    (
        "ber_beyond_rx",
        "linkmargin_ber_beyond_rx",
        "1 when the lane's pre-FEC BER grew worse than its Rx power explains over the last week (the "
        "reflection cause: re-terminate the reflective points), else 0",
    ),
)
_POINT_LABELS = ("link", "point", "family")
_POINT_FAMILIES = (
    (
        "matings",
        "linkmargin_connection_point_matings",
        "Matings of the connection point's installed end face (recorded before the records plus mating "
        "events since; re-termination or replacement starts again), count",
    ),
    (
        "rated_matings",
        "linkmargin_connection_point_rated_matings",
        "Mating cycles the point's connector type is rated for (connector catalog), count",
    ),
    (
        "p_step",
        "linkmargin_connection_point_step_probability",
        "Probability (0 to 1) that the point's next mating leaves a loss step, from the fleet's wear curve "
        "at its mating count (else its cohort's figure)",
    ),
    (
        "p_step_lo",
        "linkmargin_connection_point_step_probability_low",
        "Lower end of the 95 % interval of the point's step probability at its next mating (0 to 1)",
    ),
    (
        "p_step_hi",
        "linkmargin_connection_point_step_probability_high",
        "Upper end of the 95 % interval of the point's step probability at its next mating (0 to 1)",
    ),
)
_WEAR_LABELS = ("family", "termination", "wear_bin")
_WEAR_FAMILIES = (
    (
        "p_step",
        "linkmargin_wear_step_probability",
        "Probability (0 to 1) of a loss step per mating of points whose mating count, relative to their "
        "rated cycles, falls in the bin (wear_bin: the bin's lower edge, matings per rated cycle)",
    ),
    (
        "p_step_lo",
        "linkmargin_wear_step_probability_low",
        "Lower end of the 95 % interval of the wear bin's step probability per mating (0 to 1)",
    ),
    (
        "p_step_hi",
        "linkmargin_wear_step_probability_high",
        "Upper end of the 95 % interval of the wear bin's step probability per mating (0 to 1)",
    ),
    ("step_db", "linkmargin_wear_step_db", "Mean loss step of a mating in the wear bin, dB"),
    (
        "matings",
        "linkmargin_wear_matings",
        "Recorded matings the wear bin's figures rest on (beside the catalog prior), count",
    ),
)


def _bin_label(wear_bin: pl.Expr) -> pl.Expr:
    """A wear bin's label: its lower edge in matings per rated cycle, two decimals (``0.85``)."""
    return wear_bin.replace_strict(
        {i: f"{e:.2f}" for i, e in enumerate(WEAR_EDGES)}, default=None, return_dtype=pl.String
    )


def _wear_frames(an: Analysis) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(per point: count, rated cycles, hazard; per wear bin of the curve: its estimates)."""
    hz = point_hazard(an.point_wear, an.cohorts.table).lazy()
    cols = [c for c, *_ in _WEAR_FAMILIES]
    if an.wear.height and "p_step" in an.wear.columns:
        curve = (
            an.wear.lazy()
            .filter(pl.col("wear_bin") >= 0)
            .select("family", "termination", _bin_label(pl.col("wear_bin")), *cols)
        )
    else:
        curve = pl.LazyFrame(schema={**{k: pl.String for k in _WEAR_LABELS}, **{c: pl.Float64 for c in cols}})
    return hz, curve


@dataclass(frozen=True, slots=True)
class Family:
    """One gauge family as columns: a frame whose label columns are named as the labels, a value
    column, and which rows give a series (``keep``; by default those with a finite value)."""

    name: str
    help: str
    labels: tuple[str, ...]
    frame: pl.LazyFrame
    value: str
    keep: pl.Expr | None = None
    block: str | None = None  # a column holding the rendered label set (shared by several families)

    def rows(self) -> pl.DataFrame:
        """The kept rows: label columns as strings, then the value."""
        v = pl.col(self.value).cast(pl.Float64)
        return (
            self.frame.filter(v.is_finite() if self.keep is None else self.keep)
            .select(*(pl.col(k).cast(pl.String) for k in self.labels), v)
            .collect()
        )


def _time_to_zero(an: Analysis) -> pl.LazyFrame:
    """Per link, one time to zero margin whatever the horizon: its earliest lane on any horizon's
    expected path (a longer horizon counts more expected steps); none above the bound."""
    if not an.lane_forecasts:
        return pl.LazyFrame(schema={"link": pl.String, "days_to_cross": pl.Float64})
    return (
        pl.concat([f.lazy().select("link", "days_to_cross") for f in an.lane_forecasts.values()])
        .filter(pl.col("days_to_cross").is_finite())
        .group_by("link")
        .agg(pl.col("days_to_cross").min())
        .filter(pl.col("days_to_cross") <= TTZ_MAX_DAYS)
        .sort("link")
    )


def _suspect_points(an: Analysis, suspects: pl.DataFrame | None) -> pl.LazyFrame:
    """Every link of the analysis with its suspect point (``optic:DEV P`` for an optic, ``link:<id>``
    when none stands out), cause and action (``none`` where unknown)."""
    links = an.links.lazy().select("link")
    fallback = pl.concat_str(pl.lit("link:"), pl.col("link"))
    if suspects is None:
        return links.with_columns(
            fallback.alias("point"), pl.lit("none").alias("cause"), pl.lit("none").alias("action")
        )
    s = suspects.lazy()
    optic = pl.col("optic") if "optic" in suspects.columns else pl.lit(None, dtype=pl.String)
    # an optic pages apart from every connection point: its own grouping key
    where = (
        pl.when(pl.col("point").is_not_null() & (pl.col("point") != ""))
        .then(pl.col("point"))
        .when(optic.is_not_null() & (optic != ""))
        .then(pl.concat_str(pl.lit("optic:"), optic))
    )
    known = s.select(
        "link",
        where.alias("where"),
        pl.col("cause").cast(pl.String),
        pl.col("action").cast(pl.String),
        pl.lit(True).alias("known"),
    ).unique(subset="link", keep="last", maintain_order=True)
    return links.join(known, on="link", how="left", maintain_order="left").select(
        "link",
        pl.coalesce("where", fallback).alias("point"),
        pl.when(pl.col("known")).then(pl.col("cause")).otherwise(pl.lit("none")).alias("cause"),
        pl.col("action").fill_null("none"),
    )


def families(an: Analysis, suspects: pl.DataFrame | None, *, text: bool = False) -> list[Family]:
    """Every gauge family of ``an`` (and the advice naming each link's suspect point), in export order.

    ``text``: the label sets the six per-lane families share are rendered once, up front.
    """
    drift_labels = ("link", "device", "port", "lane")
    lane_cols = an.lanes.select(
        *(pl.col(k).cast(pl.String).fill_null("None") for k in LANE_LABELS),
        *(c for c, *_ in _LANE_FAMILIES),
        "drift_shrunk",
        *(
            (pl.col(c) if c in an.lanes.columns else pl.lit(None)).cast(pl.Float64).alias(c)
            for c, *_ in _REFLECTION_FAMILIES
        ),
    )
    lane_block = drift_block = None
    if text:
        lane_block, drift_block = "_lane_labels", "_drift_labels"
        lane_cols = lane_cols.with_columns(
            label_block(LANE_LABELS).alias(lane_block), label_block(drift_labels).alias(drift_block)
        )
    lanes = lane_cols.lazy()
    out = [Family(name, h, LANE_LABELS, lanes, col, block=lane_block) for col, name, h in _LANE_FAMILIES]
    out.append(
        Family(
            "linkmargin_degradation_db_per_day",
            "Rx power drift, dB/day",
            drift_labels,
            lanes,
            "drift_shrunk",
            block=drift_block,
        )
    )
    links = an.links.lazy()
    out.append(
        Family(
            "linkmargin_link_margin_db",
            "Worst effective margin of the link, dB",
            ("link",),
            links,
            "link_margin_db",
        )
    )
    out.append(
        Family(
            "linkmargin_excess_loss_db",
            "Measured minus expected loss, dB",
            ("link",),
            links,
            "excess_loss_db",
        )
    )
    # flaps and the uncorrectable-codeword rate per receiving port (what the link's margin rests on)
    port_labels = ("link", "device", "port")
    if "flaps" in an.lanes.columns:
        ports = (
            an.lanes.lazy()
            .group_by(*port_labels, maintain_order=True)
            .agg(pl.col("flaps").max(), pl.col("uncorrectable_rate").max())
        )
    else:
        ports = pl.LazyFrame(
            schema={
                **{k: pl.String for k in port_labels},
                "flaps": pl.Float64,
                "uncorrectable_rate": pl.Float64,
            }
        )
    out.append(
        Family(
            "linkmargin_link_flaps",
            "Oper-status flaps of the receiving port in the analyzer's evidence window",
            port_labels,
            ports,
            "flaps",
        )
    )
    out.append(
        Family(
            "linkmargin_uncorrectable_rate",
            "Uncorrectable FEC codewords per second over the analyzer's evidence window",
            port_labels,
            ports,
            "uncorrectable_rate",
        )
    )
    fc = (
        pl.concat(
            [
                f.lazy().select(
                    "link",
                    pl.lit(label).alias("horizon"),
                    pl.col("forecast_db").cast(pl.Float64),
                    pl.col("forecast_lo_db").cast(pl.Float64).fill_null(float("nan")),
                    pl.col("p_cross").cast(pl.Float64),
                )
                for label, f in an.forecasts.items()
            ]
        )
        if an.forecasts
        else pl.LazyFrame(
            schema={
                "link": pl.String,
                "horizon": pl.String,
                "forecast_db": pl.Float64,
                "forecast_lo_db": pl.Float64,
                "p_cross": pl.Float64,
            }
        )
    )
    by = ("link", "horizon")
    out.append(Family("linkmargin_margin_forecast_db", "Forecast margin, dB", by, fc, "forecast_db"))
    out.append(
        Family(
            "linkmargin_margin_forecast_low_db",
            "Forecast margin, 5th percentile, dB",
            by,
            fc,
            "forecast_lo_db",
            keep=pl.col("forecast_db").is_finite(),  # beside every forecast, whatever its value
        )
    )
    out.append(
        Family(
            "linkmargin_risk_probability",
            "Probability (0 to 1) that the link crosses zero margin or the FEC limit before the horizon",
            by,
            fc,
            "p_cross",
        )
    )
    out.append(
        Family(
            "linkmargin_time_to_zero_margin_days",
            "Days until the link's worst lane reaches zero margin on its expected path (drift and the steps "
            f"expected within the horizons), days; absent when not within {TTZ_MAX_DAYS:g} days",
            ("link",),
            _time_to_zero(an),
            "days_to_cross",
        )
    )
    out.append(
        Family(
            "linkmargin_link_suspect_point_info",
            "The connection point most likely at fault, the likely cause and the action to take (value 1); "
            "point link:<id> when none stands out",
            ("link", "point", "cause", "action"),
            _suspect_points(an, suspects).with_columns(pl.lit(1.0).alias("value")),
            "value",
        )
    )
    out.append(
        Family(
            "linkmargin_device_counter_reset_timestamp_seconds",
            "When the device's counters last reset (its boot time for a reboot), Unix seconds; evidence, "
            "not a fault: spiked says whether rates derived across it jumped",
            ("device", "rebooted", "spiked"),
            an.devices.lazy().select(
                "device",
                pl.col("rebooted").cast(pl.String),
                pl.col("spiked").cast(pl.String),
                (pl.col("at").dt.epoch("ms") / 1000.0).alias("value"),
            ),
            "value",
        )
    )
    cohorts = an.cohorts.table.lazy()
    out.extend(Family(name, h, ("family", "termination"), cohorts, col) for col, name, h in _COHORT_FAMILIES)
    # the reflection cause per lane (analyzer.reflection), mating wear per point and the wear curve
    out.extend(
        Family(name, h, LANE_LABELS, lanes, col, block=lane_block) for col, name, h in _REFLECTION_FAMILIES
    )
    points, curve = _wear_frames(an)
    out.extend(Family(name, h, _POINT_LABELS, points, col) for col, name, h in _POINT_FAMILIES)
    out.extend(Family(name, h, _WEAR_LABELS, curve, col) for col, name, h in _WEAR_FAMILIES)
    return out


@dataclass(slots=True)
class _Rendered:
    """One family as text and as a gzip member, with the fingerprint of the rows it was rendered from."""

    fingerprint: tuple[int, int]
    head: bytes  # HELP and TYPE
    lines: bytes
    gz: bytes | None = None


def _fingerprint(rows: pl.DataFrame) -> tuple[int, int]:
    """(rows, order-sensitive 64-bit hash of the rows): equal for the same labels and values."""
    if rows.height == 0:
        return (0, 0)
    h = rows.hash_rows(seed=0).to_numpy()
    with np.errstate(over="ignore"):
        mixed = h * (np.arange(1, h.size + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    return (rows.height, int(np.bitwise_xor.reduce(mixed) ^ np.uint64(h.sum(dtype=np.uint64))))


class AnalyzerCollector(Collector):
    """Exposes the most recent :class:`Analysis` handed to :meth:`update`.

    Scrapes are answered from a cache: each family's text (and gzip member) is rendered once per
    analysis, and a new analysis re-renders only the families whose rows (labels and values) changed.
    With ``prerender`` (default) :meth:`update` renders the new analysis, text and gzip, in a
    background thread, so no scrape waits for it unless it arrives while rendering runs.
    """

    def __init__(self, *, prerender: bool = True) -> None:
        self._lock = threading.Lock()
        self._render_lock = threading.Lock()  # one render at a time; scrapes wait for it, not redo it
        self._analysis: Analysis | None = None
        self._suspects: pl.DataFrame | None = None
        self._samples = 0
        self._version = 0
        self._prerender = prerender
        self._families: dict[str, _Rendered] = {}  # by family name, of the rendered version
        self._rendered_version = -1
        self._body: list[_Rendered] = []  # in export order

    def update(
        self, analysis: Analysis, *, suspects: pl.DataFrame | None = None, samples_seen: int = 0
    ) -> None:
        """Swap in a new analysis (and the advice frame naming each link's suspect point)."""
        with self._lock:
            self._analysis, self._suspects, self._samples = analysis, suspects, samples_seen
            self._version += 1
        if self._prerender:
            threading.Thread(target=self.prerender, daemon=True, name="linkmargin-render").start()

    def _current(self) -> tuple[Analysis | None, pl.DataFrame | None, int, int]:
        with self._lock:
            return self._analysis, self._suspects, self._samples, self._version

    def collect(self) -> Iterator[Metric]:
        """Yield every metric family from the current analysis (nothing when a scrape in this thread
        renders it from columns: :meth:`render_text`)."""
        if scrape.claim(self):
            return
        an, suspects, samples, _ = self._current()
        yield CounterMetricFamily(SAMPLES, SAMPLES_HELP, samples)
        if an is None:
            return
        for fam in families(an, suspects):
            g = GaugeMetricFamily(fam.name, fam.help, labels=fam.labels)
            for *labels, value in fam.rows().iter_rows():
                g.add_metric(labels, value)
            yield g

    def prerender(self) -> None:
        """Render the current analysis, text and gzip, into the cache (what the next scrape serves)."""
        self._rendered(gz=True)

    def _rendered(self, *, gz: bool) -> tuple[int, list[_Rendered]]:
        """The current analysis's families as cached, rendering what changed (and compressing, for
        ``gz``, what is not compressed yet); returns the samples count beside them."""
        with self._render_lock:
            an, suspects, samples, version = self._current()
            if an is None:
                return samples, []
            if version != self._rendered_version:
                self._render(an, suspects)
                self._rendered_version = version
            if gz:
                for r in self._body:
                    if r.gz is None:
                        r.gz = gzip_member(r.head, r.lines)
            return samples, list(self._body)

    def _render(self, an: Analysis, suspects: pl.DataFrame | None) -> None:
        fams = families(an, suspects, text=True)
        rows = pl.collect_all(
            [
                f.frame.filter(
                    pl.col(f.value).cast(pl.Float64).is_finite() if f.keep is None else f.keep
                ).select(*(pl.col(k) for k in f.labels), pl.col(f.value))
                for f in fams
            ]
        )
        prints = [_fingerprint(r) for r in rows]
        old = self._families
        changed = [
            i
            for i, (f, fp) in enumerate(zip(fams, prints, strict=True))
            if f.name not in old or old[f.name].fingerprint != fp
        ]
        texts = split_families(
            [
                (f.name, f.help, "gauge", family_lines(f.name, f.frame, f.labels, f.value, f.keep, f.block))
                for f in (fams[i] for i in changed)
            ]
        )
        new = {f.name: old[f.name] for f in fams if f.name in old}
        for i, (head, lines) in zip(changed, texts, strict=True):
            new[fams[i].name] = _Rendered(prints[i], head, lines)
        self._families = new
        self._body = [new[f.name] for f in fams]

    def _samples_text(self, samples: int) -> bytes:
        total = f"{SAMPLES}_total"
        return (header(total, SAMPLES_HELP, "counter") + f"{total} {float(samples)!r}\n").encode()

    def render_parts(self, gz: bool) -> list[bytes]:
        """The text of every family as kept: HELP/TYPE and lines per family, or gzip members (``gz``)."""
        samples, body = self._rendered(gz=gz)
        if gz:
            return [gzip_member(self._samples_text(samples)), *(r.gz or b"" for r in body)]
        return [self._samples_text(samples), *(p for r in body for p in (r.head, r.lines))]

    def render_text(self) -> bytes:
        """Every family as text format 0.0.4 (UTF-8), rendered from columns (cached per analysis)."""
        return b"".join(self.render_parts(False))

    def render_gzip(self) -> bytes:
        """:meth:`render_text` gzip-compressed (one member per family, kept between scrapes)."""
        return b"".join(self.render_parts(True))
