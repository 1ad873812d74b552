"""`flask readings ...`: operator commands for readings."""

import sys

import click
from flask.cli import AppGroup

from myapp.owners import find_owner
from myapp.readings.rebuild import rebuild_user, users_with_readings

cli = AppGroup("readings", help="Manage readings.")


@cli.command("rebuild-rollups")
@click.option("--username", help="Only this user (username or email).")
def rebuild_rollups(username):
    """Recompute rollups from the raw readings (after a bulk load or a restore).

    Each user is one transaction under that user's lock: their uploads wait
    for it, nothing is counted twice.
    """
    if username is None:
        user_ids = users_with_readings()
    else:
        user_id = find_owner(login=username)
        if user_id is None:
            raise click.ClickException(f"No user named {username!r}.")
        user_ids = [user_id]
    with click.progressbar(user_ids, label="users", file=sys.stderr) as bar:
        for user_id in bar:
            rebuild_user(user_id=user_id)
    click.echo(f"Rebuilt the rollups of {len(user_ids)} users.", err=True)
