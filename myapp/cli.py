"""Registers each feature's `flask` CLI commands (Flask-Migrate adds `flask db`)."""


def init_app(app):
    from myapp import users

    app.cli.add_command(users.cli)
