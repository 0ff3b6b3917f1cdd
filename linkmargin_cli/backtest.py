"""`linkmargin backtest`: the lab at accelerated time through the real collector -> bus -> analyzer.

Each forecast asks what a pre-flight report asks: will the link lose its margin between now and
the end of the run (or ``--horizon``, whichever is sooner)? Its outcome window is exactly that.

The fabric runs on a stepped clock: at each step every switch is polled over real SNMP (the
collector's scheduler, transports and decoders), batches travel the in-process bus as wire bytes,
and the analyzer issues forecasts at a fixed cadence. The lab's ground truth is computed from a
separate simulation of the same scenario and seed and handed to the analyzer's scoring as data.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from linkmargin_cli.app import app
from linkmargin_cli.console import make_console


@app.command()
def backtest(
    scenario: Annotated[str, typer.Option(help="Lab scenario (shipped name or file)")] = "training-21d",
    horizon: Annotated[str, typer.Option(help="Forecast horizon: the training run's length")] = "21d",
    step: Annotated[str, typer.Option(help="Simulated time between polls")] = "1h",
    analyze_every: Annotated[str, typer.Option(help="Simulated time between forecasts")] = "6h",
    min_lead: Annotated[str, typer.Option(help="A crossing counts as caught if flagged this early")] = "48h",
    threshold: Annotated[float, typer.Option(help="Flag a link when P(cross) reaches this")] = 0.5,
    transport: Annotated[
        str, typer.Option(help="How the switches are read: snmp, gnmi (ONCE per step) or mixed")
    ] = "snmp",
    snmp_transport: Annotated[str, typer.Option(help="SNMP library: gufo | pysnmp")] = "gufo",
    seed: Annotated[int | None, typer.Option(help="Override the scenario's seed")] = None,
    workdir: Annotated[Path, typer.Option(help="Scratch directory")] = Path("var/backtest"),
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object with the scores")] = False,
    full_pass: Annotated[
        bool,
        typer.Option(
            "--full-pass", help="Recompute over the whole history every pass (default: a 7-day window)"
        ),
    ] = False,
    save: Annotated[
        Path | None,
        typer.Option(help="Keep the run here: samples history, forecasts, threshold snapshots, truth"),
    ] = None,
) -> None:
    """Score forecasts against the lab's ground truth, beside the static-threshold baseline."""
    from rich.table import Table

    from analyzer.backtest import WORK_AFTER_HOURS
    from collector.transport import TRANSPORTS
    from linkmargin_cli.backtest_run import run_backtest, score_run
    from linkmargin_cli.harness import LAB_TRANSPORTS
    from linkmargin_cli.inputs import scenario_or_exit
    from linkmargin_cli.labproc import LabProcessError
    from linkmargin_cli.params import seconds

    # every option and the scenario checked before the long run starts
    if transport not in LAB_TRANSPORTS:
        typer.echo(f"backtest: --transport {transport!r}: one of {', '.join(LAB_TRANSPORTS)}", err=True)
        raise typer.Exit(2)
    if snmp_transport not in TRANSPORTS:
        typer.echo(f"backtest: --snmp-transport {snmp_transport!r}: one of {', '.join(TRANSPORTS)}", err=True)
        raise typer.Exit(2)
    scenario_or_exit(scenario, seed)
    horizon_s, step_s = seconds(horizon, "--horizon"), seconds(step, "--step")
    analyze_s, min_lead_s = seconds(analyze_every, "--analyze-every"), seconds(min_lead, "--min-lead")
    console = make_console(stderr=True)
    try:
        fc, snaps, stats = asyncio.run(
            run_backtest(
                scenario,
                workdir,
                horizon_s=horizon_s,
                step_s=step_s,
                analyze_s=analyze_s,
                transport=snmp_transport,
                lab_transport=transport,
                console=console,
                seed=seed,
                history=save / "history" if save else None,
                full_pass=full_pass,
            )
        )
    except LabProcessError as exc:
        console.print(f"[red]backtest: {exc}[/]", highlight=False)
        raise typer.Exit(2) from None
    if fc.is_empty():
        console.print("[red]no forecast was issued: the scenario is shorter than --analyze-every[/]")
        raise typer.Exit(1)
    scores = score_run(
        fc,
        snaps,
        stats,
        horizon_s=horizon_s,
        step_s=step_s,
        min_lead_s=min_lead_s,
        threshold=threshold,
        save=save,
    )
    if as_json:
        if save:
            from linkmargin_cli.backtest_plot import reliability_png

            reliability_png(scores.get("reliability", []), save / "reliability.png")
        typer.echo(json.dumps(scores, default=str))
        return
    out = make_console()
    table = Table(title=f"Backtest of {stats['scenario']} at H = {horizon} (flag at P >= {threshold:g})")
    table.add_column("")
    models = [("linkmargin", scores), ("static module thresholds", scores["baseline"])]
    models += [(name, scores[k]) for k, name in _BASELINES if k in scores]
    for name, _ in models:
        table.add_column(name, justify="right")
    for key, fmt in (
        ("recall", ".3f"),
        ("recall_foreseeable", ".3f"),
        ("precision", ".3f"),
        ("median_lead_hours", ".1f"),
        ("brier", ".4f"),
        ("brier_skill", ".3f"),
    ):
        table.add_row(_LABELS.get(key, key), *(_fmt(d.get(key), fmt) for _, d in models))
    for key in ("positives", "positives_sudden", "caught", "flagged", "true_flags"):
        table.add_row(key, *(str(d.get(key, "–")) for _, d in models))
    out.print(table)
    cols = ("link", "cause", "sudden", "crossed_at", "flagged_at", "lead_hours")
    cross = Table(*cols, title="Links that crossed zero margin (sudden: a step inside the lead time)")
    for row in scores["crossings"]:
        cross.add_row(*("–" if row.get(c) is None else str(row.get(c)) for c in cols))
    out.print(cross)
    coh = Table(title="Cohorts: estimate [95 % interval] vs the lab's truth")
    for col in ("family", "termination", "matings", "P(step) per mating", "true", "step dB", "true dB"):
        coh.add_column(col)
    for r in scores["cohorts"]:
        coh.add_row(
            r["family"],
            r["termination"],
            str(r["matings"]),
            f"{_fmt(r['p_step'], '.3f')} [{_fmt(r['p_step_lo'], '.3f')}, {_fmt(r['p_step_hi'], '.3f')}]",
            f"{r['true_p_step']:.3f} {_COVERED[r['p_covered']]}",
            f"{_fmt(r['step_db'], '.2f')} [{_fmt(r['step_db_lo'], '.2f')}, {_fmt(r['step_db_hi'], '.2f')}]",
            f"{r['true_step_db']:.2f} {_COVERED[r['step_covered']]}",
        )
    out.print(coh)
    wear = Table(
        title="Wear: P(step) per mating at a point's mating count, estimate [95 %] vs the lab's truth"
    )
    for col in ("family", "termination", "matings", "bin matings", "P(step)", "true"):
        wear.add_column(col)
    for r in scores.get("wear", []):
        wear.add_row(
            r["family"],
            r["termination"],
            str(r["matings"]),
            f"{r['bin_matings']:g}",
            f"{_fmt(r['estimate'], '.3f')} [{_fmt(r['lo'], '.3f')}, {_fmt(r['hi'], '.3f')}]",
            f"{r['true']:.3f} {_COVERED[r['inside'] if r['estimate'] is not None else None]}",
        )
    out.print(wear)
    rel = Table("P bin", "forecasts", "mean P", "observed share", title="Reliability of linkmargin's P")
    for r in scores.get("reliability", []):
        rel.add_row(
            f"{r['p_lo']:.1f}-{r['p_hi']:.1f}", str(r["n"]), f"{r['mean_p']:.3f}", f"{r['observed']:.3f}"
        )
    out.print(rel)
    pw = scores.get("planned_work") or {}
    if pw.get("windows"):
        work_cols = ("window", "link", "matings", "ts", "p", "p_no_work", "crossed_at")
        work = Table(
            *work_cols,
            title=f"Planned work: P before the work ({pw['windows']} windows, {pw['caused']} crossings "
            f"it caused; Brier {_fmt(pw.get('brier'), '.4f')}, "
            f"without the plan {_fmt(pw.get('brier_no_work'), '.4f')})",
        )
        for row in pw["crossings"]:
            work.add_row(
                *(f"{v:.3f}" if isinstance(v, float) else str(v) for v in (row[c] for c in work_cols))
            )
        out.print(work)
    win = pw.get("window") or {}
    if win.get("pairs"):
        wt = Table(
            "P the window takes it below zero",
            "windows",
            "mean P",
            "mean P without the work",
            "observed share",
            title=f"Each window's own forecast, the last pass before it ({win['pairs']} windows, "
            f"{win['below']} below zero within {WORK_AFTER_HOURS:g} h; "
            f"Brier {_fmt(win.get('brier'), '.4f')}, "
            f"without the work {_fmt(win.get('brier_no_work'), '.4f')})",
        )
        for r in win["reliability"]:
            wt.add_row(
                f"{r['p_lo']:.1f}-{r['p_hi']:.1f}",
                str(r["n"]),
                f"{r['mean_p']:.3f}",
                f"{r['mean_p_no_work']:.3f}",
                f"{r['observed']:.3f}",
            )
        out.print(wt)
    if save:
        from linkmargin_cli.backtest_plot import reliability_png

        reliability_png(scores.get("reliability", []), save / "reliability.png")
        out.print(f"reliability diagram: {save / 'reliability.png'}")
    out.print(
        f"{scores['links']} links, {scores['already_below_zero_at_start']} already below zero at the "
        f"first forecast; {stats['polls']} polls ({stats['gnmi_devices']} switches over gNMI), "
        f"{stats['samples']:,} samples, {stats['wall_seconds']} s wall"
    )


_COVERED = {True: "inside", False: "OUTSIDE", None: "–"}
_BASELINES = (
    ("predict_linear", "predict_linear 7d vs low alarm"),
    ("predict_linear_sens", "predict_linear 7d vs sensitivity"),
    ("climatology", "climatology (base rate)"),
)
_LABELS = {
    "recall_foreseeable": "recall, crossings with a precursor",
    "brier_skill": "Brier skill vs climatology",
}


def _fmt(v: float | None, fmt: str) -> str:
    return "–" if v is None else format(v, fmt)
