"""A rule never has more than one notification waiting; cooldowns; bounded work.

The worker's steps run here at chosen times (testing.alerts.send_due): a
controllable clock, so nothing depends on how fast the machine is.
"""

import time

import pytest

from myapp.alerts import outbox
from testing.alerts import ALERTS, finish_at, rule, send_due, threshold
from testing.readings import BATCH, READINGS, reading

SECOND = 1_000_000
HOOK = "http://127.0.0.1:9/hook"  # never contacted: the steps record answers


def post(account, celsius, sensor="kitchen/temp"):
    response = account.post(
        READINGS, json=reading(sensor=sensor, data={"celsius": celsius})
    )
    assert response.status_code == 201, response.json
    return response.json


def deliveries_list(account, rule_id):
    """GET /alerts/<id>/deliveries, oldest first."""
    page = account.get(f"{ALERTS}{rule_id}/deliveries?limit=1000").json
    return list(reversed(page["items"]))


def now():
    return int(time.time() * SECOND)


def test_a_newer_event_supersedes_undelivered_ones_each_with_an_entry(
    carol, new_rule, rows
):
    made = new_rule(carol, rule(webhook_url=HOOK))
    for celsius in (35, 20, 36):
        post(carol, celsius)
    events = [
        e["id"] for e in reversed(carol.get("/api/v1/alerts/events").json["items"])
    ]
    deliveries = rows("alert_deliveries", rule_id=made["id"])
    assert [(d["event_id"], d["status"]) for d in deliveries] == [
        (events[0], "superseded"),
        (events[1], "superseded"),
        (events[2], "pending"),
    ]
    listed = deliveries_list(carol, made["id"])
    assert [(a["event_id"], a["attempt"], a["superseded"]) for a in listed] == [
        (events[0], 0, True),
        (events[1], 0, True),
    ]
    assert {(a["channel"], a["status_code"], a["next_attempt_at"]) for a in listed} == {
        ("webhook", None, None)
    }


def test_a_superseded_delivery_that_was_tried_says_so_on_its_last_attempt(
    carol, new_rule, in_app, rows
):
    made = new_rule(carol, rule(webhook_url=HOOK))
    post(carol, 35)
    assert in_app(send_due, now(), 503) is not None
    (failed,) = deliveries_list(carol, made["id"])
    assert failed["next_attempt_at"] is not None and not failed["superseded"]
    post(carol, 20)
    (failed,) = deliveries_list(carol, made["id"])
    assert (failed["attempt"], failed["status_code"]) == (1, 503)
    assert failed["superseded"] and failed["next_attempt_at"] is None
    assert [d["status"] for d in rows("alert_deliveries")] == ["superseded", "pending"]
    # The receiver comes back: it gets the latest state, resolved, and nothing else.
    sent = in_app(send_due, now() + 3600 * SECOND, 200)
    assert sent.body and '"alert.resolved"' in sent.body
    assert in_app(send_due, now() + 7200 * SECOND, 200) is None


def test_an_upload_leaves_at_most_one_delivery_waiting_per_rule(carol, new_rule, rows):
    """Found as a hostile user: 5 rules and 2 batches of 1000 alternating
    readings left 9,995 pending deliveries (5 MB of bodies)."""
    for n in range(5):
        new_rule(carol, rule(webhook_url=HOOK, condition=threshold(above=30 + n)))
    for _ in range(2):
        items = [reading(data={"celsius": 40 if i % 2 else 20}) for i in range(1000)]
        assert carol.post(BATCH, json={"readings": items}).status_code == 201
    events = rows("alert_events")
    assert len(events) == 5 * 3  # firing(1), resolved(1000) ... : 2 + 1 per rule
    assert sorted({e["changes"] for e in events}) == [1, 999, 1000]
    pending = [d for d in rows("alert_deliveries") if d["status"] == "pending"]
    assert len(pending) == 5
    assert len(rows("alert_deliveries")) == len(events)


def test_pruning_events_never_deletes_a_pending_delivery(carol, new_rule, in_app, rows):
    made = new_rule(carol, rule(webhook_url=HOOK))
    post(carol, 35)
    (event,) = rows("alert_events")

    def prune():
        outbox.prune(rule_id=made["id"], through_event_id=event["id"])
        outbox.db.session.commit()

    in_app(prune)
    assert [d["status"] for d in rows("alert_deliveries")] == ["pending"]


@pytest.mark.parametrize(
    "seconds, status", [(0, 201), (86400, 201), (-1, 400), (86401, 400), (1.5, 400)]
)
def test_cooldown_seconds_is_0_to_86400(alice, seconds, status):
    response = alice.post(ALERTS, json=rule(cooldown_seconds=seconds))
    assert response.status_code == status, response.json
    if status == 400:
        assert response.json["errors"][0]["pointer"] == "/cooldown_seconds"
    else:
        assert response.json["cooldown_seconds"] == seconds


def test_a_rule_starts_without_cooldown_or_email_and_patch_sets_cooldown(
    alice, new_rule
):
    made = new_rule(alice, rule())
    assert (made["cooldown_seconds"], made["email"]) == (0, False)
    patched = alice.patch(f"{ALERTS}{made['id']}", json={"cooldown_seconds": 300})
    assert patched.status_code == 200 and patched.json["cooldown_seconds"] == 300


@pytest.mark.parametrize("method", ["post", "patch"])
def test_email_true_is_a_400_where_no_email_is_set_up(alice, new_rule, method):
    if method == "post":
        response = alice.post(ALERTS, json=rule(email=True))
    else:
        made = new_rule(alice, rule())
        response = alice.patch(f"{ALERTS}{made['id']}", json={"email": True})
    assert response.status_code == 400
    assert response.json["errors"][0]["pointer"] == "/email"


def test_a_flapping_sensor_notifies_at_most_once_per_cooldown_with_its_latest_state(
    carol, new_rule, in_app
):
    made = new_rule(carol, rule(webhook_url=HOOK, cooldown_seconds=600))
    start = now()
    post(carol, 35)
    first = in_app(send_due, start + SECOND, 200)
    assert '"alert.firing"' in first.body
    for celsius in (20, 36, 21, 37, 22):  # one reading per upload, flapping
        post(carol, celsius)
    assert in_app(send_due, start + 300 * SECOND, 200) is None  # cooling down
    assert in_app(send_due, start + 600 * SECOND, 200) is None
    latest = in_app(send_due, start + 601 * SECOND, 200)
    assert latest is not None and '"alert.resolved"' in latest.body
    assert '"value":22' in latest.body
    sent = [a for a in deliveries_list(carol, made["id"]) if a["status_code"] == 200]
    assert len(sent) == 2


def test_a_delivery_waits_while_an_older_one_of_its_rule_is_in_flight(
    carol, new_rule, in_app, rows
):
    made = new_rule(carol, rule(webhook_url=HOOK, cooldown_seconds=60))
    start = now()
    post(carol, 35)
    in_flight = in_app(send_due, start + SECOND, None)
    post(carol, 20)  # supersedes the one in flight
    assert in_app(send_due, start + 2 * SECOND, 200) is None  # rule order kept
    in_app(finish_at, in_flight, start + 3 * SECOND, 200)
    statuses = [d["status"] for d in rows("alert_deliveries", rule_id=made["id"])]
    assert statuses == ["delivered", "pending"]  # its 2xx came: it was delivered
    (entry,) = deliveries_list(carol, made["id"])  # no entry of its own as well
    assert (entry["attempt"], entry["status_code"], entry["superseded"]) == (
        1,
        200,
        False,
    )
    assert in_app(send_due, start + 62 * SECOND, 200) is None  # cooldown from 2xx
    assert in_app(send_due, start + 63 * SECOND, 200) is not None
