"""Threshold rules judge every stored reading of their sensor, in upload order."""

import threading
import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from myapp.db import db
from testing.accounts import register_over_http
from testing.alerts import ALERTS, EVENTS, rule, threshold
from testing.http import Http
from testing.readings import BATCH, READINGS, new_client_id, reading
from testing.statements import traced_request


def expected_events(condition, values):
    """What the contract says a threshold rule records for values, in order.

    Written from the contract's words, apart from the judge's code:
    [(state, index of the reading, its value)].
    """
    above, below = condition.get("above"), condition.get("below")
    hysteresis = condition.get("hysteresis", 0)
    firing, events = False, []
    for index, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        outside = (above is not None and value > above) or (
            below is not None and value < below
        )
        inside = (above is None or value <= above - hysteresis) and (
            below is None or value >= below + hysteresis
        )
        if not firing and outside:
            firing = True
            events.append(("firing", index, value))
        elif firing and inside:
            firing = False
            events.append(("resolved", index, value))
    return events


def bounded(events):
    """What one upload records of its changes, in the contract's words: its first
    change and, when it ends in the state it started in, its last; the last
    recorded carries the count of changes. [(state, index, value, changes)]."""
    count = len(events)
    if count <= 1:
        return [event + (1,) for event in events]
    if count % 2:
        return [events[0] + (count,)]
    return [events[0] + (1,), events[-1] + (count,)]


def recorded(account, rule_id, changes=False):
    """The rule's events, oldest first, as (state, reading_id, value[, changes])."""
    found, url = [], f"{EVENTS}?rule_id={rule_id}&limit=1000"
    while url:
        page = account.get(url).json
        found += page["items"]
        cursor = page["next_cursor"]
        url = cursor and f"{EVENTS}?rule_id={rule_id}&limit=1000&cursor={cursor}"
    return [
        (e["state"], e["reading_id"], e["value"]) + ((e["changes"],) if changes else ())
        for e in reversed(found)
    ]


def post_values(account, sensor, values, field="celsius"):
    """One batch of readings of sensor with data {field: value}; their ids."""
    items = [reading(sensor=sensor, data={field: value}) for value in values]
    response = account.post(BATCH, json={"readings": items})
    assert response.status_code == 201, response.json
    return response.json["ids"]


def test_hysteresis_resolves_only_well_inside_the_bounds(alice, new_rule):
    condition = threshold(above=30, below=10, hysteresis=2)
    made = new_rule(alice, rule(condition=condition))
    values = [20, 31, 29, 28, 30, 9, 11, 12.5, 20, 8]
    ids = [
        alice.post(READINGS, json=reading(data={"celsius": v})).json["id"]
        for v in values
    ]
    assert recorded(alice, made["id"]) == [
        ("firing", ids[1], 31),
        ("resolved", ids[3], 28),
        ("firing", ids[5], 9),
        ("resolved", ids[7], 12.5),
        ("firing", ids[9], 8),
    ]
    state = alice.get(f"{ALERTS}{made['id']}").json
    assert state["state"] == "firing"


def test_a_batch_is_judged_in_item_order_skipping_non_numbers(alice, new_rule):
    made = new_rule(alice, rule(condition=threshold(below=0)))
    values = [5, -1, True, "7", None, {"n": 3}, [4], 3, -2, False, 1]
    ids = post_values(alice, "kitchen/temp", values)
    # firing at -1, resolved at 3, firing at -2, resolved at 1: four changes.
    assert recorded(alice, made["id"], changes=True) == [
        ("firing", ids[1], -1, 1),
        ("resolved", ids[10], 1, 4),
    ]


def test_an_upload_that_flaps_records_at_most_two_events_per_rule(alice, new_rule):
    made = new_rule(alice, rule(condition=threshold(above=30)))
    ids = post_values(alice, "kitchen/temp", [35, 20, 36])  # ends firing
    assert recorded(alice, made["id"], changes=True) == [("firing", ids[0], 35, 3)]
    more = post_values(alice, "kitchen/temp", [20, 36, 21, 37, 22])  # ends ok
    assert recorded(alice, made["id"], changes=True)[1:] == [
        ("resolved", more[0], 20, 5)
    ]
    last = post_values(alice, "kitchen/temp", [36, 21, 37, 22])  # ends as it began
    assert recorded(alice, made["id"], changes=True)[2:] == [
        ("firing", last[0], 36, 1),
        ("resolved", last[3], 22, 4),
    ]
    assert alice.get(f"{ALERTS}{made['id']}").json["state"] == "ok"


def test_readings_without_the_field_or_of_other_sensors_change_nothing(
    alice, bob, new_rule
):
    made = new_rule(alice, rule(sensor="freezer", condition=threshold(above=-18)))
    alice.post(READINGS, json=reading(sensor="freezer", data={"other": 5}))
    alice.post(READINGS, json=reading(sensor="freezer/2", data={"celsius": 5}))
    alice.post(READINGS, json=reading(sensor="Freezer", data={"celsius": 5}))
    alice.post(
        READINGS, json=reading(sensor="freezer", data={"nested": {"celsius": 5}})
    )
    bob.post(READINGS, json=reading(sensor="freezer", data={"celsius": 5}))
    assert recorded(alice, made["id"]) == []


def test_a_reading_stored_once_is_judged_once(alice, new_rule):
    made = new_rule(alice, rule())
    warm = reading(data={"celsius": 35}, client_id=new_client_id())
    cool = reading(data={"celsius": 20}, client_id=new_client_id())
    assert alice.post(READINGS, json=warm).status_code == 201
    assert alice.post(READINGS, json=cool).status_code == 201
    assert alice.post(READINGS, json=warm).status_code == 200  # not stored again
    assert alice.post(BATCH, json={"readings": [warm, cool, warm]}).status_code == 201
    assert [e[0] for e in recorded(alice, made["id"])] == ["firing", "resolved"]


def test_a_rejected_upload_causes_no_event(alice, new_rule):
    made = new_rule(alice, rule())
    bad = [reading(data={"celsius": 35}), {"sensor": "kitchen/temp"}]
    assert alice.post(BATCH, json={"readings": bad}).status_code == 400
    assert recorded(alice, made["id"]) == []
    assert alice.get(f"{ALERTS}{made['id']}").json["state"] == "ok"


def test_only_readings_stored_after_the_rule_are_judged(alice, new_rule):
    alice.post(READINGS, json=reading(data={"celsius": 35}))
    made = new_rule(alice, rule())
    assert recorded(alice, made["id"]) == []
    assert alice.get(f"{ALERTS}{made['id']}").json["state"] == "ok"


def test_deleting_readings_changes_no_state_and_no_event(alice, new_rule):
    made = new_rule(alice, rule())
    ids = [
        alice.post(READINGS, json=reading(data={"celsius": c})).json["id"]
        for c in (35, 20, 36)
    ]
    before = recorded(alice, made["id"])
    for reading_id in ids:
        assert alice.delete(f"{READINGS}{reading_id}").status_code == 204
    assert recorded(alice, made["id"]) == before
    assert [event[1] for event in before] == ids
    assert alice.get(f"{ALERTS}{made['id']}").json["state"] == "firing"


def test_each_rule_on_a_sensor_judges_on_its_own(alice, new_rule):
    hot = new_rule(alice, rule(condition=threshold(above=30)))
    cold = new_rule(alice, rule(condition=threshold(below=0)))
    other = new_rule(alice, rule(condition=threshold(field="rh", above=80)))
    ids = post_values(alice, "kitchen/temp", [35, -5, 10])
    assert recorded(alice, hot["id"]) == [
        ("firing", ids[0], 35),
        ("resolved", ids[1], -5),
    ]
    assert recorded(alice, cold["id"]) == [
        ("firing", ids[1], -5),
        ("resolved", ids[2], 10),
    ]
    assert recorded(alice, other["id"]) == []


def test_a_batch_of_1000_crossing_back_and_forth_gives_the_predicted_events(
    alice, new_rule
):
    condition = threshold(above=25, below=5, hysteresis=1.5)
    made = new_rule(alice, rule(condition=condition))
    # A slow wave with noise: many crossings, some inside the hysteresis band.
    values = [15 + 13 * ((n * 37) % 100 - 50) / 50 + (n % 7) / 3 for n in range(1000)]
    ids = post_values(alice, "kitchen/temp", values)
    changes = expected_events(condition, values)
    assert len(changes) > 100
    expected = [(s, ids[i], v, n) for s, i, v, n in bounded(changes)]
    assert recorded(alice, made["id"], changes=True) == expected


VALUES = st.one_of(
    st.integers(-40, 60),
    st.floats(-40, 60, allow_nan=False),
    st.sampled_from([None, True, False, "30"]),
)
BOUNDS = st.one_of(st.none(), st.integers(-20, 40))


@st.composite
def conditions(draw):
    above, below = draw(BOUNDS), draw(BOUNDS)
    if above is None and below is None:
        above = draw(st.integers(-20, 40))
    hysteresis = draw(st.sampled_from([0, 0.5, 1, 3]))
    if above is not None and below is not None:
        above, below = max(above, below), min(above, below)
        hysteresis = min(hysteresis, (above - below) / 2)
    condition = threshold(hysteresis=hysteresis)
    condition.update(
        {k: v for k, v in (("above", above), ("below", below)) if v is not None}
    )
    return condition


@example(condition=threshold(above=0), values=[4.4863226604671815e-300])
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(condition=conditions(), values=st.lists(VALUES, min_size=1, max_size=1000))
def test_any_batch_gives_exactly_the_events_a_recomputation_predicts(
    alice, new_rule, condition, values
):
    sensor = f"prop/{uuid.uuid4().hex}"
    made = new_rule(alice, rule(sensor=sensor, condition=condition))
    ids = post_values(alice, sensor, values)
    changes = expected_events(condition, values)
    expected = [(s, ids[i], v, n) for s, i, v, n in bounded(changes)]
    assert recorded(alice, made["id"], changes=True) == expected
    state = alice.get(f"{ALERTS}{made['id']}").json["state"]
    assert state == ("firing" if len(changes) % 2 else "ok")


def test_only_the_newest_events_of_a_rule_are_kept(app_with, alice, new_rule):
    made = new_rule(alice, rule())
    kept = app_with(ALERTS_EVENTS_KEPT_PER_RULE=3).test_client()
    for celsius in (35, 20, 36, 21, 37):
        kept.post(
            READINGS, json=reading(data={"celsius": celsius}), headers=alice.headers
        )
    assert [e[2] for e in recorded(alice, made["id"])] == [36, 21, 37]


@pytest.mark.parametrize("watched", [False, True])
def test_an_upload_costs_one_alerts_probe_and_the_rule_query_only_when_watched(
    app, alice, new_rule, watched
):
    """Most uploads are watched by no rule: they pay one indexed probe on the
    driver's cursor, and the full rule query (built by SQLAlchemy) only runs
    when a rule is on one of their sensors; no rule changing state, no write."""
    new_rule(alice, rule(sensor="elsewhere"))
    if watched:
        new_rule(alice, rule(sensor="s0", condition=threshold(above=1000)))
    items = [reading(sensor=f"s{n % 10}", data={"celsius": n}) for n in range(500)]
    body = {"readings": items}
    answer, seen, driver = traced_request(app, alice, "POST", BATCH, body)
    assert answer.status_code == 201
    built = [s for s in seen if "alert_" in s]
    assert len(built) == (1 if watched else 0), built
    assert all(s.lstrip().upper().startswith("SELECT") for s in built)
    with app.app_context():
        on_sqlite = db.engine.dialect.name == "sqlite"
    if on_sqlite:  # its trace has the text of every statement
        sent = [s for s in driver.statements if "alert_" in s]
        assert len(sent) == 1 + len(built), sent
        assert sent[0].startswith("SELECT 1 FROM alert_rules"), sent


def test_concurrent_uploads_record_alternating_events(live_server):
    """Uploads racing in two uWSGI workers: judging is serialized per rule."""
    http = Http(live_server)
    owner = register_over_http(http)
    made = owner.request("POST", ALERTS, rule(condition=threshold(above=0)))
    assert made.status == 201, made.body

    def upload(sign):
        for n in range(15):
            values = [sign * (n + 1), -sign * (n + 1)] * 3
            items = [reading(data={"celsius": v}) for v in values]
            answer = owner.request("POST", BATCH, {"readings": items})
            assert answer.status == 201, answer.body

    threads = [threading.Thread(target=upload, args=(s,)) for s in (1, -1, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    listed = owner.request("GET", f"{EVENTS}?rule_id={made.json['id']}&limit=1000")
    states = [event["state"] for event in reversed(listed.json["items"])]
    assert len(states) >= 45
    assert states == ["firing", "resolved"] * (len(states) // 2) + (
        ["firing"] if len(states) % 2 else []
    )
    final = owner.request("GET", f"{ALERTS}{made.json['id']}").json["state"]
    assert final == ("firing" if states[-1] == "firing" else "ok")


def test_patches_racing_uploads_keep_the_events_alternating(live_server):
    """A condition change locks the rule too: its resolved event never doubles up."""
    http = Http(live_server)
    owner = register_over_http(http)
    made = owner.request("POST", ALERTS, rule(condition=threshold(above=0)))
    url = f"{ALERTS}{made.json['id']}"

    def upload():
        for n in range(20):
            items = [reading(data={"celsius": v}) for v in (5, -5, 6)]
            assert owner.request("POST", BATCH, {"readings": items}).status == 201

    def patch():
        for n in range(20):
            condition = threshold(above=n % 2 / 2)
            assert owner.request("PATCH", url, {"condition": condition}).status == 200

    threads = [threading.Thread(target=job) for job in (upload, upload, patch)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    listed = owner.request("GET", f"{EVENTS}?rule_id={made.json['id']}&limit=1000")
    states = [event["state"] for event in reversed(listed.json["items"])]
    assert len(states) >= 40
    assert all(a != b for a, b in zip(states, states[1:])), states
    assert states[0] == "firing"


def test_a_rule_locked_for_a_change_holds_back_the_uploads_it_judges(
    app, alice, new_rule
):
    """What keeps events alternating: the locker goes first, the upload waits."""
    from myapp.alerts.rows import RULES, rules_for_update

    made = new_rule(alice, rule())
    locked, release, uploaded = (threading.Event() for _ in range(3))

    def hold():
        with app.app_context():
            rules_for_update(RULES.c.id == made["id"])
            locked.set()
            release.wait(10)
            db.session.commit()

    def upload():
        assert (
            alice.post(READINGS, json=reading(data={"celsius": 35})).status_code == 201
        )
        uploaded.set()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    uploader = threading.Thread(target=upload)
    uploader.start()
    try:
        assert not uploaded.wait(1.0), "the upload judged a rule someone held"
    finally:
        release.set()
        holder.join()
        uploader.join()
    assert uploaded.is_set()
