"""Prometheus exposition of sample batches: family names (``names``), the column-rendered text
(``text``), prometheus-client Metric families (``families``), a registry rendered for a scrape
(``scrape``) and the HTTP server answering scrapes (``http``).

The sink that keeps the latest batches is :class:`collector.sinks.prometheus.PrometheusSink`.
"""
