"""Sensor readings: upload with safe retries, keyset pages, stats, export, retention."""

from myapp import periodic
from myapp.readings import prune
from myapp.readings.cli import cli
from myapp.readings.endpoints import ns


def init_app(app):
    """Hands the worker process its pruning; other features hear readings
    through readings.signals."""
    periodic.add(
        app, name="retention", every="RETENTION_PRUNE_SECONDS", run=prune.scheduled
    )


__all__ = ["ns", "cli", "init_app"]
