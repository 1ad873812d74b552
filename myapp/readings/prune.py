"""Pruning: delete the raw readings retention lets go, in short batches.

Each batch is one short transaction over at most RETENTION_PRUNE_BATCH
readings of one sensor, in the order of its index (user_id, sensor,
recorded_at, id): it records their client_ids (readings_pruned_ids), sends
readings_pruned (measured goals keep a tally of them) and deletes them.
Rollups, readings_latest and alert events are not touched, so statistics of
15m and longer, the latest value and goals read the same before, during and
after a prune, and a prune killed at any point leaves them whole (a batch
commits or never happened).

Locks (PostgreSQL): the user's row FOR KEY SHARE (a user's deletion waits for
the batch, uploads do not), the sensor's readings_latest row FOR KEY SHARE
(its newest reading stays newest until the batch ends), and the readings
FOR UPDATE SKIP LOCKED, so two pruners take different batches and neither
waits. SQLite has one writer: a batch is one BEGIN IMMEDIATE.
"""

import time

import sqlalchemy as sa
from flask import current_app

from myapp.db import db, utcnow
from myapp.readings.metrics import READINGS_PRUNED
from myapp.micros import to_micros
from myapp.owners import KEY_SHARE, lock_owner, owner_exists
from myapp.rawsql import marks, run
from myapp.readings.models import RetentionPolicy
from myapp.readings.pruned import record_client_ids
from myapp.readings.retention import (
    LATEST,
    get_policy,
    latest_of_sensors,
    pruning_plan,
)
from myapp.readings.rows import READINGS, RECORDED
from myapp.readings.signals import PrunedReading, readings_pruned

# Ids in one DELETE's IN list: well within SQLite's 32,766 parameters.
BATCH_MAX = 10000
# The smallest batch a time budget shrinks to: progress even on a slow disk.
BATCH_MIN = 10


def users_with_rules():
    """Ids of the users who have a retention policy, in order."""
    found = db.session.execute(sa.select(RetentionPolicy.user_id).order_by("user_id"))
    return list(found.scalars())


def prune_user(
    *,
    user_id,
    now,
    batch,
    dry_run=False,
    stopping=None,
    pause=0.0,
    each_batch=None,
    batch_seconds=0.0,
):
    """Prune one user's readings at now; how many were (or, dry, would be) removed.

    stopping: an Event that ends the work between two batches. pause: after
    each batch, wait this many times as long as it took, so writers waiting
    for SQLite's one write lock (or for CPU) get their turn. batch_seconds:
    if set, each next batch is sized to take about that long (at most
    batch), so an upload waits on the write lock at most about that long.
    """
    policy = get_policy(user_id=user_id)
    plan = pruning_plan(policy, latest_of_sensors(user_id=user_id), now)
    db.session.rollback()  # each batch starts its own transaction
    removed = 0
    for sensor, before in plan:
        if dry_run:
            removed += _count(user_id, sensor, before)
            continue
        size = batch
        while not (stopping and stopping.is_set()):
            started = time.monotonic()
            done = _prune_batch(user_id, sensor, before, size)
            if done is None:  # the user is gone
                return removed
            removed += done
            if each_batch:
                each_batch(done)
            if done < size:
                break
            took = time.monotonic() - started
            size = next_size(size, took, batch_seconds, batch)
            _wait(stopping, took * pause)
    db.session.rollback()
    return removed


def next_size(size, took, budget, most):
    """The next batch's size: about budget seconds at this one's rate, changed
    at most 4-fold down or 2-fold up a step; most when there is no budget."""
    if not budget:
        return most
    factor = min(2.0, max(0.25, budget / max(took, 1e-6)))
    return min(most, max(BATCH_MIN, int(size * factor)))


def _wait(stopping, seconds):
    if seconds > 0:
        stopping.wait(seconds) if stopping else time.sleep(seconds)


def prune_all(
    *,
    now,
    batch,
    user_ids=None,
    dry_run=False,
    stopping=None,
    each=None,
    each_batch=None,
    pause=0.0,
    batch_seconds=0.0,
):
    """Prune every user with rules (or user_ids): {user_id: removed}, in id order.

    each(user_id, removed) is called after each user, each_batch(removed)
    after each batch (progress bars). Then,
    on SQLite, the freed pages go back to the file system (give_back_space).
    """
    if user_ids is None:
        user_ids = users_with_rules()
        db.session.rollback()
    batch = max(1, min(batch, BATCH_MAX))
    removed = {}
    for user_id in user_ids:
        if stopping and stopping.is_set():
            break
        removed[user_id] = prune_user(
            user_id=user_id,
            now=now,
            batch=batch,
            dry_run=dry_run,
            stopping=stopping,
            pause=pause,
            each_batch=each_batch,
            batch_seconds=batch_seconds,
        )
        if each:
            each(user_id, removed[user_id])
    if any(removed.values()) and not dry_run:
        give_back_space(stopping=stopping)
    return removed


# Pages (4 KiB) a step of SQLite's incremental vacuum frees: a short write lock.
VACUUM_PAGES = 2000


def give_back_space(stopping=None):
    """SQLite with auto_vacuum=INCREMENTAL: truncate the file by the pages that
    are free, VACUUM_PAGES a transaction; how many. Elsewhere nothing (0):
    PostgreSQL's autovacuum makes the space reusable (migration 0012 tunes it)."""
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return 0
    if connection.exec_driver_sql("PRAGMA auto_vacuum").scalar() != 2:
        return 0
    freed, before = 0, None
    while not (stopping and stopping.is_set()):
        free = connection.exec_driver_sql("PRAGMA freelist_count").scalar()
        if not free or free == before:  # nothing (more) it can give back
            break
        before = free
        step = min(free, VACUUM_PAGES)
        db.session.commit()
        # sqlite3's execute() steps a statement without columns once (one page);
        # executescript runs it to the end, in a transaction of its own.
        raw = db.session.connection().connection.dbapi_connection
        raw.executescript(f"PRAGMA incremental_vacuum({step});")
        connection = db.session.connection()
        freed += step
    db.session.rollback()
    return freed


def _candidates(user_id, sensor, before, latest_id, *, with_data=False):
    columns = [READINGS.c.id, READINGS.c.client_id]
    if with_data:  # for readings_pruned's receivers
        columns += [RECORDED.label("recorded_at"), READINGS.c.data]
    return (
        sa.select(*columns)
        .where(
            READINGS.c.user_id == user_id,
            READINGS.c.sensor == sensor,
            RECORDED < before,
            READINGS.c.id != latest_id,
        )
        .order_by(RECORDED, READINGS.c.id)
    )


def _latest_id(user_id, sensor, postgresql):
    query = sa.select(LATEST.c.reading_id).where(
        LATEST.c.user_id == user_id, LATEST.c.sensor == sensor
    )
    if postgresql:
        query = query.with_for_update(read=True, key_share=True)
    return db.session.execute(query).scalar()


def _count(user_id, sensor, before):
    latest_id = _latest_id(user_id, sensor, postgresql=False)
    found = _candidates(user_id, sensor, before, latest_id or 0).subquery()
    count = db.session.execute(sa.select(sa.func.count()).select_from(found))
    return count.scalar_one()


def _prune_batch(user_id, sensor, before, batch):
    """One committed batch: how many readings went, or None if the user is gone."""
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    try:
        lock_owner(user_id=user_id, strength=KEY_SHARE)
        if not owner_exists(user_id=user_id):
            return None
        latest_id = _latest_id(user_id, sensor, postgresql)
        if latest_id is None:  # every reading of the sensor was deleted meanwhile
            return 0
        receivers = bool(readings_pruned.receivers)
        query = _candidates(user_id, sensor, before, latest_id, with_data=receivers)
        query = query.limit(batch)
        if postgresql:
            query = query.with_for_update(skip_locked=True)
        rows = db.session.execute(query).all()
        if rows:
            record_client_ids(user_id=user_id, rows=rows)
            if receivers:
                pruned = [PrunedReading(r.id, r.recorded_at, r.data) for r in rows]
                readings_pruned.send(user_id=user_id, sensor=sensor, readings=pruned)
            _delete(postgresql, [row.id for row in rows])
        db.session.commit()
        READINGS_PRUNED.inc(len(rows))  # pruning's progress, for operators
        return len(rows)
    except BaseException:
        db.session.rollback()
        raise


def _delete(postgresql, ids):
    if postgresql:
        run("DELETE FROM readings WHERE id = ANY(%s)", (ids,))
    else:
        run(f"DELETE FROM readings WHERE id IN ({marks('?', len(ids))})", ids)


def scheduled(stopping):
    """The worker's run: prune every user with rules; its one log line."""
    started = time.monotonic()
    removed = prune_all(
        now=to_micros(utcnow()),
        batch=current_app.config["RETENTION_PRUNE_BATCH"],
        stopping=stopping,
        pause=current_app.config["RETENTION_PRUNE_PAUSE"],
        batch_seconds=current_app.config["RETENTION_PRUNE_BATCH_SECONDS"],
    )
    return describe(removed, time.monotonic() - started)


def describe(removed, seconds, dry_run=False):
    """One line: readings removed in all, per user, and the time taken."""
    per_user = ", ".join(f"user {u}: {n}" for u, n in removed.items() if n)
    verb = "would remove" if dry_run else "removed"
    return (
        f"retention: {verb} {sum(removed.values())} readings of {len(removed)} "
        f"users in {seconds:.2f} s" + (f" ({per_user})" if per_user else "")
    )
