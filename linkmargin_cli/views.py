"""What a person watching the pipeline sees: the live table of the worst links and the pre-flight report."""

from __future__ import annotations

import time

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table

from analyzer.advice import advise
from linkmargin_cli.pipeline import HORIZONS, MAIN_HORIZON, Pipeline


def live_view(p: Pipeline, url: str, started: float, rows: int = 12) -> Group:
    """Header with what is running, then the worst links by risk at the main horizon."""
    head = Table.grid(padding=(0, 2))
    head.add_row("time", p.clock().strftime("%Y-%m-%d %H:%M UTC"), "metrics", url)
    head.add_row(
        "devices",
        str(len(p.scheduler.devices) + len(p.streams)),  # SNMP polled + gNMI streamed
        "samples analyzed",
        f"{p.state.samples_seen:,}",
    )
    head.add_row("wall time", f"{time.monotonic() - started:.0f} s", "risk events", str(p.events))
    if p.last_event:
        head.add_row("last event", p.last_event[:100], "", "")
    table = Table(title=f"Worst links — risk of losing margin within {MAIN_HORIZON}")
    for col, just in (
        ("link", "left"),
        ("margin now dB", "right"),
        (f"forecast {MAIN_HORIZON} dB [90% PI]", "right"),
        ("P(cross)", "right"),
        ("drift dB/day", "right"),
        ("likely cause / action", "left"),
    ):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    if p.analysis is not None:
        from analyzer.report import risk_table

        t = risk_table(p.analysis, MAIN_HORIZON, advise(p.analysis, MAIN_HORIZON))
        for r in t.head(rows).iter_rows(named=True):

            def f(x: float | None, fmt: str = "+.2f") -> str:
                return "–" if x is None or x != x else format(x, fmt)

            style = "red" if (r["p_cross"] or 0) >= 0.5 else "yellow" if (r["p_cross"] or 0) >= 0.1 else ""
            table.add_row(
                r["link"],
                f(r["margin_now_db"]),
                f"{f(r['forecast_db'])} [{f(r['forecast_lo_db'])}, {f(r['forecast_hi_db'])}]",
                f(r["p_cross"], ".0%"),
                f(r["drift_db_per_day"], "+.3f"),
                " — ".join(x for x in (r.get("cause"), r.get("action")) if x) or "",
                style=style,
            )
    else:
        table.caption = "waiting for the first hour of samples ..."
    return Group(
        Panel(head, title="linkmargin demo: lab fabric -> collector -> bus -> analyzer", expand=False), table
    )


def print_preflight(p: Pipeline, console: Console) -> None:
    """The pre-flight report of the fabric at the end of the run."""
    from analyzer import report

    if p.analysis is None:
        console.print("[yellow]no analysis yet: run longer (--duration) to gather an hour of samples[/]")
        return
    baseline = None
    if p.planned is not None and p.planned.height:  # the inventory plans work: show P without it too
        from analyzer.analysis import add_forecast

        baseline = f"{MAIN_HORIZON} without planned work"
        add_forecast(p.analysis, baseline, HORIZONS[MAIN_HORIZON], planned=None, now=p.clock())
    adv = advise(p.analysis, MAIN_HORIZON, min_probability=0.0)
    table = report.risk_table(p.analysis, MAIN_HORIZON, adv, baseline=baseline)
    report.render(table, MAIN_HORIZON, console=console, limit=15)
