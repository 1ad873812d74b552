"""`flask users ...`: operator commands for accounts."""

import click
from flask.cli import AppGroup
from werkzeug.exceptions import Conflict

from myapp.errors import ValidationFailed
from myapp.users import schemas, service

cli = AppGroup("users", help="Manage accounts.")


@cli.command("create-admin")
@click.option("--username", prompt=True)
@click.option("--email", prompt=True)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="MYAPP_ADMIN_PASSWORD",
    help="For scripts; otherwise prompted (or set MYAPP_ADMIN_PASSWORD).",
)
def create_admin(username, email, password):
    """Create an admin account."""
    body = {"username": username, "email": email, "password": password}
    problems = schemas.REGISTER.errors(body)
    if problems:
        for item in problems:
            click.echo(f"{item['pointer'].lstrip('/')}: {item['message']}", err=True)
        raise SystemExit(1)
    try:
        user = service.register(**body, is_admin=True)
    except ValidationFailed as error:
        raise click.ClickException(error.errors[0]["message"])
    except Conflict as error:
        raise click.ClickException(error.description)
    click.echo(f"Created admin {user.username} (id {user.id}).")


@cli.command("prune-sessions")
def prune_sessions():
    """Delete expired login sessions (token revocation records)."""
    count = service.prune_expired_sessions()
    click.echo(f"Pruned {count} expired login session(s).")
