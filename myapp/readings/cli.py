"""`flask readings ...`: operator commands for readings."""

import sys
import time

import click
from flask import current_app
from flask.cli import AppGroup

from myapp.micros import to_micros
from myapp.owners import find_owner
from myapp.timestamps import parse_timestamp
from myapp.readings.prune import describe, prune_all, users_with_rules
from myapp.readings.rebuild import rebuild_user, users_with_readings
from myapp.readings.service import now_micros

cli = AppGroup("readings", help="Manage readings.")


def _user_ids(username, every):
    if username is None:
        return every()
    user_id = find_owner(login=username)
    if user_id is None:
        raise click.ClickException(f"No user named {username!r}.")
    return [user_id]


@cli.command("rebuild-rollups")
@click.option("--username", help="Only this user (username or email).")
@click.option(
    "--with-retention",
    is_flag=True,
    help="Rebuild users with retention rules too (their pruned readings' "
    "statistics are lost).",
)
def rebuild_rollups(username, with_retention):
    """Recompute rollups from the raw readings (after a bulk load or a restore).

    Each user is one transaction under that user's lock: their uploads wait
    for it, nothing is counted twice. Users with retention rules are left
    alone unless --with-retention: readings pruned are no longer there to
    count, so their statistics would be lost.
    """
    user_ids = _user_ids(username, users_with_readings)
    if not with_retention:
        ruled = set(users_with_rules()) & set(user_ids)
        if ruled:
            click.echo(
                f"Skipped {len(ruled)} users with retention rules (ids "
                f"{', '.join(map(str, sorted(ruled)))}): --with-retention to "
                "rebuild them, losing what was pruned.",
                err=True,
            )
        user_ids = [user_id for user_id in user_ids if user_id not in ruled]
    with click.progressbar(user_ids, label="users", file=sys.stderr) as bar:
        for user_id in bar:
            rebuild_user(user_id=user_id)
    click.echo(f"Rebuilt the rollups of {len(user_ids)} users.", err=True)


@cli.command("prune")
@click.option("--dry-run", is_flag=True, help="Count what would go; remove nothing.")
@click.option("--user", "username", help="Only this user (username or email).")
# The tests' clock: prune as the worker would at another time (RFC 3339).
@click.option("--now", "at", hidden=True)
def prune(dry_run, username, at):
    """Remove the raw readings retention rules let go (statistics stay).

    Counts first, then removes in short transactions of RETENTION_PRUNE_BATCH
    readings (uploads go on), with a bar of the readings removed.
    """
    user_ids = _user_ids(username, users_with_rules)
    config = current_app.config
    now = now_micros() if at is None else to_micros(parse_timestamp(at))
    started = time.monotonic()
    counted = prune_all(now=now, batch=1, user_ids=user_ids, dry_run=True)
    if not dry_run:
        total = sum(counted.values())
        with click.progressbar(length=total, label="readings", file=sys.stderr) as bar:
            counted = prune_all(
                now=now,
                batch=config["RETENTION_PRUNE_BATCH"],
                user_ids=user_ids,
                pause=config["RETENTION_PRUNE_PAUSE"],
                batch_seconds=config["RETENTION_PRUNE_BATCH_SECONDS"],
                each_batch=bar.update,
            )
    click.echo(describe(counted, time.monotonic() - started, dry_run=dry_run), err=True)
