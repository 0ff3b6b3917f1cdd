"""Sample batches rendered as text format 0.0.4 from columns (polars string expressions, no
per-series Python): what scrapes get.

Same names, labels, HELP and TYPE as the prometheus-client families of
:mod:`collector.exposition.families`; ``tests/collector/test_exposition.py`` checks that both parse
to the same families.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from collector.exposition.names import (
    ABSENT,
    ABSENT_HELP,
    SWAPS_HELP,
    THRESHOLD,
    TRANSCEIVER_HELP,
    exposition_name,
    help_of,
    scale_of,
)
from collector.tables import collect_all
from linkmargin.exposition.text import esc_expr, escape, go_float
from linkmargin.samples import METRIC_NAMES, MetricKind, metric_kind

Identity = tuple[str, str, str, str, str, int]  # device, port, vendor, model, serial, swaps


def _meta() -> tuple[pl.DataFrame, dict[str, str]]:
    """Per metric: its family's name in the text (with ``_total`` for counters) and the constant pieces
    of its value line and of its absent line; per family: its HELP/TYPE header.

    Label names are sorted as prometheus-client sorts them (device, lane, [level,] port, [quantity]),
    so the constant labels of a threshold sit between lane and port, and after port.
    """
    rows: dict[str, list[str]] = {k: [] for k in ("metric", "family", "mid", "post", "a_mid")}
    scales: list[tuple[float, float]] = []
    headers: dict[str, str] = {}
    for m in METRIC_NAMES:
        kind = metric_kind(m)
        fam = exposition_name(m) + ("_total" if kind is MetricKind.COUNTER else "")
        mid, post = '",port="', '"} '
        if kind is MetricKind.THRESHOLD:
            t = THRESHOLD.match(m)
            if t is None:  # not a threshold name prometheus-client's path would export
                continue
            mid, post = f'",level="{t.group(2)}",port="', f'",quantity="{t.group(1)}"}} '
        typ = "counter" if kind is MetricKind.COUNTER else "gauge"
        headers.setdefault(fam, f"# HELP {fam} {help_of(m, kind)}\n# TYPE {fam} {typ}\n")
        rows["metric"].append(m)
        rows["family"].append(fam)
        rows["mid"].append(mid)
        rows["post"].append(post)
        rows["a_mid"].append(f'",metric="{m}",port="')
        scales.append(scale_of(m))
    headers[ABSENT] = f"# HELP {ABSENT} {ABSENT_HELP}\n# TYPE {ABSENT} gauge\n"
    mul, div = zip(*scales, strict=True)
    meta = pl.DataFrame(rows).with_columns(
        pl.Series("mul", mul, dtype=pl.Float64), pl.Series("div", div, dtype=pl.Float64)
    )
    return meta, headers


_META, HEADERS = _meta()


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
            esc_expr("device").alias("d"),
            pl.col("lane").cast(pl.String).fill_null("").alias("l"),
            esc_expr("port").alias("p"),
            "value",
            pl.col("reason").cast(pl.String).fill_null("unknown").alias("r"),
        )
        .join(_META.lazy(), on="metric", how="inner")
    )
    f = f.with_columns(pl.col("value") / pl.col("div") * pl.col("mul"))  # to the name's base unit
    has = pl.col("value").is_not_null()
    head = pl.concat_str(pl.lit('{device="'), "d", pl.lit('",lane="'), "l")
    line = pl.concat_str("family", head, "mid", "p", "post", go_float("value"), pl.lit("\n"))
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


def render_families(parts: dict[str, list[str]]) -> str:
    """Rendered batches (family -> line blocks) as one text, families sorted, each with its header."""
    return "".join(HEADERS[fam] + "".join(parts[fam]) for fam in sorted(parts))


def render_identity(identity: Iterable[Identity]) -> str:
    """Module identity as ``linkmargin_transceiver_info`` and ``linkmargin_transceiver_swaps_total``."""
    info = [
        f"# HELP linkmargin_transceiver_info {TRANSCEIVER_HELP}\n# TYPE linkmargin_transceiver_info gauge\n"
    ]
    swaps = [
        f"# HELP linkmargin_transceiver_swaps_total {SWAPS_HELP}\n"
        "# TYPE linkmargin_transceiver_swaps_total counter\n"
    ]
    for dev, port, vendor, model, serial, n in identity:  # one per port: few
        d, p = escape(dev), escape(port)
        info.append(
            f'linkmargin_transceiver_info{{device="{d}",model="{escape(model)}",port="{p}",'
            f'serial="{escape(serial)}",vendor="{escape(vendor)}"}} 1.0\n'
        )
        swaps.append(f'linkmargin_transceiver_swaps_total{{device="{d}",port="{p}"}} {float(n)!r}\n')
    return "".join(info) + "".join(swaps)
