"""What a person watching the pipeline sees: the live table of the worst links and the pre-flight report."""

from __future__ import annotations

import time
from typing import Any, Final

import polars as pl
from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from analyzer.advice import advise
from linkmargin_cli.pipeline import HORIZONS, MAIN_HORIZON, Pipeline

WIDE: Final = 120
"""From this many columns on, the table carries the 90 % interval and the cause with its point."""
FINDINGS: Final = 8
"""At most this many findings under the table (links by risk, then every device's counter reset)."""


class LiveView:
    """The live table, laid out for the width it is drawn at (80 columns and up, never cut to "…"):
    the worst links by risk at the main horizon, then each finding in words — a step at its
    connection point, a failing laser as its optic (device, port, side), a device whose counters
    reset — however low its risk ranks."""

    def __init__(self, p: Pipeline, url: str, started: float, rows: int = 12) -> None:
        self.p, self.url, self.started, self.rows = p, url, started, rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        p = self.p
        wide = options.max_width >= WIDE
        head = Table.grid(padding=(0, 2))
        head.add_row(
            "time",
            p.clock().strftime("%Y-%m-%d %H:%M UTC"),
            "wall time",
            f"{time.monotonic() - self.started:.0f} s",
        )
        head.add_row(
            "devices",
            str(len(p.scheduler.devices) + len(p.streams)),  # SNMP polled + gNMI streamed
            "samples analyzed",
            f"{p.state.samples_seen:,}",
        )
        lines: list[RenderableType] = [
            head,
            Text(f"risk events  {p.events}   metrics  {self.url}", overflow="fold"),
        ]
        if p.last_event:
            lines.append(Text(f"last event   {p.last_event[:160]}", overflow="fold"))
        yield Panel(
            Group(*lines), title="linkmargin demo: lab fabric -> collector -> bus -> analyzer", expand=False
        )
        table = Table(
            title=f"Worst links: risk of losing margin within {MAIN_HORIZON}",
            box=box.SIMPLE_HEAD,
            padding=(0, 1),
            title_justify="left",
        )
        table.add_column("link", no_wrap=True)
        table.add_column("now dB", justify="right", no_wrap=True)
        table.add_column(
            f"{MAIN_HORIZON} dB [90% PI]" if wide else f"{MAIN_HORIZON} dB", justify="right", no_wrap=True
        )
        table.add_column("P", justify="right", no_wrap=True)
        table.add_column("dB/day", justify="right", no_wrap=True)
        if wide:
            table.add_column("likely cause at point or optic", overflow="fold")
        if p.analysis is None:
            table.caption = "waiting for the first hour of samples ..."
            yield table
            return
        from analyzer.report import risk_table

        t = risk_table(p.analysis, MAIN_HORIZON, advise(p.analysis, MAIN_HORIZON))
        for r in t.head(self.rows).iter_rows(named=True):
            style = "red" if (r["p_cross"] or 0) >= 0.5 else "yellow" if (r["p_cross"] or 0) >= 0.1 else ""
            fc = _f(r["forecast_db"])
            if wide:
                fc += f" [{_f(r['forecast_lo_db'])}, {_f(r['forecast_hi_db'])}]"
            cells = [
                r["link"],
                _f(r["margin_now_db"]),
                fc,
                _f(r["p_cross"], ".0%"),
                _f(r["drift_db_per_day"], "+.3f"),
            ]
            if wide:
                cells.append(_where(r))
            table.add_row(*cells, style=style)
        if t.head(self.rows)["drift_db_per_day"].is_null().any():
            table.caption = "dB/day n/a: too few hours of readings for the lane's own trend"
        yield table
        yield from _findings(t)


def _f(x: float | None, fmt: str = "+.2f") -> str:
    return "n/a" if x is None or x != x else format(x, fmt)


def _where(r: dict[str, Any]) -> str:
    """The cause with the place it names: a connection point, or an optic (device, port, side)."""
    if not r["cause"]:
        return ""
    place = r["point"] or (f"optic {r['optic']}" if r["optic"] else None)
    return f"{r['cause']} at {place}" if place else str(r["cause"])


def _findings(t: pl.DataFrame) -> list[Text]:
    """One paragraph per advised link (its cause at its point or optic, the evidence, the action),
    then one per device whose counters reset; each wraps at any width."""
    out: list[Text] = []
    adv = t.filter(pl.col("cause").is_not_null()).head(FINDINGS)
    if adv.height or t["notes"].drop_nulls().len():
        out.append(Text("Findings", style="bold"))
    for r in adv.iter_rows(named=True):
        line = Text("- ")
        line.append(r["link"], style="bold")
        line.append(f": {_where(r)}\n  {r['evidence']}\n  action: {r['action']}")
        out.append(line)
    notes = t["notes"].drop_nulls().str.split("; ").explode().unique(maintain_order=True)
    out.extend(Text(f"- {n}") for n in notes.to_list())
    return out


def live_view(p: Pipeline, url: str, started: float, rows: int = 12) -> LiveView:
    """What the pipeline shows while it runs: :class:`LiveView`."""
    return LiveView(p, url, started, rows)


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
