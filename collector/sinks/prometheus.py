"""Prometheus exposition through a prometheus-client custom collector.

The latest batch per (device, group) is kept and rendered at scrape time, so a port or lane that
disappears from a device's batch disappears from the exposition, and :meth:`forget` removes a device.
Absent readings are not exported as numbers: they appear once in ``linkmargin_reading_absent``
with their reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

import polars as pl
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from linkmargin.samples import MetricKind, metric_kind

LABELS = ["device", "port", "lane"]
_THR = re.compile(r"^thr_(.+)_((?:high|low)_(?:alarm|warn))$")
# metric -> exposition name (units in the name, DESIGN.md "Prometheus names")
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


def exposition_name(metric: str) -> str:
    """Prometheus family name of a sample metric (counters get ``_total`` from the client)."""
    if metric.startswith("thr_"):
        return "linkmargin_module_threshold"
    return NAMES.get(metric, "linkmargin_" + metric)


class PrometheusSink(Collector):
    """Keeps the latest batch of every (device, group) and renders it on scrape."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self._latest: dict[tuple[str, str], pl.DataFrame] = {}
        # (device, port, vendor, model, serial, swaps): module identity on one info series, not on values
        self.identity: Callable[[], Iterable[tuple[str, str, str, str, str, int]]] | None = None
        if registry is not None:
            registry.register(self)

    async def __call__(self, device: str, group: str, frame: pl.DataFrame) -> None:
        """Replace the device's batch of this group."""
        self._latest[(device, group)] = frame

    def forget(self, device: str) -> None:
        """Remove every series of a device (it left the config)."""
        for key in [k for k in self._latest if k[0] == device]:
            del self._latest[key]

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        if not self._latest:
            return
        f = pl.concat(list(self._latest.values()), how="vertical_relaxed").with_columns(
            pl.col("metric").cast(pl.String),
            pl.col("lane").cast(pl.String).fill_null(""),
            pl.col("port").fill_null(""),
        )
        fams: dict[str, GaugeMetricFamily | CounterMetricFamily] = {}
        absent = GaugeMetricFamily(
            "linkmargin_reading_absent",
            "A reading the device did not give, with why",
            labels=[*LABELS, "metric", "reason"],
        )
        for metric, part in f.group_by("metric"):
            m = str(metric[0])
            kind = metric_kind(m)
            name = exposition_name(m)
            vals = part.filter(pl.col("value").is_not_null())
            fam = fams.get(name)
            if fam is None:
                if kind is MetricKind.COUNTER:
                    fam = CounterMetricFamily(name, f"{m} (raw device counter)", labels=LABELS)
                elif kind is MetricKind.THRESHOLD:
                    fam = GaugeMetricFamily(name, "Module threshold", labels=[*LABELS, "quantity", "level"])
                else:
                    fam = GaugeMetricFamily(name, m, labels=LABELS)
                fams[name] = fam
            for dev, port, lane, value in vals.select("device", "port", "lane", "value").iter_rows():
                if kind is MetricKind.THRESHOLD:
                    mt = _THR.match(m)
                    if mt:
                        fam.add_metric([dev, port, lane, mt.group(1), mt.group(2)], value)
                else:
                    fam.add_metric([dev, port, lane], value)
            for dev, port, lane, reason in (
                part.filter(pl.col("value").is_null())
                .select("device", "port", "lane", pl.col("reason").cast(pl.String))
                .iter_rows()
            ):
                absent.add_metric([dev, port, lane, m, reason or "unknown"], 1.0)
        yield from fams.values()
        yield absent
        if self.identity is not None:
            info = InfoMetricFamily(
                "linkmargin_transceiver", "Transceiver identity", labels=["device", "port"]
            )
            swaps = CounterMetricFamily(
                "linkmargin_transceiver_swaps",
                "Module swaps seen (serial changed)",
                labels=["device", "port"],
            )
            for dev, port, vendor, model, serial, n in self.identity():
                info.add_metric([dev, port], {"vendor": vendor, "model": model, "serial": serial})
                swaps.add_metric([dev, port], float(n))
            yield info
            yield swaps
