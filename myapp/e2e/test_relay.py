"""Streams behind the shipped nginx site are the relay's, not uWSGI's threads.

A real nginx runs deploy/nginx/myapp.conf in front of uWSGI (one process, two
threads) and the stream relay (`flask live relay`), with a real redis-server:
more streams than uWSGI has threads stay open while normal requests are
answered, every stream gets its events, refusals are the app's problems, and
neither a uWSGI worker nor the relay killed with SIGKILL loses an event.
"""

import json
import os
import signal
import time

import jwt
import pytest

from myapp.live.store import Limits, RedisStore
from testing.accounts import register_over_http
from testing.http import Http
from testing.nginx import Nginx
from testing.relay import LiveRelay
from testing.servers import Uwsgi, env_for_tests, wait_until
from testing.streams import EventStream

QUICK = {
    "MYAPP_LIVE_HEARTBEAT_SECONDS": "1",
    "MYAPP_LIVE_RELAY_COMMENT_SECONDS": "1",
    "MYAPP_LIVE_SESSION_CHECK_SECONDS": "1",
    "MYAPP_LIVE_STREAMS_PER_USER": "3",
}


class Stack:
    def __init__(self, nginx, uwsgi, relay, redis_url):
        self.nginx, self.uwsgi, self.relay = nginx, uwsgi, relay
        self.redis_url = redis_url

    def person(self):
        return register_over_http(Http(self.nginx))

    def stream(self, person, **options):
        return EventStream(self.nginx, person.access_token, **options)

    def healthy(self):
        return Http(self.nginx).request("GET", "/api/v1/health").status == 200


@pytest.fixture(scope="module")
def stack(app, database_url, redis_url, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("relay")
    env = env_for_tests(database_url, REDIS_URL=redis_url, **QUICK)
    uwsgi = Uwsgi(
        dict(env, MYAPP_SOCKET=str(workdir / "uwsgi.sock")),
        processes=1,
        threads=2,
        name="uwsgi-relay",
    )
    relay = LiveRelay(env, workdir / "live.sock")
    nginx = Nginx(workdir, workdir / "uwsgi.sock", relay=workdir / "live.sock")
    stack = Stack(nginx, uwsgi, relay, redis_url)
    try:
        wait_until(stack.healthy, timeout=60, what="uWSGI behind nginx")
        yield stack
    finally:
        nginx.stop()
        relay.stop()
        uwsgi.stop()


def upload(person, value=21.5):
    body = {"sensor": "kitchen/temp", "data": {"t": value}}
    answer = person.request("POST", "/api/v1/readings/", body)
    assert answer.status == 201, answer.body
    return answer.json


def test_more_streams_than_uwsgi_threads_stay_open_beside_normal_requests(stack):
    people = [stack.person() for _ in range(3)]
    streams = [stack.stream(person) for person in people for _ in range(2)]
    assert [stream.status for stream in streams] == [200] * 6
    head = streams[0].response
    assert head.getheader("Content-Type") == "text/event-stream; charset=utf-8"
    # Six streams wait; both uWSGI threads still serve reads and uploads.
    for _ in range(10):
        assert stack.healthy()
    stored = [upload(person) for person in people]
    for index, stream in enumerate(streams):
        event = stream.next_event()
        assert event.name == "readings"
        assert event.data["items"][0]["id"] == stored[index // 2]["id"]
        stream.close()


def test_refusals_are_the_apps_problems(stack):
    person = stack.person()
    anonymous = EventStream(stack.nginx, "not-a-token")
    assert anonymous.status == 401
    assert anonymous.response.getheader("Content-Type") == "application/problem+json"
    assert anonymous.response.getheader("WWW-Authenticate").startswith("Bearer")
    device = person.request("POST", "/api/v1/devices/", {"name": "box"})
    assert device.status == 201, device.body
    refused = EventStream(stack.nginx, device.json["key"])
    assert (refused.status, refused.json["status"]) == (403, 403)

    held = [stack.stream(person) for _ in range(3)]
    assert [stream.status for stream in held] == [200] * 3
    # Past a lease (two heartbeats): the relay renews what its streams hold.
    wait_until(lambda: held[0].heartbeats >= 5, 30, what="five heartbeats")
    over = stack.stream(person)
    assert over.status == 429
    assert over.response.getheader("Content-Type") == "application/problem+json"
    assert int(over.response.getheader("Retry-After")) >= 1
    for stream in held:
        stream.close()


def test_any_event_name_noted_after_commit_reaches_the_stream(stack, app):
    """A goal event (or any other feature's) travels like readings."""
    person = stack.person()
    stream = stack.stream(person)
    limits = Limits(**{"seconds": 600, "events": 1000, "bytes": 1 << 20})
    RedisStore(stack.redis_url, limits).publish(person.id, "goal", '{"id": 7}')
    event = stream.next_event()
    assert (event.name, event.data) == ("goal", {"id": 7})
    stream.close()


def test_last_event_id_replays_what_was_missed_and_unknown_ids_reset(stack):
    person = stack.person()
    stream = stack.stream(person)
    upload(person, 1)
    first = stream.next_event()
    stream.close()
    missed = [upload(person, v)["id"] for v in (2, 3)]
    again = stack.stream(person, last_event_id=first.id)
    replayed = [again.next_event(), again.next_event()]
    assert [e.data["items"][0]["id"] for e in replayed] == missed
    assert [int(e.id) for e in replayed] == [int(first.id) + 1, int(first.id) + 2]
    again.close()
    unknown = stack.stream(person, last_event_id=999999)
    assert unknown.next_event().name == "reset"
    unknown.close()


def test_a_uwsgi_worker_killed_with_sigkill_drops_no_stream(stack):
    person = stack.person()
    stream = stack.stream(person)
    (worker,) = stack.uwsgi.worker_pids()
    os.kill(worker, signal.SIGKILL)
    wait_until(stack.healthy, 60, what="a new uWSGI worker")
    stored = upload(person)
    event = stream.next_event()
    assert event.data["items"][0]["id"] == stored["id"]
    stream.close()


def test_the_relay_killed_with_sigkill_loses_no_event_on_reconnect(stack):
    person = stack.person()
    stream = stack.stream(person)
    upload(person, 1)
    seen = stream.next_event()
    stack.relay.kill()
    assert stream.ends(timeout=30)
    refused = stack.stream(person)
    assert refused.status == 502  # nginx's own problem while no relay listens
    assert refused.response.getheader("Content-Type") == "application/problem+json"
    missed = [upload(person, v)["id"] for v in (2, 3)]  # uploads go on meanwhile
    stack.relay.start()
    again = stack.stream(person, last_event_id=seen.id)
    assert again.status == 200, again.body
    events = [again.next_event(), again.next_event()]
    assert [e.data["items"][0]["id"] for e in events] == missed
    again.close()


def test_an_expired_token_ends_its_stream(stack, app):
    person = stack.person()
    claims = jwt.decode(person.access_token, options={"verify_signature": False})
    claims["exp"] = int(time.time()) + 2
    short = jwt.encode(claims, app.config["JWT_SECRET_KEY"], algorithm="HS256")
    stream = EventStream(stack.nginx, short)
    assert stream.status == 200
    assert stream.ends(timeout=30)


def test_logout_ends_the_stream(stack):
    person = stack.person()
    stream = stack.stream(person)
    assert stream.status == 200
    assert person.request("POST", "/api/v1/auth/logout").status in (200, 204)
    assert stream.ends(timeout=30)
    assert json.loads(stack.stream(person).body)["status"] == 401
