"""The Sample schema: the one contract between the collector, the bus and the analyzer.

A Sample is (timestamp UTC, device, port, lane or none, metric, value). Samples travel in
batches as polars DataFrames / Arrow tables with exactly ``SAMPLE_SCHEMA``; no per-sample Python
objects on hot paths.

Conventions:
- ``port`` is the interface name the device reports (ifName); null for device-level values
  (``sys_uptime_cs``).
- ``lane`` counts from 1 as CMIS does; null for module-level values. A vendor's 0-based lane index
  is shifted by the collector.
- ``value`` is null when there is no reading; ``reason`` then says why (``Reason``). A missing
  reading is never 0 and never -inf.
- Counters travel raw: ``counter`` holds the exact unsigned value, ``counter_bits`` its width
  (32 or 64) and ``uptime_cs`` the agent's sysUpTime of the poll, so a consumer can tell a wrap
  from a reset. ``value`` carries the same counter as a float for convenience.
- ``aggregate`` marks a module-level value that is really an aggregate of lanes (e.g. a total
  power some agents report beside per-lane values).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, overload

import polars as pl
import pyarrow as pa

SCHEMA_VERSION: Final = 1


class MetricKind(StrEnum):
    """How a metric's values behave over time."""

    GAUGE = "gauge"  # an instantaneous reading
    COUNTER = "counter"  # monotonically increasing, wraps at 2**counter_bits, resets on reboot
    THRESHOLD = "threshold"  # a limit the module (or agent) publishes, not a reading
    STATE = "state"  # an enumerated state (oper status) or a timestamp in TimeTicks


class Metric(StrEnum):
    """The closed set of metric names a Sample may carry."""

    # optics readings (DOM), per lane unless module-level
    RX_POWER_DBM = "rx_power_dbm"
    TX_POWER_DBM = "tx_power_dbm"
    TX_BIAS_MA = "tx_bias_ma"
    TEMPERATURE_C = "temperature_c"
    LASER_TEMPERATURE_C = "laser_temperature_c"
    VOLTAGE_V = "voltage_v"
    # module thresholds: thr_<quantity>_<level>
    THR_RX_POWER_DBM_HIGH_ALARM = "thr_rx_power_dbm_high_alarm"
    THR_RX_POWER_DBM_HIGH_WARN = "thr_rx_power_dbm_high_warn"
    THR_RX_POWER_DBM_LOW_WARN = "thr_rx_power_dbm_low_warn"
    THR_RX_POWER_DBM_LOW_ALARM = "thr_rx_power_dbm_low_alarm"
    THR_TX_POWER_DBM_HIGH_ALARM = "thr_tx_power_dbm_high_alarm"
    THR_TX_POWER_DBM_HIGH_WARN = "thr_tx_power_dbm_high_warn"
    THR_TX_POWER_DBM_LOW_WARN = "thr_tx_power_dbm_low_warn"
    THR_TX_POWER_DBM_LOW_ALARM = "thr_tx_power_dbm_low_alarm"
    THR_TX_BIAS_MA_HIGH_ALARM = "thr_tx_bias_ma_high_alarm"
    THR_TX_BIAS_MA_HIGH_WARN = "thr_tx_bias_ma_high_warn"
    THR_TX_BIAS_MA_LOW_WARN = "thr_tx_bias_ma_low_warn"
    THR_TX_BIAS_MA_LOW_ALARM = "thr_tx_bias_ma_low_alarm"
    THR_TEMPERATURE_C_HIGH_ALARM = "thr_temperature_c_high_alarm"
    THR_TEMPERATURE_C_HIGH_WARN = "thr_temperature_c_high_warn"
    THR_TEMPERATURE_C_LOW_WARN = "thr_temperature_c_low_warn"
    THR_TEMPERATURE_C_LOW_ALARM = "thr_temperature_c_low_alarm"
    THR_VOLTAGE_V_HIGH_ALARM = "thr_voltage_v_high_alarm"
    THR_VOLTAGE_V_HIGH_WARN = "thr_voltage_v_high_warn"
    THR_VOLTAGE_V_LOW_WARN = "thr_voltage_v_low_warn"
    THR_VOLTAGE_V_LOW_ALARM = "thr_voltage_v_low_alarm"
    # FEC and errors (counters unless noted)
    FEC_CORRECTED_CW = "fec_corrected_cw"
    FEC_UNCORRECTED_CW = "fec_uncorrected_cw"
    FEC_SYMBOL_ERRORS = "fec_symbol_errors"
    PRE_FEC_BER = "pre_fec_ber"  # gauge, as the agent computes it
    PCS_BIT_ERRORS = "pcs_bit_errors"  # post-FEC bit errors (ARISTA-PHY-MIB PcsBer)
    IN_ERRORS = "in_errors"
    OUT_ERRORS = "out_errors"
    IN_DISCARDS = "in_discards"
    FCS_ERRORS = "fcs_errors"
    SYMBOL_ERRORS = "symbol_errors"
    IN_OCTETS = "in_octets"
    OUT_OCTETS = "out_octets"
    PHY_STATE_CHANGES = "phy_state_changes"
    # state
    OPER_STATUS = "oper_status"  # IF-MIB ifOperStatus value (1 up, 2 down, ...)
    ADMIN_STATUS = "admin_status"  # IF-MIB ifAdminStatus value (1 up, 2 down, 3 testing)
    LAST_CHANGE_CS = "last_change_cs"  # ifLastChange, TimeTicks
    COUNTER_DISCONTINUITY_CS = "counter_discontinuity_cs"  # ifCounterDiscontinuityTime, TimeTicks
    SPEED_MBPS = "speed_mbps"  # ifHighSpeed
    SYS_UPTIME_CS = "sys_uptime_cs"  # device-level, port null


_KIND_BY_PREFIX: Final = {"thr_": MetricKind.THRESHOLD}
COUNTER_METRICS: Final = frozenset(
    {
        Metric.FEC_CORRECTED_CW,
        Metric.FEC_UNCORRECTED_CW,
        Metric.FEC_SYMBOL_ERRORS,
        Metric.PCS_BIT_ERRORS,
        Metric.IN_ERRORS,
        Metric.OUT_ERRORS,
        Metric.IN_DISCARDS,
        Metric.FCS_ERRORS,
        Metric.SYMBOL_ERRORS,
        Metric.IN_OCTETS,
        Metric.OUT_OCTETS,
        Metric.PHY_STATE_CHANGES,
    }
)
STATE_METRICS: Final = frozenset(
    {
        Metric.OPER_STATUS,
        Metric.ADMIN_STATUS,
        Metric.LAST_CHANGE_CS,
        Metric.COUNTER_DISCONTINUITY_CS,
        Metric.SYS_UPTIME_CS,
    }
)


def metric_kind(metric: Metric | str) -> MetricKind:
    """Return whether a metric is a gauge, a counter, a module threshold or a state."""
    m = Metric(metric)
    if m in COUNTER_METRICS:
        return MetricKind.COUNTER
    if m in STATE_METRICS:
        return MetricKind.STATE
    for prefix, kind in _KIND_BY_PREFIX.items():
        if m.value.startswith(prefix):
            return kind
    return MetricKind.GAUGE


def threshold_metric(quantity: Metric | str, level: str) -> Metric:
    """Name of the threshold of ``quantity`` (e.g. rx_power_dbm) at ``level`` (high_alarm ...)."""
    return Metric(f"thr_{Metric(quantity).value}_{level}")


class Reason(StrEnum):
    """Why a reading is absent (``value`` null). Never encoded as 0 or -inf."""

    NO_LIGHT = "no_light"  # power at or below the DOM floor (0 mW, -40 dBm), LOS
    SENTINEL = "sentinel"  # +-1e9, 2147483647, -inf strings: the agent's "not available"
    UNAVAILABLE = "unavailable"  # sensor oper status unavailable / nonoperational
    NOT_PRESENT = "not_present"  # no transceiver in the port
    DARK_PORT = "dark_port"  # optic present, no far end (oper down, admin up)
    ADMIN_DOWN = "admin_down"  # port administratively down
    DECODE_ERROR = "decode_error"  # the agent's answer could not be decoded
    BOGUS_THRESHOLD = "bogus_threshold"  # a threshold dropped as impossible (0 mW, low > high ...)
    LANE_AGGREGATE = "lane_aggregate"  # module-level zero on a multi-lane optic (Juniper)
    PLACEHOLDER = "placeholder"  # a value standing in for no reading (Rx exactly 0 dBm on an oper-down port)


METRIC_NAMES: Final[tuple[str, ...]] = tuple(m.value for m in Metric)
REASON_NAMES: Final[tuple[str, ...]] = tuple(r.value for r in Reason)

METRIC_DTYPE: Final[pl.Enum] = pl.Enum(METRIC_NAMES)
REASON_DTYPE: Final[pl.Enum] = pl.Enum(REASON_NAMES)

_SCHEMA_COLUMNS: dict[str, pl.DataType] = {
    "ts": pl.Datetime("us", "UTC"),
    "device": pl.String(),
    "port": pl.String(),
    "lane": pl.Int8(),
    "metric": METRIC_DTYPE,
    "value": pl.Float64(),
    "counter": pl.UInt64(),
    "counter_bits": pl.UInt8(),
    "uptime_cs": pl.Int64(),
    "aggregate": pl.Boolean(),
    "reason": REASON_DTYPE,
}
SAMPLE_SCHEMA: Final = pl.Schema(_SCHEMA_COLUMNS)
"""polars schema of a batch of samples. Column order is part of the contract."""

SAMPLE_COLUMNS: Final[tuple[str, ...]] = tuple(SAMPLE_SCHEMA.names())


def empty_samples() -> pl.DataFrame:
    """An empty batch with the sample schema."""
    return pl.DataFrame(schema=SAMPLE_SCHEMA)


@overload
def conform(frame: pl.DataFrame) -> pl.DataFrame: ...
@overload
def conform(frame: pl.LazyFrame) -> pl.LazyFrame: ...
def conform(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """Cast and order ``frame`` (eager or lazy) to ``SAMPLE_SCHEMA``, adding absent optional columns
    as nulls. A lazy frame stays lazy (the collector's poll conforms inside its one query).

    Raises ``ValueError`` naming the first missing required column (ts, device, metric).
    """
    have = frame.columns if isinstance(frame, pl.DataFrame) else frame.collect_schema().names()
    for required in ("ts", "device", "metric"):
        if required not in have:
            raise ValueError(f"sample batch lacks required column {required!r}")
    return frame.select(
        pl.col(n).cast(t) if n in have else pl.lit(None, dtype=t).alias(n) for n, t in SAMPLE_SCHEMA.items()
    )


def arrow_schema() -> pa.Schema:
    """The Arrow schema equivalent to ``SAMPLE_SCHEMA`` (as polars exports it)."""
    return empty_samples().to_arrow().schema
