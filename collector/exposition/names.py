"""What the exposition calls things: family names (base units in the name), value scales, HELP texts,
label names (Prometheus naming practice: https://prometheus.io/docs/practices/naming/)."""

from __future__ import annotations

import re

from linkmargin.samples import MetricKind

LABELS = ["device", "port", "lane"]
THRESHOLD = re.compile(r"^thr_(.+)_((?:high|low)_(?:alarm|warn))$")  # quantity, level
# metric -> (exposition name, HELP: what it is and in which unit). Counters get ``_total``.
# docs/ARCHITECTURE.md "Prometheus names".
FAMILIES: dict[str, tuple[str, str]] = {
    "rx_power_dbm": ("linkmargin_rx_power_dbm", "Received optical power (average) per lane, dBm"),
    "tx_power_dbm": ("linkmargin_tx_power_dbm", "Transmitted optical power (average) per lane, dBm"),
    "tx_bias_ma": ("linkmargin_tx_bias_milliamperes", "Laser bias current per lane, milliamperes"),
    "temperature_c": ("linkmargin_temperature_celsius", "Transceiver module temperature, degrees Celsius"),
    "laser_temperature_c": ("linkmargin_laser_temperature_celsius", "Laser temperature, degrees Celsius"),
    "voltage_v": ("linkmargin_voltage_volts", "Transceiver supply voltage, volts"),
    "pre_fec_ber": (
        "linkmargin_pre_fec_ber",
        "Bit error ratio before FEC correction, as the device computes it (a ratio, no unit)",
    ),
    "fec_corrected_cw": (
        "linkmargin_fec_corrected_codewords",
        "FEC codewords with errors the FEC corrected, per port (raw device counter)",
    ),
    "fec_uncorrected_cw": (
        "linkmargin_fec_uncorrected_codewords",
        "FEC codewords the FEC could not correct (frames lost), per port (raw device counter)",
    ),
    "fec_symbol_errors": (
        "linkmargin_fec_symbol_errors",
        "Symbol errors the FEC saw, per port (raw device counter)",
    ),
    "pcs_bit_errors": ("linkmargin_pcs_bit_errors", "Bit errors after FEC at the PCS (raw device counter)"),
    "in_errors": ("linkmargin_in_errors", "Received packets with errors, ifInErrors (raw device counter)"),
    "out_errors": ("linkmargin_out_errors", "Packets not sent for errors, ifOutErrors (raw device counter)"),
    "in_discards": (
        "linkmargin_in_discards",
        "Received packets discarded, ifInDiscards (raw device counter)",
    ),
    "fcs_errors": (
        "linkmargin_fcs_errors",
        "Received frames with a bad frame check sequence (CRC) (raw device counter)",
    ),
    "symbol_errors": (
        "linkmargin_symbol_errors",
        "Invalid symbols received on the port (raw device counter)",
    ),
    "in_octets": ("linkmargin_in_octets", "Bytes received, ifHCInOctets (raw device counter)"),
    "out_octets": ("linkmargin_out_octets", "Bytes sent, ifHCOutOctets (raw device counter)"),
    "phy_state_changes": (
        "linkmargin_phy_state_changes",
        "Physical-layer state changes of the port (raw device counter)",
    ),
    "oper_status": (
        "linkmargin_oper_status",
        "Port operational status, IF-MIB ifOperStatus (1 up, 2 down, 3 testing, 5 dormant, 7 lowerLayerDown)",
    ),
    "admin_status": (
        "linkmargin_admin_status",
        "Port administrative status, IF-MIB ifAdminStatus (1 up, 2 down, 3 testing)",
    ),
    "last_change_cs": (
        "linkmargin_last_change_seconds",
        "Agent uptime at the port's last operational status change (ifLastChange), seconds",
    ),
    "counter_discontinuity_cs": (
        "linkmargin_counter_discontinuity_seconds",
        "Agent uptime at the port's last counter discontinuity (ifCounterDiscontinuityTime), seconds",
    ),
    "speed_mbps": ("linkmargin_speed_bits_per_second", "Port speed (ifHighSpeed), bits per second"),
    "sys_uptime_cs": ("linkmargin_sys_uptime_seconds", "Agent uptime (sysUpTime), seconds"),
}
# metric -> (multiplier, divisor) from the Sample's unit to the base unit of its exposition name
# (a divisor, not a factor of 0.01: 6001 cs is 60.01 s, not 60.010000000000005)
SCALES: dict[str, tuple[float, float]] = {
    "last_change_cs": (1.0, 100.0),
    "counter_discontinuity_cs": (1.0, 100.0),
    "sys_uptime_cs": (1.0, 100.0),
    "speed_mbps": (1e6, 1.0),
}
THRESHOLD_NAME = "linkmargin_module_threshold"
THRESHOLD_HELP = (
    "Alarm and warning thresholds the transceiver module publishes, by quantity and level, "
    "in the quantity's unit (dBm, milliamperes, degrees Celsius, volts)"
)
ABSENT = "linkmargin_reading_absent"
ABSENT_HELP = "1 for each reading the device did not give (never exported as 0), with the reason"
TRANSCEIVER_HELP = "Transceiver identity from the device's inventory: vendor, model, serial (value 1)"
SWAPS_HELP = "Transceiver swaps seen on the port (the serial changed between discoveries)"


def exposition_name(metric: str) -> str:
    """Prometheus family name of a sample metric (counters get ``_total`` from the client)."""
    if metric.startswith("thr_"):
        return THRESHOLD_NAME
    return FAMILIES[metric][0] if metric in FAMILIES else "linkmargin_" + metric


def scale_of(metric: str) -> tuple[float, float]:
    """(multiplier, divisor) that turn the Sample's value into the base unit the family name says."""
    return SCALES.get(metric, (1.0, 1.0))


def help_of(metric: str, kind: MetricKind) -> str:
    """The HELP text of a metric's family: what it is and in which unit."""
    if kind is MetricKind.THRESHOLD:
        return THRESHOLD_HELP
    return FAMILIES[metric][1]
