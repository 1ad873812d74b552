"""`flask devices ...`: operator commands for devices (provisioning scripts)."""

import click
from flask.cli import AppGroup
from werkzeug.exceptions import Conflict

from myapp.devices import schemas, service
from myapp.owners import find_owner

cli = AppGroup("devices", help="Manage devices.")


@cli.command("create")
@click.option("--username", required=True, help="The owner (username or email).")
@click.option("--name", required=True, help="The device's name.")
@click.option(
    "--sensor",
    "sensors",
    multiple=True,
    help="A sensor it may write (exact, or a prefix ending in /*); repeat it. "
    "None given: any sensor.",
)
def create(username, name, sensors):
    """Add a device and print its key (only the key, on stdout), once."""
    body = {"name": name, "sensors": list(sensors) or None}
    if any(_not_text(value) for value in (name, *sensors)):
        raise click.ClickException("--name and --sensor must be valid UTF-8 text.")
    problems = schemas.CREATE.errors(body)
    if problems:
        for item in problems:
            click.echo(f"{item['pointer'].lstrip('/')}: {item['message']}", err=True)
        raise SystemExit(1)
    user_id = find_owner(login=username)
    if user_id is None:
        raise click.ClickException(f"No user named {username!r}.")
    try:
        device, key = service.create_device(user_id=user_id, **body)
    except Conflict as error:
        raise click.ClickException(error.description)
    click.echo(f"Created device {device.name!r} (id {device.id}).", err=True)
    click.echo(key)


def _not_text(value):
    """True for arguments holding undecodable bytes (as lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
