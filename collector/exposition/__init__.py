"""Prometheus exposition of sample batches: family names (``names``), the column-rendered text
(``text``) and prometheus-client Metric families (``families``). The registry rendered for a scrape
and the HTTP server answering scrapes are the core's (:mod:`linkmargin.exposition`).

The sink that keeps the latest batches is :class:`collector.sinks.prometheus.PrometheusSink`.
"""
