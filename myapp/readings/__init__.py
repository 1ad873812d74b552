"""Sensor readings: upload with safe retries, keyset pages, stats and export."""

from myapp.readings.cli import cli
from myapp.readings.endpoints import ns


def init_app(app):
    """Nothing to hand in: other features hear readings through readings.signals."""


__all__ = ["ns", "cli", "init_app"]
