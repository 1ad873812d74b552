"""Silence rules: the worker's check fires them when the clock runs out."""

import threading

import sqlalchemy as sa

from myapp.alerts import judge
from myapp.db import db
from myapp.micros import to_micros
from myapp.timestamps import parse_timestamp
from testing.alerts import ALERTS, EVENTS, rule
from testing.readings import READINGS, reading

SECOND = 1_000_000


def micros(text):
    return to_micros(parse_timestamp(text))


def silence(seconds):
    return rule(condition={"type": "silence", "seconds": seconds}, name="quiet")


def check(app, now):
    with app.app_context():
        return judge.check_silence(now=now)


def events_of(account, rule_id):
    items = account.get(f"{EVENTS}?rule_id={rule_id}").json["items"]
    return [(e["state"], micros(e["at"]), e["reading_id"]) for e in reversed(items)]


def test_a_quiet_sensor_fires_once_at_the_clock_start_plus_seconds(
    carol, new_rule, loopback_app
):
    made = new_rule(carol, silence(60))
    start = micros(made["created_at"])
    assert check(loopback_app, start + 59 * SECOND) == 0
    assert check(loopback_app, start + 61 * SECOND) == 1
    assert check(loopback_app, start + 3600 * SECOND) == 0  # fires only once
    assert events_of(carol, made["id"]) == [("firing", start + 60 * SECOND, None)]
    state = carol.get(f"{ALERTS}{made['id']}").json
    assert state["state"] == "firing"
    assert micros(state["state_since"]) == start + 60 * SECOND


def test_the_next_reading_resolves_it_and_restarts_the_clock(
    carol, new_rule, loopback_app
):
    made = new_rule(carol, silence(60))
    check(loopback_app, micros(made["created_at"]) + 61 * SECOND)
    stored = carol.post(READINGS, json=reading(data={})).json
    heard = micros(stored["created_at"])
    assert events_of(carol, made["id"])[1:] == [("resolved", heard, stored["id"])]
    assert carol.get(f"{ALERTS}{made['id']}").json["state"] == "ok"
    assert check(loopback_app, heard + 59 * SECOND) == 0
    assert check(loopback_app, heard + 60 * SECOND) == 1


def test_readings_restart_the_clock_before_it_runs_out(carol, new_rule, loopback_app):
    made = new_rule(carol, silence(60))
    stored = carol.post(READINGS, json=reading(data={})).json
    heard = micros(stored["created_at"])
    assert check(loopback_app, micros(made["created_at"]) + 60 * SECOND) == 0
    assert check(loopback_app, heard + 60 * SECOND) == 1
    assert events_of(carol, made["id"]) == [("firing", heard + 60 * SECOND, None)]


def test_a_reading_after_the_clock_ran_out_records_the_missed_firing_too(
    carol, new_rule, in_app
):
    """The check runs every 15 s: a reading in between must not hide the silence.

    As if 61 s passed (the rule's clock moved back, not the test asleep)."""
    made = new_rule(carol, silence(60))

    def time_passes():
        rules = db.metadata.tables["alert_rules"]
        db.session.execute(sa.update(rules).values(due_at=rules.c.due_at - 61 * SECOND))
        db.session.commit()

    in_app(time_passes)
    stored = carol.post(READINGS, json=reading(data={})).json
    start = micros(made["created_at"])
    assert events_of(carol, made["id"]) == [
        ("firing", start - SECOND, None),
        ("resolved", micros(stored["created_at"]), stored["id"]),
    ]


def test_other_sensors_and_users_do_not_stop_the_clock(
    carol, bob, new_rule, loopback_app
):
    made = new_rule(carol, silence(60))
    carol.post(READINGS, json=reading(sensor="elsewhere", data={}))
    bob.post(READINGS, json=reading(data={}))
    assert check(loopback_app, micros(made["created_at"]) + 60 * SECOND) == 1


def test_racing_checks_fire_each_rule_once(carol, new_rule, loopback_app):
    made = [new_rule(carol, silence(60))["id"] for _ in range(20)]
    later = micros(carol.get(f"{ALERTS}{made[-1]}").json["created_at"]) + 61 * SECOND
    barrier, fired = threading.Barrier(3), []

    def race():
        barrier.wait()
        fired.append(check(loopback_app, later))

    threads = [threading.Thread(target=race) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(fired) == 20
    for rule_id in made:
        assert [e[0] for e in events_of(carol, rule_id)] == ["firing"]


def test_changing_the_seconds_restarts_the_clock(carol, new_rule, loopback_app):
    made = new_rule(carol, silence(60))
    check(loopback_app, micros(made["created_at"]) + 61 * SECOND)
    changed = carol.patch(
        f"{ALERTS}{made['id']}", json={"condition": {"type": "silence", "seconds": 120}}
    ).json
    restarted = micros(changed["updated_at"])
    assert [e[0] for e in events_of(carol, made["id"])] == ["firing", "resolved"]
    assert check(loopback_app, restarted + 119 * SECOND) == 0
    assert check(loopback_app, restarted + 120 * SECOND) == 1
