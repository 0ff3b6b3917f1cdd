"""The pre-flight report: links ranked by their risk at horizon H, with cause and action.

Renders as a rich table, JSON, CSV, and a PNG chart (matplotlib, Agg) of the worst links' forecast
margin over the horizon with its 90 % prediction interval.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from rich.console import Console
from rich.table import Table

from analyzer.analysis import Analysis
from analyzer.forecast import with_pending_decline
from analyzer.wear import link_worst_wear, point_hazard

COLUMNS = (
    "rank",
    "link",
    "p_cross",
    "p_cross_without_plan",
    "forecast_db",
    "forecast_lo_db",
    "forecast_hi_db",
    "margin_now_db",
    "days_to_cross",
    "drift_db_per_day",
    "excess_loss_db",
    "worst",
    "planned_matings",
    "wear_point",
    "wear_matings",
    "wear_rated_matings",
    "wear_p_step",
    "wear_p_step_lo",
    "wear_p_step_hi",
    "ber_beyond_rx",
    "ber_excess_db",
    "cause",
    "point",
    "optic",
    "action",
    "evidence",
    "notes",
)


def risk_table(
    analysis: Analysis,
    label: str,
    advice: pl.DataFrame | None = None,
    links: list[str] | None = None,
    *,
    baseline: str | None = None,
) -> pl.DataFrame:
    """One row per link ranked by P(crossing before H), then by forecast margin.

    ``baseline`` names the forecast of the same horizon without the planned matings: its P is
    ``p_cross_without_plan``, beside ``p_cross`` with them (null without a baseline).
    """
    fc = analysis.forecasts[label]
    if baseline is not None:
        base = analysis.forecasts[baseline].select("link", pl.col("p_cross").alias("p_cross_without_plan"))
        fc = fc.join(base, on="link", how="left")
    else:
        fc = fc.with_columns(pl.lit(None, dtype=pl.Float64).alias("p_cross_without_plan"))
    if links is not None:
        fc = fc.filter(pl.col("link").is_in(links))
    # drift the lane's own fit cannot identify yet (too few hours) reads as unknown, not as the
    # cohort's prior it is shrunk to: no false zero
    lanes = analysis.lanes.select(
        "device",
        "port",
        "lane",
        "direction",
        pl.when(pl.col("drift_db_per_day").is_finite()).then(pl.col("drift_shrunk")).alias("drift_shrunk"),
    )
    lm = analysis.links.select("link", pl.col("link_margin_db").alias("margin_now_db"), "excess_loss_db")
    t = (
        fc.join(lanes, on=["device", "port", "lane", "direction"], how="left")
        .join(lm, on="link", how="left")
        .with_columns(
            pl.format("{} {} lane {}", "device", "port", "lane").alias("worst"),
            pl.col("drift_shrunk").alias("drift_db_per_day"),
        )
    )
    if advice is not None and advice.height:
        t = t.join(advice, on="link", how="left")
        if "optic" not in t.columns:
            t = t.with_columns(pl.lit(None, dtype=pl.String).alias("optic"))
    else:
        t = t.with_columns(
            *(
                pl.lit(None, dtype=pl.String).alias(c)
                for c in ("cause", "point", "optic", "action", "evidence")
            )
        )
    t = t.join(device_notes(analysis), on="link", how="left").join(link_wear(analysis), on="link", how="left")
    t = t.sort(
        pl.col("p_cross").fill_nan(None), pl.col("forecast_db"), descending=[True, False], nulls_last=True
    )
    return t.with_row_index("rank", offset=1).select(COLUMNS)


def link_wear(analysis: Analysis) -> pl.DataFrame:
    """Per link: its most worn point (count, rated cycles, hazard at its next mating [95 %]) and the
    reflection cause (any lane flagged, the largest BER excess in dB)."""
    worst = link_worst_wear(point_hazard(analysis.point_wear, analysis.cohorts.table))
    lanes = analysis.lanes
    if "ber_beyond_rx" in lanes.columns:
        refl = lanes.group_by("link").agg(
            pl.col("ber_beyond_rx").any(),
            pl.col("ber_excess_db").filter(pl.col("ber_excess_db").is_finite()).max(),
        )
    else:
        refl = (
            lanes.select("link")
            .unique()
            .with_columns(
                pl.lit(False).alias("ber_beyond_rx"), pl.lit(None, dtype=pl.Float64).alias("ber_excess_db")
            )
        )
    return refl.join(worst, on="link", how="full", coalesce=True)


WEAR_COLUMNS = (
    "family",
    "termination",
    "x_lo",
    "x_hi",
    "count_mean",
    "matings",
    "steps",
    "p_step",
    "p_step_lo",
    "p_step_hi",
    "step_db",
    "step_db_lo",
    "step_db_hi",
)


def wear_table(curve: pl.DataFrame) -> pl.DataFrame:
    """The wear curve as reported: per (family, termination, bin of matings / rated cycles, ``x_lo`` to
    ``x_hi``; open above the last) its P(step per mating) and step size with 95 % intervals."""
    if curve.height == 0 or "p_step" not in curve.columns:
        return pl.DataFrame(
            schema={c: pl.String if c in ("family", "termination") else pl.Float64 for c in WEAR_COLUMNS}
        )
    return (
        curve.filter(pl.col("wear_bin") >= 0).sort("family", "termination", "wear_bin").select(WEAR_COLUMNS)
    )


def device_notes(analysis: Analysis) -> pl.DataFrame:
    """Per link: what happened to the devices at its ends (counter resets: evidence, not a fault)."""
    ends = analysis.lanes.select("link", "device", "far_device").unique()
    ends = pl.concat(
        [ends.select("link", "device"), ends.select("link", pl.col("far_device").alias("device"))]
    ).unique()
    return (
        ends.join(analysis.devices.select("device", "text"), on="device", how="inner")
        .sort("link", "device")
        .group_by("link", maintain_order=True)
        .agg(pl.col("text").str.join("; ").alias("notes"))
    )


def render(table: pl.DataFrame, label: str, console: Console | None = None, limit: int = 30) -> None:
    """Print the ranked table with rich (the first ``limit`` links)."""
    console = console or Console()
    tab = Table(title=f"Pre-flight risk at {label}: links ranked by P(losing margin before the run ends)")
    planned = bool((table["planned_matings"] > 0).any()) and table["p_cross_without_plan"].is_not_null().any()
    for name, just in (
        ("#", "right"),
        ("link", "left"),
        *((("P no work", "right"),) if planned else ()),
        ("P(cross)" if not planned else "P planned", "right"),
        ("margin now", "right"),
        (f"at {label} [90% PI]", "right"),
        ("days to 0", "right"),
        ("dB/day", "right"),
        ("likely cause", "left"),
        ("action", "left"),
    ):
        # link ids are what an operator acts on: never truncate them
        wide = (
            {"no_wrap": True, "min_width": max([4, *map(len, table["link"].to_list())])}
            if name == "link"
            else {}
        )
        tab.add_column(name, justify=just, **wide)  # type: ignore[arg-type]

    def f(x: Any, fmt: str = "+.2f") -> str:
        return "-" if x is None or (isinstance(x, float) and not np.isfinite(x)) else format(x, fmt)

    for r in table.head(limit).iter_rows(named=True):
        p = r["p_cross"]
        style = "bold red" if p is not None and p >= 0.5 else ("yellow" if p is not None and p >= 0.2 else "")
        tab.add_row(
            str(r["rank"]),
            r["link"],
            *((f(r["p_cross_without_plan"], ".2f"),) if planned else ()),
            f(p, ".2f"),
            f(r["margin_now_db"]),
            f"{f(r['forecast_db'])} [{f(r['forecast_lo_db'])}, {f(r['forecast_hi_db'])}]",
            _days(r["days_to_cross"]),
            f(r["drift_db_per_day"], "+.3f"),
            r["cause"] or "",
            r["action"] or "",
            style=style,
        )
    if planned:
        tab.caption = "P planned: with the planned maintenance inside the horizon; P no work: without it"
    console.print(tab)
    notes = table["notes"].drop_nulls().str.split("; ").explode().unique(maintain_order=True)
    for note in notes.to_list():
        console.print(note, markup=False, highlight=False)


def _days(d: float | None) -> str:
    """Days to zero margin as a person reads it: beyond a year the extrapolation means nothing."""
    if d is None or not np.isfinite(d):
        return "-"
    return "> 1 y" if d > 365 else format(d, ".1f")


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
        for r in frame.iter_rows(named=True)
    ]


def to_json(
    table: pl.DataFrame,
    *,
    horizon: str,
    generated_at: datetime | None = None,
    cohorts: pl.DataFrame | None = None,
    planned: pl.DataFrame | None = None,
    devices: pl.DataFrame | None = None,
    wear: pl.DataFrame | None = None,
) -> str:
    """The report as one JSON object: horizon, generation time, the ranked links, and (when given)
    the cohort table the forecasts used, the planned matings they include and the wear curve (P(step)
    per mating by the points' matings relative to their rated cycles, per family and termination)."""
    doc: dict[str, Any] = {
        "horizon": horizon,
        "generated_at": generated_at.isoformat() if generated_at else None,
        "links": _rows(table),
    }
    if cohorts is not None:
        doc["cohorts"] = _rows(cohorts)
    if planned is not None:
        doc["planned"] = _rows(planned)
    if devices is not None:
        doc["devices"] = _rows(devices)  # counter resets per device: evidence, not faults
    if wear is not None:
        doc["wear"] = _rows(wear_table(wear))
    return json.dumps(doc, default=str, indent=1)


def to_csv(table: pl.DataFrame, path: str | Path) -> None:
    """Write the ranked table as CSV."""
    table.write_csv(path)


def margin_path(lane: dict[str, Any], days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A lane's forecast margin and its sd at each of ``days`` (a lanes-table row), as the forecast
    reads them: its drift, and a failing far laser's fall from the day its headroom runs out
    (:func:`analyzer.forecast.with_pending_decline`), so the drawn path ends where its P comes from."""

    def val(c: str) -> float:
        v = lane.get(c)
        return np.nan if v is None else float(v)

    m0 = val("forecast_base_db")
    mean, sd = np.empty(days.size), np.empty(days.size)
    for i, h in enumerate(days):
        d, s = with_pending_decline(
            np.array([val("drift_shrunk")]),
            np.array([val("drift_shrunk_sd")]),
            np.array([val("decline_after_days")]),
            np.array([val("decline_db_per_day")]),
            np.array([val("decline_sd")]),
            float(h),
        )
        mean[i] = m0 + float(d[0]) * h
        sd[i] = np.hypot(float(s[0]) * h, np.nan_to_num(val("resid_sigma_db")))
    return mean, sd


def plot(
    analysis: Analysis,
    label: str,
    days: float,
    path: str | Path,
    *,
    top: int = 8,
    table: pl.DataFrame | None = None,
) -> Path:
    """PNG of the ``top`` riskiest links: forecast margin over 0..H with its 90 % interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = table if table is not None else risk_table(analysis, label)
    worst = table.head(top)
    lanes = analysis.lanes
    fig, ax = plt.subplots(figsize=(10, 5.5), dpi=110)
    grid = np.linspace(0.0, days, 50)
    for r in worst.iter_rows(named=True):
        li = lanes.filter(pl.col("link") == r["link"]).sort("forecast_base_db", nulls_last=True).head(1)
        if li.height == 0:
            continue
        mean, sd = margin_path(li.row(0, named=True), grid)
        line = ax.plot(grid, mean, label=f"{r['link']} (P={r['p_cross']:.2f})")[0]
        ax.fill_between(grid, mean - 1.645 * sd, mean + 1.645 * sd, color=line.get_color(), alpha=0.15)
        ax.errorbar(
            [days],
            [r["forecast_db"]],
            yerr=[[r["forecast_db"] - r["forecast_lo_db"]], [r["forecast_hi_db"] - r["forecast_db"]]],
            fmt="o",
            color=line.get_color(),
            capsize=4,
        )
    ax.axhline(0.0, color="black", lw=1.2, ls="--")
    ax.set_xlabel("days from now")
    ax.set_ylabel("margin, dB (power or FEC limit, whichever is lower)")
    ax.set_title(
        f"Worst links: forecast margin to {label}, 90 % prediction interval (dot: with planned matings)"
    )
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    plt.close(fig)
    return out
