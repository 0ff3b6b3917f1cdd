"""The analyzer's own view of the fleet: which (device, port, lane) is which lane of which link.

Three small polars tables, filled by the CLI wiring from the core inventory (one function there):

- ``lanes``: one row per receiving lane: link id, receiving (device, port, lane), direction, the far
  end's (device, port, lane) whose Tx feeds it (``far_lane`` defaults to ``lane``; a broken-out module
  numbers its lanes otherwise: lane 3 of a 400GBASE-DR4 faces lane 1 of a 100GBASE-DR), PMD
  sensitivity as average-power-equivalent dBm, the FEC's pre-FEC BER limit and code (n symbols of m
  bits), lane and port bit rates, the module low-warning threshold (used when the module does not
  publish its own), and the expected loss of the channel from the link budget.
- ``points``: the link's connection points in order: point id, connector family, termination, and for
  wear and reflections its catalog type, matings before records, rated mating cycles and index gel.
- ``events``: each point's recorded history: timestamp and kind (mated, cleaned, terminated ...); a loss
  step is expected with the cohort's probability after each mating
  (:data:`linkmargin.inventory.matings.MATING_KINDS`), and ``matings``: the part's count once it happened.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import polars as pl

from linkmargin.catalog import all_connectors
from linkmargin.inventory.matings import matings_of_installed_part

LANE_SCHEMA: Final = pl.Schema(
    {
        "link": pl.String(),
        "device": pl.String(),
        "port": pl.String(),
        "lane": pl.Int8(),
        "direction": pl.String(),  # e.g. "a->b": the end named in device/port receives
        "far_device": pl.String(),
        "far_port": pl.String(),
        "far_lane": pl.Int8(),  # the far Tx lane feeding this lane (a breakout: its own module's number)
        "far_module": pl.String(),  # the far end's module optic when broken out (null: not broken out)
        "sensitivity_dbm": pl.Float64(),  # average-power equivalent (OMA sens minus ER correction)
        "fec_limit_ber": pl.Float64(),
        "fec_n_symbols": pl.Int16(),  # RS codeword length n: turns corrected codewords into BER
        "fec_symbol_bits": pl.Int8(),
        "lane_rate_bps": pl.Float64(),
        "port_rate_bps": pl.Float64(),
        "low_warn_dbm": pl.Float64(),
        "expected_loss_db": pl.Float64(),
    }
)
POINT_SCHEMA: Final = pl.Schema(
    {
        "link": pl.String(),
        "point": pl.String(),
        "position": pl.Int16(),
        "family": pl.String(),
        "termination": pl.String(),
        # wear and reflections (filled from the connector catalog by family when a table lacks them)
        "connector": pl.String(),  # the catalog type id (MMC, MTP-16 ...), for the advice's words
        "matings_before_records": pl.Int32(),
        "rated_matings": pl.Float64(),  # the catalog's rated mating cycles; null: not rated
        "reflective": pl.Boolean(),  # index gel (field MMC, mechanical splice): return loss drifts
    }
)
EVENT_SCHEMA: Final = pl.Schema({"point": pl.String(), "ts": pl.Datetime("us", "UTC"), "kind": pl.String()})

SPEC_EVENT_SCHEMA: Final = pl.Schema({**EVENT_SCHEMA, "matings": pl.Int32()})
"""The spec's events: each with ``matings``, the installed part's mating count once it happened
(:func:`linkmargin.inventory.matings.matings_of_installed_part`, computed when the spec is built)."""

CLEANING_KINDS: Final = frozenset({"cleaned"})


def _frame(rows: Iterable[Mapping[str, Any]] | pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    if isinstance(rows, pl.DataFrame):
        frame = rows
    else:
        rows = list(rows)
        if not rows:
            return pl.DataFrame(schema=schema)
        frame = pl.DataFrame(rows, schema_overrides=dict(schema), infer_schema_length=None)
    missing = [c for c in ("link", "device", "port", "lane", "point", "ts") if c in schema and c not in frame]
    if missing:
        raise ValueError(f"spec table lacks column(s) {missing}")
    exprs = [
        pl.col(n).cast(t) if n in frame.columns else pl.lit(None, dtype=t).alias(n) for n, t in schema.items()
    ]
    return frame.select(exprs)


def _family_figures() -> dict[str, tuple[float | None, bool]]:
    """Rated mating cycles and index gel by connector family and by type id, from the catalog."""
    out: dict[str, tuple[float | None, bool]] = {}
    for cid, c in all_connectors().items():
        rated = c.rated_matings.value
        fig = (float(rated) if rated else None, c.gel)
        out.setdefault(cid, fig)
        if c.family not in out or (out[c.family][0] is None and fig[0] is not None):
            out[c.family] = fig
    return out


def _with_catalog(points: pl.DataFrame) -> pl.DataFrame:
    """Fill a point's missing rated cycles and reflectivity from the catalog (by type, else family)."""
    figs = _family_figures()
    key = pl.coalesce("connector", "family")
    rated = key.replace_strict({k: v[0] for k, v in figs.items()}, default=None, return_dtype=pl.Float64)
    gel = key.replace_strict({k: v[1] for k, v in figs.items()}, default=False, return_dtype=pl.Boolean)
    return points.with_columns(
        pl.col("matings_before_records").fill_null(0),
        pl.col("rated_matings").fill_null(rated),
        pl.col("reflective").fill_null(gel),
    )


def _with_counts(events: pl.DataFrame, points: pl.DataFrame) -> pl.DataFrame:
    """Each event with the installed part's mating count once it happened (the core's one definition)."""
    before = dict(points.select("point", "matings_before_records").iter_rows())
    ev = events.with_row_index("_i").sort("point", "ts", "_i")
    counts: list[int] = []
    for point, kinds in ev.group_by("point", maintain_order=True).agg("kind").iter_rows():
        mb = int(before.get(point) or 0)
        counts += [matings_of_installed_part(mb, kinds[: i + 1]) for i in range(len(kinds))]
    return (
        ev.with_columns(pl.Series("matings", counts, dtype=pl.Int32))
        .sort("_i")
        .drop("_i")
        .select(list(SPEC_EVENT_SCHEMA))
    )


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """The lane, connection-point and event tables the analyzer joins samples against."""

    lanes: pl.DataFrame
    points: pl.DataFrame
    events: pl.DataFrame

    @classmethod
    def build(
        cls,
        lanes: Iterable[Mapping[str, Any]] | pl.DataFrame,
        points: Iterable[Mapping[str, Any]] | pl.DataFrame = (),
        events: Iterable[Mapping[str, Any]] | pl.DataFrame = (),
    ) -> LinkSpec:
        """Build (and type-check) the three tables from rows or frames; unknown columns are dropped."""
        lane_df = _frame(lanes, LANE_SCHEMA).with_columns(
            # a port's rate: its lanes together (over links too: a module port whose lanes links share)
            pl.col("port_rate_bps").fill_null(pl.col("lane_rate_bps").sum().over("device", "port")),
            pl.col("far_lane").fill_null(pl.col("lane")),
        )
        dup = lane_df.group_by("device", "port", "lane").len().filter(pl.col("len") > 1)
        if dup.height:
            raise ValueError(f"lane mapped twice: {dup.row(0)[:3]}")
        point_df = _with_catalog(_frame(points, POINT_SCHEMA))
        return cls(lane_df, point_df, _with_counts(_frame(events, EVENT_SCHEMA), point_df))

    @classmethod
    def read_dir(cls, path: str) -> LinkSpec:
        """Read ``lanes.csv``, ``points.csv`` and ``events.csv`` from a directory (last two optional)."""
        import os

        def read(name: str) -> pl.DataFrame | list[dict[str, Any]]:
            p = os.path.join(path, name)
            return pl.read_csv(p, try_parse_dates=True) if os.path.exists(p) else []

        return cls.build(read("lanes.csv"), read("points.csv"), read("events.csv"))

    def write_dir(self, path: str) -> None:
        """Write the three tables as CSV to a directory (the inverse of :meth:`read_dir`)."""
        import os

        os.makedirs(path, exist_ok=True)
        self.lanes.write_csv(os.path.join(path, "lanes.csv"))
        self.points.write_csv(os.path.join(path, "points.csv"))
        self.events.write_csv(os.path.join(path, "events.csv"))

    def link_cohort(self) -> pl.DataFrame:
        """One (family, termination) per link: its field-terminated point if any, else its first point.

        Why: drift and step risk of a channel are dominated by its weakest point, and field
        terminations are the weak ones (hand-polished or mechanical ferrules).
        """
        if self.points.height == 0:
            return pl.DataFrame(schema={"link": pl.String, "family": pl.String, "termination": pl.String})
        return (
            self.points.sort("link", pl.col("termination").eq("field").not_(), "position", nulls_last=True)
            .group_by("link", maintain_order=True)
            .first()
            .select("link", "family", "termination")
        )
