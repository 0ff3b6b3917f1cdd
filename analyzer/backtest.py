"""Scoring of risk forecasts against a ground-truth table (handed over as data; never the lab).

Inputs, both polars frames:
- forecasts: one row per (link, issued_at) with ``p`` = the forecast probability that the link's true
  margin is below zero at some time in ``(issued_at, until]`` (``until``: issued_at + horizon, or the
  end of the run for a pre-flight forecast);
- truth: one row per link with ``crossed_at`` (the first time it is below zero, null: never) and
  optionally ``below`` (every span of time it is below zero: a list of {below_from, below_to}, the
  first and last truth sample of each span), ``last_below_at``, ``sudden`` and ``cause``.

One rule, the product's claim (:func:`_outcomes`, shared by the score, the climatology baseline and
the reliability table): a forecast's outcome is 1 when the link's true margin is below zero at some
time in its window, so a link that is down and stays down is an outcome 1, not a forecast left out.
Without ``below`` the truth's span is ``[crossed_at, last_below_at]`` (``last_below_at`` absent: the
link is taken to stay below from ``crossed_at`` on).

A link is *flagged* at the first issue time its ``p`` reaches ``threshold``; the flag is right when
that forecast's outcome is 1 (a flag on a link already below zero is a late alarm, right; how many
forecasts were issued on links below zero at the time is reported apart). Recall and lead times are
over *crossings*: transitions from above to below zero after the first forecast and within
``horizon`` of it; a crossing counts as caught when the link was flagged, while it was still above
zero before that crossing, at least ``min_lead_hours`` ahead. With ``sudden``, the recall over
crossings that had a precursor is reported too. Brier is over every (link, issue time) whose outcome
window ended before ``end`` (or that saw the link below zero).

:func:`threshold_baseline` turns margin snapshots into the forecast every peer effectively makes:
p = 1 when Rx is already below the module's low-warning threshold, else 0;
:func:`predict_linear_baseline` is the rule a Prometheus user writes (``predict_linear`` of Rx over 7
days below the module's low alarm within H); :func:`climatology_baseline` the fleet's base rate, the
Brier reference. :func:`reliability` bins forecast P against the observed share.

:func:`forecast_pass` is one pass of a backtest: the analyzer's forecasts at a time and the margin
snapshots for the baseline, in the shapes above.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
import polars as pl

from analyzer.analysis import Analysis, add_forecast, analyze
from analyzer.state import LaneState


class ForecastPass(NamedTuple):
    forecasts: pl.DataFrame  # link, issued_at, p, until
    snapshots: pl.DataFrame  # link, issued_at, warn_margin_db, pl_alarm_db, pl_sens_db, until
    cohorts: pl.DataFrame  # the analysis' cohort table
    wear: pl.DataFrame | None = None  # the analysis' wear curve (analyzer.wear)


WORK_AFTER_HOURS = 48.0
"""What a planned window's own forecast covers: from the pass until this long after the window opens
(a step left by a mating shows at once; a dirty end face may take a few thermal cycles to settle)."""
WORK_SCHEMA: dict[str, Any] = {
    "work_window": pl.String(),
    "p_work": pl.Float64(),
    "p_work_none": pl.Float64(),
    "work_until": pl.Datetime("us", "UTC"),
}
"""The per-window forecast columns of a pass (null where no window opens soon): the window, P that the
link is below zero by ``work_until`` with that window's matings and without them."""

PREDICT_LINEAR_HOURS = 7 * 24
"""The range of the Prometheus user's rule: ``predict_linear(rx_dbm[7d], H) < low_alarm``."""


RxHistory = Callable[[LaneState], tuple[np.ndarray, np.ndarray]]
"""Each lane's hourly Rx (hours, lanes x hours; oldest first) after a pass: the state's own by default,
a bounded pass's window where the state no longer keeps those hours
(``linkmargin_cli.passes.Passes.rx_history``)."""


def _state_rx(state: LaneState) -> tuple[np.ndarray, np.ndarray]:
    from linkmargin.samples import Metric

    return state.matrix(Metric.RX_POWER_DBM)


def predict_linear_margins(
    state: LaneState, horizon_s: float, rx_history: RxHistory = _state_rx
) -> pl.DataFrame:
    """Per link, what ``predict_linear(rx_dbm[7d], H)`` gives minus the module's Rx low alarm
    (``pl_alarm_db``; the PMD sensitivity where the module reports no alarm) and minus the PMD
    sensitivity (``pl_sens_db``), worst lane: the rule a Prometheus user writes, as numbers.

    predict_linear is a least-squares line over the range's samples; with hourly polls the hourly
    means carry the same line. Lanes with fewer than two hours in the range give null.
    """
    from linkmargin.samples import Metric

    hours, rx = rx_history(state)
    lanes = state.spec.lanes
    if hours.size == 0 or lanes.height == 0:
        return pl.DataFrame(schema={"link": pl.String, "pl_alarm_db": pl.Float64, "pl_sens_db": pl.Float64})
    y = rx[:, -PREDICT_LINEAR_HOURS:].astype(np.float64)
    y = np.where(y > -39.0, y, np.nan)  # the DOM floor (no light) is not a reading to fit
    x = np.arange(y.shape[1], dtype=np.float64)[None, :] - (y.shape[1] - 1)  # hours before now (<= 0)
    ok = np.isfinite(y)
    n = ok.sum(axis=1)
    xm = np.where(ok, x, 0.0).sum(axis=1) / np.maximum(n, 1)
    ym = np.where(ok, y, 0.0).sum(axis=1) / np.maximum(n, 1)
    dx = np.where(ok, x - xm[:, None], 0.0)
    sxx = (dx * dx).sum(axis=1)
    slope = np.where(
        sxx > 0, (dx * np.where(ok, y - ym[:, None], 0.0)).sum(axis=1) / np.maximum(sxx, 1e-12), 0.0
    )
    pred = np.where(n >= 2, ym + slope * (horizon_s / 3600.0 - xm), np.nan)
    lat = state.latest
    alarm = (
        lat.filter(pl.col("metric") == Metric.THR_RX_POWER_DBM_LOW_ALARM.value)
        .with_columns(pl.col("device", "port").cast(pl.String))
        .group_by("device", "port")
        .agg(pl.col("value").max().alias("alarm_dbm"))  # lane or module rows: the module's limit
    )
    tab = (
        lanes.select("link", "device", "port", "sensitivity_dbm")
        .with_columns(pl.col("device", "port").cast(pl.String), pl.Series("pred", pred))
        .join(alarm, on=["device", "port"], how="left")
        .with_columns(
            (pl.col("pred") - pl.coalesce("alarm_dbm", "sensitivity_dbm")).alias("pl_alarm_db"),
            (pl.col("pred") - pl.col("sensitivity_dbm")).alias("pl_sens_db"),
        )
        .with_columns(pl.col("pl_alarm_db", "pl_sens_db").fill_nan(None))
    )
    return tab.group_by("link").agg(pl.col("pl_alarm_db").min(), pl.col("pl_sens_db").min())


def forecast_pass(
    state: LaneState,
    now: datetime,
    end: datetime,
    horizon_s: float,
    planned: pl.DataFrame | None = None,
    *,
    run: Callable[..., Analysis] = analyze,
    rx_history: RxHistory = _state_rx,
    work_within_s: float = 86400.0,
) -> ForecastPass | None:
    """Analyze ``state`` at ``now``: each link's forecast for ``(now, min(now + horizon, end)]`` and its
    margin snapshot for the baseline; None when that window is empty.

    ``planned`` (the inventory's planned matings) enters the forecast as a user's would; the forecast
    also carries ``p_no_work``, the same link's P without the plan, and ``planned`` (matings inside).
    ``run`` is the pass (``analyze``'s keywords): the full recomputation by default, or a caller's
    bounded pass that keeps its state from call to call (``linkmargin_cli.passes.Passes.run``), with
    ``rx_history`` where the Rx hours the ``predict_linear`` baseline reads are (``Passes.rx_history``).

    A link whose next maintenance window opens within ``work_within_s`` also gets that window's own
    forecast (:data:`WORK_SCHEMA`, :func:`window_forecasts`): the question an engineer asks before the
    work, "does tonight's re-patch take this link down", with its outcome days, not weeks, away.
    """
    left_s = min(horizon_s, (end - now).total_seconds())
    if left_s <= 0:
        return None
    an = run(state, horizons={"H": left_s / 86400}, planned=planned, now=now)
    add_forecast(an, "H0", left_s / 86400, now=now)
    issued = pl.lit(now).alias("issued_at")
    until = pl.lit(now + timedelta(seconds=left_s)).alias("until")
    snaps = an.links.select("link", issued, "warn_margin_db", until).join(
        predict_linear_margins(state, left_s, rx_history), on="link", how="left"
    )
    fc = an.forecasts["H"].select(
        "link", issued, pl.col("p_cross").alias("p"), until, pl.col("planned_matings").alias("planned")
    )
    fc = fc.join(
        an.forecasts["H0"].select("link", pl.col("p_cross").alias("p_no_work")), on="link", how="left"
    )
    soon = min(now + timedelta(seconds=work_within_s), now + timedelta(seconds=left_s))
    fc = fc.join(window_forecasts(an, planned, now, soon, end), on="link", how="left")
    return ForecastPass(fc, snaps, an.cohorts.table, an.wear)


def window_forecasts(
    an: Analysis, planned: pl.DataFrame | None, now: datetime, soon: datetime, end: datetime
) -> pl.DataFrame:
    """Per link whose next maintenance window opens in ``(now, soon]``: that window's own forecast
    (:data:`WORK_SCHEMA`): P below zero by :data:`WORK_AFTER_HOURS` after it opens (at most ``end``),
    with only that window's planned matings, and the same horizon without them. Two forecasts per
    window, of its links' lanes only."""
    empty = pl.DataFrame(schema={"link": pl.String(), **WORK_SCHEMA})
    if planned is None or planned.height == 0:
        return empty
    nxt = (
        planned.filter((pl.col("ts") > now) & (pl.col("ts") <= soon))
        .group_by("link", "window")
        .agg(pl.col("ts").min())
        .sort("ts", "window")
        .group_by("link", maintain_order=True)
        .first()
    )
    out = [empty]
    for (window, ts), links in nxt.group_by("window", "ts", maintain_order=True):
        until = min(ts + timedelta(hours=WORK_AFTER_HOURS), end)
        days = (until - now).total_seconds() / 86400
        add_forecast(
            an, "W", days, planned=planned.filter(pl.col("window") == window), now=now, links=links["link"]
        )
        add_forecast(an, "W0", days, now=now, links=links["link"])
        out.append(
            links.select("link")
            .join(an.forecasts["W"].select("link", pl.col("p_cross").alias("p_work")), on="link", how="left")
            .join(
                an.forecasts["W0"].select("link", pl.col("p_cross").alias("p_work_none")),
                on="link",
                how="left",
            )
            .select(
                "link",
                pl.lit(window, dtype=pl.String()).alias("work_window"),
                "p_work",
                "p_work_none",
                pl.lit(until, dtype=pl.Datetime("us", "UTC")).alias("work_until"),
            )
        )
    return pl.concat(out)


def planned_work_scores(
    forecasts: pl.DataFrame, truth: pl.DataFrame, planned: pl.DataFrame, *, lead_hours: float = 48.0
) -> dict[str, Any]:
    """The headline: what P each link was given before its planned work, against what the work did.

    Per (maintenance window, link) in ``planned`` (window, link, point, ts, kind; ``ts`` the window's
    start): the link's last forecast issued before ``ts`` whose outcome window covers it (``p``, and
    ``p_no_work`` without the plan). The work *caused* a crossing when the link crossed zero within
    ``lead_hours`` after ``ts`` and the truth's cause is a mating. Links already below zero when the
    forecast was issued are left out. Returns the rows of the crossings the work caused, the
    reliability of those P (binned like :func:`reliability`) and their Brier score, with and without
    the plan. Those P are of a crossing by the run's end, so they also hold the link's later windows
    and its drift; ``window`` (:func:`window_scores`) judges each window's own forecast.
    """
    empty: dict[str, Any] = {"windows": 0, "crossings": [], "reliability": [], "brier": None}
    if planned.height == 0 or forecasts.height == 0:
        return empty
    work = planned.group_by("window", "link").agg(pl.col("ts").min(), pl.len().alias("matings"))
    fc = forecasts.select("link", "issued_at", "until", "p", "p_no_work").sort("issued_at")
    before = (
        work.join(fc, on="link", how="inner")
        .filter((pl.col("issued_at") < pl.col("ts")) & (pl.col("until") >= pl.col("ts")))
        .sort("issued_at")
        .group_by("window", "link")
        .agg(pl.all().exclude("window", "link").last())
    )
    cause = pl.col("cause") if "cause" in truth.columns else pl.lit("mate")
    # one row per link in the truth, whatever it was handed: a repeated link must not repeat a window
    tr = truth.select("link", cause.alias("cause")).unique("link", keep="first")
    # left out: links below zero when the forecast was issued (the same rule as the score's outcomes)
    j = _outcomes(before, truth).filter(~pl.col("below_at_issue")).join(tr, on="link", how="left")
    # caused: the link crossed (a transition from above zero) within lead_hours of the window's start,
    # and the truth's cause is a mating
    window_end = pl.col("ts") + pl.duration(seconds=lead_hours * 3600)
    crossed = (
        j.select("window", "link", "ts", "issued_at")
        .join(below_spans(truth), on="link")
        .filter(
            (pl.col("below_from") > pl.col("issued_at"))
            & (pl.col("below_from") >= pl.col("ts"))
            & (pl.col("below_from") <= window_end)
        )
        .group_by("window", "link")
        .agg(pl.col("below_from").min().alias("crossed_at"))
    )
    j = j.join(crossed, on=["window", "link"], how="left").with_columns(
        (pl.col("crossed_at").is_not_null() & (pl.col("cause") == "mate")).alias("caused")
    )
    if j.height == 0:
        return empty
    y = pl.col("caused").cast(pl.Float64)
    rel = _work_reliability(j, y)
    return {
        "window": window_scores(forecasts, truth, work),
        "windows": j.height,
        "caused": int(j["caused"].sum()),
        "crossings": j.filter(pl.col("caused"))
        .select("window", "link", "ts", "matings", "issued_at", "p", "p_no_work", "crossed_at")
        .sort("ts")
        .to_dicts(),
        "reliability": rel.to_dicts(),
        "brier": j.select(((pl.col("p") - y) ** 2).mean()).item(),
        "brier_no_work": j.select(((pl.col("p_no_work") - y) ** 2).mean()).item(),
        "mean_p": j["p"].mean(),
        "observed": j["caused"].cast(pl.Float64).mean(),
    }


def _work_reliability(j: pl.DataFrame, outcome: pl.Expr, bins: int = 10) -> pl.DataFrame:
    """Planned-work pairs (``p``, ``p_no_work``) binned by ``p``: each bin's count, mean P with and
    without the work, and the observed share of ``outcome`` (a 0/1 float expression)."""
    b = (pl.col("p") * bins).floor().clip(0, bins - 1).cast(pl.Int64).alias("bin")
    return (
        j.with_columns(b)
        .group_by("bin")
        .agg(
            pl.len().alias("n"),
            pl.col("p").mean().alias("mean_p"),
            pl.col("p_no_work").mean().alias("mean_p_no_work"),
            outcome.mean().alias("observed"),
        )
        .sort("bin")
        .with_columns((pl.col("bin") / bins).alias("p_lo"), ((pl.col("bin") + 1) / bins).alias("p_hi"))
        .select("p_lo", "p_hi", "n", "mean_p", "mean_p_no_work", "observed")
    )


def window_scores(
    forecasts: pl.DataFrame, truth: pl.DataFrame, work: pl.DataFrame, bins: int = 10
) -> dict[str, Any]:
    """Each (window, link)'s own forecast against its outcome: the last pass before the window opened
    that forecast it (:func:`window_forecasts`), ``p_work`` that the link is below zero by
    ``work_until``, against whether it was (:func:`_outcomes`); ``p_work_none`` is the same horizon
    without the window's matings, so the difference of the two Brier scores is what the plan bought.
    ``work``: window, link, ts (its opening), matings. Links below zero at the pass are left out."""
    cols = {"work_window", "p_work", "p_work_none", "work_until"}
    if not cols <= set(forecasts.columns):
        return {"pairs": 0, "reliability": [], "brier": None, "brier_no_work": None}
    wf = forecasts.filter(pl.col("work_window").is_not_null()).select(
        "link",
        "issued_at",
        pl.col("work_window").alias("window"),
        pl.col("p_work").alias("p"),
        pl.col("p_work_none").alias("p_no_work"),
        pl.col("work_until").alias("until"),
    )
    pairs = (
        work.join(wf, on=["window", "link"], how="inner")
        .filter(pl.col("issued_at") < pl.col("ts"))
        .sort("issued_at")
        .group_by("window", "link")
        .agg(pl.all().exclude("window", "link").last())
    )
    j = _outcomes(pairs, truth).filter(~pl.col("below_at_issue")).drop_nulls("p")
    if j.height == 0:
        return {"pairs": 0, "reliability": [], "brier": None, "brier_no_work": None}
    y = pl.col("outcome").cast(pl.Float64)
    rel = _work_reliability(j, y, bins)
    return {
        "pairs": j.height,
        "below": int(j["outcome"].sum()),
        "mean_p": j["p"].mean(),
        "mean_p_no_work": j["p_no_work"].mean(),
        "observed": j["outcome"].cast(pl.Float64).mean(),
        "brier": j.select(((pl.col("p") - y) ** 2).mean()).item(),
        "brier_no_work": j.select(((pl.col("p_no_work") - y) ** 2).mean()).item(),
        "reliability": rel.to_dicts(),
    }


def below_spans(truth: pl.DataFrame) -> pl.DataFrame:
    """link, below_from, below_to: each span of time the link's true margin is below zero (below_to
    null: to the end). From the truth's ``below`` list, else ``[crossed_at, last_below_at]``."""
    at = pl.Datetime("us", "UTC")
    if "below" in truth.columns:
        sp = truth.select("link", "below").explode("below").drop_nulls("below").unnest("below")
    else:
        last = pl.col("last_below_at") if "last_below_at" in truth.columns else pl.lit(None)
        sp = truth.filter(pl.col("crossed_at").is_not_null()).select(
            "link", pl.col("crossed_at").alias("below_from"), last.alias("below_to")
        )
    return sp.select(
        pl.col("link").cast(pl.String), pl.col("below_from").cast(at), pl.col("below_to").cast(at)
    )


def _outcomes(fc: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Each forecast (link, issued_at, until, ...) with its ``outcome``: the link's true margin is below
    zero at some time in (issued_at, until]; and ``below_at_issue``: it already was at issued_at.

    The one outcome rule of the score, the climatology baseline and the reliability table."""
    sp = below_spans(truth)
    keys = fc.select("link", "issued_at", "until").unique()
    open_end = pl.col("below_to").is_null()
    hits = (
        keys.join(sp, on="link", how="inner")
        .group_by("link", "issued_at", "until")
        .agg(
            (
                (pl.col("below_from") <= pl.col("until"))
                & (open_end | (pl.col("below_to") > pl.col("issued_at")))
            )
            .any()
            .alias("outcome"),
            (
                (pl.col("below_from") <= pl.col("issued_at"))
                & (open_end | (pl.col("below_to") >= pl.col("issued_at")))
            )
            .any()
            .alias("below_at_issue"),
        )
    )
    return fc.join(hits, on=["link", "issued_at", "until"], how="left").with_columns(
        pl.col("outcome", "below_at_issue").fill_null(False)
    )


def crossings(truth: pl.DataFrame, t0: datetime, until: datetime) -> pl.DataFrame:
    """Per link, its first crossing (a transition from above to below zero) in (t0, until]:
    link, crossed_at, above_since (the end of the span below zero before it; null: none)."""
    sp = below_spans(truth)
    cross = (
        sp.filter((pl.col("below_from") > t0) & (pl.col("below_from") <= until))
        .group_by("link")
        .agg(pl.col("below_from").min().alias("crossed_at"))
    )
    prev = (
        sp.join(cross, on="link")
        .filter(pl.col("below_to").is_not_null() & (pl.col("below_to") < pl.col("crossed_at")))
        .group_by("link")
        .agg(pl.col("below_to").max().alias("above_since"))
    )
    return cross.join(prev, on="link", how="left")


def score(
    forecasts: pl.DataFrame,
    truth: pl.DataFrame,
    *,
    horizon: timedelta,
    threshold: float = 0.5,
    min_lead_hours: float = 48.0,
    end: datetime | None = None,
) -> dict[str, Any]:
    """Recall, precision, median lead time (hours), Brier score and the counts behind them.

    A forecast's outcome window is ``(issued_at, issued_at + horizon]``, or ``(issued_at, until]``
    when the forecasts carry an ``until`` column (a pre-flight forecast for the rest of a run).
    """
    until = (
        pl.col("until") if "until" in forecasts.columns else pl.col("issued_at") + pl.lit(horizon)
    ).alias("until")
    fc = forecasts.select("link", "issued_at", pl.col("p").cast(pl.Float64), until).drop_nulls("p")
    t0: datetime = fc["issued_at"].min()  # type: ignore[assignment]
    last: datetime = fc["until"].max()  # type: ignore[assignment]
    ob = _outcomes(fc, truth)
    flagging = ob.filter(pl.col("p") >= threshold)
    # precision: each link's first flag, right when its forecast's outcome is 1
    flagged = (
        flagging.sort("issued_at")
        .group_by("link")
        .agg(
            pl.col("issued_at").first().alias("flagged_at"),
            pl.col("outcome").first(),
            pl.col("below_at_issue").first(),
        )
    )
    good_flags = flagged.filter(pl.col("outcome"))
    # recall: crossings (transitions), each with the first flag issued while the link was above zero
    # before it (a flag on an earlier span below zero is not a warning of this crossing)
    extra = [c for c in ("cause", "sudden") if c in truth.columns]
    pos = crossings(truth, t0, min(t0 + horizon, last)).join(
        truth.select("link", *extra), on="link", how="left"
    )
    warned = (
        flagging.select("link", "issued_at")
        .join(pos.select("link", "above_since"), on="link")
        .filter(pl.col("above_since").is_null() | (pl.col("issued_at") > pl.col("above_since")))
        .group_by("link")
        .agg(pl.col("issued_at").min().alias("flagged_at"))
    )
    pos = pos.join(warned, on="link", how="left")
    lead_h = (pl.col("crossed_at") - pl.col("flagged_at")).dt.total_seconds() / 3600.0
    caught = pos.filter(pl.col("flagged_at").is_not_null() & (lead_h >= min_lead_hours))
    below_now = ob.filter(pl.col("below_at_issue"))
    if end is not None:
        ob = ob.filter(pl.col("outcome") | (pl.col("until") <= end))
    brier = (
        ob.select(((pl.col("p") - pl.col("outcome").cast(pl.Float64)) ** 2).mean()).item()
        if ob.height
        else None
    )
    leads = caught.select(lead_h.alias("lead"))["lead"]
    out = {
        "recall": caught.height / pos.height if pos.height else None,
        "precision": good_flags.height / flagged.height if flagged.height else None,
        "median_lead_hours": float(leads.median()) if leads.len() else None,  # type: ignore[arg-type]
        "brier": brier,
        "positives": pos.height,
        "caught": caught.height,
        "flagged": flagged.height,
        "true_flags": good_flags.height,
        "forecasts_scored": ob.height,
        # issued on links already below zero at the time (outcome 1 unless it recovers at once):
        # counted in every figure above, reported apart
        "forecasts_below_at_issue": below_now.height,
        "flags_below_at_issue": int(flagged["below_at_issue"].sum()),
    }
    if "sudden" in truth.columns:
        # a step that arrives inside the lead time cannot be flagged that early by anyone: say how
        # the recall splits between crossings with a precursor and sudden ones
        fore = pos.filter(~pl.col("sudden").fill_null(False))
        fore_caught = caught.filter(~pl.col("sudden").fill_null(False))
        out["recall_foreseeable"] = fore_caught.height / fore.height if fore.height else None
        out["positives_foreseeable"] = fore.height
        out["positives_sudden"] = pos.height - fore.height
    out["crossings"] = (
        pos.select("link", *extra, "crossed_at", "flagged_at", lead_h.round(1).alias("lead_hours"))
        .sort("crossed_at")
        .to_dicts()
    )
    out["false_flags"] = (
        flagged.filter(~pl.col("outcome")).select("link", "flagged_at").sort("flagged_at").to_dicts()
    )
    return out


def threshold_baseline(snapshots: pl.DataFrame) -> pl.DataFrame:
    """Static module thresholds as a forecast: p = 1 where Rx is below the low-warning threshold.

    ``snapshots`` has link, issued_at and warn_margin_db (worst lane of the link at that time).
    """
    extra = ["until"] if "until" in snapshots.columns else []
    return snapshots.select(
        "link",
        "issued_at",
        (pl.col("warn_margin_db") < 0).cast(pl.Float64).fill_null(0.0).alias("p"),
        *extra,
    )


def predict_linear_baseline(snapshots: pl.DataFrame, column: str = "pl_alarm_db") -> pl.DataFrame:
    """The Prometheus user's rule as a forecast: p = 1 where predict_linear of Rx over the last 7 days
    is below the limit at the end of the window (``column``: pl_alarm_db or pl_sens_db < 0)."""
    extra = ["until"] if "until" in snapshots.columns else []
    return snapshots.select(
        "link", "issued_at", (pl.col(column) < 0).cast(pl.Float64).fill_null(0.0).alias("p"), *extra
    )


def climatology_baseline(forecasts: pl.DataFrame, truth: pl.DataFrame, *, horizon: timedelta) -> pl.DataFrame:
    """The fleet's base rate as a forecast: at each issue time, every link gets the share of the fleet's
    forecasts (over the whole run) whose window saw a crossing. The Brier reference of a skill score.

    It uses the run's own outcomes (an in-sample base rate): that flatters the reference, so a
    positive skill against it is, if anything, understated.
    """
    until = pl.col("until") if "until" in forecasts.columns else pl.col("issued_at") + pl.lit(horizon)
    ob = _outcomes(forecasts.select("link", "issued_at", until.alias("until")), truth)
    rate = float(ob["outcome"].mean() or 0.0) if ob.height else 0.0  # type: ignore[arg-type]
    return forecasts.select(
        "link", "issued_at", pl.lit(rate).alias("p"), *(["until"] if "until" in forecasts.columns else [])
    )


def reliability(
    forecasts: pl.DataFrame, truth: pl.DataFrame, *, horizon: timedelta, end: datetime | None, bins: int = 10
) -> list[dict[str, Any]]:
    """Reliability table: forecasts binned by P, each bin's mean P beside the observed share that crossed.

    Same outcome rule and same scored set as :func:`score`'s Brier.
    """
    until = pl.col("until") if "until" in forecasts.columns else pl.col("issued_at") + pl.lit(horizon)
    ob = _outcomes(
        forecasts.select("link", "issued_at", pl.col("p").cast(pl.Float64), until.alias("until")).drop_nulls(
            "p"
        ),
        truth,
    )
    if end is not None:
        ob = ob.filter(pl.col("outcome") | (pl.col("until") <= end))
    b = (pl.col("p") * bins).floor().clip(0, bins - 1).cast(pl.Int64).alias("bin")
    tab = (
        ob.with_columns(b)
        .group_by("bin")
        .agg(
            pl.len().alias("n"),
            pl.col("p").mean().alias("mean_p"),
            pl.col("outcome").cast(pl.Float64).mean().alias("observed"),
        )
        .sort("bin")
        .with_columns((pl.col("bin") / bins).alias("p_lo"), ((pl.col("bin") + 1) / bins).alias("p_hi"))
    )
    return tab.select("p_lo", "p_hi", "n", "mean_p", "observed").to_dicts()


def score_with_baseline(
    forecasts: pl.DataFrame, snapshots: pl.DataFrame, truth: pl.DataFrame, *, horizon: timedelta, **kw: Any
) -> dict[str, Any]:
    """The analyzer's scores beside the baselines', same rules: ``baseline`` (static module thresholds),
    ``predict_linear`` (vs the module's low alarm) and ``predict_linear_sens`` (vs the PMD
    sensitivity), ``climatology`` (the fleet's base rate); ``brier_skill`` of each against climatology
    and the analyzer's ``reliability`` table."""
    out = score(forecasts, truth, horizon=horizon, **kw)
    out["baseline"] = score(threshold_baseline(snapshots), truth, horizon=horizon, **kw)
    if "pl_alarm_db" in snapshots.columns:
        out["predict_linear"] = score(predict_linear_baseline(snapshots), truth, horizon=horizon, **kw)
        out["predict_linear_sens"] = score(
            predict_linear_baseline(snapshots, "pl_sens_db"), truth, horizon=horizon, **kw
        )
    out["climatology"] = score(
        climatology_baseline(forecasts, truth, horizon=horizon), truth, horizon=horizon, **kw
    )
    ref = out["climatology"]["brier"]
    for d in (
        out,
        *(out[k] for k in ("baseline", "predict_linear", "predict_linear_sens", "climatology") if k in out),
    ):
        d["brier_skill"] = 1.0 - d["brier"] / ref if ref and d["brier"] is not None else None
    out["reliability"] = reliability(forecasts, truth, horizon=horizon, end=kw.get("end"))
    return out


def cohort_recovery(cohorts: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """The analyzer's cohort estimates beside the true values, and whether each interval covers them.

    ``cohorts`` is :attr:`analyzer.cohorts.CohortModel.table`; ``truth`` has family, termination,
    p_step and step_db (true probability of a loss step per mating and its mean size).
    """
    est = cohorts.filter(pl.col("family") != "*").select(
        "family", "termination", "matings", "steps", "p_step", "p_step_lo", "p_step_hi",
        "step_db", "step_db_lo", "step_db_hi",
    )  # fmt: skip
    tr = truth.select("family", "termination", pl.col("p_step").alias("true_p_step"),
                      pl.col("step_db").alias("true_step_db"))  # fmt: skip
    return (
        tr.join(est, on=["family", "termination"], how="left")
        .with_columns(
            # a cohort with no observed mating shows only the prior: nothing to check
            pl.when(pl.col("matings").fill_null(0) > 0)
            .then(pl.col("true_p_step").is_between(pl.col("p_step_lo"), pl.col("p_step_hi")))
            .alias("p_covered"),
            # with fewer than two steps there is no interval on the size: nothing to check
            pl.when(pl.col("step_db_lo").is_not_nan() & pl.col("step_db_hi").is_not_nan())
            .then(pl.col("true_step_db").is_between(pl.col("step_db_lo"), pl.col("step_db_hi")))
            .alias("step_covered"),
        )
        .sort("family", "termination")
    )
