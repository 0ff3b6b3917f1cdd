"""One analysis pass over a :class:`LaneState`: estimators in order, results as polars frames.

steps (detect, attribute) -> trends (with the steps as regressors) -> cohorts (from the fleet) ->
per-lane drift shrunk toward the cohort -> margins now -> forecasts at the requested horizons.
The per-lane columns are what the exporter, the events, the advice and the reports read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from analyzer.bounded import BER_READS, DISTURBED, PassState, ber_and_disturbed
from analyzer.calibration import (
    OffsetCache,
    ber_at_floor,
    informative_ber_margin,
    port_wide_steps,
    receiving_ports,
    rx_offsets,
)
from analyzer.cohorts import CohortModel, cohort_stats, estimate_cohorts, mating_outcomes, shrink_drift
from analyzer.evidence import EVIDENCE_HOURS, counter_resets, judge
from analyzer.fleetstats import bundle, merge_stats, unbundle
from analyzer.forecast import (
    BER_SD_DB,
    BER_SLOPE_REL,
    QUANT_SD_DB,
    LaneForecast,
    StepRisk,
    bounded_below,
    floored_drift_se,
    forecast_lanes,
    margin_estimate_sd,
    with_pending_decline,
)
from analyzer.laser import (
    bias_climb,
    bias_rise,
    decline_prior,
    early_rise,
    failing,
    failing_early,
    headroom_days,
    relative_bias,
)
from analyzer.margin import lane_margins, link_margins
from analyzer.reflection import Reflection, ber_beyond_rx
from analyzer.state import LaneState
from analyzer.steps import attribute_steps, detect_steps
from analyzer.trend import (
    LANE_CHUNK,
    RECENT_HOURS,
    TrendFit,
    _quiet,
    fit_trends,
    group_chunks,
    lane_chunks,
    recent_onset,
    step_design,
)
from analyzer.wear import hazard_at, point_counts, wear_curve, wear_stats
from linkmargin.budget import ber_margin_db
from linkmargin.inventory.matings import MATING_KINDS
from linkmargin.samples import Metric


@dataclass(slots=True)
class Analysis:
    """Results of one pass: per-lane and per-link frames, steps, cohorts, forecasts by horizon."""

    lanes: pl.DataFrame
    links: pl.DataFrame
    steps: pl.DataFrame
    cohorts: CohortModel
    forecasts: dict[str, pl.DataFrame] = field(default_factory=dict)  # horizon label -> per link
    lane_forecasts: dict[str, pl.DataFrame] = field(default_factory=dict)
    # per device, its last counter reset (evidence, not a fault): analyzer.evidence.counter_resets
    devices: pl.DataFrame = field(default_factory=lambda: counter_resets(pl.DataFrame(), pl.DataFrame()))
    # own cohort and wear statistics, bundled (analyzer.fleetstats.bundle): what a shard publishes
    cohort_stats: pl.DataFrame | None = None
    # mating wear (analyzer.wear): mergeable stats, the curve, and every point's count and hazard now
    wear_stats: pl.DataFrame = field(default_factory=pl.DataFrame)
    wear: pl.DataFrame = field(default_factory=pl.DataFrame)
    point_wear: pl.DataFrame = field(default_factory=pl.DataFrame)


def analyze(
    state: LaneState,
    *,
    horizons: dict[str, float] | None = None,
    planned: pl.DataFrame | None = None,
    now: datetime | None = None,
    bounded: PassState | None = None,
    cohort_peers: pl.DataFrame | None = None,
) -> Analysis:
    """Run every estimator on the state; ``horizons`` maps a label (\"21d\") to days.

    ``planned`` lists planned matings (point, ts, kind) in maintenance windows; those inside a
    horizon add their cohort's step risk to that horizon's forecast. With ``bounded`` (kept by the
    caller from pass to pass) the pass reads only a recent window and the estimators' state
    (:mod:`analyzer.bounded`): its cost does not grow with history. ``cohort_peers`` are the other
    analyzer shards' cohort statistics (:mod:`analyzer.fleetstats`): the cohorts are estimated from
    them merged with this state's own, as one analyzer of the whole fleet would.
    """
    spec = state.spec
    win = bounded.advance(state) if bounded is not None else None
    if win is None:
        hours, rx = state.matrix(Metric.RX_POWER_DBM)
        _, temp = state.matrix(
            Metric.TEMPERATURE_C, module=True, hours=(int(hours[0]), int(hours[-1])) if hours.size else None
        )
        steps = detect_steps(rx, temp) if hours.size else detect_steps(rx)
        all_steps, grid = steps, hours
        pairs = list(zip(steps["li"].to_list(), steps["hour_idx"].to_list(), strict=True))
        fit = fit_trends(rx, temp, steps=step_design(rx.shape[0], rx.shape[1], pairs))
    else:
        hours, rx, temp, steps, all_steps, grid, fit = (
            win.hours,
            win.rx,
            win.temp,
            win.steps,
            win.all_steps,
            win.grid,
            win.fit,
        )
        pairs = list(zip(steps["li"].to_list(), steps["hour_idx"].to_list(), strict=True))
    attributed = attribute_steps(all_steps, spec, grid)
    outcomes = mating_outcomes(spec, attributed, grid)
    link_days = (
        spec.lanes.select("link")
        .with_columns(pl.Series("days", fit.n_hours / 24.0))
        .group_by("link")
        .agg(pl.col("days").max())
    )
    own_stats = cohort_stats(
        spec,
        outcomes,
        fit.drift_db_per_day,
        fit.drift_se,
        fit.thermal_db_per_c,
        fit.thermal_se,
        unexplained=attributed.filter(~pl.col("explained")),
        link_days=link_days,
    )
    peers = unbundle(cohort_peers, "cohort", own_stats.columns)
    cohorts = estimate_cohorts(own_stats if peers is None else merge_stats([own_stats, peers]), spec)
    own_wear = wear_stats(outcomes)
    # far-end transmitter and bias trends: the optic's own decline, for the advice
    if win is None:
        span = (int(hours[0]), int(hours[-1])) if hours.size else None
        _, tx = state.matrix(Metric.TX_POWER_DBM, far_end=True, hours=span)
        _, bias = state.matrix(Metric.TX_BIAS_MA, far_end=True, hours=span)
        _, far_temp = state.matrix(Metric.TEMPERATURE_C, far_end=True, module=True, hours=span)
        tx_fit, bias_fit = fit_trends(tx, None, iters=4), fit_trends(bias, None, iters=4)
    else:
        bias, far_temp, tx_fit, bias_fit = win.bias, win.far_temp, win.tx_fit, win.bias_fit
    # bounded: the laser's first readings, kept from before the window, are in its baseline too
    rel_bias = relative_bias(bias, far_temp, first=None if win is None else (win.first_bias, win.first_temp))
    rise = bias_rise(rel_bias)
    climb = bias_climb(rel_bias)
    temp_sd = np.full(rx.shape[0], np.nan)
    with _quiet():
        for sl in lane_chunks(rx.shape[0]) if temp.size else []:
            temp_sd[sl] = np.nanstd(temp[sl], axis=1)

    ber_dist = None if win is None else (win.ber, win.disturbed)
    if ber_dist is None and hours.size:
        ber_dist = ber_hours(state, hours, rx)
    offset, offset_hours = dom_offsets(
        state, hours, rx, steps, ber_dist=ber_dist, cache=None if win is None else win.offsets
    )
    # a port whose BER stays put while its power moves is at its error floor: its BER neither corrects
    # the DOM nor caps or sets the trend of the margin (the BER-implied margin is then a lower bound)
    floor = floor_ports(state, rx, ber_dist)
    offset = np.where(floor, np.nan, offset)
    refl = reflections(state, hours, rx, ber_dist=ber_dist)
    # a BER that grew worse than Rx explains is a penalty, not the meter's offset: the offset read off
    # that BER is dropped (the BER margin still caps the forecast), the cause is reported on its own
    offset = np.where(refl.flagged, np.nan, offset)
    evidence = judge(state.evidence(EVIDENCE_HOURS), spec.lanes)
    base = lane_margins(
        state.lane_latest().sort("li").with_columns(pl.Series("rx_offset_db", offset).fill_nan(None))
    )
    # every signal is evidence: a port that flapped or passed uncorrected errors is out of margin,
    # whatever its DOM and its BER say
    # (where codewords failed, the corrected-codeword count saturates: its BER is a floor, no margin)
    base = pl.concat([base, evidence], how="horizontal").with_columns(
        pl.min_horizontal("effective_margin_db", "evidence_margin_db").alias("effective_margin_db"),
        *(
            pl.when(pl.col("uncorrectable_cw") > 0).then(None).otherwise(pl.col(c)).alias(c)
            for c in ("ber_margin_db", "ber_margin_dec")
        ),
    )
    coh = cohorts.lookup(base["link"]).select(
        pl.col("family"),
        pl.col("termination"),
        pl.col("drift_db_per_day").alias("cohort_drift"),
        pl.col("drift_tau").alias("cohort_tau"),
        pl.col("drift_hi").alias("cohort_drift_hi"),
        pl.col("drift_lo").alias("cohort_drift_lo"),
    )
    prior_se = ((coh["cohort_drift_hi"] - coh["cohort_drift_lo"]) / (2 * 1.96)).fill_null(0.0).to_numpy()
    # where the margin rests on the BER (the module's offset read off it, or a BER margin under the
    # DOM's), its slope is the BER margin's slope: a DOM offset that drifts (with temperature, with
    # age) hides a decline the FEC counters see
    dom_margin = base["margin_db"].fill_null(np.nan).to_numpy()
    ber_now = base["ber_margin_db"].fill_null(np.nan).to_numpy()
    with _quiet():
        rests_on_ber = (np.isfinite(offset) | (ber_now < dom_margin)) & ~floor
    # bounded: the BER margin's trend is kept like the Rx one (folded hours and a ring)
    ber_fit = (
        win.ber_fit
        if win is not None
        else ber_margin_trend(state, hours, rx, temp, pairs, lanes=rests_on_ber, ber_dist=ber_dist)
    )
    with _quiet():
        on_ber = rests_on_ber & (ber_fit.n_hours >= BER_TREND_HOURS)
        on_ber &= np.isfinite(ber_fit.drift_db_per_day) & np.isfinite(ber_fit.drift_se)
    lane_drift = np.where(on_ber, ber_fit.drift_db_per_day, fit.drift_db_per_day)
    lane_se = np.where(
        on_ber,
        floored_drift_se(ber_fit.drift_se, ber_fit.resid_sigma_db),
        floored_drift_se(fit.drift_se, fit.resid_sigma_db),
    )
    shrunk, shrunk_sd = shrink_drift(
        lane_drift,
        lane_se,
        coh["cohort_drift"].fill_null(0.0).to_numpy(),
        coh["cohort_tau"].fill_null(0.0).to_numpy(),
        prior_se,
        # a fit over less than two days confounds the daily swing with a slope: shrunk in full
        max_shift_se=np.where(
            np.where(on_ber, ber_fit.n_hours, fit.n_hours) >= RECENT_HOURS, SHRINK_LIMIT_SE, np.nan
        ),
    )
    # a laser without a day's baseline yet is judged against its own first readings
    early, early_climb, gradual = early_rise(bias, far_temp)
    early = np.where(np.isfinite(rise), np.nan, early)
    laser_failing = failing(rise, climb) | failing_early(early, gradual)
    shrunk, shrunk_sd, onset = recent_onset(rx, temp, pairs, shrunk, shrunk_sd, evidence=laser_failing)
    if on_ber.any() and ber_dist is not None:
        shrunk, shrunk_sd = ber_onset(
            state, rx, temp, pairs, on_ber, ber_dist, shrunk, shrunk_sd, onset, laser_failing
        )
    # a failing laser whose output has not started to fall yet: it will fall as the fleet's failing
    # lasers do (or as assumed), with their spread, once its bias has used its headroom (each forecast
    # horizon takes the share of it after that: analyzer.forecast.with_pending_decline)
    rate, rate_sd = decline_prior(shrunk, laser_failing & onset)
    pending = laser_failing & ~onset
    has_base = np.isfinite(rise)
    headroom = headroom_days(np.where(has_base, rise, early), np.where(has_base, climb, early_climb))
    after = np.where(pending, headroom, np.nan)
    lanes = pl.concat([base, coh.select("family", "termination")], how="horizontal").with_columns(
        pl.Series("recent_onset", onset),
        pl.Series("drift_db_per_day", fit.drift_db_per_day),
        pl.Series("drift_se", fit.drift_se),
        pl.Series("ber_drift_db_per_day", np.where(on_ber, ber_fit.drift_db_per_day, np.nan)).fill_nan(None),
        pl.Series("drift_shrunk", shrunk),
        pl.Series("drift_shrunk_sd", shrunk_sd),
        pl.Series("thermal_db_per_c", fit.thermal_db_per_c),
        # a lane too young for a fit gets a nominal 0.1 dB reading noise, not a false certainty
        pl.Series("resid_sigma_db", np.where(np.isfinite(fit.resid_sigma_db), fit.resid_sigma_db, 0.1)),
        pl.Series("history_hours", fit.n_hours),
        pl.Series("level_dbm", fit.level_db).fill_nan(None),
        pl.Series("temp_sd_c", temp_sd),
        pl.Series("tx_drift_db_per_day", tx_fit.drift_db_per_day),
        pl.Series("bias_drift_ma_per_day", bias_fit.drift_db_per_day),
        pl.Series("far_bias_rise", rise),
        pl.Series("far_bias_climb_per_day", climb),
        pl.Series("far_bias_early_rise", early),
        pl.Series("far_bias_early_climb_per_day", early_climb),
        pl.Series("laser_failing", laser_failing),
        pl.Series("decline_after_days", after).fill_nan(None),
        pl.Series("decline_db_per_day", np.where(pending, rate, np.nan)).fill_nan(None),
        pl.Series("decline_sd", np.where(pending, rate_sd, np.nan)).fill_nan(None),
        pl.Series("offset_hours", offset_hours),
        pl.Series("ber_beyond_rx", refl.flagged),
        pl.Series("ber_excess_db", refl.rise_db),
        pl.Series("ber_excess_rx_change_db", refl.rx_change_db),
        pl.Series("ber_at_floor", floor),
    )
    # margin now from the fitted level (less noisy than the last reading) less the module's DOM
    # offset, capped by the margin the BER implies
    lanes = lanes.with_columns(
        pl.min_horizontal(
            pl.coalesce(pl.col("level_dbm") - pl.col("sensitivity_dbm"), pl.col("margin_db"))
            - pl.col("rx_offset_db").fill_null(0.0),
            pl.when(~pl.col("ber_at_floor")).then(pl.col("ber_margin_db")),
            pl.col("evidence_margin_db"),
        ).alias("forecast_base_db")
    )
    analysis = Analysis(
        lanes,
        link_margins(lanes),
        attributed,
        cohorts,
        cohort_stats=bundle({"cohort": own_stats, "wear": own_wear}),
    )
    analysis.devices = counter_resets(state.resets, state.hourly())
    peers_wear = unbundle(cohort_peers, "wear", own_wear.columns)
    analysis.wear_stats = (
        own_wear if peers_wear is None else merge_stats([own_wear, peers_wear]).cast(own_wear.schema)
    )
    analysis.wear = wear_curve(analysis.wear_stats)
    at = (
        now
        if now is not None
        else (datetime.fromtimestamp((int(hours[-1]) + 1) * 3600, UTC) if hours.size else None)
    )
    counts = point_counts(spec.points, spec.events, at)
    analysis.point_wear = hazard_at(analysis.wear, counts.with_columns(pl.col("matings").alias("matings_at")))
    for label, days in (horizons or {}).items():
        add_forecast(analysis, label, days, planned=planned, now=now)
    return analysis


def ber_hours(state: LaneState, hours: np.ndarray, rx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hourly pre-FEC BER per lane (the port's where the lane has none) and the hours the counters rule
    out: the port flapped, was down or counted uncorrectable codewords."""
    span = (int(hours[0]), int(hours[-1]))
    reads = (*BER_READS, *((m, False, module) for m, module, _ in DISTURBED))
    mats = [state.matrix(m, far_end=far, module=mod, hours=span)[1] for m, far, mod in reads]
    return ber_and_disturbed(mats)


def floor_ports(
    state: LaneState, rx: np.ndarray, ber_dist: tuple[np.ndarray, np.ndarray] | None, last_hours: int = 72
) -> np.ndarray:
    """Per lane: its port's BER is at its error floor (:func:`analyzer.calibration.ber_at_floor`), over
    the last ``last_hours``, in chunks of whole ports (each chunk's margins made there, not a lanes x
    hours copy of the whole fleet)."""
    spec = state.spec.lanes
    out = np.zeros(spec.height, dtype=bool)
    if ber_dist is None or rx.shape[1] == 0:
        return out
    ber, disturbed = ber_dist
    sens = spec["sensitivity_dbm"].fill_null(np.nan).to_numpy()
    lim = spec["fec_limit_ber"].fill_null(np.nan).to_numpy()
    port = receiving_ports(spec)
    h = slice(max(rx.shape[1] - last_hours, 0), None)
    for idx in group_chunks(port) if port.size > LANE_CHUNK else [np.arange(port.size)]:
        out[idx] = ber_at_floor(
            rx[idx, h] - sens[idx, None], ber[idx, h], lim[idx], port[idx], disturbed=disturbed[idx, h]
        )
    return out


def dom_offsets(
    state: LaneState,
    hours: np.ndarray,
    rx: np.ndarray,
    steps: pl.DataFrame | None = None,
    *,
    ber_dist: tuple[np.ndarray, np.ndarray] | None = None,
    cache: OffsetCache | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per lane: its module's DOM Rx offset from the BER (NaN: unknown) and the hours it rests on.

    Hours in which the receiving port flapped, was down or counted uncorrectable codewords are left
    out, and ``steps`` (li, hour_idx: the detected Rx steps) split the hours the offset must be
    stable across (:func:`analyzer.calibration.rx_offsets`).
    """
    spec = state.spec.lanes
    if hours.size == 0:
        return np.full(spec.height, np.nan), np.zeros(spec.height, dtype=np.int64)
    ber, disturbed = ber_dist or ber_hours(state, hours, rx)
    segment = np.zeros(rx.shape, dtype=np.int32)
    if steps is not None and steps.height:
        np.add.at(segment, (steps["li"].to_numpy(), steps["hour_idx"].to_numpy()), 1)
        np.cumsum(segment, axis=1, out=segment)
    sens = spec["sensitivity_dbm"].fill_null(np.nan).to_numpy()
    port = receiving_ports(spec)
    return rx_offsets(
        rx - sens[:, None],
        ber,
        spec["fec_limit_ber"].fill_null(np.nan).to_numpy(),
        port,
        disturbed=disturbed,
        segment=segment,
        hours=hours,
        cache=cache,
    )


SHRINK_LIMIT_SE = 1.0
"""Limited translation of a lane's drift toward its cohort (:func:`analyzer.cohorts.shrink_drift`): at
most one of its own standard errors, Efron and Morris' usual choice."""
BER_TREND_HOURS = 24
"""Informative BER hours a lane needs before its margin's slope is read off the BER (a day: the
diurnal temperature swing is one cycle, fitted by the thermal term)."""


def ber_margin_trend(
    state: LaneState,
    hours: np.ndarray,
    rx: np.ndarray,
    temp: np.ndarray,
    pairs: list[tuple[int, int]],
    *,
    lanes: np.ndarray | None = None,
    ber_dist: tuple[np.ndarray, np.ndarray] | None = None,
) -> TrendFit:
    """Per lane: the trend of the hourly margin its pre-FEC BER implies (the port's where the lane has
    none), over the hours the BER is informative and the counters do not rule out
    (:func:`analyzer.calibration.informative_ber_margin`); the Rx steps of every lane of its port are
    fitted apart (the BER is the port's: :func:`analyzer.calibration.port_wide_steps`). A bounded pass
    keeps this trend like the Rx one (:class:`analyzer.bounded.PassState`).

    Only the lanes in ``lanes`` (a mask; every lane by default) with :data:`BER_TREND_HOURS` informative
    hours are fitted (on a healthy fleet few are: most BER are far below the limit, or none): the
    others are not fittable. The fit is lane by lane, so the answers are those of fitting every lane.
    """
    n_lanes = rx.shape[0]
    if hours.size == 0:
        return fit_trends(rx, None)
    rows = np.arange(n_lanes) if lanes is None else np.flatnonzero(lanes)
    m = ber_margin_series(state, rows, ber_dist or ber_hours(state, hours, rx))
    enough = np.isfinite(m).sum(axis=1) >= BER_TREND_HOURS
    rows, m = rows[enough], m[enough]
    t = temp[rows] if temp.shape == rx.shape else None
    fit = fit_trends(m, t, steps=step_design(rows.size, rx.shape[1], ber_steps(state, rows, pairs)), iters=4)
    return fit.placed(rows, n_lanes)


def ber_onset(
    state: LaneState,
    rx: np.ndarray,
    temp: np.ndarray,
    pairs: list[tuple[int, int]],
    on_ber: np.ndarray,
    ber_dist: tuple[np.ndarray, np.ndarray],
    drift: np.ndarray,
    drift_sd: np.ndarray,
    onset: np.ndarray,
    laser_failing: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Where the margin rests on the BER (``on_ber``), the BER margin's own recent slope
    (:func:`analyzer.trend.recent_onset`): a penalty that grows faster (a reflective point's return
    loss worsening over thermal cycles) while Rx stays put. The fall must exceed twice the BER margin's
    own error, not three steps of the DOM's resolution. Returns the drift and its sd; ``onset`` is
    updated in place. Only the hours recent_onset reads, in chunks of lanes (at 500k lanes the BER
    margin of every hour of the window, or of every lane at once, costs seconds and a gigabyte)."""
    drift, drift_sd = drift.copy(), drift_sd.copy()
    rows = np.flatnonzero(on_ber)
    first = max(rx.shape[1] - RECENT_HOURS, 0)
    ber, dist = ber_dist[0][:, first:], ber_dist[1][:, first:]
    steps = np.array(ber_steps(state, rows, pairs), dtype=np.int64).reshape(-1, 2)
    steps = steps[steps[:, 1] >= first]
    for sl in lane_chunks(rows.size):
        r = rows[sl]
        mine = steps[(steps[:, 0] >= sl.start) & (steps[:, 0] < sl.stop)]
        sub = [(int(a) - sl.start, int(h) - first) for a, h in mine]
        t = temp[r, first:] if temp.shape == rx.shape else None
        d, sd, on = recent_onset(
            ber_margin_series(state, r, (ber, dist)), t, sub, drift[r], drift_sd[r],
            evidence=laser_failing[r], min_change_db=2 * BER_SD_DB,
        )  # fmt: skip
        drift[r], drift_sd[r], onset[r] = d, sd, onset[r] | on
    return drift, drift_sd


def ber_margin_series(
    state: LaneState, rows: np.ndarray, ber_dist: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """The hourly margin the BER implies of the lanes ``rows`` (:func:`analyzer.calibration.
    informative_ber_margin`)."""
    ber, disturbed = ber_dist
    lim = state.spec.lanes["fec_limit_ber"].fill_null(np.nan).to_numpy()
    return informative_ber_margin(ber[rows], disturbed[rows], lim[rows, None])


def ber_steps(state: LaneState, rows: np.ndarray, pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The Rx steps ``pairs`` (lane, hour) as steps of the BER of the lanes ``rows`` (by row): a step on
    any lane of a port is one of every lane's (:func:`analyzer.calibration.port_wide_steps`)."""
    at = np.full(state.spec.lanes.height, -1, dtype=np.int64)
    at[rows] = np.arange(rows.size)
    p_li, p_hour = port_wide_steps(
        [li for li, _ in pairs], [hi for _, hi in pairs], receiving_ports(state.spec.lanes)
    )
    return [(int(at[li]), int(hi)) for li, hi in zip(p_li, p_hour, strict=True) if at[li] >= 0]


def reflections(
    state: LaneState,
    hours: np.ndarray,
    rx: np.ndarray,
    *,
    ber_dist: tuple[np.ndarray, np.ndarray] | None = None,
) -> Reflection:
    """Per lane: pre-FEC BER worse than its Rx power explains (:mod:`analyzer.reflection`)."""
    spec = state.spec.lanes
    if hours.size == 0:
        z = np.zeros(spec.height)
        return Reflection(z.astype(bool), z * np.nan, z * np.nan, z.astype(np.int64))
    ber, disturbed = ber_dist or ber_hours(state, hours, rx)
    sens = spec["sensitivity_dbm"].fill_null(np.nan).to_numpy()
    return ber_beyond_rx(
        rx - sens[:, None],
        ber,
        spec["fec_limit_ber"].fill_null(np.nan).to_numpy(),
        spec["lane_rate_bps"].fill_null(np.nan).to_numpy(),
        group=receiving_ports(spec),
        disturbed=disturbed,
    )


def planned_step_risk(
    analysis: Analysis, planned: pl.DataFrame | None, now: datetime | None, days: float
) -> pl.DataFrame:
    """Per link: planned matings within ``days``, their mean step probability, size mean and sd."""
    schema = {
        "link": pl.String,
        "planned": pl.UInt32,
        "p_step": pl.Float64,
        "step_db": pl.Float64,
        "step_sd_db": pl.Float64,
    }
    if planned is None or planned.height == 0:
        return pl.DataFrame(schema=schema)
    p = planned.filter(pl.col("kind").is_in(list(MATING_KINDS)))
    if now is not None:
        p = p.filter(pl.col("ts").is_between(now, now + timedelta(days=days)))
    tbl = analysis.cohorts.table
    fleet = tbl.filter(pl.col("family") == "*").row(0, named=True)
    pts = analysis.cohorts.points.select("link", "point", "family", "termination")
    j = p.join(pts, on="point", how="inner")
    if analysis.point_wear.height and j.height:
        # each planned mating at the count its point will have reached: today's, plus the planned ones before
        now_n = analysis.point_wear.select("point", pl.col("matings").alias("_now"), "rated_matings")
        j = (
            j.join(now_n, on="point", how="left")
            .with_columns(
                (pl.col("_now").fill_null(0) + pl.col("ts").rank("ordinal").over("point") - 1).alias(
                    "matings_at"
                )
            )
            .pipe(lambda f: hazard_at(analysis.wear, f))
            .rename({"p_step": "_wp", "step_db": "_wdb", "step_db_sd": "_wsd"})
            .drop("p_step_lo", "p_step_hi", "_now", "rated_matings", "matings_at")
        )
    else:
        j = j.with_columns(*(pl.lit(None, dtype=pl.Float64).alias(c) for c in ("_wp", "_wdb", "_wsd")))
    j = (
        j.join(
            tbl.select("family", "termination", "p_step", "step_db", "step_db_sd"),
            on=["family", "termination"],
            how="left",
        )
        .with_columns(
            # the hazard at the point's count where the fleet's wear curve has matings near it
            pl.coalesce("_wp", "p_step").alias("p_step"),
            pl.coalesce("_wdb", "step_db").alias("step_db"),
            pl.coalesce("_wsd", "step_db_sd").alias("step_db_sd"),
        )
        .with_columns(
            pl.col("p_step").fill_null(fleet["p_step"]),
            # every cohort has a size from the catalog's prior at least: no made-up default here
            pl.col("step_db").fill_null(fleet["step_db"]),
            pl.col("step_db_sd").fill_null(fleet["step_db_sd"]),
        )
    )
    # one Binomial per link: the matings' mean probability, and the size mixture of their cohorts
    # (mean and second moment weighted by each mating's step probability)
    w = pl.col("p_step") / pl.col("p_step").sum()
    return (
        j.group_by("link")
        .agg(
            pl.len().cast(pl.UInt32).alias("planned"),
            pl.col("p_step").mean(),
            (w * pl.col("step_db")).sum().alias("m1"),
            (w * (pl.col("step_db_sd") ** 2 + pl.col("step_db") ** 2)).sum().alias("m2"),
        )
        .select(
            "link",
            "planned",
            "p_step",
            pl.col("m1").fill_nan(0.0).alias("step_db"),
            (pl.col("m2") - pl.col("m1") ** 2).clip(0.0).sqrt().fill_nan(0.0).alias("step_sd_db"),
        )
    )


def add_forecast(
    analysis: Analysis,
    label: str,
    days: float,
    *,
    planned: pl.DataFrame | None = None,
    now: datetime | None = None,
    links: pl.Series | None = None,
) -> None:
    """Compute the forecast at ``days`` and store per-lane and per-link frames under ``label``; of the
    ``links`` named only (each lane's forecast is its own: the same figures, at their cost)."""
    lanes = analysis.lanes if links is None else analysis.lanes.filter(pl.col("link").is_in(links.implode()))
    risk = planned_step_risk(analysis, planned, now, days)
    # unexplained steps arrive at the cohort's background rate, of the cohort's unexplained size
    # (its sd taken as half the mean)
    bg = analysis.cohorts.lookup(lanes["link"]).select(
        (pl.col("unexplained_per_day") * days).fill_null(0.0).fill_nan(0.0).alias("n"),
        pl.col("unexplained_step_db").fill_null(0.0).fill_nan(0.0).alias("mu"),
    )
    lj = lanes.select("link").join(risk, on="link", how="left")
    m0, m0_sd = margin_with_ber_bound(lanes)

    def col(c: str) -> np.ndarray:
        return lanes[c].fill_null(np.nan).to_numpy()

    drift, drift_sd = with_pending_decline(
        col("drift_shrunk"),
        col("drift_shrunk_sd"),
        col("decline_after_days"),
        col("decline_db_per_day"),
        col("decline_sd"),
        days,
    )
    fc: LaneForecast = forecast_lanes(
        days,
        m0,
        drift,
        drift_sd,
        lanes["resid_sigma_db"].fill_null(np.nan).to_numpy(),
        thermal_sd_db=(lanes["thermal_db_per_c"] * lanes["temp_sd_c"]).fill_null(np.nan).to_numpy(),
        margin_sd_db=m0_sd,
        noise_floor_db=QUANT_SD_DB,
        steps=StepRisk(
            planned_n=lj["planned"].fill_null(0).to_numpy().astype(np.float64),
            planned_p=lj["p_step"].fill_null(0.0).to_numpy(),
            planned_db=lj["step_db"].fill_null(0.0).to_numpy(),
            planned_sd_db=lj["step_sd_db"].fill_null(0.0).to_numpy(),
            background_n=bg["n"].to_numpy(),
            background_db=bg["mu"].to_numpy(),
            background_sd_db=0.5 * bg["mu"].to_numpy(),
        ),
    )
    # out of margin now on the counters' evidence (a flap, an hour down, codewords failing at more than
    # the FEC limit's rate): crossed already, whatever the forecast says
    out = (lanes["evidence_margin_db"] <= 0).fill_null(False).to_numpy()
    lf = lanes.select("li", "link", "device", "port", "lane", "direction").with_columns(
        pl.Series("forecast_db", fc.mean_db),
        pl.Series("forecast_lo_db", fc.lo_db),
        pl.Series("forecast_hi_db", fc.hi_db),
        pl.Series("p_cross", np.where(out, 1.0, fc.p_cross)),
        pl.Series("days_to_cross", np.where(out, 0.0, fc.days_to_cross)),
        pl.Series("planned_matings", lj["planned"].fill_null(0).to_numpy()),
    )
    analysis.lane_forecasts[label] = lf
    analysis.forecasts[label] = link_forecasts(lf)


def margin_with_ber_bound(lanes: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per lane: the margin now and its error (:func:`analyzer.forecast.margin_estimate_sd`), where the
    margin rests on the DOM alone bounded below by what the BER says (:func:`analyzer.forecast.
    bounded_below`): the margin its BER implies, or, where the counters saw no error in the hour, the
    margin at the BER one error in that hour's bits would be (:func:`linkmargin.budget.ber_floor`)."""
    base = lanes["forecast_base_db"].fill_null(np.nan).to_numpy()
    ber_m = lanes["ber_margin_db"].fill_null(np.nan).to_numpy()
    calibrated = lanes["rx_offset_db"].is_not_null().to_numpy()
    evidence = lanes["evidence_margin_db"].fill_null(np.nan).to_numpy()
    # a BER at its error floor does not set the margin (nor its error); it still bounds it below
    at_floor = lanes["ber_at_floor"].fill_null(False).to_numpy() if "ber_at_floor" in lanes.columns else False
    sd = margin_estimate_sd(
        base,
        np.where(at_floor, np.nan, ber_m),
        lanes["calibrated_margin_db"].fill_null(np.nan).to_numpy(),
        calibrated,
        evidence,
    )
    rate = lanes["lane_rate_bps"].fill_null(np.nan).to_numpy()
    limit = lanes["fec_limit_ber"].fill_null(np.nan).to_numpy()
    ber = lanes["ber"].fill_null(np.nan).to_numpy() if "ber" in lanes.columns else np.full(base.size, np.nan)
    with _quiet():
        unseen = ber_margin_db(1.0 / (rate * 3600.0), limit)  # one error in an hour of the lane's bits
        lower = np.where(np.isfinite(ber_m), ber_m, np.where(ber == 0.0, unseen, np.nan))
        on_dom = ~calibrated & ~np.isfinite(evidence) & ~(base >= ber_m - 1e-9) & (lower > base)
    lower = np.where(on_dom, lower, np.nan)
    return bounded_below(base, sd, lower, BER_SD_DB + BER_SLOPE_REL * np.abs(np.nan_to_num(lower)))


def link_forecasts(lane_fc: pl.DataFrame) -> pl.DataFrame:
    """Per link: the lane with the highest crossing probability (ties: lowest forecast) stands for it."""
    return (
        lane_fc.sort(
            pl.col("p_cross").fill_nan(-1.0), pl.col("forecast_db"), descending=[True, False], nulls_last=True
        )
        .group_by("link", maintain_order=True)
        .first()
        .drop("li")
    )
