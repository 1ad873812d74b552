"""Two uWSGI workers adding readings to one target at once: no reading is lost
from its measures and the goal completes exactly once."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from testing.goals import GOALS, goal_url
from testing.measured import micros, text
from testing.readings import BATCH, READINGS, race, reading

BATCH_SIZE = 200


def batch(worker, round_number):
    """BATCH_SIZE readings of 1 km, each worker in its own minutes of a day."""
    start = micros(f"2024-01-{round_number + 1:02d}T{worker * 12:02d}:00:00Z")
    return {
        "readings": [
            reading(
                sensor="pedometer",
                data={"km": 1},
                recorded_at=text(start + n * 60_000_000),
            )
            for n in range(BATCH_SIZE)
        ]
    }


def test_two_workers_posting_for_one_goal_at_once_complete_it_exactly_once(
    live_server, make_account
):
    account = make_account()
    headers = {"Authorization": f"Bearer {account.access_token}"}
    for round_number in range(6):
        # Met only by both batches together: a lost update leaves it open.
        target = {
            "sensor": "pedometer",
            "field": "km",
            "aggregate": "sum",
            "op": ">=",
            "value": 2 * BATCH_SIZE,
        }
        # Started on this round's day: earlier rounds' readings do not count.
        started = f"2024-01-{round_number + 1:02d}T00:00:00Z"
        created = live_server.request(
            "POST",
            GOALS,
            {"name": "walk", "started_at": started, "target": target},
            headers,
        )
        assert created.status == 201, created.json
        bodies = [batch(worker, round_number) for worker in (0, 1)]
        responses = race(
            [
                lambda body=body: live_server.request("POST", BATCH, body, headers)
                for body in bodies
            ]
        )
        assert [r.status for r in responses] == [201, 201], [r.json for r in responses]
        goal = live_server.request(
            "GET", goal_url(created.json["id"]), None, headers
        ).json
        assert goal["measured"]["value"] == 2 * BATCH_SIZE
        assert goal["completed"] is True
        # The last item of whichever batch was added second.
        last_items = {text(micros(b["readings"][-1]["recorded_at"])) for b in bodies}
        assert goal["completed_at"] in last_items


def test_targets_set_while_uploads_run_count_every_reading_once(
    live_server, make_account
):
    """A new target's recompute and an upload in flight never miss each other."""
    account = make_account()
    headers = {"Authorization": f"Bearer {account.access_token}"}
    uploads, goals = 30, 30
    count = {
        "sensor": "pedometer",
        "field": "km",
        "aggregate": "count",
        "op": ">=",
        "value": 1e12,
    }

    def upload_all():
        for round_number in range(uploads):
            response = live_server.request(
                "POST", BATCH, batch(round_number % 2, round_number), headers
            )
            assert response.status == 201, response.json

    def create_all():
        created = []
        for n in range(goals):
            body = {"name": f"g{n}", "started_at": "2020-01-01T00:00:00Z"}
            response = live_server.request(
                "POST", GOALS, {**body, "target": count}, headers
            )
            assert response.status == 201, response.json
            created.append(response.json["id"])
        return created

    _, created = race([upload_all, create_all])
    for goal_id in created:
        shown = live_server.request("GET", goal_url(goal_id), None, headers).json
        assert shown["measured"]["value"] == uploads * BATCH_SIZE, goal_id


def test_a_target_set_while_a_deletion_is_uncommitted_waits_for_it(app, alice):
    """The deletion's transaction is held open (a receiver of its own, after the
    goals one) while a target is created on its sensor: the target's recompute
    must wait for it, or it counts the deleted reading for good."""
    from myapp.readings.signals import readings_deleted

    ids = [
        alice.post(READINGS, json=reading(sensor="pedometer", data={"km": 1})).json[
            "id"
        ]
        for _ in range(3)
    ]
    deleting, release = threading.Event(), threading.Event()

    def hold(sender, **kwargs):
        deleting.set()
        release.wait(10)

    def delete():
        client = app.test_client()
        response = client.delete(f"{READINGS}{ids[0]}", headers=alice.headers)
        assert response.status_code == 204

    count = {"sensor": "pedometer", "field": "km", "aggregate": "count"}
    body = {
        "name": "g",
        "started_at": "2020-01-01T00:00:00Z",
        "target": {**count, "op": ">=", "value": 1e12},
    }
    readings_deleted.connect(hold)
    try:
        deleter = threading.Thread(target=delete)
        deleter.start()
        assert deleting.wait(10)
        creator = ThreadPoolExecutor(1).submit(
            lambda: app.test_client().post(GOALS, json=body, headers=alice.headers)
        )
        time.sleep(0.5)  # enough to finish, were it not waiting for the deletion
        release.set()
        deleter.join()
        created = creator.result(timeout=20)
    finally:
        release.set()
        readings_deleted.disconnect(hold)
    assert created.status_code == 201, created.json
    assert created.json["measured"]["value"] == 2
