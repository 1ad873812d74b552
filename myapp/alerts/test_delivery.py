"""The delivery worker as a real process, sending to a real receiver on loopback.

The receiver checks every signature with the standardwebhooks library. Retry
delays, lease and poll are shortened (worker_env) so retries take seconds.
"""

import json
import os
import signal
import time


from testing.alerts import (
    ALERTS,
    EVENTS,
    Receiver,
    hooked_rule,
    payloads_by_rule,
    threshold,
)
from testing.readings import READINGS, reading
from myapp.timestamps import parse_timestamp
from testing.servers import wait_until


def events_of(account, rule_id):
    page = account.get(f"{EVENTS}?rule_id={rule_id}&limit=1000").json
    return list(reversed(page["items"]))


def attempts_of(account, rule_id):
    page = account.get(f"{ALERTS}{rule_id}/deliveries?limit=1000").json
    return list(reversed(page["items"]))


def test_every_event_arrives_signed_once_in_order_per_rule(
    carol, receiver, start_worker
):
    """One reading per upload, each delivered before the next: nothing superseded."""
    hot = hooked_rule(carol, receiver, "/hot", condition=threshold(above=30))
    cold = hooked_rule(carol, receiver, "/cold", condition=threshold(below=0))
    start_worker()
    total = 0
    for celsius in [35, -5, 36, 20, -6, 31, 10]:
        carol.post(READINGS, json=reading(data={"celsius": celsius}))
        total = sum(len(events_of(carol, r["id"])) for r in (hot, cold))
        arrivals = receiver.wait_for(total)
    expected = {r["id"]: events_of(carol, r["id"]) for r in (hot, cold)}
    assert total == 10
    time.sleep(0.5)
    assert len(receiver.arrivals) == total  # nothing was sent twice
    for rule_id, payloads in payloads_by_rule(arrivals).items():
        events = expected[rule_id]
        assert [p["data"]["event"] for p in payloads] == events
        assert [p["type"] for p in payloads] == [f"alert.{e['state']}" for e in events]
        assert [p["timestamp"] for p in payloads] == [e["at"] for e in events]
        rules = [p["data"]["rule"] for p in payloads]
        assert {r["sensor"] for r in rules} == {"kitchen/temp"}
        assert "webhook_secret" not in rules[0]
    ids = [a.message_id for a in arrivals]
    assert ids == [
        f"msg_alert_event_{a.payload['data']['event']['id']}" for a in arrivals
    ]
    for rule_id in expected:
        attempts = attempts_of(carol, rule_id)
        assert [(a["attempt"], a["status_code"]) for a in attempts] == [(1, 200)] * len(
            expected[rule_id]
        )
        assert {a["next_attempt_at"] for a in attempts} == {None}


def test_a_receiver_that_was_down_gets_each_rules_latest_state_only(
    carol, receiver, start_worker
):
    hot = hooked_rule(carol, receiver, "/hot", condition=threshold(above=30))
    cold = hooked_rule(carol, receiver, "/cold", condition=threshold(below=0))
    for celsius in [35, -5, 36, 20, -6, 31, 10]:
        carol.post(READINGS, json=reading(data={"celsius": celsius}))
    start_worker()
    arrivals = receiver.wait_for(2)
    time.sleep(1)
    assert len(receiver.arrivals) == 2
    for made in (hot, cold):
        latest = events_of(carol, made["id"])[-1]
        (payload,) = payloads_by_rule(arrivals)[made["id"]]
        assert payload["data"]["event"] == latest
        assert (
            payload["data"]["rule"]["state"]
            == carol.get(f"{ALERTS}{made['id']}").json["state"]
        )
        superseded = [a for a in attempts_of(carol, made["id"]) if a["superseded"]]
        assert len(superseded) == len(events_of(carol, made["id"])) - 1


def test_failed_attempts_are_retried_with_growing_delays_until_a_2xx(
    carol, start_worker
):
    """Found by breaking the code: every retry after the first delay went
    unnoticed while the tests' delays were all equal."""
    delays = [0.2, 0.6, 1.2]
    receiver = Receiver(answer=lambda path, count: 500 if count <= 3 else 200)
    try:
        made = hooked_rule(carol, receiver, "/flaky")
        carol.post(READINGS, json=reading(data={"celsius": 35}))
        start_worker(MYAPP_ALERTS_RETRY_DELAYS=json.dumps(delays))
        wait_until(lambda: len(receiver.arrivals) >= 4, 30)
        time.sleep(0.5)
        arrivals = receiver.arrivals
    finally:
        receiver.stop()
    (event,) = events_of(carol, made["id"])
    assert [a.message_id for a in arrivals] == [f"msg_alert_event_{event['id']}"] * 4
    gaps = [b.at - a.at for a, b in zip(arrivals, arrivals[1:])]
    # Each gap is at least its own delay, not the first one again (a lower
    # bound only: a loaded machine may add to a gap, never take from it).
    for gap, delay in zip(gaps, delays):
        assert gap >= delay - 0.01, (gaps, delays)
    attempts = attempts_of(carol, made["id"])
    assert [(a["attempt"], a["status_code"]) for a in attempts] == [
        (1, 500),
        (2, 500),
        (3, 500),
        (4, 200),
    ]
    assert [a["next_attempt_at"] is None for a in attempts] == [False] * 3 + [True]
    planned = [
        (parse_timestamp(a["next_attempt_at"]) - parse_timestamp(a["at"]))
        for a in attempts[:3]
    ]
    # Each planned from the end of its attempt: at least its own delay.
    for gap, delay in zip(planned, delays):
        assert gap.total_seconds() >= delay


def test_a_delivery_is_given_up_after_the_last_retry(carol, start_worker, rows):
    receiver = Receiver(answer=lambda path, count: 503)
    try:
        made = hooked_rule(carol, receiver, "/down")
        carol.post(READINGS, json=reading(data={"celsius": 35}))
        start_worker(MYAPP_ALERTS_RETRY_DELAYS="[0.2, 0.4]")
        wait_until(lambda: len(receiver.arrivals) >= 3, 20)
        time.sleep(1)
    finally:
        receiver.stop()
    assert len(receiver.arrivals) == 3
    attempts = attempts_of(carol, made["id"])
    assert [a["status_code"] for a in attempts] == [503] * 3
    assert attempts[-1]["next_attempt_at"] is None
    assert [d["status"] for d in rows("alert_deliveries")] == ["failed"]


def test_a_host_that_now_resolves_to_a_refused_address_is_never_contacted(
    carol, receiver, start_worker
):
    """Allowed when written; the worker's operator now refuses loopback."""
    made = hooked_rule(carol, receiver, "/hook")
    url = f"http://localhost:{receiver.port}/hook"
    patched = carol.patch(f"{ALERTS}{made['id']}", json={"webhook_url": url})
    assert patched.status_code == 200
    carol.post(READINGS, json=reading(data={"celsius": 35}))
    start_worker(MYAPP_WEBHOOK_ALLOW_PRIVATE="false")
    wait_until(lambda: attempts_of(carol, made["id"]), 20)
    (attempt,) = attempts_of(carol, made["id"])[:1]
    assert attempt["status_code"] is None
    assert attempt["error"] == "refused: the host resolves to a loopback address"
    assert receiver.arrivals == []


def test_a_redirect_is_not_followed(carol, start_worker):
    elsewhere = Receiver()
    redirecting = Receiver(
        answer=lambda path, count: (307, {"Location": elsewhere.url("/stolen")})
    )
    try:
        made = hooked_rule(carol, redirecting, "/hook")
        carol.post(READINGS, json=reading(data={"celsius": 35}))
        start_worker()
        wait_until(lambda: len(attempts_of(carol, made["id"])) >= 2, 20)
    finally:
        redirecting.stop()
        elsewhere.stop()
    assert elsewhere.arrivals == []
    attempts = attempts_of(carol, made["id"])
    assert [a["status_code"] for a in attempts[:2]] == [307, 307]
    assert attempts[0]["next_attempt_at"] is not None


def test_a_worker_killed_mid_delivery_loses_nothing(carol, start_worker, rows):
    receiver = Receiver(delay=0.3)
    try:
        rules = [
            hooked_rule(carol, receiver, f"/r{n}", condition=threshold(above=n))
            for n in range(12)
        ]
        carol.post(READINGS, json=reading(data={"celsius": 20}))  # all fire
        first = start_worker(MYAPP_ALERTS_WORKER_THREADS="4")
        receiver.wait_for(4)
        first.kill()  # SIGKILL: no cleanup, claims held until their lease ends
        start_worker(MYAPP_ALERTS_WORKER_THREADS="4")
        arrivals = receiver.wait_for(len(rules), timeout=60)
        # Those the killed worker sent but never recorded go again after the lease.
        wait_until(
            lambda: {d["status"] for d in rows("alert_deliveries")} == {"delivered"},
            60,
        )
    finally:
        receiver.stop()
    for rule_id, payloads in payloads_by_rule(arrivals).items():
        ids = [p["data"]["event"]["id"] for p in payloads]
        assert ids == [e["id"] for e in events_of(carol, rule_id)]
    assert {d["status"] for d in rows("alert_deliveries")} == {"delivered"}
    # Only the attempts in flight when it died may have gone out twice.
    assert len(receiver.arrivals) - len(rules) <= 4


def test_two_workers_never_send_the_same_attempt_twice(carol, start_worker, rows):
    receiver = Receiver(delay=0.02)
    try:
        rules = [
            hooked_rule(carol, receiver, f"/r{n}", condition=threshold(above=n))
            for n in range(12)
        ]
        workers = [start_worker(MYAPP_ALERTS_WORKER_THREADS="4") for _ in range(2)]
        total = 0
        for celsius in (20, -20, 20):  # each upload: every rule changes state
            posted = carol.post(READINGS, json=reading(data={"celsius": celsius}))
            assert posted.status_code == 201, posted.json  # no deadlock with them
            total = sum(len(events_of(carol, r["id"])) for r in rules)
            receiver.wait_for(total, timeout=60)
        time.sleep(0.5)
    finally:
        receiver.stop()
    sent = [a.message_id for a in receiver.arrivals]
    assert len(sent) == len(set(sent)) == total == 36
    # Each 200 is recorded just after it arrives.
    wait_until(lambda: len(rows("alert_delivery_attempts")) >= total, 30)
    attempts = rows("alert_delivery_attempts")
    assert len(attempts) == total
    assert all(worker.attempts_logged() > 0 for worker in workers)


def test_sigterm_lets_the_attempt_under_way_finish(carol, start_worker, rows):
    receiver = Receiver(delay=1.0)
    try:
        made = hooked_rule(carol, receiver, "/slow")
        carol.post(READINGS, json=reading(data={"celsius": 35}))
        worker = start_worker()
        wait_until(lambda: receiver.arrivals, 20)
        os.kill(worker.process.pid, signal.SIGTERM)
        assert worker.process.wait(timeout=20) == 0
    finally:
        receiver.stop()
    assert "stopped" in worker.log()
    assert [a["status_code"] for a in attempts_of(carol, made["id"])] == [200]
    (delivery,) = rows("alert_deliveries")
    assert (delivery["status"], delivery["claim"]) == ("delivered", None)


def test_the_worker_fires_a_silent_rule_and_delivers_it(carol, receiver, start_worker):
    made = hooked_rule(
        carol, receiver, "/quiet", condition={"type": "silence", "seconds": 1}
    )
    start_worker(
        MYAPP_ALERTS_SILENCE_CHECK_SECONDS="0.3", MYAPP_ALERTS_SILENCE_MIN_SECONDS="1"
    )
    (arrival,) = receiver.wait_for(1, timeout=20)
    event = arrival.payload["data"]["event"]
    assert arrival.payload["type"] == "alert.firing"
    assert (event["reading_id"], event["value"]) == (None, None)
    assert events_of(carol, made["id"]) == [event]
    assert arrival.payload["data"]["rule"]["state"] == "firing"
