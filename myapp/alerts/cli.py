"""`flask alerts ...`: the worker that sends webhooks and checks silence rules."""

import logging
import sys

import click
from flask import current_app
from flask.cli import AppGroup

cli = AppGroup("alerts", help="Alert rules: the delivery worker.")


@cli.command("worker")
@click.option("--threads", type=click.IntRange(1, 64), help="Sending threads.")
def worker(threads):
    """Send due webhook deliveries and fire silent rules until SIGTERM."""
    from myapp.alerts.worker import Worker

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log = logging.getLogger("myapp.alerts")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        running = Worker(current_app._get_current_object(), threads=threads)
    except ValueError as error:
        raise click.ClickException(str(error))
    running.run()
