"""Alert rules on readings: events, and their signed webhooks (with a worker)."""

from myapp.alerts import judge, outbox
from myapp.alerts.cli import cli
from myapp.alerts.endpoints import ns
from myapp.metrics import on_scrape
from myapp.readings.signals import readings_stored


def init_app(app):
    """Every upload's new readings are judged inside its transaction."""
    readings_stored.connect(judge.on_readings_stored)
    on_scrape(app, outbox.gauges)


__all__ = ["ns", "cli", "init_app"]
