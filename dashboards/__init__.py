"""Grafana dashboards as code: ``build.py`` writes the JSON and provisioning file kept beside it."""
