"""Prometheus exposition of the latest sample batches: a prometheus-client custom collector, plus a
column-rendered text path for scrapes.

The latest batch per (device, group) is kept, so a port or lane that disappears from a device's
batch disappears from the exposition, and :meth:`PrometheusSink.forget` removes a device. Absent
readings are not exported as numbers: they appear once in ``linkmargin_reading_absent`` with their
reason.

Two renderings of the same families:

- :meth:`PrometheusSink.collect` yields prometheus-client ``Metric`` families (any prometheus-client
  consumer: ``generate_latest``, OpenMetrics, restricted registries). It costs one Python
  ``add_metric`` and one ``sample_line`` per series (~15 us each, issue #5's CPU budget).
- :func:`render_registry` (what :func:`serve` answers scrapes with) renders this sink's series with
  polars string expressions, one pass per batch cached until the batch is replaced, and appends the
  registry's other collectors rendered by ``generate_latest``. Same text format 0.0.4, names,
  labels, HELP and TYPE; ``tests/collector/test_exposition.py`` checks that both parse to the same
  families.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import polars as pl
from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from collector.tables import collect_all
from linkmargin.samples import METRIC_NAMES, MetricKind, metric_kind

LABELS = ["device", "port", "lane"]
_THR = re.compile(r"^thr_(.+)_((?:high|low)_(?:alarm|warn))$")
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
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def exposition_name(metric: str) -> str:
    """Prometheus family name of a sample metric (counters get ``_total`` from the client)."""
    if metric.startswith("thr_"):
        return "linkmargin_module_threshold"
    return NAMES.get(metric, "linkmargin_" + metric)


def _help_of(metric: str, kind: MetricKind) -> str:
    if kind is MetricKind.COUNTER:
        return f"{metric} (raw device counter)"
    if kind is MetricKind.THRESHOLD:
        return "Module threshold"
    return metric


def _escape(s: str) -> str:
    """A label value escaped as the text format wants it (backslash, newline, double quote)."""
    return s.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _meta() -> tuple[pl.DataFrame, dict[str, str]]:
    """Per metric: its family's name in the text (with ``_total`` for counters) and the constant pieces
    of its value line and of its absent line; per family: its HELP/TYPE header.

    Label names are sorted as prometheus-client sorts them (device, lane, [level,] port, [quantity]),
    so the constant labels of a threshold sit between lane and port, and after port.
    """
    rows: dict[str, list[str]] = {k: [] for k in ("metric", "family", "mid", "post", "a_mid")}
    headers: dict[str, str] = {}
    for m in METRIC_NAMES:
        kind = metric_kind(m)
        fam = exposition_name(m) + ("_total" if kind is MetricKind.COUNTER else "")
        mid, post = '",port="', '"} '
        if kind is MetricKind.THRESHOLD:
            t = _THR.match(m)
            if t is None:  # not a threshold name prometheus-client's path would export
                continue
            mid, post = f'",level="{t.group(2)}",port="', f'",quantity="{t.group(1)}"}} '
        typ = "counter" if kind is MetricKind.COUNTER else "gauge"
        headers.setdefault(fam, f"# HELP {fam} {_help_of(m, kind)}\n# TYPE {fam} {typ}\n")
        rows["metric"].append(m)
        rows["family"].append(fam)
        rows["mid"].append(mid)
        rows["post"].append(post)
        rows["a_mid"].append(f'",metric="{m}",port="')
    headers[ABSENT] = f"# HELP {ABSENT} {ABSENT_HELP}\n# TYPE {ABSENT} gauge\n"
    return pl.DataFrame(rows), headers


_META, _HEADERS = _meta()


def _esc_expr(col: str) -> pl.Expr:
    return (
        pl.col(col)
        .fill_null("")
        .str.replace_all("\\", r"\\", literal=True)
        .str.replace_all("\n", r"\n", literal=True)
        .str.replace_all('"', r"\"", literal=True)
    )


def _go_float(col: str) -> pl.Expr:
    """Values as the text format spells them: shortest round-trip decimal (what Go's ParseFloat reads
    back exactly), ``+Inf``/``-Inf``/``NaN`` for the non-finite."""
    v = pl.col(col)
    return (
        pl.when(v.is_nan())
        .then(pl.lit("NaN"))
        .when(v == float("inf"))
        .then(pl.lit("+Inf"))
        .when(v == float("-inf"))
        .then(pl.lit("-Inf"))
        .otherwise(v.cast(pl.String))
    )


def render_batch(frame: pl.DataFrame) -> dict[str, str]:
    """One batch's series as text lines per family (family name -> lines), vectorized.

    Every metric present in the batch contributes its family (possibly with no line: all absent),
    absent readings go to ``linkmargin_reading_absent``.
    """
    if frame.is_empty():
        return {}
    f = (
        frame.lazy()
        .select(
            pl.col("metric").cast(pl.String),
            _esc_expr("device").alias("d"),
            pl.col("lane").cast(pl.String).fill_null("").alias("l"),
            _esc_expr("port").alias("p"),
            "value",
            pl.col("reason").cast(pl.String).fill_null("unknown").alias("r"),
        )
        .join(_META.lazy(), on="metric", how="inner")
    )
    has = pl.col("value").is_not_null()
    head = pl.concat_str(pl.lit('{device="'), "d", pl.lit('",lane="'), "l")
    line = pl.concat_str("family", head, "mid", "p", "post", _go_float("value"), pl.lit("\n"))
    absent_line = pl.concat_str(
        pl.lit(ABSENT), head, "a_mid", "p", pl.lit('",reason="'), "r", pl.lit('"} 1.0\n')
    )
    # one query, collected once: every metric's family (its lines may be none: all absent) + absents
    fams, absent = collect_all(
        [
            f.group_by("family").agg(line.filter(has).str.join("").alias("lines")),
            f.filter(~has).select(absent_line.str.join("")),
        ]
    )
    out = dict(fams.iter_rows())
    if absent.height and absent.item():
        out[ABSENT] = absent.item()
    return out


class PrometheusSink(Collector):
    """Keeps the latest batch of every (device, group) and renders it on scrape."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self._latest: dict[tuple[str, str], pl.DataFrame] = {}
        self._text: dict[tuple[str, str], dict[str, str]] = {}  # rendered lines of a batch, until replaced
        self._lock = threading.Lock()
        # (device, port, vendor, model, serial, swaps): module identity on one info series, not on values
        self.identity: Callable[[], Iterable[tuple[str, str, str, str, str, int]]] | None = None
        if registry is not None:
            registry.register(self)

    async def __call__(self, device: str, group: str, frame: pl.DataFrame) -> None:
        """Replace the device's batch of this group."""
        with self._lock:
            self._latest[(device, group)] = frame
            self._text.pop((device, group), None)

    def forget(self, device: str) -> None:
        """Remove every series of a device (it left the config)."""
        with self._lock:
            for key in [k for k in self._latest if k[0] == device]:
                del self._latest[key]
                self._text.pop(key, None)

    def describe(self) -> list[Metric]:
        return []

    def render_text(self) -> str:
        """This sink's exposition in text format 0.0.4, rendered from columns (what scrapes get).

        A batch is rendered once and reused by later scrapes until the sink replaces it (a DOM batch
        polled every 60 s is scraped several times).
        """
        with self._lock:
            latest = list(self._latest.items())
            cached = dict(self._text)
        # the absent family is always there once anything was polled (as the Metric path yields it)
        parts: dict[str, list[str]] = {ABSENT: []} if latest else {}
        for key, frame in latest:
            text = cached.get(key)
            if text is None:
                text = render_batch(frame)
                with self._lock:
                    if self._latest.get(key) is frame:  # not replaced meanwhile
                        self._text[key] = text
            for fam, lines in text.items():
                parts.setdefault(fam, []).append(lines)
        out = [_HEADERS[fam] + "".join(parts[fam]) for fam in sorted(parts)]
        out.append(self._identity_text())
        return "".join(out)

    def _identity_text(self) -> str:
        if self.identity is None:
            return ""
        info = [
            "# HELP linkmargin_transceiver_info Transceiver identity\n"
            "# TYPE linkmargin_transceiver_info gauge\n"
        ]
        swaps = [
            "# HELP linkmargin_transceiver_swaps_total Module swaps seen (serial changed)\n"
            "# TYPE linkmargin_transceiver_swaps_total counter\n"
        ]
        for dev, port, vendor, model, serial, n in self.identity():  # one per port: few
            d, p = _escape(dev), _escape(port)
            info.append(
                f'linkmargin_transceiver_info{{device="{d}",model="{_escape(model)}",port="{p}",'
                f'serial="{_escape(serial)}",vendor="{_escape(vendor)}"}} 1.0\n'
            )
            swaps.append(f'linkmargin_transceiver_swaps_total{{device="{d}",port="{p}"}} {float(n)!r}\n')
        return "".join(info) + "".join(swaps)

    def collect(self) -> Iterator[Metric]:
        """The same families as prometheus-client Metric objects (for ``generate_latest`` & co)."""
        if _capture.sinks is not None:  # render_registry renders this sink itself, from columns
            _capture.sinks.append(self)
            return
        with self._lock:
            frames = list(self._latest.values())
        if not frames:
            return
        f = pl.concat(frames, how="vertical_relaxed").with_columns(
            pl.col("metric").cast(pl.String),
            pl.col("lane").cast(pl.String).fill_null(""),
            pl.col("port").fill_null(""),
        )
        fams: dict[str, GaugeMetricFamily | CounterMetricFamily] = {}
        absent = GaugeMetricFamily(ABSENT, ABSENT_HELP, labels=[*LABELS, "metric", "reason"])
        for metric, part in f.group_by("metric"):
            m = str(metric[0])
            kind = metric_kind(m)
            name = exposition_name(m)
            vals = part.filter(pl.col("value").is_not_null())
            fam = fams.get(name)
            if fam is None:
                if kind is MetricKind.COUNTER:
                    fam = CounterMetricFamily(name, _help_of(m, kind), labels=LABELS)
                elif kind is MetricKind.THRESHOLD:
                    fam = GaugeMetricFamily(name, _help_of(m, kind), labels=[*LABELS, "quantity", "level"])
                else:
                    fam = GaugeMetricFamily(name, _help_of(m, kind), labels=LABELS)
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


class _Capture(threading.local):
    sinks: list[PrometheusSink] | None = None


_capture = _Capture()


def render_registry(registry: CollectorRegistry) -> bytes:
    """The whole registry in text format 0.0.4: every :class:`PrometheusSink` in it rendered from
    columns, every other collector by prometheus-client's ``generate_latest``.

    Per thread, the sinks' ``collect`` only reports themselves while ``generate_latest`` runs, so a
    concurrent ``generate_latest`` elsewhere still gets their families.
    """
    sinks: list[PrometheusSink] = []
    _capture.sinks = sinks
    try:
        others = generate_latest(registry)
    finally:
        _capture.sinks = None
    return others + "".join(s.render_text() for s in sinks).encode()


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Scrapes are not worth a log line each."""


def serve(
    registry: CollectorRegistry, port: int, addr: str = "127.0.0.1"
) -> tuple[WSGIServer, threading.Thread]:
    """Serve :func:`render_registry` over HTTP on every path (as prometheus-client's server does),
    in a daemon thread; returns the server (``server_port``, ``shutdown()``) and its thread."""

    def app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        if environ.get("PATH_INFO") == "/favicon.ico":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b""]
        body = render_registry(registry)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))])
        return [body]

    server = make_server(addr, port, app, _Server, handler_class=_Quiet)
    t = threading.Thread(target=server.serve_forever, daemon=True, name="linkmargin-metrics")
    t.start()
    return server, t
