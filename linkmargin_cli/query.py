"""`linkmargin query`: history queries over the Parquet history (cohorts, trending lanes, SQL)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from linkmargin_cli.app import app
from linkmargin_cli.formats import Format, FormatOpt, emit
from linkmargin_cli.inputs import link_spec_or_exit

if TYPE_CHECKING:
    import polars as pl

    from analyzer.spec import LinkSpec

query_app = typer.Typer(help="History queries for capacity reviews (Parquet history + inventory).")
app.add_typer(query_app, name="query")

T = TypeVar("T")

_PERIOD = re.compile(r"(?:\d+(?:mo|[smhdwy]))+")


def _period(text: str) -> str:
    """A calendar period for grouping: 1d, 1w, 1mo, 3mo, 1y (polars' truncate units)."""
    if not _PERIOD.fullmatch(text.strip()):
        raise typer.BadParameter(f"{text!r}: expected a number and d, w, mo or y (e.g. 1mo, 1w)")
    return text.strip()


def _day(text: str | None) -> date | None:
    """A day (YYYY-MM-DD, UTC) bounding the partitions a query reads."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r}: expected a day, YYYY-MM-DD") from None


HistoryOpt = Annotated[
    str,
    typer.Option(
        "--history",
        help="Parquet history: a directory (the collector's) or s3://BUCKET/PREFIX (keys from AWS_* env)",
    ),
]
InventoryOpt = Annotated[Path, typer.Option("--inventory", help="Inventory YAML or CSV")]
SinceOpt = Annotated[
    str | None, typer.Option("--since", help="First day to read, YYYY-MM-DD (partitions before: unread)")
]
UntilOpt = Annotated[
    str | None, typer.Option("--until", help="Last day to read, YYYY-MM-DD (partitions after: unread)")
]


def _inputs(
    history: str, inventory: Path, since: str | None = None, until: str | None = None
) -> tuple[pl.LazyFrame, LinkSpec]:
    from analyzer import queries

    spec = link_spec_or_exit(None, inventory)
    return _or_exit(lambda: queries.scan_history(history, since=_day(since), until=_day(until))), spec


def _or_exit(scan: Callable[[], T]) -> T:
    """The scan, or the missing history's one line and exit 2."""
    try:
        return scan()
    except FileNotFoundError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


@query_app.command("cohorts")
def cohorts(
    history: HistoryOpt,
    inventory: InventoryOpt,
    every: Annotated[str, typer.Option(help="Period: 1d, 1w, 1mo ...", callback=_period)] = "1mo",
    fmt: FormatOpt = Format.table,
    wear: Annotated[
        bool, typer.Option("--wear", help="The wear curve: P(step per mating) by mating count, per bin")
    ] = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
) -> None:
    """Margin by connector family x termination per period (median, 5th percentile, lanes, links);
    with --wear, the fleet's step hazard per mating by the points' mating count instead."""
    from analyzer import queries

    hist, spec = _inputs(history, inventory, since, until)
    if wear:
        emit(
            _wear_curve(history, spec), fmt, "Wear: P(step per mating) by mating count (count / rated cycles)"
        )
        return
    emit(queries.margin_by_cohort(hist, spec, every), fmt, f"Margin by cohort per {every}")


def _wear_curve(history: str, spec: LinkSpec) -> pl.DataFrame:
    """The analyzer's wear curve over the whole history: one row per cohort and wear bin with matings."""
    import polars as pl

    from analyzer.analysis import analyze
    from analyzer.state import LaneState

    state = LaneState(spec)
    state.rebuild(history)
    curve = analyze(state).wear
    if curve.height == 0:
        return pl.DataFrame(schema={"family": pl.String, "termination": pl.String, "matings": pl.Int64})
    return (
        curve.filter(pl.col("matings") > 0)
        .sort("family", "termination", "wear_bin")
        .select(
            "family",
            "termination",
            pl.format("{}-{}", pl.col("x_lo").round(2), pl.col("x_hi").round(2)).alias("count_per_rated"),
            pl.col("count_mean").round(1).alias("mean_count"),
            "matings",
            "steps",
            pl.col("p_step").round(3),
            pl.col("p_step_lo").round(3),
            pl.col("p_step_hi").round(3),
            pl.col("step_db").round(2),
            pl.col("step_db_lo").round(2),
            pl.col("step_db_hi").round(2),
        )
    )


@query_app.command("trending")
def trending(
    history: HistoryOpt,
    inventory: InventoryOpt,
    within: Annotated[float, typer.Option(help="Report lanes reaching zero margin within N days")] = 30.0,
    fmt: FormatOpt = Format.table,
    since: SinceOpt = None,
    until: UntilOpt = None,
) -> None:
    """Lanes below zero margin now, and lanes whose step-aware trend reaches zero within N days."""
    import polars as pl

    from analyzer import queries

    spec = link_spec_or_exit(None, inventory)
    days = _or_exit(lambda: queries.scan_partitions(history, since=_day(since), until=_day(until)))
    tr = queries.trending(
        days, spec, within
    )  # partition by partition: the code path bench/history_bench.py times
    if fmt is Format.table:
        below = tr.lanes.filter(pl.col("status") == "below zero").drop("status", "days_to_zero")
        heading = tr.lanes.filter(pl.col("status") == "heading to zero").drop("status")
        if below.height:
            emit(below, fmt, "Lanes already below zero margin")
        if heading.height or not below.height:
            emit(heading, fmt, f"Lanes heading to zero margin within {within:g} d")
    else:
        emit(tr.lanes, fmt, f"Lanes below or heading to zero margin within {within:g} d")
    if tr.note:
        typer.echo(tr.note, err=fmt is not Format.table)


@query_app.command("sql")
def sql(
    query: Annotated[str, typer.Argument(help="SQL over samples, margins, lanes, points, events")],
    history: HistoryOpt,
    inventory: InventoryOpt,
    fmt: FormatOpt = Format.table,
    since: SinceOpt = None,
    until: UntilOpt = None,
) -> None:
    """Run SQL (polars dialect) over the history joined with the inventory."""
    from analyzer import queries

    hist, spec = _inputs(history, inventory, since, until)
    emit(queries.sql(hist, spec, query), fmt, "query")
