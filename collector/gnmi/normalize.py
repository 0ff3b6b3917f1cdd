"""Matched gNMI leaves to a Sample batch, with the SNMP path's rules (docs/ARCHITECTURE.md "gNMI").

Input: one row per leaf update (columns of :data:`ROW_SCHEMA`), as :mod:`collector.gnmi.stream` collects
them. Everything here is a few polars operations per batch, no per-row Python: the leaf's meaning comes
from a join with the profile's leaf table, ports through the component-to-interface mapping, lanes
shifted to count from 1, enums to numbers, mW to dBm, and then the shared normalization of
:mod:`collector.decode.common` — sentinels and non-finite values are absent with ``sentinel``, power at
or below the DOM floor is ``no_light``, impossible thresholds are ``bogus_threshold``, absent readings on
down ports say why. No reading is ever 0 or -40.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from collector.decode import common
from collector.gnmi.profile import GnmiProfileDocument, default_group
from linkmargin.samples import COUNTER_METRICS, Reason, conform, empty_samples

ROW_SCHEMA = pl.Schema(
    {
        "ts_ns": pl.Int64(),
        "leaf": pl.Int32(),
        "port": pl.String(),
        "component": pl.String(),
        "lane": pl.Int32(),
        "severity": pl.String(),
        "value": pl.Float64(),
        "counter": pl.UInt64(),
        "text": pl.String(),
        "problem": pl.String(),
    }
)
KEYS = ["leaf", "port", "component", "lane", "severity"]
_COUNTERS = [m.value for m in COUNTER_METRICS]


@dataclass(frozen=True)
class LeafTable:
    """The profile's leaves as a frame (joined to the rows by leaf index) and its enum table."""

    leaves: pl.DataFrame
    enums: pl.DataFrame
    severities: pl.DataFrame
    lane_base: int
    as_port: bool

    @classmethod
    def of(cls, doc: GnmiProfileDocument) -> LeafTable:
        """Build the tables once per profile."""
        leaves = pl.DataFrame(
            {
                "leaf": list(range(len(doc.leaves))),
                "role": [lf.role for lf in doc.leaves],
                "l_metric": [lf.metric for lf in doc.leaves],
                "thr_q": [lf.threshold[0] if lf.threshold else None for lf in doc.leaves],
                "thr_b": [lf.threshold[1] if lf.threshold else None for lf in doc.leaves],
                "unit": [lf.unit for lf in doc.leaves],
                "scale": [lf.scale for lf in doc.leaves],
                "enum": [lf.enum for lf in doc.leaves],
                "group": [default_group(lf) for lf in doc.leaves],
            },
            schema_overrides={"leaf": pl.Int32, "scale": pl.Float64},
        )
        enums = pl.DataFrame(
            [(e, k, v) for e, table in doc.enums.items() for k, v in table.items()],
            schema={"enum": pl.String, "text": pl.String, "enum_value": pl.Float64},
            orient="row",
        )
        sev = pl.DataFrame(
            list(doc.severities.items()), schema={"severity": pl.String, "level": pl.String}, orient="row"
        )
        return cls(leaves, enums, sev, doc.lane_base, doc.unmapped_component == "as_port")

    def group_of(self) -> dict[int, str]:
        """Leaf index -> the poll group its samples travel in."""
        return dict(zip(self.leaves["leaf"].to_list(), self.leaves["group"].to_list(), strict=True))


@dataclass
class Normalized:
    """A sample batch and the rows left out, counted by reason."""

    samples: pl.DataFrame
    rejects: dict[str, int]


def _count(frame: pl.DataFrame, cond: pl.Expr, reason: str, out: dict[str, int]) -> pl.DataFrame:
    n = frame.select(cond.fill_null(False).sum()).item()
    if n:
        out[reason] = out.get(reason, 0) + int(n)
        return frame.filter(~cond.fill_null(False))
    return frame


def normalize(
    table: LeafTable,
    device: str,
    rows: pl.DataFrame,
    port_map: dict[str, str],
    boot_ns: int | None = None,
    port_state: pl.DataFrame | None = None,
) -> Normalized:
    """Rows of matched leaf updates to one conformed sample batch (see the module docstring)."""
    rejects: dict[str, int] = {}
    if rows.is_empty():
        return Normalized(empty_samples(), rejects)
    # problems in decoding are absent readings (decode_error) and counted; the latest update per leaf wins
    for p, n in rows.filter(pl.col("problem").is_not_null()).group_by("problem").len().iter_rows():
        rejects[f"value_{p}"] = int(n)
    f = rows.unique(subset=KEYS, keep="last", maintain_order=True).join(table.leaves, on="leaf", how="left")
    f = f.filter(pl.col("role") == "reading")
    pm = pl.DataFrame(
        {"component": list(port_map), "mapped": list(port_map.values())},
        schema={"component": pl.String, "mapped": pl.String},
    )
    f = f.join(pm, on="component", how="left")
    port = pl.coalesce("port", "mapped", "component") if table.as_port else pl.coalesce("port", "mapped")
    f = f.with_columns(port.alias("port"))
    f = _count(f, pl.col("port").is_null(), "unmapped_component", rejects)
    f = f.join(table.severities, on="severity", how="left")
    f = _count(f, pl.col("thr_q").is_not_null() & pl.col("level").is_null(), "unknown_severity", rejects)
    metric = pl.coalesce(
        "l_metric",
        pl.concat_str([pl.lit("thr_"), "thr_q", pl.lit("_"), "thr_b", pl.lit("_"), "level"]),
    )
    f = f.join(table.enums, on=["enum", "text"], how="left").with_columns(
        metric.alias("metric"),
        (pl.col("lane") - table.lane_base + 1).cast(pl.Int8, strict=False).alias("lane"),
    )
    f = _count(
        f, pl.col("lane").is_not_null() & ((pl.col("lane") < 1) | (pl.col("lane") > 16)), "bad_lane", rejects
    )
    is_counter = pl.col("metric").is_in(_COUNTERS)
    v = (
        pl.when(pl.col("enum").is_not_null())
        .then(pl.col("enum_value"))
        .otherwise(pl.col("value") * pl.col("scale"))
    )
    mw = pl.col("unit") == "mw"
    text_bad = pl.col("text").is_not_null() & pl.col("enum_value").is_null()
    n_bad = f.select(text_bad.sum()).item()
    if n_bad:
        rejects["bad_text"] = rejects.get("bad_text", 0) + int(n_bad)
    f = f.with_columns(
        v.alias("value"),
        pl.when(
            pl.col("problem").is_not_null() | (pl.col("value").is_null() & pl.col("enum_value").is_null())
        )
        .then(common.reason_lit(Reason.DECODE_ERROR))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("reason"),
    )
    # mW to dBm: 0 mW (or less) has no dBm value, it is no light
    f = common.null_if(f, mw & (pl.col("value") <= 0), Reason.NO_LIGHT)
    f = f.with_columns(
        pl.when(mw).then(pl.col("value").log10() * 10.0).otherwise(pl.col("value")).alias("value")
    )
    f = common.null_if(f, pl.col("value").is_in(common.SENTINELS) & ~is_counter, Reason.SENTINEL)
    f = common.dbm_floor(f)  # also -inf power: no light
    f = common.null_if(f, pl.col("value").is_nan() | pl.col("value").is_infinite(), Reason.SENTINEL)
    # counters travel raw: exact unsigned value and width (OpenConfig counter64)
    integral = (
        pl.col("value").is_not_null() & (pl.col("value") >= 0) & (pl.col("value") == pl.col("value").floor())
    )
    f = f.with_columns(
        pl.when(is_counter)
        .then(
            pl.coalesce(
                "counter",
                pl.when(integral & (pl.col("value") < 2.0**64)).then(
                    pl.col("value").cast(pl.UInt64, strict=False)
                ),
            )
        )
        .otherwise(None)
        .alias("counter"),
        pl.when(is_counter).then(pl.lit(64, dtype=pl.UInt8)).otherwise(None).alias("counter_bits"),
        pl.from_epoch("ts_ns", time_unit="ns")
        .dt.cast_time_unit("us")
        .dt.replace_time_zone("UTC")
        .alias("ts"),
        pl.lit(device).alias("device"),
        pl.lit(None if boot_ns is None else 0, dtype=pl.Int64).alias("uptime_cs"),
    )
    f = _count(
        f, is_counter & pl.col("counter").is_null() & pl.col("reason").is_null(), "bad_counter", rejects
    )
    if boot_ns is not None:
        f = f.with_columns(((pl.col("ts_ns") - boot_ns) // 10_000_000).alias("uptime_cs"))
    f = f.with_columns(pl.when(pl.col("uptime_cs") >= 0).then(pl.col("uptime_cs")).alias("uptime_cs"))
    out = conform(
        f.select(
            "ts",
            "device",
            "port",
            "lane",
            "metric",
            "value",
            "counter",
            "counter_bits",
            "uptime_cs",
            "reason",
        )
    )
    if out.select(pl.col("metric").cast(pl.String).str.starts_with("thr_").any()).item():
        out = conform(common.validate_thresholds(out))
    if port_state is not None and not port_state.is_empty():
        out = conform(common.mark_port_state(out, port_state))
    if boot_ns is not None:
        ts_ns = int(rows["ts_ns"].max())  # type: ignore[arg-type]
        up = max(0, (ts_ns - boot_ns) // 10_000_000)
        uptime_row = pl.DataFrame(
            {
                "ts": [ts_ns // 1000],
                "device": [device],
                "metric": ["sys_uptime_cs"],
                "value": [float(up)],
                "uptime_cs": [up],
            }
        ).with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
        out = pl.concat([out, conform(uptime_row)])
    return Normalized(out, rejects)


def port_state_of(samples: pl.DataFrame) -> pl.DataFrame:
    """(port, admin_status, oper_status) from a batch's state samples (empty when either is missing)."""
    st = samples.filter(pl.col("metric").is_in(["admin_status", "oper_status"])).pivot(
        on="metric", index="port", values="value", aggregate_function="last"
    )
    if not {"admin_status", "oper_status"} <= set(st.columns):
        return pl.DataFrame()
    return st.select("port", "admin_status", "oper_status")
