"""Varbinds of a walk -> a wide polars table (one row per index, one column per walked column).

This is the only step that touches each varbind in Python (splitting ints from octet strings
into two typed lists); everything after is polars expressions.
"""

from __future__ import annotations

import polars as pl

from collector.transport.base import VarBinds

# Why: polars' default query optimizer costs more than it saves on these small per-poll frames
# (~2 ms a counters poll on the 2-core box, bench/results/collector.md); the flags its own eager
# DataFrame methods run with skip it. ``_eager`` is private: without it, no optimizations at all.
_FLAGS = getattr(pl.QueryOptFlags, "_eager", pl.QueryOptFlags.none)()


def collect(lf: pl.LazyFrame) -> pl.DataFrame:
    """Run a per-poll query (see ``_FLAGS``)."""
    return lf.collect(optimizations=_FLAGS)


def collect_all(lfs: list[pl.LazyFrame]) -> list[pl.DataFrame]:
    """Run several per-poll queries in one call (see ``_FLAGS``)."""
    return pl.collect_all(lfs, optimizations=_FLAGS)


def to_long(
    vb: VarBinds, root: str, *, tids: list[int] | None = None, prefixes: list[str] | None = None
) -> pl.DataFrame:
    """Eager :func:`to_long_lazy`."""
    return collect(to_long_lazy(vb, root, tids=tids, prefixes=prefixes))


def to_long_lazy(
    vb: VarBinds, root: str, *, tids: list[int] | None = None, prefixes: list[str] | None = None
) -> pl.LazyFrame:
    """Long frame (col: Int64, idx: str, int: Int64, u64: UInt64, text: str) of the varbinds under ``root``.

    Integers that do not fit Int64 (Counter64 above 2**63) go to the ``u64`` column. With ``tids``
    and ``prefixes`` (one per varbind), several tables' walks make one frame: each varbind is
    matched against its own table's prefix and keeps its table id in ``tid``.
    """
    vals = vb.values
    ints = [v if type(v) is int and -(2**63) <= v < 2**63 else None for v in vals]
    u64 = [v if type(v) is int and v >= 0 and v < 2**64 else None for v in vals]
    texts = [
        v.decode("utf-8", "replace") if type(v) is bytes else (v if type(v) is str else None) for v in vals
    ]
    cols: dict[str, list[object]] = {"oid": vb.oids, "int": ints, "u64": u64, "text": texts}  # type: ignore[dict-item]
    schema: dict[str, pl.DataType] = {
        "oid": pl.String(),
        "int": pl.Int64(),
        "u64": pl.UInt64(),
        "text": pl.String(),
    }
    if tids is not None and prefixes is not None:
        cols |= {"tid": tids, "_prefix": prefixes}  # type: ignore[dict-item]
        schema |= {"tid": pl.Int64(), "_prefix": pl.String()}
        prefix: pl.Expr | str = pl.col("_prefix")
    else:
        prefix = root.strip(".") + "."
    df = pl.DataFrame(cols, schema=schema)
    rest = pl.col("oid").str.strip_prefix(prefix)
    return (
        df.lazy()
        .filter(pl.col("oid").str.starts_with(prefix))
        .with_columns(rest.str.splitn(".", 2).alias("_p"))
        .with_columns(
            pl.col("_p").struct.field("field_0").cast(pl.Int64, strict=False).alias("col"),
            pl.col("_p").struct.field("field_1").alias("idx"),
        )
        .drop("_p", "oid", *(["_prefix"] if tids is not None else []))
        .filter(pl.col("col").is_not_null() & pl.col("idx").is_not_null())
    )


def to_wide(long: pl.DataFrame, columns: dict[int, str], kinds: dict[str, str]) -> pl.DataFrame:
    """Pivot a long frame to one row per ``idx`` with the named columns.

    ``kinds[name]`` is "int", "u64" or "text": which typed value to keep for that column. Columns
    absent from the walk are present as nulls, so decoders never branch on the agent's coverage.
    """
    idx = long.select("idx").unique(maintain_order=True)
    out = idx
    for num, name in columns.items():
        kind = kinds.get(name, "int")
        part = (
            long.filter(pl.col("col") == num)
            .select("idx", pl.col(kind).alias(name))
            .unique("idx", keep="first")
        )
        out = out.join(part, on="idx", how="left")
    return out
