"""Most likely cause and the action to take, with the evidence, for every link at risk.

The rules are a table (``RULES``), tried in order for each link; the first whose condition holds
names the cause. Conditions read one row of evidence gathered from the analysis (far-end Tx and
bias trends, attributed and unexplained steps, drift, excess loss, the link's field points).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import polars as pl

from analyzer.analysis import Analysis
from analyzer.evidence import CAUSES
from linkmargin.budget import WEAR_NEAR_SHARE

Evidence = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rule:
    """One cause: when it applies, the point (or optic) it names, what to do there, and the evidence.

    ``point`` is the one place the action names: the action is phrased from it, so the report's
    point column and its action never disagree.
    """

    cause: str
    applies: Callable[[Evidence], bool]
    point: Callable[[Evidence], str | None]
    action: Callable[[Evidence, str | None], str]
    evidence: Callable[[Evidence], str]
    finding: bool = False  # a fault found (a step, a failing laser): advised even when the risk is low


def _drifting(e: Evidence) -> bool:
    """Drift worth acting on: losing more than 0.005 dB/day, and two sd away from zero."""
    d, sd = e["drift"] or 0.0, e["drift_sd"] or 0.0
    return d < -0.005 and d < -2 * sd


def _laser_aging(e: Evidence) -> bool:
    """The far-end laser is aging: bias well above its own baseline, or output falling as bias climbs."""
    if e["laser_failing"]:
        return True
    # the Tx and bias trends are fitted without temperature: under a day of history, the daily swing
    # (output falls and bias rises as a module warms) is indistinguishable from aging
    if (e["history_hours"] or 0) < TREND_MIN_HOURS:
        return False
    return (e["tx_drift"] or 0) < -0.05 and (e["bias_drift"] or 0) > 0


TREND_MIN_HOURS: Final = 24
"""One daily thermal cycle: the least history on which a far-end Tx/bias trend says anything."""


def _f(x: Any, fmt: str = "+.2f") -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, fmt)


def _suspect(e: Evidence) -> str | None:
    """Where to start on a channel with no recorded event to go by: its field point, else its first."""
    return e["field_point"] or e["first_point"]


def _step_words(e: Evidence) -> str:
    return (
        f"{_f(e['step_loss'])} dB added loss at {e['step_point']}"
        f" ({e['step_kind']} on {e['step_ts']:%Y-%m-%d %H:%M}Z)"
    )


def _unexplained_words(e: Evidence) -> str:
    return (
        f"{_f(e['unexplained_loss'])} dB step on lane(s) {e['unexplained_lanes']}"
        f" ({e['unexplained_direction']}) on {e['unexplained_ts']:%Y-%m-%d %H:%M}Z with no recorded event:"
        " contamination, damage or a bend"
    )


def _has_evidence(cause: str) -> Callable[[Evidence], bool]:
    return lambda e: bool(e["evidence_cause"] == cause)


def _laser_words(e: Evidence) -> str:
    early = e.get("bias_early_rise")
    if early is not None and math.isfinite(early):  # no day's baseline yet: its first readings
        return (
            f"far-end bias {_f(early, '+.0%')} over its first readings beyond what its warming explains"
            f" (climbing {_f(e['bias_climb_early'], '+.0%')}/day)"
        )
    return (
        f"far-end bias {_f(e['bias_rise'], '+.0%')} over its own baseline"
        f" (climbing {_f(e['bias_climb'], '+.0%')}/day), "
        f"Tx {_f(e['tx_drift'], '+.3f')} dB/day, bias {_f(e['bias_drift'], '+.3f')} mA/day"
    )


def _evidence_point(e: Evidence) -> str | None:
    if e["step_point"] is not None:
        return str(e["step_point"])
    if _laser_aging(e):
        return None
    return _suspect(e)


def _evidence_action(e: Evidence, point: str | None) -> str:
    if e["step_point"] is not None:
        fam, term = e["step_family"], e["step_termination"]
        return f"clean and inspect {point} ({fam}, {term})"
    if _laser_aging(e):
        return f"replace the optic at {e['optic']}"
    return f"inspect and clean end to end, starting at {point or 'the patch panel'}"


def _evidence_words(e: Evidence) -> str:
    also = (
        _step_words(e)
        if e["step_point"] is not None
        else _unexplained_words(e)
        if e["unexplained_loss"] is not None
        else ""
    )
    return f"{e['evidence_text']}" + (f"; {also}" if also else "")


def _worn(e: Evidence, prefix: str) -> bool:
    """The point named by ``prefix`` has reached ``WEAR_NEAR_SHARE`` of its type's rated cycles."""
    n, rated = e.get(f"{prefix}_matings"), e.get(f"{prefix}_rated")
    return n is not None and rated is not None and rated > 0 and n >= WEAR_NEAR_SHARE * float(rated)


def _wear_action(e: Evidence, prefix: str, point: str | None) -> str:
    what = f"{e[f'{prefix}_termination']} {e[f'{prefix}_connector']}"
    return (
        f"replace {what} {point} (mated {e[f'{prefix}_matings']} times, rated about {e[f'{prefix}_rated']:g})"
    )


def _wear_words(e: Evidence, prefix: str) -> str:
    p, lo, hi = e.get(f"{prefix}_p"), e.get(f"{prefix}_p_lo"), e.get(f"{prefix}_p_hi")
    hazard = (
        f"; the fleet's {e[f'{prefix}_connector']} at this count leave a step on {_f(p, '.0%')}"
        f" [{_f(lo, '.0%')}, {_f(hi, '.0%')}] of matings"
        if p is not None
        else ""
    )
    return (
        f"{e[f'{prefix}_point']} mated {e[f'{prefix}_matings']} times, rated about {e[f'{prefix}_rated']:g}"
        + hazard
    )


def _reflection_point(e: Evidence) -> str | None:
    return e["reflective_points"][0] if e["reflective_points"] else _suspect(e)


def _reflection_action(e: Evidence, point: str | None) -> str:
    if e["reflective_points"]:
        return f"re-terminate {', '.join(e['reflective_points'])} or replace with a factory APC assembly"
    start = point or "the patch panel"
    return f"inspect the channel for reflections (cracked or dirty end faces), starting at {start}"


def _reflection_words(e: Evidence) -> str:
    where = (
        f"; reflective point(s) on the channel: {', '.join(e['reflective_points'])}"
        if e["reflective_points"]
        else "; no reflective point recorded on the channel"
    )
    return (
        f"BER worse than Rx power explains: the pre-FEC BER lost {_f(e['ber_excess_db'], '.2f')} dB of margin"
        f" over the last week while Rx moved {_f(e['ber_excess_rx_db'])} dB" + where
    )


RULES: Final[tuple[Rule, ...]] = (
    # the counters first: a link that flaps or passes uncorrected errors is out of margin now
    *(
        Rule(
            cause,
            _has_evidence(cause),
            _evidence_point,
            _evidence_action,
            _evidence_words,
            True,
        )
        for _, cause, _ in CAUSES
    ),
    Rule(
        "optic_tx_failing",
        lambda e: bool(e["laser_failing"]),
        lambda e: None,  # an optic, never a connection point: the optic column names it
        lambda e, p: f"replace the optic at {e['optic']}",
        _laser_words,
        True,  # the laser estimator's finding (bias over its own baseline): news at any risk
    ),
    Rule(
        "optic_tx_failing",
        _laser_aging,  # output falling as bias climbs: a trend, advised only where there is risk
        lambda e: None,
        lambda e, p: f"replace the optic at {e['optic']}",
        _laser_words,
    ),
    # reflections: the BER says more than the power (analyzer.reflection)
    Rule(
        "ber_beyond_rx",
        lambda e: bool(e["reflection"]),
        _reflection_point,
        _reflection_action,
        _reflection_words,
        True,
    ),
    # a loss step after a mating of a point at or near its rated cycles: the wear is the cause
    Rule(
        "worn_point",
        lambda e: e["step_point"] is not None and _worn(e, "step_wear"),
        lambda e: e["step_point"],
        lambda e, p: _wear_action(e, "step_wear", p),
        lambda e: f"{_step_words(e)}; " + _wear_words(e, "step_wear"),
        True,
    ),
    Rule(
        "repeated_steps_field_point",
        lambda e: e["step_point"] is not None and e["step_termination"] == "field" and e["step_count"] >= 2,
        lambda e: e["step_point"],
        lambda e, p: f"re-terminate {p} or replace the field {e['step_family']} with a factory assembly",
        lambda e: (
            f"{e['step_count']} loss steps at {e['step_point']} after matings, last {_f(e['step_loss'])} dB"
        ),
        True,
    ),
    Rule(
        "step_at_point",
        lambda e: e["step_point"] is not None,
        lambda e: e["step_point"],
        lambda e, p: f"clean and inspect {p} ({e['step_family']}, {e['step_termination']})",
        _step_words,
        True,
    ),
    Rule(
        "unexplained_step",
        lambda e: e["unexplained_loss"] is not None,
        _suspect,
        lambda e, p: f"inspect and clean end to end, starting at {p or 'the patch panel'}",
        _unexplained_words,
        True,
    ),
    Rule(
        "worn_point",
        lambda e: _worn(e, "worn"),
        lambda e: e["worn_point"],
        lambda e, p: _wear_action(e, "worn", p),
        lambda e: _wear_words(e, "worn"),
    ),
    Rule(
        "drift_field_point",
        lambda e: _drifting(e) and e["field_point"] is not None,
        lambda e: e["field_point"],
        lambda e, p: f"re-terminate {p} or replace the field connector with a factory assembly",
        lambda e: (
            f"drift {_f(e['drift'], '+.3f')} dB/day on a channel with field termination {e['field_point']}"
        ),
    ),
    Rule(
        "excess_loss",
        lambda e: (e["excess_loss"] or 0) > 1.0,
        lambda e: e["first_point"],
        lambda e, p: f"inspect and clean, starting at {p or 'the patch panel'}",
        lambda e: f"excess loss {_f(e['excess_loss'])} dB over the link budget",
    ),
    Rule(
        "drift",
        _drifting,
        lambda e: e["first_point"],
        lambda e, p: f"inspect and clean {p or 'the connection points'}; watch the trend",
        lambda e: f"drift {_f(e['drift'], '+.3f')} dB/day",
    ),
    Rule(
        "low_margin",
        lambda e: True,
        _suspect,
        lambda e, p: f"inspect and clean the channel, starting at {p or 'the patch panel'}",
        lambda e: f"margin {_f(e['margin'])} dB, no trend or step",
    ),
)


OFFSET_NOTE_DB: Final = 0.2
"""A DOM offset this large changes the margin a person reads off the module: say so."""


def _offset_note(e: Evidence) -> str:
    off = e["rx_offset"]
    if off is None or abs(off) < OFFSET_NOTE_DB:
        return ""
    return f"; this module's Rx reads {off:+.2f} dB against its own pre-FEC BER (margin corrected)"


ADVICE_P_FLOOR: Final = 0.05
"""Below this P(crossing before the horizon) and without a finding, a link gets no advice."""
ADVICE_MARGIN_DB: Final = 0.75
"""...unless its margin is below this: one mated pair at the TIA-568 maximum (0.75 dB) would take it."""


def _optic(
    far_device: str,
    far_port: str,
    direction: str | None,
    far_module: str | None = None,
    far_lane: int | None = None,
) -> str:
    side = direction.split("->")[0] if direction and "->" in direction else None
    said = [f"side {side}"] if side else []
    if far_module:  # a broken-out module: replacing it takes its other sub-ports' links down too
        said.append(f"lane {far_lane} of a broken-out {far_module}, shared with its other sub-ports")
    return f"{far_device} {far_port}" + (f" ({'; '.join(said)})" if said else "")


def gather_evidence(analysis: Analysis, links: list[str]) -> list[Evidence]:
    """One evidence row per link: worst lane's trends and counters, the link's largest steps, its points."""
    lanes = analysis.lanes.filter(pl.col("link").is_in(links))
    worst = lanes.sort("forecast_base_db", nulls_last=True).group_by("link", maintain_order=True).first()
    steps = analysis.steps.filter(pl.col("link").is_in(links) & (pl.col("loss_db") > 0))
    pts = analysis.cohorts.points.filter(pl.col("link").is_in(links)).sort("position")
    margins = dict(analysis.links.select("link", "link_margin_db").iter_rows())
    wear = _point_wear(analysis, links)
    refl = (
        lanes.filter(pl.col("ber_beyond_rx"))
        .group_by("link")
        .agg(pl.col("ber_excess_db").max(), pl.col("ber_excess_rx_change_db").mean())
        if "ber_beyond_rx" in lanes.columns
        else pl.DataFrame(
            schema={"link": pl.String, "ber_excess_db": pl.Float64, "ber_excess_rx_change_db": pl.Float64}
        )
    )
    reflecting = {r[0]: r[1:] for r in refl.iter_rows()}
    out = []
    for row in worst.iter_rows(named=True):
        link = row["link"]
        s = steps.filter(pl.col("link") == link)
        expl = s.filter(pl.col("explained"))
        by_point = expl.group_by("point").agg(
            pl.col("event_ts").n_unique().alias("n"), pl.col("loss_db").max()
        )
        last = expl.sort("step_ts").tail(1)
        # one unexplained event per (direction, hour), with the lanes that saw it
        unexpl = (
            s.filter(~pl.col("explained"))
            .group_by("direction", "step_ts")
            .agg(pl.col("loss_db").median(), pl.col("lane").unique().sort())
            .sort("loss_db")
            .tail(1)
        )
        lp = pts.filter(pl.col("link") == link)
        field = lp.filter(pl.col("termination") == "field")
        e: Evidence = {
            "link": link,
            "far_device": row["far_device"],
            "far_port": row["far_port"],
            "optic": _optic(
                row["far_device"],
                row["far_port"],
                row["direction"],
                row.get("far_module"),
                row.get("far_lane"),
            ),
            "history_hours": row["history_hours"],
            "tx_drift": row["tx_drift_db_per_day"],
            "bias_drift": row["bias_drift_ma_per_day"],
            "bias_rise": row["far_bias_rise"],
            "bias_climb": row["far_bias_climb_per_day"],
            "laser_failing": bool(row["laser_failing"]),
            "bias_early_rise": row.get("far_bias_early_rise"),
            "bias_climb_early": row.get("far_bias_early_climb_per_day"),
            "drift": row["drift_shrunk"],
            "drift_sd": row["drift_shrunk_sd"],
            "excess_loss": row["excess_loss_db"],
            "margin": margins.get(link),
            "evidence_cause": row["evidence_cause"],
            "evidence_text": row["evidence_text"],
            "step_point": last["point"][0] if last.height else None,
            "step_family": last["family"][0] if last.height else None,
            "step_termination": last["termination"][0] if last.height else None,
            "step_kind": last["event_kind"][0] if last.height else None,
            "step_ts": last["event_ts"][0] if last.height else None,
            "step_loss": last["loss_db"][0] if last.height else None,
            "step_count": int(by_point.filter(pl.col("point") == last["point"][0])["n"][0])
            if last.height
            else 0,
            "unexplained_loss": unexpl["loss_db"][0] if unexpl.height else None,
            "unexplained_ts": unexpl["step_ts"][0] if unexpl.height else None,
            "unexplained_lanes": ",".join(map(str, unexpl["lane"][0])) if unexpl.height else None,
            "unexplained_direction": unexpl["direction"][0] if unexpl.height else None,
            "field_point": field["point"][0] if field.height else None,
            "first_point": lp["point"][0] if lp.height else None,
            "rx_offset": row["rx_offset_db"],
            "reflection": link in reflecting,
            "ber_excess_db": reflecting.get(link, (None, None))[0],
            "ber_excess_rx_db": reflecting.get(link, (None, None))[1],
            "reflective_points": lp.filter(pl.col("reflective").fill_null(False))["point"].to_list()
            if "reflective" in lp.columns
            else [],
        }
        # the step's point and the link's most worn point, with their counts and the fleet's hazard there
        lw = wear.filter(pl.col("link") == link)
        for prefix, sel in (
            ("step_wear", lw.filter(pl.col("point") == pl.lit(e["step_point"], dtype=pl.String))),
            ("worn", lw.sort("_x", descending=True, nulls_last=True).head(1)),
        ):
            r = sel.row(0, named=True) if sel.height else {}
            e[f"{prefix}_point"] = e["step_point"] if prefix == "step_wear" else r.get("point")
            e[f"{prefix}_matings"] = r.get("matings")
            e[f"{prefix}_rated"] = r.get("rated_matings")
            e[f"{prefix}_connector"] = r.get("connector") or r.get("family")
            e[f"{prefix}_termination"] = r.get("termination")
            e[f"{prefix}_p"], e[f"{prefix}_p_lo"], e[f"{prefix}_p_hi"] = (
                r.get("p_step"),
                r.get("p_step_lo"),
                r.get("p_step_hi"),
            )
        out.append(e)
    return out


def _point_wear(analysis: Analysis, links: list[str]) -> pl.DataFrame:
    """The links' points with their mating count now, rated cycles and the wear curve's hazard there."""
    pw = analysis.point_wear
    if pw.height == 0 or "matings" not in pw.columns:
        return pl.DataFrame(schema={"link": pl.String, "point": pl.String, "_x": pl.Float64})
    return pw.filter(pl.col("link").is_in(links)).with_columns(
        pl.when(pl.col("rated_matings") > 0)
        .then(pl.col("matings") / pl.col("rated_matings"))
        .otherwise(None)
        .alias("_x")
    )


def advise(analysis: Analysis, label: str, *, min_probability: float = ADVICE_P_FLOOR) -> pl.DataFrame:
    """Cause, point (or optic), action and evidence for every link at risk at ``label``.

    At risk: P(crossing) at least ``min_probability`` (never below ``ADVICE_P_FLOOR``), margin below
    ``ADVICE_MARGIN_DB``, or out of margin on the counters' evidence. A link with a finding (a loss
    step, a failing laser) is advised whatever its risk: the finding is the news. Every other link
    gets no row: no "inspect the channel" at +4 dB and P = 0.
    """
    fc = analysis.forecasts[label].join(
        analysis.links.select("link", "link_margin_db"), on="link", how="left"
    )
    floor = max(min_probability, ADVICE_P_FLOOR)
    risky = set(
        fc.filter((pl.col("p_cross").fill_nan(0.0) >= floor) | (pl.col("link_margin_db") < ADVICE_MARGIN_DB))[
            "link"
        ].to_list()
    )
    rows = []
    for e in gather_evidence(analysis, fc["link"].to_list()):
        rule = next(r for r in RULES if r.applies(e))
        if not (rule.finding or e["link"] in risky):
            continue
        point = rule.point(e)
        optic = e["optic"] if point is None and _laser_aging(e) else None
        rows.append(
            {
                "link": e["link"],
                "cause": rule.cause,
                "point": point,
                "optic": optic,
                "action": rule.action(e, point),
                "evidence": rule.evidence(e) + _offset_note(e),
            }
        )
    schema = {
        "link": pl.String,
        "cause": pl.String,
        "point": pl.String,
        "optic": pl.String,
        "action": pl.String,
        "evidence": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)
