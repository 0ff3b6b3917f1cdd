"""Sample batches as prometheus-client Metric families (for ``generate_latest``, OpenMetrics,
restricted registries: any prometheus-client consumer).

It costs one Python ``add_metric`` and one ``sample_line`` per series (~15 us each, issue #5's CPU
budget), which is why scrapes get :mod:`collector.exposition.text` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import polars as pl
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric

from collector.exposition.names import (
    ABSENT,
    ABSENT_HELP,
    LABELS,
    SWAPS_HELP,
    THRESHOLD,
    TRANSCEIVER_HELP,
    exposition_name,
    help_of,
    scale_of,
)
from collector.exposition.text import Identity
from linkmargin.samples import MetricKind, metric_kind


def families(
    frames: list[pl.DataFrame], identity: Callable[[], Iterable[Identity]] | None
) -> Iterator[Metric]:
    """The families of ``frames`` (the latest batches), the absent readings, and module identity."""
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
        mul, div = scale_of(m)  # to the name's base unit, as the text path does: divide, then multiply
        fam = fams.get(name)
        if fam is None:
            if kind is MetricKind.COUNTER:
                fam = CounterMetricFamily(name, help_of(m, kind), labels=LABELS)
            elif kind is MetricKind.THRESHOLD:
                fam = GaugeMetricFamily(name, help_of(m, kind), labels=[*LABELS, "quantity", "level"])
            else:
                fam = GaugeMetricFamily(name, help_of(m, kind), labels=LABELS)
            fams[name] = fam
        for dev, port, lane, value in vals.select("device", "port", "lane", "value").iter_rows():
            if kind is MetricKind.THRESHOLD:
                mt = THRESHOLD.match(m)
                if mt:
                    fam.add_metric([dev, port, lane, mt.group(1), mt.group(2)], value / div * mul)
            else:
                fam.add_metric([dev, port, lane], value / div * mul)
        for dev, port, lane, reason in (
            part.filter(pl.col("value").is_null())
            .select("device", "port", "lane", pl.col("reason").cast(pl.String))
            .iter_rows()
        ):
            absent.add_metric([dev, port, lane, m, reason or "unknown"], 1.0)
    yield from fams.values()
    yield absent
    if identity is not None:
        info = InfoMetricFamily("linkmargin_transceiver", TRANSCEIVER_HELP, labels=["device", "port"])
        swaps = CounterMetricFamily("linkmargin_transceiver_swaps", SWAPS_HELP, labels=["device", "port"])
        for dev, port, vendor, model, serial, n in identity():
            info.add_metric([dev, port], {"vendor": vendor, "model": model, "serial": serial})
            swaps.add_metric([dev, port], float(n))
        yield info
        yield swaps
