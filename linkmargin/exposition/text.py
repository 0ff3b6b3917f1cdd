"""Text format 0.0.4 from polars columns (string expressions, no per-series Python): label values
escaped, values spelled as Go reads them, and whole families rendered from a frame.

Label names within a series come sorted, as prometheus-client's ``generate_latest`` writes them, so
both paths give the same text up to the spelling of values.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def escape(s: str) -> str:
    """A label value escaped as the text format wants it (backslash, newline, double quote)."""
    return s.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def esc_expr(col: str | pl.Expr) -> pl.Expr:
    """A label column as escaped text (null: empty)."""
    e = pl.col(col) if isinstance(col, str) else col
    return (
        e.cast(pl.String)
        .fill_null("")
        .str.replace_all("\\", r"\\", literal=True)
        .str.replace_all("\n", r"\n", literal=True)
        .str.replace_all('"', r"\"", literal=True)
    )


def go_float(col: str | pl.Expr) -> pl.Expr:
    """Values as the text format spells them: shortest round-trip decimal (what Go's ParseFloat reads
    back exactly), ``+Inf``/``-Inf``/``NaN`` for the non-finite."""
    v = pl.col(col) if isinstance(col, str) else col
    return (
        pl.when(v.is_nan())
        .then(pl.lit("NaN"))
        .when(v == float("inf"))
        .then(pl.lit("+Inf"))
        .when(v == float("-inf"))
        .then(pl.lit("-Inf"))
        .otherwise(v.cast(pl.String))
    )


def header(name: str, help_text: str, typ: str = "gauge") -> str:
    """A family's HELP and TYPE lines (HELP escaped as the format wants: backslash, newline)."""
    h = help_text.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {name} {h}\n# TYPE {name} {typ}\n"


def label_block(labels: Sequence[str]) -> pl.Expr:
    """The ``{a="..",b=".."}`` part of a series line from the label columns (names sorted; empty
    without labels): compute it once for columns several families share."""
    parts: list[pl.Expr] = []
    for i, lab in enumerate(sorted(labels)):
        parts += [pl.lit(("{" if i == 0 else ",") + f'{lab}="'), esc_expr(lab), pl.lit('"')]
    if not parts:
        return pl.lit("")
    return pl.concat_str(*parts, pl.lit("}"))


def family_lines(
    name: str,
    frame: pl.DataFrame | pl.LazyFrame,
    labels: Sequence[str],
    value: str = "value",
    keep: pl.Expr | None = None,
    block: str | None = None,
) -> pl.LazyFrame:
    """One row, one column ``lines``: the rows of ``frame`` as series lines of ``name`` with ``labels``
    (column names = label names), or with the :func:`label_block` already in column ``block``.
    Rows kept: ``keep``, by default those whose ``value`` is finite (no line for a null, NaN or
    infinite value)."""
    v = pl.col(value).cast(pl.Float64)
    lbl = label_block(labels) if block is None else pl.col(block)
    # only finite values by default: their plain decimal spelling, without the non-finite branches
    spelled = v.cast(pl.String) if keep is None else go_float(v)
    line = pl.concat_str(pl.lit(name), lbl, pl.lit(" "), spelled, pl.lit("\n"))
    kept = frame.lazy().filter(v.is_finite() if keep is None else keep)
    return kept.select(line.str.join("").alias("lines"))


def split_families(families: Sequence[tuple[str, str, str, pl.LazyFrame]]) -> list[tuple[bytes, bytes]]:
    """(name, HELP, TYPE, :func:`family_lines`) as (HELP and TYPE lines, series lines) per family, UTF-8,
    in the order given (each family collected on its own, which beats one ``collect_all`` of frames that
    share their inputs; the lines go from polars to bytes in one copy: no Python str of the text)."""
    out = []
    for name, help_text, typ, frame in families:
        lines = frame.collect()
        body = (lines.to_series().cast(pl.Binary).item() or b"") if lines.height else b""
        out.append((header(name, help_text, typ).encode(), body))
    return out


def render_families(families: Sequence[tuple[str, str, str, pl.LazyFrame]]) -> bytes:
    """:func:`split_families` as one text."""
    return b"".join(b for parts in split_families(families) for b in parts)
