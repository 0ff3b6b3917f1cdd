"""Prometheus text format 0.0.4 rendered from columns, shared by every part that serves /metrics:
the column expressions and a family's lines (``text``), a registry rendered for one scrape with its
column-rendered collectors (``scrape``) and the HTTP server answering scrapes (``http``)."""
