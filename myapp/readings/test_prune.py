"""Pruning at a chosen `now`: whole buckets, the newest kept, what stays whole.

The clock is the test's: readings are recorded days ahead of the real time,
so the grace of their rules (24 h from the PUT) is over at the pruning `now`.
"""

import threading

import sqlalchemy as sa
from prometheus_client import REGISTRY

from myapp.micros import format_micros
from testing.alerts import ALERTS, rule as alert_rule
from testing.goals import GOALS, goal_url
from testing.readings import EXPORT, READINGS, STATS, ndjson_readings, reading
from testing.retention import (
    DAY,
    grace_passes,
    now,
    prune_at,
    pruned_ids_of,
    put_rules,
    rule,
)

MINUTE = 60 * 1_000_000
QUARTER = 15 * MINUTE


def base():
    """A quarter-hour two days ahead: past every grace when pruned a day later."""
    start = now() + 2 * DAY
    return start - start % QUARTER


def upload(account, post_batch, times, sensor="a", **fields):
    items = [
        reading(sensor, {"celsius": n}, recorded_at=format_micros(t), **fields)
        for n, t in enumerate(times)
    ]
    return post_batch(account, items)


def stats(account, bucket, sensor="a"):
    url = f"{STATS}?sensor={sensor}&field=celsius&bucket={bucket}&tz=UTC"
    response = account.get(url)
    assert response.status_code == 200, response.json
    return response.json["buckets"]


def listed_ids(account):
    return sorted(r["id"] for r in account.get(f"{READINGS}?limit=1000").json["items"])


PRUNED_TOTAL = "myapp_readings_pruned_total"


def test_only_whole_buckets_older_than_keep_days_go(alice, in_app, post_batch):
    start = base()
    minutes = [0, 5, 14, 15, 20, 29, 30]
    ids = upload(alice, post_batch, [start + m * MINUTE for m in minutes])
    put_rules(alice, rule(1))
    # At 1 day + 20 min, [0, 15) is wholly older than a day; [15, 30) is not.
    pruned = REGISTRY.get_sample_value(PRUNED_TOTAL) or 0
    removed = in_app(prune_at, start + DAY + 20 * MINUTE)
    assert removed == {alice.id: 3}
    assert listed_ids(alice) == ids[3:]
    # Its progress, as /metrics (and the worker's port) publish it.
    assert REGISTRY.get_sample_value(PRUNED_TOTAL) - pruned == 3


def test_the_newest_reading_of_each_sensor_is_never_pruned(alice, in_app, post_batch):
    start = base()
    upload(alice, post_batch, [start, start + MINUTE])
    (newest_b,) = upload(alice, post_batch, [start], sensor="b")
    put_rules(alice, rule(1))
    assert in_app(prune_at, start + 30 * DAY) == {alice.id: 1}
    latest = alice.get(f"{READINGS}latest").json["items"]
    assert [(r["sensor"], r["id"]) for r in latest][1] == ("b", newest_b)
    assert len(listed_ids(alice)) == 2


def test_sensors_under_no_rule_are_kept_and_the_first_match_decides(
    alice, in_app, post_batch
):
    start = base()
    for sensor in ("kitchen/temp", "kitchen/door", "garage"):
        upload(alice, post_batch, [start, start + MINUTE], sensor=sensor)
    put_rules(alice, rule(365, ["kitchen/door"]), rule(1, ["kitchen/*"]))
    assert in_app(prune_at, start + 30 * DAY) == {alice.id: 1}
    sensors = [r["sensor"] for r in alice.get(f"{READINGS}?limit=100").json["items"]]
    assert sorted(sensors) == ["garage"] * 2 + ["kitchen/door"] * 2 + ["kitchen/temp"]


def test_nothing_is_pruned_before_the_grace_ends(alice, in_app, post_batch):
    upload(alice, post_batch, [now() - 30 * DAY, now() - 30 * DAY + MINUTE])
    put_rules(alice, rule(1))
    assert in_app(prune_at, now()) == {alice.id: 0}
    in_app(grace_passes, alice.id)
    assert in_app(prune_at, now()) == {alice.id: 1}


def test_stats_latest_and_goals_stay_and_the_raw_answers_go(alice, in_app, post_batch):
    start = base()
    goal = alice.post(
        GOALS,
        json={
            "name": "a thousand",
            "target": {
                "sensor": "a",
                "field": "celsius",
                "aggregate": "sum",
                "op": ">=",
                "value": 10**6,
                "period": None,
            },
        },
    ).json
    ids = upload(alice, post_batch, [start + n * 7 * MINUTE for n in range(40)])
    put_rules(alice, rule(1))
    before = {b: stats(alice, b) for b in ("15m", "1h", "1d")}
    one_minute = stats(alice, "1m")
    latest = alice.get(f"{READINGS}latest").json
    measured = alice.get(goal_url(goal["id"])).json["measured"]["value"]

    removed = in_app(prune_at, start + DAY + 3 * 3600 * 1_000_000)
    assert removed[alice.id] > 0
    assert {b: stats(alice, b) for b in ("15m", "1h", "1d")} == before
    assert alice.get(f"{READINGS}latest").json == latest
    assert alice.get(goal_url(goal["id"])).json["measured"]["value"] == measured
    assert len(stats(alice, "1m")) == len(one_minute) - removed[alice.id]
    gone, kept = ids[: removed[alice.id]], ids[removed[alice.id] :]
    assert listed_ids(alice) == kept
    assert alice.get(f"{READINGS}{gone[0]}").status_code == 404
    exported = ndjson_readings(alice.get(f"{EXPORT}?format=ndjson"))
    assert sorted(r["id"] for r in exported) == kept
    # A person's own DELETE takes a reading out of the statistics; a prune did not.
    assert alice.delete(f"{READINGS}{kept[0]}").status_code == 204
    assert stats(alice, "1d") != before["1d"]


def test_a_late_retry_is_a_repeat_counted_nowhere(
    alice, in_app, post_batch, count_rows
):
    from myapp.readings.schemas import READING_REPEAT

    start = base()
    alice.post(ALERTS, json=alert_rule(sensor="a"))  # above 30
    client_ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(3)]
    items = [
        reading("a", {"celsius": 35}, recorded_at=format_micros(start + n * MINUTE))
        | {"client_id": client_id}
        for n, client_id in enumerate(client_ids)
    ]
    ids = post_batch(alice, items)
    put_rules(alice, rule(1))
    day_stats = stats(alice, "1d")
    events = alice.get(f"{ALERTS}events").json["items"]
    assert in_app(prune_at, start + 2 * DAY) == {alice.id: 2}
    assert in_app(pruned_ids_of, alice.id) == ids[:2]

    again = alice.post(READINGS, json=items[0])
    assert again.status_code == 200
    assert again.json == {"id": ids[0], "client_id": client_ids[0], "pruned": True}
    assert READING_REPEAT.errors(again.json) == []
    fresh = reading("a", {"celsius": 36}, recorded_at=format_micros(start + DAY))
    batch = alice.post(f"{READINGS}batch", json={"readings": items + [fresh]})
    assert batch.status_code == 201
    assert batch.json["ids"][:3] == ids and batch.json["created"] == 1
    assert count_rows(user_id=alice.id) == 2
    assert count_rows(client_id=client_ids[0]) == 0
    # Only the fresh reading counts: nothing was stored or rolled up twice.
    counts = sum(b["count"] for b in stats(alice, "1d"))
    assert counts == sum(b["count"] for b in day_stats) + 1
    assert alice.get(f"{ALERTS}events").json["items"] == events
    # The reading kept (the newest) still answers as itself.
    assert alice.post(READINGS, json=items[2]).json["id"] == ids[2]


def test_a_deleted_readings_client_id_is_free_again_but_a_pruned_one_is_not(
    alice, in_app, post_batch
):
    start = base()
    items = [
        reading("a", recorded_at=format_micros(start + n * MINUTE))
        | {"client_id": f"00000000-0000-4000-8000-{n:012d}"}
        for n in range(2)
    ]
    ids = post_batch(alice, items)
    assert alice.delete(f"{READINGS}{ids[1]}").status_code == 204
    assert alice.post(READINGS, json=items[1]).status_code == 201


def test_a_dry_run_counts_and_removes_nothing(app, alice, bob, in_app, post_batch):
    old = now() - 30 * DAY
    for account in (alice, bob):
        upload(account, post_batch, [old, old + MINUTE, old + 2 * MINUTE])
        put_rules(account, rule(1))
        in_app(grace_passes, account.id)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["readings", "prune", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would remove 4 readings of 2 users" in result.output
    assert len(listed_ids(alice)) == len(listed_ids(bob)) == 3
    result = runner.invoke(args=["readings", "prune", "--user", "bob"])
    assert "removed 2 readings of 1 users" in result.output
    assert f"(user {bob.id}: 2)" in result.output
    assert (len(listed_ids(alice)), len(listed_ids(bob))) == (3, 1)
    result = runner.invoke(args=["readings", "prune", "--user", "nobody"])
    assert result.exit_code != 0 and "No user named" in result.output


def test_a_time_budget_shrinks_the_batches_and_every_reading_still_goes(
    alice, in_app, post_batch
):
    old = now() - 30 * DAY
    upload(alice, post_batch, [old + n * MINUTE for n in range(400)])
    put_rules(alice, rule(1))
    in_app(grace_passes, alice.id)
    sizes = []
    # A budget no batch can meet: each next batch a quarter, down to the least.
    in_app(prune_at, now(), batch=160, each_batch=sizes.append, batch_seconds=1e-9)
    assert sizes[:4] == [160, 40, 10, 10] and sum(sizes) == 399
    assert len(listed_ids(alice)) == 1


def test_without_a_time_budget_every_batch_is_whole(alice, in_app, post_batch):
    old = now() - 30 * DAY
    upload(alice, post_batch, [old + n * MINUTE for n in range(400)])
    put_rules(alice, rule(1))
    in_app(grace_passes, alice.id)
    sizes = []
    in_app(prune_at, now(), batch=160, each_batch=sizes.append, batch_seconds=0)
    assert sizes == [160, 160, 79]


class DeletesUserAfter(threading.Event):
    """A stop flag that deletes the user the first time it is read after
    `batches` reads: a user deleted while their prune is under way."""

    def __init__(self, app, user_id, batches):
        super().__init__()
        self.app, self.user_id, self.left = app, user_id, batches

    def is_set(self):
        self.left -= 1
        if self.left == 0:
            from myapp.db import db

            with self.app.app_context():
                db.session.execute(
                    sa.text(f"DELETE FROM users WHERE id = {self.user_id}")
                )
                db.session.commit()
                db.session.remove()
        return super().is_set()


def test_a_user_deleted_mid_prune_is_fine(app, alice, in_app, post_batch):
    start = base()
    upload(alice, post_batch, [start + n * MINUTE for n in range(10)])
    put_rules(alice, rule(1))
    stopping = DeletesUserAfter(app, alice.id, 3)
    removed = in_app(prune_at, start + 2 * DAY, batch=2, stopping=stopping)
    assert removed == {alice.id: 2}  # one batch, then the user was gone
    assert in_app(pruned_ids_of, alice.id) == []


def test_space_goes_back_on_sqlite_and_autovacuum_comes_soon_on_postgresql(
    alice, in_app, post_batch
):
    from myapp.db import db

    def pragma(name):
        return db.session.connection().exec_driver_sql(f"PRAGMA {name}").scalar()

    def settings():
        options = db.session.execute(
            sa.text("SELECT reloptions FROM pg_class WHERE relname = 'readings'")
        ).scalar()
        return sorted(options)

    if in_app(lambda: db.engine.dialect.name) == "postgresql":
        assert in_app(settings) == [
            "autovacuum_vacuum_scale_factor=0.02",
            "autovacuum_vacuum_threshold=10000",
        ]
        return
    start = base()
    big = {"text": "x" * 8000}
    for offset in range(0, 400, 100):
        times = [start + (offset + n) * MINUTE for n in range(100)]
        post_batch(
            alice, [reading("a", big, recorded_at=format_micros(t)) for t in times]
        )
    put_rules(alice, rule(1))
    assert in_app(pragma, "auto_vacuum") == 2  # INCREMENTAL
    pages = in_app(pragma, "page_count")
    assert in_app(prune_at, start + 30 * DAY) == {alice.id: 399}
    assert in_app(pragma, "freelist_count") == 0
    assert in_app(pragma, "page_count") < pages - 700  # 399 x 8 KB went back


def test_rebuilding_rollups_leaves_users_with_retention_alone_unless_told(
    app, alice, bob, in_app, post_batch
):
    start = base()
    for account in (alice, bob):
        upload(account, post_batch, [start + n * MINUTE for n in range(40)])
    put_rules(alice, rule(1))
    in_app(prune_at, start + 30 * DAY)
    kept = stats(alice, "1d")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["readings", "rebuild-rollups"])
    assert result.exit_code == 0, result.output
    assert f"Skipped 1 users with retention rules (ids {alice.id})" in result.output
    assert "Rebuilt the rollups of 1 users." in result.output
    assert stats(alice, "1d") == kept
    runner.invoke(args=["readings", "rebuild-rollups", "--with-retention"])
    assert sum(b["count"] for b in stats(alice, "1d")) == 1  # the pruned are gone
