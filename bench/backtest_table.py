"""Markdown tables from `linkmargin backtest --json` outputs: `python -m bench.backtest_table A.json ...`.

One row per run and model (linkmargin and each baseline of the same run), then a pooled row per model
(counts summed over the runs), then the pooled reliability table of linkmargin's P, then the planned
work: the P each link was given before its announced work and the calibration of those P, and each
window's own forecast against what the window did.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

MODELS = (
    ("linkmargin", None),
    ("static module thresholds", "baseline"),
    ("predict_linear 7d < low alarm", "predict_linear"),
    ("predict_linear 7d < sensitivity", "predict_linear_sens"),
    ("climatology (fleet base rate)", "climatology"),
)


def _f(v: float | None, fmt: str) -> str:
    return "–" if v is None else format(v, fmt)


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f} ({a} of {b})" if b else "– (0 of 0)"


def table(runs: list[tuple[str, dict[str, Any]]]) -> str:
    """The per-run, per-model table and the pooled rows."""
    head = (
        "| seed | model | recall (all) | recall (with a precursor) | precision | median lead h | Brier | "
        "Brier skill vs climatology |\n|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    pooled: dict[str, dict[str, float]] = {}
    for name, sc in runs:
        for label, key in MODELS:
            d = sc if key is None else sc.get(key)
            if d is None:
                continue
            fore = d.get("positives_foreseeable", 0)
            caught_fore = round((d.get("recall_foreseeable") or 0.0) * fore)
            rows.append(
                f"| {name} | {label} | {_ratio(d['caught'], d['positives'])} | {_ratio(caught_fore, fore)} | "
                f"{_ratio(d['true_flags'], d['flagged'])} | {_f(d['median_lead_hours'], '.0f')} | "
                f"{_f(d['brier'], '.4f')} | {_f(d.get('brier_skill'), '+.3f')} |"
            )
            p = pooled.setdefault(label, {})
            for k, v in (
                ("caught", d["caught"]),
                ("positives", d["positives"]),
                ("caught_fore", caught_fore),
                ("fore", fore),
                ("true_flags", d["true_flags"]),
                ("flagged", d["flagged"]),
                ("brier_sum", (d["brier"] or 0.0) * d["forecasts_scored"]),
                ("n", d["forecasts_scored"]),
            ):
                p[k] = p.get(k, 0) + v
    clim = pooled.get("climatology (fleet base rate)", {})
    for label, _ in MODELS:
        if label not in pooled:
            continue
        p = pooled[label]
        brier = p["brier_sum"] / p["n"] if p["n"] else None
        ref = clim["brier_sum"] / clim["n"] if clim.get("n") else None
        skill = 1 - brier / ref if brier is not None and ref else None
        rows.append(
            f"| **pooled** | {label} | {_ratio(int(p['caught']), int(p['positives']))} | "
            f"{_ratio(int(p['caught_fore']), int(p['fore']))} | "
            f"{_ratio(int(p['true_flags']), int(p['flagged']))} | | {_f(brier, '.4f')} | "
            f"{_f(skill, '+.3f')} |"
        )
    return head + "\n".join(rows) + "\n"


def reliability(runs: list[tuple[str, dict[str, Any]]]) -> str:
    """linkmargin's reliability pooled over the runs."""
    bins: dict[float, list[float]] = {}
    for _, sc in runs:
        for r in sc.get("reliability", []):
            b = bins.setdefault(r["p_lo"], [r["p_hi"], 0.0, 0.0, 0.0])
            b[1] += r["n"]
            b[2] += r["mean_p"] * r["n"]
            b[3] += r["observed"] * r["n"]
    out = "| P bin | forecasts | mean P | observed share |\n|---|---|---|---|\n"
    for lo in sorted(bins):
        hi, n, sp, so = bins[lo]
        out += f"| {lo:.1f}-{hi:.1f} | {int(n)} | {sp / n:.3f} | {so / n:.3f} |\n"
    return out


def _pool_work_bins(bins: dict[float, list[float]], rows: list[dict[str, Any]]) -> None:
    """Add one run's planned-work reliability rows (n, mean P with and without the work, observed) to
    ``bins`` (p_lo -> [p_hi, n, sum P, sum P without, sum observed])."""
    for r in rows:
        b = bins.setdefault(r["p_lo"], [r["p_hi"], 0.0, 0.0, 0.0, 0.0])
        b[1] += r["n"]
        b[2] += r["mean_p"] * r["n"]
        b[3] += r["mean_p_no_work"] * r["n"]
        b[4] += r["observed"] * r["n"]


def _work_bin_rows(bins: dict[float, list[float]]) -> str:
    """The pooled bins as markdown rows: P bin, count, mean P, mean P without the work, observed share."""
    out = ""
    for lo in sorted(bins):
        hi, k, sp, sp0, so = bins[lo]
        out += f"| {lo:.1f}-{hi:.1f} | {int(k)} | {sp / k:.3f} | {sp0 / k:.3f} | {so / k:.3f} |\n"
    return out


def planned_work(runs: list[tuple[str, dict[str, Any]]]) -> str:
    """The headline: the P each link was given before its planned work, the crossings the work caused,
    and the calibration of those P pooled over the runs (with and without the plan)."""
    out = (
        "| seed | window | link | matings | work at | P before (issued) | P without the plan | crossed at |\n"
        "|---|---|---|---|---|---|---|---|\n"
    )
    bins: dict[float, list[float]] = {}
    n = caused = 0
    b_sum = b0_sum = 0.0
    for name, sc in runs:
        pw = sc.get("planned_work") or {}
        n += pw.get("windows", 0)
        caused += pw.get("caused", 0)
        b_sum += (pw.get("brier") or 0.0) * pw.get("windows", 0)
        b0_sum += (pw.get("brier_no_work") or 0.0) * pw.get("windows", 0)
        for r in pw.get("crossings", []):
            out += (
                f"| {name} | {r['window']} | {r['link']} | {r['matings']} | {r['ts']} | "
                f"{r['p']:.3f} ({r['issued_at']}) | {r['p_no_work']:.3f} | {r['crossed_at']} |\n"
            )
        _pool_work_bins(bins, pw.get("reliability", []))
    out += (
        f"\n{n} planned (window, link) pairs with a forecast before the work, {caused} crossings the work "
        f"caused; Brier {_f(b_sum / n if n else None, '.4f')} with the plan, "
        f"{_f(b0_sum / n if n else None, '.4f')} without it.\n\n"
        "| P before the work | windows | mean P | mean P without the plan | observed share crossed |\n"
        "|---|---|---|---|---|\n"
    )
    return out + _work_bin_rows(bins)


def below_at_issue(runs: list[tuple[str, dict[str, Any]]]) -> str:
    """How many forecasts (and first flags) were issued on links already below zero at the time: they
    are scored like any other (outcome 1 while the link stays down), reported apart."""
    rows = [
        f"{name}: {sc.get('forecasts_below_at_issue', '–')} of {sc.get('forecasts_scored', '–')} forecasts "
        f"issued on links already below zero ({sc.get('flags_below_at_issue', '–')} of "
        f"{sc.get('flagged', '–')} flags)"
        for name, sc in runs
    ]
    return "; ".join(rows) + ".\n"


def window_work(runs: list[tuple[str, dict[str, Any]]]) -> str:
    """Each maintenance window's own forecast (the last pass before it opened: P the link is below zero
    within two days of it, with the window's matings and without), pooled over the runs."""
    bins: dict[float, list[float]] = {}
    n = below = 0
    b_sum = b0_sum = 0.0
    for _, sc in runs:
        w = (sc.get("planned_work") or {}).get("window") or {}
        k = w.get("pairs", 0)
        if not k:
            continue
        n += k
        below += w["below"]
        b_sum += w["brier"] * k
        b0_sum += w["brier_no_work"] * k
        _pool_work_bins(bins, w["reliability"])
    if not n:
        return "No window had its own forecast.\n"
    out = (
        f"{n} (window, link) pairs forecast by the last pass before the window opened, {below} below zero "
        f"within two days of it; Brier {b_sum / n:.4f} with the window's matings, {b0_sum / n:.4f} "
        f"without them (skill of the plan {1 - b_sum / b0_sum:+.3f}).\n\n"
        "| P the window takes it below zero | windows | mean P | mean P without the work | observed share |\n"
        "|---|---|---|---|---|\n"
    )
    return out + _work_bin_rows(bins)


def main(argv: list[str]) -> int:
    runs = [(Path(a).stem, json.loads(Path(a).read_text())) for a in argv]
    print(table(runs))
    print(below_at_issue(runs))
    print(reliability(runs))
    print(planned_work(runs))
    print(window_work(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
