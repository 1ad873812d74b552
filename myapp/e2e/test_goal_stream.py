"""`event: goal` over real uWSGI (myapp.ini) and a real redis-server: a PATCH that
completes a goal reaches an open stream with the goal and its parent."""

from testing.accounts import register_over_http
from testing.goals import GOALS, goal_url
from testing.http import Http
from testing.streams import EventStream

QUICK = {"MYAPP_LIVE_HEARTBEAT_SECONDS": "1", "MYAPP_LIVE_SESSION_CHECK_SECONDS": "1"}


def create(person, name, parent=None):
    answer = person.request("POST", GOALS, {"name": name, "parent_id": parent})
    assert answer.status == 201, answer.body
    return answer.json


def test_a_patch_completing_a_goal_reaches_an_open_stream(uwsgi, redis_url):
    server = uwsgi(dict(QUICK, REDIS_URL=redis_url), processes=2, threads=2)
    person = register_over_http(Http(server))
    parent = create(person, "parent")
    leaf = create(person, "leaf", parent["id"])
    create(person, "sibling", parent["id"])
    stream = EventStream(server, person.access_token)
    assert stream.status == 200

    done = person.request("PATCH", goal_url(leaf["id"]), {"completed": True})
    assert done.status == 200, done.body
    events = [stream.next_event(), stream.next_event()]
    assert [event.name for event in events] == ["goal", "goal"]
    bodies = {event.data["id"]: event.data for event in events}
    assert bodies[leaf["id"]]["completed"] is True
    assert bodies[leaf["id"]]["completed_at"] == done.json["completed_at"]
    assert bodies[parent["id"]]["progress"] == 0.5
    assert "children" not in bodies[parent["id"]]
    stream.close()
