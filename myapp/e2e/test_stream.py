"""GET /api/v1/stream over real uWSGI (myapp.ini), with a real redis-server.

Events reach an open stream after an upload commits, replay by Last-Event-ID
from the shared store, per-user (429) and per-process (503) limits, the end of
a stream at its token's expiry or its session's logout, heartbeats that outlive
the harakiri watchdog, and a worker killed with SIGKILL.
"""

import os
import signal
import time

import jwt

from testing.accounts import register_over_http
from testing.http import Http
from testing.servers import wait_until
from testing.streams import EventStream

READINGS = "/api/v1/readings/"
BATCH = "/api/v1/readings/batch"
# One process, 3 threads: 2 streams at once, and a thread for everything else.
QUICK = {"MYAPP_LIVE_HEARTBEAT_SECONDS": "1", "MYAPP_LIVE_SESSION_CHECK_SECONDS": "1"}


def serve(uwsgi, redis_url=None, processes=1, threads=3, **env):
    extra = dict(QUICK, **env)
    if redis_url:
        extra["REDIS_URL"] = redis_url
    return uwsgi(extra, processes=processes, threads=threads)


def upload(person, sensor="kitchen/temp", value=21.5):
    answer = person.request("POST", READINGS, {"sensor": sensor, "data": {"t": value}})
    assert answer.status == 201, answer.body
    return answer.json


def test_an_upload_reaches_an_open_stream_after_it_commits(uwsgi, redis_url):
    server = serve(uwsgi, redis_url)
    person = register_over_http(Http(server))
    stream = EventStream(server, person.access_token)
    assert stream.status == 200
    assert stream.response.getheader("Content-Type").startswith("text/event-stream")
    stored = upload(person)
    event = stream.next_event()
    assert event.name == "readings"
    assert event.data["more"] == 0
    assert [item["id"] for item in event.data["items"]] == [stored["id"]]
    assert event.data["items"][0]["data"] == {"t": 21.5}
    stream.close()


def test_an_alert_event_follows_the_upload_that_fired_it(uwsgi, redis_url):
    server = serve(uwsgi, redis_url)
    person = register_over_http(Http(server))
    rule = {
        "name": "Too warm",
        "sensor": "kitchen/temp",
        "condition": {"type": "threshold", "field": "t", "above": 30},
    }
    created = person.request("POST", "/api/v1/alerts/", rule)
    assert created.status == 201, created.body
    stream = EventStream(server, person.access_token)
    stored = upload(person, value=35)
    assert stream.next_event().name == "readings"
    alert = stream.next_event()
    assert alert.name == "alert"
    assert alert.data["event"]["reading_id"] == stored["id"]
    assert alert.data["rule"]["id"] == created.json["id"]
    assert alert.data["rule"]["state"] == "firing"
    stream.close()


def test_a_batch_event_holds_100_newest_first_and_counts_the_rest(uwsgi, redis_url):
    server = serve(uwsgi, redis_url)
    person = register_over_http(Http(server))
    stream = EventStream(server, person.access_token)
    readings = [
        {
            "sensor": "s",
            "recorded_at": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
            "data": {"n": i},
        }
        for i in range(120)
    ]
    answer = person.request("POST", BATCH, {"readings": readings})
    assert answer.status == 201, answer.body
    event = stream.next_event()
    assert event.data["more"] == 20
    assert [item["data"]["n"] for item in event.data["items"]] == list(
        range(119, 19, -1)
    )
    stream.close()


def test_another_users_upload_never_reaches_a_stream(uwsgi, redis_url):
    server = serve(uwsgi, redis_url)
    alice, bob = (register_over_http(Http(server)) for _ in range(2))
    stream = EventStream(server, alice.access_token)
    upload(bob)
    mine = upload(alice)
    assert stream.next_event().data["items"][0]["id"] == mine["id"]
    stream.close()


def test_last_event_id_replays_what_was_missed_and_unknown_ids_reset(uwsgi, redis_url):
    # Closed streams free their threads at their next heartbeat: room for 3.
    server = serve(uwsgi, redis_url, threads=4)
    person = register_over_http(Http(server))
    stream = EventStream(server, person.access_token)
    upload(person, value=1)
    first = stream.next_event()
    stream.close()
    missed = [upload(person, value=v)["id"] for v in (2, 3)]

    again = EventStream(server, person.access_token, last_event_id=first.id)
    replayed = [again.next_event(), again.next_event()]
    assert [e.data["items"][0]["id"] for e in replayed] == missed
    assert [int(e.id) for e in replayed] == [int(first.id) + 1, int(first.id) + 2]
    again.close()

    unknown = EventStream(server, person.access_token, last_event_id=999999)
    assert unknown.next_event().name == "reset"
    unknown.close()


def test_a_user_past_the_stream_limit_gets_429(uwsgi, redis_url):
    server = serve(uwsgi, redis_url, threads=4, MYAPP_LIVE_STREAMS_PER_USER="2")
    person = register_over_http(Http(server))
    held = [EventStream(server, person.access_token) for _ in range(2)]
    assert [s.status for s in held] == [200, 200]
    refused = EventStream(server, person.access_token)
    assert refused.status == 429
    assert refused.response.getheader("Content-Type") == "application/problem+json"
    assert int(refused.response.getheader("Retry-After")) >= 1
    for stream in held:
        stream.close()


def test_a_departed_clients_slot_frees(uwsgi, redis_url):
    server = serve(uwsgi, redis_url, MYAPP_LIVE_STREAMS_PER_USER="1")
    person = register_over_http(Http(server))
    EventStream(server, person.access_token).close()

    def reopened():
        stream = EventStream(server, person.access_token)
        stream.close()
        return stream.status == 200

    wait_until(reopened, 30, interval=0.5, what="the slot freed")


def test_past_streams_per_process_a_503_and_other_requests_still_served(uwsgi):
    """Without Redis (in-process store); threads 2 - 1 = 1 stream per process."""
    server = serve(uwsgi, threads=2)
    alice, bob = (register_over_http(Http(server)) for _ in range(2))
    held = EventStream(server, alice.access_token)
    assert held.status == 200
    refused = EventStream(server, bob.access_token)
    assert refused.status == 503
    assert int(refused.response.getheader("Retry-After")) >= 1
    assert Http(server).request("GET", "/api/v1/health").status == 200
    stored = upload(alice)
    assert held.next_event().data["items"][0]["id"] == stored["id"]
    held.close()


def test_an_expired_token_ends_its_stream(uwsgi, redis_url, app):
    server = serve(uwsgi, redis_url)
    person = register_over_http(Http(server))
    claims = jwt.decode(person.access_token, options={"verify_signature": False})
    claims["exp"] = int(time.time()) + 2
    short = jwt.encode(claims, app.config["JWT_SECRET_KEY"], algorithm="HS256")
    stream = EventStream(server, short)
    assert stream.status == 200
    assert stream.ends(timeout=60)


def test_logout_ends_the_stream(uwsgi, redis_url):
    server = serve(uwsgi, redis_url)
    person = register_over_http(Http(server))
    stream = EventStream(server, person.access_token)
    assert stream.status == 200
    assert person.request("POST", "/api/v1/auth/logout").status in (200, 204)
    assert stream.ends(timeout=60)


def test_a_device_key_gets_403(uwsgi, redis_url):
    server = serve(uwsgi, redis_url)
    person = register_over_http(Http(server))
    device = person.request("POST", "/api/v1/devices/", {"name": "box"})
    assert device.status == 201, device.body
    refused = EventStream(server, device.json["key"])
    assert refused.status == 403


def test_a_stream_outlives_the_harakiri_watchdog(uwsgi, redis_url):
    """Harakiri 2 s, heartbeats every second: a quiet stream is not killed."""
    server = serve(uwsgi, redis_url, MYAPP_HARAKIRI="2")
    person = register_over_http(Http(server))
    stream = EventStream(server, person.access_token)
    wait_until(lambda: stream.heartbeats >= 6, 30, what="six heartbeats")
    stored = upload(person)
    assert stream.next_event().data["items"][0]["id"] == stored["id"]
    assert "HARAKIRI" not in server.log()
    stream.close()


def test_a_worker_killed_with_sigkill_loses_no_event_on_reconnect(uwsgi, redis_url):
    server = serve(uwsgi, redis_url, MYAPP_LIVE_STREAMS_PER_USER="1")
    person = register_over_http(Http(server))
    stream = EventStream(server, person.access_token)
    upload(person, value=1)
    seen = stream.next_event()
    (worker,) = server.worker_pids()
    os.kill(worker, signal.SIGKILL)
    assert stream.ends(timeout=30)
    wait_until(
        lambda: Http(server).request("GET", "/api/v1/health").status == 200,
        60,
        what="a new worker",
    )
    missed = upload(person, value=2)

    def reconnected():
        again = EventStream(server, person.access_token, last_event_id=seen.id)
        if again.status != 200:  # the dead worker's lease has not run out yet
            return None
        return again

    again = None

    def reopened():
        nonlocal again
        again = reconnected()
        return again is not None

    wait_until(reopened, 30, interval=0.5, what="the dead stream's slot freed")
    event = again.next_event()
    assert event.data["items"][0]["id"] == missed["id"]
    again.close()
