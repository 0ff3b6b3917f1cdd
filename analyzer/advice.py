"""Most likely cause and the action to take, with the evidence, for every link at risk.

The rules are a table (``RULES``), tried in order for each link; the first whose condition holds
names the cause. Conditions read one row of evidence gathered from the analysis (far-end Tx and
bias trends, attributed and unexplained steps, drift, excess loss, the link's field points).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import polars as pl

from analyzer.analysis import Analysis

Evidence = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rule:
    """One cause: when it applies, what to do, and how to phrase the evidence."""

    cause: str
    applies: Callable[[Evidence], bool]
    action: Callable[[Evidence], str]
    evidence: Callable[[Evidence], str]


def _drifting(e: Evidence) -> bool:
    """Drift worth acting on: losing more than 0.005 dB/day, and two sd away from zero."""
    d, sd = e["drift"] or 0.0, e["drift_sd"] or 0.0
    return d < -0.005 and d < -2 * sd


def _laser_aging(e: Evidence) -> bool:
    """The far-end laser is aging: bias well above its own baseline, or output falling as bias climbs."""
    if e["laser_failing"]:
        return True
    return (e["tx_drift"] or 0) < -0.05 and (e["bias_drift"] or 0) > 0


def _f(x: Any, fmt: str = "+.2f") -> str:
    return "n/a" if x is None else format(x, fmt)


RULES: Final[tuple[Rule, ...]] = (
    Rule(
        "optic_tx_failing",
        _laser_aging,
        lambda e: f"replace the optic at {e['far_device']} {e['far_port']}",
        lambda e: (
            f"far-end bias {_f(e['bias_rise'], '+.0%')} over its own baseline"
            f" (climbing {_f(e['bias_climb'], '+.0%')}/day), "
            f"Tx {_f(e['tx_drift'], '+.3f')} dB/day, bias {_f(e['bias_drift'], '+.3f')} mA/day"
        ),
    ),
    Rule(
        "repeated_steps_field_point",
        lambda e: e["step_point"] is not None and e["step_termination"] == "field" and e["step_count"] >= 2,
        lambda e: (
            f"re-terminate {e['step_point']} or replace the field {e['step_family']} with a factory assembly"
        ),
        lambda e: (
            f"{e['step_count']} loss steps at {e['step_point']} after matings, last {_f(e['step_loss'])} dB"
        ),
    ),
    Rule(
        "step_at_point",
        lambda e: e["step_point"] is not None,
        lambda e: f"clean and inspect {e['step_point']} ({e['step_family']}, {e['step_termination']})",
        lambda e: f"{_f(e['step_loss'])} dB added loss at {e['step_kind']} on {e['step_ts']:%Y-%m-%d %H:%M}Z",
    ),
    Rule(
        "unexplained_step",
        lambda e: e["unexplained_loss"] is not None,
        lambda e: "inspect the whole channel end to end (no recorded event explains the step)",
        lambda e: (
            f"{_f(e['unexplained_loss'])} dB step on {e['unexplained_ts']:%Y-%m-%d %H:%M}Z with no event: "
            "contamination or damage elsewhere"
        ),
    ),
    Rule(
        "drift_field_point",
        lambda e: _drifting(e) and e["field_point"] is not None,
        lambda e: f"re-terminate {e['field_point']} or replace the field connector with a factory assembly",
        lambda e: (
            f"drift {_f(e['drift'], '+.3f')} dB/day on a channel with field termination {e['field_point']}"
        ),
    ),
    Rule(
        "excess_loss",
        lambda e: (e["excess_loss"] or 0) > 1.0,
        lambda e: f"inspect and clean, starting at {e['first_point'] or 'the patch panel'}",
        lambda e: f"excess loss {_f(e['excess_loss'])} dB over the link budget",
    ),
    Rule(
        "drift",
        _drifting,
        lambda e: f"inspect and clean {e['first_point'] or 'the connection points'}; watch the trend",
        lambda e: f"drift {_f(e['drift'], '+.3f')} dB/day",
    ),
    Rule(
        "low_margin",
        lambda e: True,
        lambda e: "inspect the channel",
        lambda e: "low margin, no trend or step",
    ),
)


OFFSET_NOTE_DB: Final = 0.2
"""A DOM offset this large changes the margin a person reads off the module: say so."""


def _offset_note(e: Evidence) -> str:
    off = e["rx_offset"]
    if off is None or abs(off) < OFFSET_NOTE_DB:
        return ""
    return f"; this module's Rx reads {off:+.2f} dB against its own pre-FEC BER (margin corrected)"


def gather_evidence(analysis: Analysis, links: list[str]) -> list[Evidence]:
    """One evidence row per link: worst lane's trends, the link's largest steps, its points."""
    lanes = analysis.lanes.filter(pl.col("link").is_in(links))
    worst = lanes.sort("forecast_base_db", nulls_last=True).group_by("link", maintain_order=True).first()
    steps = analysis.steps.filter(pl.col("link").is_in(links) & (pl.col("loss_db") > 0))
    pts = analysis.cohorts.points.filter(pl.col("link").is_in(links)).sort("position")
    out = []
    for row in worst.iter_rows(named=True):
        link = row["link"]
        s = steps.filter(pl.col("link") == link)
        expl = s.filter(pl.col("explained"))
        by_point = expl.group_by("point").agg(
            pl.col("event_ts").n_unique().alias("n"), pl.col("loss_db").max()
        )
        last = expl.sort("step_ts").tail(1)
        unexpl = s.filter(~pl.col("explained")).sort("loss_db").tail(1)
        lp = pts.filter(pl.col("link") == link)
        field = lp.filter(pl.col("termination") == "field")
        e: Evidence = {
            "link": link,
            "far_device": row["far_device"],
            "far_port": row["far_port"],
            "tx_drift": row["tx_drift_db_per_day"],
            "bias_drift": row["bias_drift_ma_per_day"],
            "bias_rise": row["far_bias_rise"],
            "bias_climb": row["far_bias_climb_per_day"],
            "laser_failing": bool(row["laser_failing"]),
            "drift": row["drift_shrunk"],
            "drift_sd": row["drift_shrunk_sd"],
            "excess_loss": row["excess_loss_db"],
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
            "field_point": field["point"][0] if field.height else None,
            "first_point": lp["point"][0] if lp.height else None,
            "rx_offset": row["rx_offset_db"],
        }
        out.append(e)
    return out


def advise(analysis: Analysis, label: str, *, min_probability: float = 0.2) -> pl.DataFrame:
    """Cause, action and evidence for every link whose risk at ``label`` is at least ``min_probability``."""
    fc = analysis.forecasts[label]
    risky = fc.filter(pl.col("p_cross") >= min_probability)
    rows = []
    for e in gather_evidence(analysis, risky["link"].to_list()):
        rule = next(r for r in RULES if r.applies(e))
        point = (
            e["step_point"]
            if rule.cause.startswith(("step", "repeated"))
            else e["field_point"] or e["first_point"]
        )
        rows.append(
            {
                "link": e["link"],
                "cause": rule.cause,
                "point": point,
                "action": rule.action(e),
                "evidence": rule.evidence(e) + _offset_note(e),
            }
        )
    schema = {
        "link": pl.String,
        "cause": pl.String,
        "point": pl.String,
        "action": pl.String,
        "evidence": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)
