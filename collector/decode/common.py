"""Normalization shared by every layout: sentinels, no-light floors, units, thresholds, port state.

All functions take and return polars frames, eager or lazy (a poll chains them lazily and collects
once: polars' cost at these sizes is per operation); no per-row Python.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Literal, TypeVar

import polars as pl
from pydantic import AfterValidator, BaseModel, ConfigDict

from linkmargin.samples import METRIC_NAMES, Metric, Reason
from linkmargin.yamlcheck import did_you_mean

# Values agents use for "no reading" (RFC 3433 entPhySensorValue range; librenms Comware dbm):
# RFC 3433 clamp +-1e9, Comware/Integer32 max, and Integer32 min some agents use the same way.
SENTINELS = [1e9, -1e9, 2147483647.0, -2147483648.0]
DBM_FLOOR = -40.0  # DOM floor = "no light" (Cisco -40.0 dBm, librenms#1065 [V])
POWER_METRICS = ("rx_power_dbm", "tx_power_dbm")
F = TypeVar("F", pl.DataFrame, pl.LazyFrame)
DOM_METRICS = (
    Metric.RX_POWER_DBM.value,
    Metric.TX_POWER_DBM.value,
    Metric.TX_BIAS_MA.value,
    Metric.TEMPERATURE_C.value,
    Metric.LASER_TEMPERATURE_C.value,
    Metric.VOLTAGE_V.value,
)


def _known_metric(name: str) -> str:
    if name not in METRIC_NAMES:
        raise ValueError(f"unknown metric {name!r}{did_you_mean(name, METRIC_NAMES)}")
    return name


# a profile field naming a sample metric (one of linkmargin.samples.Metric)
MetricName = Annotated[str, AfterValidator(_known_metric)]


def regex(*groups: str) -> Callable[[str], str]:
    """A validator: the text compiles as a regular expression with the named ``groups``."""

    def check(text: str) -> str:
        try:
            rx = re.compile(text)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        missing = [g for g in groups if g not in rx.groupindex]
        if missing:
            raise ValueError(f"the pattern needs a named group (?P<{missing[0]}>...)")
        return text

    return check


Regex = Annotated[str, AfterValidator(regex())]
# a number at the start of a text value ("-2.34", " 3.30 V"); anything else is not a number
NUMBER_RE = r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"


def number_in_text(col: pl.Expr) -> pl.Expr:
    """The number a text value starts with, as Float64 (null when it holds none: "N/A", "")."""
    return col.str.extract(NUMBER_RE, 1).cast(pl.Float64, strict=False)


# how power columns are read before their scale: a linear power unit's factor to milliwatts
MW_FACTOR: dict[str, float] = {"mw": 1.0, "uw": 0.001}


class AbsentRules(BaseModel):
    """When a value is no reading: a profile's no-light and placeholder rules, as data.

    Applied after decoding to every DOM reading and module threshold of the profile's tables (the
    decoders' own rules — RFC 3433 status, the +-1e9 and Integer32 sentinels, 0 mW — come first).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # raw values the agent puts where it has no reading (reason: sentinel)
    sentinels: list[float] = []
    # raw strings meaning "no reading" ("N/A", ""), compared trimmed and case-blind (reason: sentinel)
    texts: list[str] = []
    # power at or below this is no light (SFF-8472/8636: 0.1 uW, -40 dBm; raw 1 at 0.0001 mW is the floor)
    floor_dbm: float = DBM_FLOOR
    # Rx of exactly 0 dBm (1 mW) on an oper-down port is a placeholder, not light (Cisco NX-OS)
    zero_dbm_down: bool = False
    # a module-level power whose raw value is 0 on a port that has lane readings is a lane aggregate
    module_zero_multilane: bool = False
    # any module-level power on a port that has lane readings is left to the lanes (lane_aggregate):
    # for agents whose module column repeats one lane or sums them (HUAWEI-ENTITY-EXTENT-MIB)
    prefer_lanes: bool = False


DEFAULT_RULES = AbsentRules()
# floating-point slack for "at the floor": 10*log10(raw * 10**-k) is not exactly -40.0
_FLOOR_EPS = 1e-6


class Breakout(BaseModel):
    """Broken-out sub-ports of one module: ``pattern`` (named groups ``module`` and ``sub``) on the
    port's ifName (``label: name``) or its alias (``label: alias``, SONiC's etp1a..d). A reading of
    module lane L (of a module with L_max lanes split over n sub-ports) belongs to sub-port
    (L-1)*n // L_max in order of ``sub``; an agent that numbers lanes per sub-port (L_max < n) is
    left as it is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: Annotated[str, AfterValidator(regex("module", "sub"))]
    label: Literal["name", "alias"] = "name"


def scaled_value(raw: pl.Expr) -> pl.Expr:
    """A raw column value times its row's ``scale``; where the row's ``mw`` is set, a power in that
    many milliwatts per unit, returned in dBm."""
    return (
        pl.when(pl.col("mw").is_not_null())
        .then(10.0 * (raw * pl.col("scale") * pl.col("mw")).log10())
        .otherwise(raw * pl.col("scale"))
    )


def reason_lit(r: Reason) -> pl.Expr:
    """A literal Reason as a string expression (cast to the enum by ``conform``)."""
    return pl.lit(r.value, dtype=pl.String)


def null_if(frame: F, cond: pl.Expr, reason: Reason) -> F:
    """Where ``cond`` holds and no reason is set yet: value -> null, reason -> ``reason``."""
    hit = cond.fill_null(False) & pl.col("reason").is_null()
    return frame.with_columns(
        pl.when(hit).then(None).otherwise(pl.col("value")).alias("value"),
        pl.when(hit).then(reason_lit(reason)).otherwise(pl.col("reason")).alias("reason"),
    )


def is_power(metric_col: str = "metric") -> pl.Expr:
    """Power readings and their thresholds (everything in dBm)."""
    return pl.col(metric_col).cast(pl.String).str.contains("power_dbm")


def dbm_floor(frame: F, floor: float = DBM_FLOOR) -> F:
    """Power at or below the DOM floor is no light, not a number (readings only, not thresholds)."""
    m = pl.col("metric").cast(pl.String)
    return null_if(frame, m.is_in(POWER_METRICS) & (pl.col("value") <= floor + _FLOOR_EPS), Reason.NO_LIGHT)


def apply_absent(frame: F, rules: AbsentRules) -> F:
    """A profile's sentinel, no-light floor and lane-aggregate rules on decoded samples.

    ``frame`` carries the decoders' ``_raw`` (the raw number) and ``_text`` (the raw string) beside
    the value. A sentinel rule overrides a decode error (an "N/A" is a sentinel, not garbage).
    """
    m = pl.col("metric").cast(pl.String)
    gauge = m.is_in(DOM_METRICS) | m.str.starts_with("thr_")  # readings and thresholds, not counters
    if rules.sentinels or rules.texts:
        hit = pl.lit(False)
        if rules.sentinels:
            hit = hit | pl.col("_raw").is_in(pl.lit(rules.sentinels, dtype=pl.List(pl.Float64)).first())
        if rules.texts:
            lowered = [t.strip().lower() for t in rules.texts]
            text = pl.col("_text").str.strip_chars().str.to_lowercase()
            hit = hit | text.is_in(pl.lit(lowered, dtype=pl.List(pl.String)).first())
        # a sentinel is more specific than what the decoder guessed of it (garbage, or <= 0 mW)
        open_ = pl.col("reason").is_null() | pl.col("reason").is_in(
            [Reason.DECODE_ERROR.value, Reason.NO_LIGHT.value]
        )
        sent = (gauge & hit & open_).fill_null(False)
        frame = frame.with_columns(
            pl.when(sent).then(None).otherwise(pl.col("value")).alias("value"),
            pl.when(sent).then(reason_lit(Reason.SENTINEL)).otherwise(pl.col("reason")).alias("reason"),
        )
    if rules.module_zero_multilane or rules.prefer_lanes:
        power = m.is_in(POWER_METRICS)
        has_lanes = (power & pl.col("lane").is_not_null()).any().over("port", "metric")
        zero = pl.lit(True) if rules.prefer_lanes else (pl.col("_raw") == 0)
        agg = (power & pl.col("lane").is_null() & zero & has_lanes).fill_null(False)
        agg = agg & (pl.col("reason").is_null() | (pl.col("reason") == Reason.NO_LIGHT.value))
        frame = frame.with_columns(
            pl.when(agg).then(None).otherwise(pl.col("value")).alias("value"),
            pl.when(agg).then(reason_lit(Reason.LANE_AGGREGATE)).otherwise(pl.col("reason")).alias("reason"),
            (pl.col("aggregate") | agg).alias("aggregate"),
        )
    return dbm_floor(frame, rules.floor_dbm)


def placeholder_zero(samples: F, state: pl.DataFrame) -> F:
    """Rx of exactly 0 dBm on an oper-down port: the agent's placeholder, not 1 mW of light.

    ``state``: (port, admin_status, oper_status). A 0.00 dBm reading on an up port stays a reading.
    """
    if state.is_empty():
        return samples
    st = state.select("port", pl.col("oper_status").alias("_oper"))
    f = samples.join(st.lazy() if isinstance(samples, pl.LazyFrame) else st, on="port", how="left")
    hit = (
        (pl.col("metric").cast(pl.String) == "rx_power_dbm")
        & (pl.col("value").abs() < 1e-9)
        & (pl.col("_oper") != 1)
    )
    return null_if(f, hit, Reason.PLACEHOLDER).drop("_oper")


def breakout_ports(ports: pl.DataFrame, aliases: dict[str, str], rule: Breakout) -> pl.DataFrame:
    """(port, module, rank, n): every known port that is a broken-out sub-port under ``rule``.

    Made at discovery (hourly) from the port names (ifName) or their aliases.
    """
    schema = {"port": pl.String, "module": pl.String, "rank": pl.Int64, "n": pl.Int64}
    if ports.is_empty():
        return pl.DataFrame(schema=schema)
    names = ports.select("port").drop_nulls()
    if rule.label == "alias":
        inv = pl.DataFrame(
            {"_label": list(aliases), "port": list(aliases.values())},
            schema={"_label": pl.String, "port": pl.String},
        ).filter(pl.col("_label") != pl.col("port"))
        names = names.join(inv, on="port", how="inner")
    else:
        names = names.with_columns(pl.col("port").alias("_label"))
    rx = re.compile(rule.pattern)
    gm, gs = rx.groupindex["module"], rx.groupindex["sub"]
    got = names.with_columns(
        pl.col("_label").str.extract(rule.pattern, gm).alias("module"),
        pl.col("_label").str.extract(rule.pattern, gs).alias("_sub"),
    ).filter(pl.col("module").is_not_null() & pl.col("_sub").is_not_null())
    # order of sub: numerically when every sub is a number, else as text (a < b < c < d)
    key = pl.col("_sub").cast(pl.Int64, strict=False)
    got = got.with_columns(
        pl.when(key.is_not_null().all().over("module"))
        .then(key.cast(pl.String).str.zfill(9))
        .otherwise(pl.col("_sub"))
        .alias("_key")
    )
    got = got.unique("port").with_columns(
        (pl.col("_key").rank("dense").over("module").cast(pl.Int64) - 1).alias("rank"),
        pl.len().over("module").cast(pl.Int64).alias("n"),
    )
    return got.filter(pl.col("n") > 1).select(list(schema)).cast(schema)  # type: ignore[arg-type]


def map_breakouts(samples: F, subs: pl.DataFrame) -> F:
    """Per-lane readings of a broken-out module moved to the sub-port that owns the lane (a reading
    every sub-port repeats is kept once). Lane numbers stay the module's optical lanes."""
    if subs.is_empty():
        return samples
    if isinstance(samples, pl.DataFrame):
        return map_breakouts(samples.lazy(), subs).collect()
    owners = subs.select("module", pl.col("rank").alias("_owner"), pl.col("port").alias("_owner_port"))
    f = samples.join(subs.lazy().select("port", "module", "rank", "n"), on="port", how="left")
    # the module's lanes: those the agent gave a number for ("N/A" lanes of a per-sub-port agent do
    # not count), so an agent numbering lanes per sub-port (max lane < n) is left alone
    lmax = pl.col("lane").filter(pl.col("_raw").is_not_null()).max().over("module")
    absolute = pl.col("module").is_not_null() & pl.col("lane").is_not_null() & (lmax >= pl.col("n"))
    f = f.with_columns(
        pl.when(absolute).then((pl.col("lane") - 1) * pl.col("n") // lmax).alias("_owner"),
    )
    f = f.join(owners.lazy(), on=["module", "_owner"], how="left")
    f = f.with_columns(pl.coalesce(pl.col("_owner_port"), pl.col("port")).alias("port"))
    moved = pl.col("_owner").is_not_null()
    out = pl.concat(
        [
            f.filter(~moved.fill_null(False)),
            f.filter(moved.fill_null(False)).unique(
                ["port", "lane", "metric"], keep="first", maintain_order=True
            ),
        ],
        how="vertical",
    )
    return out.drop("module", "rank", "n", "_owner", "_owner_port")


def validate_thresholds(frame: F) -> F:
    """Drop (null + BOGUS_THRESHOLD) impossible thresholds: -inf/absent, all-zero sets, low above high.

    A set is the thresholds of one quantity on one (device, port, lane).
    """
    m = pl.col("metric").cast(pl.String)
    is_thr = m.str.starts_with("thr_")
    qty = m.str.extract(r"^thr_(.+)_(?:high|low)_(?:alarm|warn)$", 1)
    f = frame.with_columns(qty.alias("_q"), m.str.contains("_high_").alias("_hi"))
    keys: list[str] = ["device", "port", "lane", "_q"]
    grp = (
        f.filter(is_thr & pl.col("value").is_not_null())
        .group_by(keys)
        .agg(
            (pl.col("value") == 0).all().alias("_allzero"),
            pl.col("value").filter(~pl.col("_hi")).max().alias("_lowmax"),
            pl.col("value").filter(pl.col("_hi")).min().alias("_highmin"),
        )
        .with_columns(
            (pl.col("_allzero") | (pl.col("_lowmax") > pl.col("_highmin")).fill_null(False)).alias("_bogus")
        )
        .select([*keys, "_bogus"])
    )
    f = f.join(grp, on=keys, how="left", nulls_equal=True)
    f = null_if(f, is_thr & pl.col("_bogus"), Reason.BOGUS_THRESHOLD)
    # a power threshold at the floor or non-finite is "not set", not a limit
    f = null_if(
        f,
        is_thr & (~pl.col("value").is_finite() | (is_power() & (pl.col("value") <= DBM_FLOOR))),
        Reason.BOGUS_THRESHOLD,
    )
    return f.drop("_q", "_hi", "_bogus")


def mark_port_state(samples: F, state: pl.DataFrame) -> F:
    """Absent DOM readings on admin-down ports get ADMIN_DOWN, on oper-down ports DARK_PORT; a pre-FEC
    BER of 0 on a port that is not up is absent the same way (no bits received, no ratio).

    ``state``: (port, admin_status, oper_status). Readings that have a value keep it, but for a Tx bias
    of 0 on an admin-down port (the laser is off), which is absent with ADMIN_DOWN like its Tx power.
    """
    if state.is_empty():
        return samples
    st = state.select("port", "admin_status", "oper_status")
    f = samples.join(st.lazy() if isinstance(samples, pl.LazyFrame) else st, on="port", how="left")
    # a laser an operator switched off reads 0 mA: that is "laser off", not a bias reading
    off = (
        (pl.col("admin_status") == 2)
        & (pl.col("metric").cast(pl.String) == "tx_bias_ma")
        & (pl.col("value") == 0)
    )
    # a port that receives nothing has no bit error ratio: a pre-FEC BER of 0 there is "no bits", not
    # an error-free link (seen over gNMI on a down port)
    no_bits = (
        (pl.col("oper_status") != 1)
        & (pl.col("metric").cast(pl.String) == Metric.PRE_FEC_BER.value)
        & (pl.col("value") == 0)
    )
    f = f.with_columns(no_bits.fill_null(False).alias("_no_bits")).with_columns(
        pl.when(off | pl.col("_no_bits")).then(None).otherwise(pl.col("value")).alias("value"),
        pl.when(pl.col("_no_bits"))
        .then(reason_lit(Reason.DARK_PORT))
        .otherwise(pl.col("reason"))
        .alias("reason"),
    )
    dom = pl.col("metric").cast(pl.String).is_in(DOM_METRICS) & pl.col("value").is_null()
    admin_down = (dom | pl.col("_no_bits")) & (pl.col("admin_status") == 2)
    dark = dom & (pl.col("admin_status") == 1) & (pl.col("oper_status") != 1)
    f = f.with_columns(
        pl.when(admin_down)
        .then(reason_lit(Reason.ADMIN_DOWN))
        .when(dark & (pl.col("reason") == Reason.NO_LIGHT.value))
        .then(reason_lit(Reason.DARK_PORT))
        .otherwise(pl.col("reason"))
        .alias("reason")
    )
    return f.drop("admin_status", "oper_status", "_no_bits")
