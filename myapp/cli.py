"""Registers each feature's `flask` CLI commands (Flask-Migrate adds `flask db`)."""

from myapp import alerts, devices, live, readings, users


def init_app(app):
    app.cli.add_command(users.cli)
    app.cli.add_command(readings.cli)
    app.cli.add_command(devices.cli)
    app.cli.add_command(alerts.cli)
    app.cli.add_command(live.cli)
