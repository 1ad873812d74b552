"""Pruning as real processes: the worker's runs, two workers, kill -9, uWSGI.

Time is the test's: a prune process is told its `now` (--now), and a grace
ends when the test moves prunes_from back (grace_passes); nothing sleeps.
"""

import signal
import uuid

import pytest
import sqlalchemy as sa

from myapp.db import db
from myapp.micros import format_micros
from testing.alerts import WorkerProcess, worker_env
from testing.goals import GOALS, goal_url
from testing.readings import READINGS, STATS, reading
from testing.retention import (
    DAY,
    RETENTION,
    grace_passes,
    now,
    prune_process,
    pruned_ids_of,
    put_rules,
    removed_in,
    rule,
)
from testing.servers import wait_until

MINUTE = 60 * 1_000_000


@pytest.fixture
def start_worker(database_url):
    """start(**env): a worker process; each must stop cleanly (exit 0) at the end."""
    started = []

    def start(**env):
        started.append(WorkerProcess(worker_env(database_url, **env), name="pruner"))
        return started[-1]

    yield start
    for worker in started:
        if worker.process.returncode is None:
            assert worker.stop() == 0, worker.log()[-3000:]


def old_readings(account, post_batch, count, sensor="a", start=None):
    start = now() - 30 * DAY if start is None else start
    items = [
        reading(
            sensor, {"celsius": n % 50}, recorded_at=format_micros(start + n * MINUTE)
        )
        | {"client_id": client_id(sensor, n)}
        for n in range(count)
    ]
    return post_batch(account, items)


def client_id(sensor, n):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{sensor}/{n}"))


def count_readings(in_app, user_id):
    from myapp.db import db

    def run():
        query = sa.text("SELECT count(*) FROM readings WHERE user_id = :u")
        return db.session.execute(query, {"u": user_id}).scalar_one()

    return in_app(run)


def test_the_worker_prunes_at_start_and_the_grace_holds_across_restarts(
    alice, bob, post_batch, in_app, start_worker
):
    old_readings(alice, post_batch, 30)
    old_readings(bob, post_batch, 5)
    put_rules(alice, rule(1))
    put_rules(bob, rule(1))

    for _ in range(2):  # in the grace, before and after a restart: nothing goes
        worker = start_worker()
        wait_until(lambda: "retention: removed" in worker.log(), 30, 0.05, "a run")
        assert worker.stop() == 0
        assert "retention: removed 0 readings of 2 users" in worker.log()
    assert count_readings(in_app, alice.id) == 30

    in_app(grace_passes, alice.id)
    worker = start_worker(MYAPP_RETENTION_PRUNE_SECONDS="0.05")
    wait_until(lambda: worker.log().count("retention: ") >= 3, 30, 0.05, "3 runs")
    assert worker.stop() == 0
    lines = [line for line in worker.log().splitlines() if "retention: " in line]
    assert "removed 29 readings of 2 users in " in lines[0]
    assert lines[0].endswith(f"s (user {alice.id}: 29)")
    assert "removed 0 readings" in lines[1]
    assert count_readings(in_app, alice.id) == 1
    assert count_readings(in_app, bob.id) == 5


def test_two_workers_prune_without_double_work_or_loss(
    alice, bob, post_batch, in_app, start_worker
):
    for account in (alice, bob):
        old_readings(account, post_batch, 600)
        old_readings(account, post_batch, 1, sensor="b")
        put_rules(account, rule(1))
        in_app(grace_passes, account.id)
    workers = [start_worker(MYAPP_RETENTION_PRUNE_BATCH="7") for _ in range(2)]
    for worker in workers:
        wait_until(lambda: "retention: removed" in worker.log(), 60, 0.05, "a run")
    for worker in workers:
        assert worker.stop() == 0
    assert sum(removed_in(worker.log()) for worker in workers) == 2 * 599
    for account in (alice, bob):
        assert count_readings(in_app, account.id) == 2
        assert len(in_app(pruned_ids_of, account.id)) == 599


class Writer:
    """Holds the database's write lock (SQLite) or a user's row (PostgreSQL)
    from another connection, so a pruner stops at its next batch."""

    def __init__(self, database_url, user_id):
        self.engine = sa.create_engine(database_url)
        self.connection = self.engine.raw_connection()
        if self.engine.dialect.name == "sqlite":
            self.connection.isolation_level = None
            self.connection.execute("BEGIN IMMEDIATE")
        else:
            cursor = self.connection.cursor()
            cursor.execute("SELECT id FROM users WHERE id = %s FOR UPDATE", (user_id,))

    def release(self):
        self.connection.rollback()
        self.connection.close()
        self.engine.dispose()


def test_a_prune_killed_halfway_leaves_stats_latest_and_goals_whole(
    alice, post_batch, in_app, database_url
):
    start = now() + DAY
    start -= start % (15 * MINUTE)
    goal = alice.post(
        GOALS,
        json={
            "name": "sum",
            "target": {
                "sensor": "a",
                "field": "celsius",
                "aggregate": "count",
                "op": ">=",
                "value": 10**6,
                "period": None,
            },
        },
    ).json
    total = 1500
    old_readings(alice, post_batch, total, start=start)
    put_rules(alice, rule(1))

    def seen():
        urls = [f"{STATS}?sensor=a&field=celsius&bucket={b}" for b in ("15m", "1d")]
        urls += [f"{READINGS}latest", goal_url(goal["id"])]
        answers = [alice.get(url).json for url in urls]
        del answers[-1]["measured"]["as_of"]  # when it was read
        return answers

    before = seen()
    env = worker_env(database_url, MYAPP_RETENTION_PRUNE_BATCH="1")
    at = format_micros(start + 10 * DAY)
    pruner = prune_process(env, "--now", at)
    wait_until(lambda: count_readings(in_app, alice.id) < total, 60, 0.01, "a batch")
    writer = Writer(database_url, alice.id)
    try:
        left = count_readings(in_app, alice.id)
        assert 1 < left < total, "the prune ended before it could be stopped"
        pruner.send_signal(signal.SIGKILL)
        pruner.wait()
    finally:
        writer.release()
    assert count_readings(in_app, alice.id) == left
    # Every batch committed whole: each reading gone has its client_id kept,
    # and its tally for measured goals.
    assert len(in_app(pruned_ids_of, alice.id)) == total - left
    assert in_app(goal_pruned_readings, alice.id) == total - left
    assert seen() == before

    again = prune_process(env, "--now", at)
    assert again.wait(timeout=120) == 0
    with open(again.log_path) as log:
        assert removed_in(log.read()) == left - 1
    assert count_readings(in_app, alice.id) == 1
    assert len(in_app(pruned_ids_of, alice.id)) == total - 1
    assert seen() == before
    # The goal recomputed from what remains (nothing) and what was pruned.
    newest = alice.get(f"{READINGS}latest").json["items"][0]["id"]
    assert alice.delete(f"{READINGS}{newest}").status_code == 204
    assert alice.get(goal_url(goal["id"])).json["measured"]["value"] == total - 1


def goal_pruned_readings(user_id):
    """Readings counted in the user's goal_pruned tallies (app context)."""
    found = db.session.execute(
        sa.text("SELECT sum(readings) FROM goal_pruned WHERE user_id = :u"),
        {"u": user_id},
    )
    return found.scalar()


def test_over_uwsgi_a_late_retry_of_a_pruned_reading_answers_pruned(
    live_server, alice, post_batch, in_app, database_url
):
    headers = {"Authorization": f"Bearer {alice.access_token}"}
    ids = old_readings(alice, post_batch, 3)
    put = live_server.request(
        "PUT", RETENTION, {"rules": [rule(2, ["a"])]}, headers=headers
    )
    assert put.status == 200, put.body
    assert live_server.request("GET", RETENTION, headers=headers).json == put.json
    preview = live_server.request("GET", f"{RETENTION}/preview", headers=headers)
    assert preview.status == 200 and preview.json["total"] == 2
    in_app(grace_passes, alice.id)
    pruner = prune_process(worker_env(database_url))
    assert pruner.wait(timeout=60) == 0
    first = reading("a", {"celsius": 0}, recorded_at=format_micros(now() - 30 * DAY))
    first["client_id"] = client_id("a", 0)
    retry = live_server.request("POST", READINGS, first, headers=headers)
    assert retry.status == 200
    assert retry.json == {"id": ids[0], "client_id": first["client_id"], "pruned": True}


def test_the_worker_is_handed_pruning_at_least_hourly(app):
    from myapp import periodic

    (job,) = [job for job in periodic.jobs(app) if job.name == "retention"]
    assert app.config[job.every] <= 3600
