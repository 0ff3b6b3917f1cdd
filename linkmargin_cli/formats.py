"""The output formats every report command takes: ``--format table|json|csv|markdown``.

One option type (an unknown format is a usage error: two lines, exit 2) and one way to print a
frame in each format. A command with a richer table of its own (``risk``) renders that for
``table`` and uses :func:`emit` for the rest.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from linkmargin_cli.console import make_console

if TYPE_CHECKING:
    import polars as pl


class Format(StrEnum):
    """What a report command prints on stdout."""

    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


FormatOpt = Annotated[
    Format,
    typer.Option("--format", case_sensitive=False, help="Output: table | json | csv | markdown"),
]


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def markdown(frame: pl.DataFrame) -> str:
    """A GitHub-flavoured Markdown table of ``frame``, every row and every character of every cell."""
    head = [str(c) for c in frame.columns]
    right = [frame[c].dtype.is_numeric() for c in frame.columns]
    lines = [
        "| " + " | ".join(head) + " |",
        "| " + " | ".join("---:" if r else "---" for r in right) + " |",
    ]
    for row in frame.iter_rows():
        lines.append("| " + " | ".join(_cell(v).replace("|", "\\|").replace("\n", " ") for v in row) + " |")
    return "\n".join(lines) + "\n"


def json_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: NaN and infinities become null."""
    return [
        {
            k: (None if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))) else v)
            for k, v in r.items()
        }
        for r in frame.iter_rows(named=True)
    ]


def emit(frame: pl.DataFrame, fmt: Format, title: str, *, doc: dict[str, Any] | None = None) -> None:
    """Print ``frame`` on stdout as ``fmt``; JSON is ``{**doc, "rows": [...]}`` when ``doc`` is given."""
    if fmt is Format.csv:
        sys.stdout.write(frame.write_csv())
    elif fmt is Format.json:
        rows = json_rows(frame)
        out: Any = rows if doc is None else {**doc, "rows": rows}
        sys.stdout.write(json.dumps(out, default=str, indent=1) + "\n")
    elif fmt is Format.markdown:
        sys.stdout.write(f"**{title}**\n\n" + markdown(frame))
    else:
        from rich.table import Table

        table = Table(title=title)
        for col in frame.columns:
            table.add_column(col, justify="right" if frame[col].dtype.is_numeric() else "left")
        for row in frame.iter_rows():
            table.add_row(*(_cell(v) for v in row))
        make_console().print(table)
