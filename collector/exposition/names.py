"""What the exposition calls things: family names (units in the name), HELP texts, label names."""

from __future__ import annotations

import re

from linkmargin.samples import MetricKind

LABELS = ["device", "port", "lane"]
THRESHOLD = re.compile(r"^thr_(.+)_((?:high|low)_(?:alarm|warn))$")  # quantity, level
# metric -> exposition name (units in the name, docs/ARCHITECTURE.md "Prometheus names")
NAMES = {
    "rx_power_dbm": "linkmargin_rx_power_dbm",
    "tx_power_dbm": "linkmargin_tx_power_dbm",
    "tx_bias_ma": "linkmargin_tx_bias_milliamperes",
    "temperature_c": "linkmargin_temperature_celsius",
    "laser_temperature_c": "linkmargin_laser_temperature_celsius",
    "voltage_v": "linkmargin_voltage_volts",
    "pre_fec_ber": "linkmargin_pre_fec_ber",
    "fec_corrected_cw": "linkmargin_fec_corrected_codewords",
    "fec_uncorrected_cw": "linkmargin_fec_uncorrected_codewords",
    "fec_symbol_errors": "linkmargin_fec_symbol_errors",
    "pcs_bit_errors": "linkmargin_pcs_bit_errors",
    "in_errors": "linkmargin_in_errors",
    "out_errors": "linkmargin_out_errors",
    "in_discards": "linkmargin_in_discards",
    "fcs_errors": "linkmargin_fcs_errors",
    "symbol_errors": "linkmargin_symbol_errors",
    "in_octets": "linkmargin_in_octets",
    "out_octets": "linkmargin_out_octets",
    "phy_state_changes": "linkmargin_phy_state_changes",
    "oper_status": "linkmargin_oper_status",
    "admin_status": "linkmargin_admin_status",
    "last_change_cs": "linkmargin_last_change_centiseconds",
    "speed_mbps": "linkmargin_speed_mbps",
    "sys_uptime_cs": "linkmargin_sys_uptime_centiseconds",
}
ABSENT = "linkmargin_reading_absent"
ABSENT_HELP = "A reading the device did not give, with why"
TRANSCEIVER_HELP = "Transceiver identity"
SWAPS_HELP = "Module swaps seen (serial changed)"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def exposition_name(metric: str) -> str:
    """Prometheus family name of a sample metric (counters get ``_total`` from the client)."""
    if metric.startswith("thr_"):
        return "linkmargin_module_threshold"
    return NAMES.get(metric, "linkmargin_" + metric)


def help_of(metric: str, kind: MetricKind) -> str:
    """The HELP text of a metric's family."""
    if kind is MetricKind.COUNTER:
        return f"{metric} (raw device counter)"
    if kind is MetricKind.THRESHOLD:
        return "Module threshold"
    return metric
