"""Offline checks of the Grafana files: compose, provisioning, dashboards, alert rules."""
