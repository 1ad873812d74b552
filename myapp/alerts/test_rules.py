"""/alerts: writing rules (checks, limits, webhook URLs, PATCH) and listing them."""

import pytest
from standardwebhooks.webhooks import Webhook

from testing.alerts import ALERTS, EVENTS, rule, threshold
from testing.limits import race_to_each_limit
from testing.readings import READINGS, reading


def test_a_new_rule_starts_ok_without_a_secret(alice):
    response = alice.post(ALERTS, json=rule())
    assert response.status_code == 201, response.json
    body = response.json
    assert response.headers["Location"].endswith(f"/api/v1/alerts/{body['id']}")
    assert body["state"] == "ok" and body["webhook_url"] is None
    assert body["condition"] == {**threshold(above=30), "hysteresis": 0}
    assert body["state_since"] == body["created_at"] == body["updated_at"]
    assert "webhook_secret" not in body
    assert alice.get(body and f"{ALERTS}{body['id']}").json == body


def test_a_rule_with_a_webhook_shows_its_secret_once(carol, receiver):
    created = carol.post(ALERTS, json=rule(webhook_url=receiver.url()))
    assert created.status_code == 201, created.json
    secret = created.json["webhook_secret"]
    assert secret.startswith("whsec_")
    Webhook(secret)  # the library accepts it as a Standard Webhooks secret
    again = carol.get(f"{ALERTS}{created.json['id']}").json
    assert "webhook_secret" not in again and secret not in str(again)
    listed = carol.get(ALERTS).json["items"]
    assert secret not in str(listed)


@pytest.mark.parametrize(
    "condition, pointer",
    [
        ({"type": "threshold", "above": 1}, "/condition/field"),
        ({"type": "threshold", "field": "x"}, "/condition"),
        (threshold(above=10, below=9), None),
        (threshold(above=10, below=5, hysteresis=3), "/condition"),
        (threshold(above=10, hysteresis=-1), "/condition/hysteresis"),
        (threshold(above=True), "/condition/above"),
        (threshold(above=10, seconds=60), "/condition/seconds"),
        ({"type": "silence"}, "/condition/seconds"),
        ({"type": "silence", "seconds": 59}, "/condition/seconds"),
        ({"type": "silence", "seconds": 604801}, "/condition/seconds"),
        ({"type": "silence", "seconds": 60, "field": "x"}, "/condition/field"),
        ({"type": "silence", "seconds": 60.5}, "/condition/seconds"),
        ({"type": "other"}, "/condition/type"),
        ({"field": "x", "above": 1}, "/condition/type"),
        (threshold(field="", above=1), "/condition/field"),
        (threshold(field="x" * 65, above=1), "/condition/field"),
        (threshold(field="a\u0000b", above=1), "/condition/field"),
    ],
)
def test_a_bad_condition_is_a_400_under_condition_and_stores_nothing(
    alice, condition, pointer
):
    response = alice.post(ALERTS, json=rule(condition=condition))
    if pointer is None:  # below < above: a valid band, with a quiet zone between
        assert response.status_code == 201
        return
    assert response.status_code == 400, response.json
    assert pointer in [error["pointer"] for error in response.json["errors"]]
    assert alice.get(ALERTS).json["items"] == []


def test_bounds_may_touch_when_hysteresis_closes_the_gap(alice):
    condition = threshold(above=10, below=4, hysteresis=3)
    assert alice.post(ALERTS, json=rule(condition=condition)).status_code == 201


def test_a_huge_bound_is_a_400_not_a_500(alice):
    condition = threshold(above=10**400)
    response = alice.post(ALERTS, json=rule(condition=condition))
    assert response.status_code == 400
    assert response.json["errors"][0]["pointer"] == "/condition/above"


@pytest.mark.parametrize(
    "body, pointer",
    [
        ({"sensor": "s", "condition": threshold(above=1)}, "/name"),
        (rule(name=""), "/name"),
        (rule(name="n" * 101), "/name"),
        (rule(sensor="s" * 65), "/sensor"),
        (rule(sensor=""), "/sensor"),
        (rule(webhook_url="https://" + "a" * 2041), "/webhook_url"),
        (rule(state="firing"), "/state"),
        (rule(user_id=1), "/user_id"),
        (rule(webhook_secret="whsec_AAAA"), "/webhook_secret"),
    ],
)
def test_a_bad_rule_body_is_a_400_at_its_pointer(alice, body, pointer):
    response = alice.post(ALERTS, json=body)
    assert response.status_code == 400, response.json
    assert pointer in [error["pointer"] for error in response.json["errors"]]


REFUSED_URLS = [
    "http://example.com/hook",  # http is not allowed by default
    "ftp://example.com/hook",
    "https://user:pw@example.com/hook",
    "https://127.0.0.1/hook",
    "https://[::1]/hook",
    "https://10.1.2.3/hook",
    "https://192.168.0.1/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:169.254.169.254]/hook",
    "https://[2002:7f00:1::]/hook",  # 6to4 around 127.0.0.1
    "https://[64:ff9b::a00:1]/hook",  # NAT64 around 10.0.0.1
    "https://0.0.0.0/hook",
    "https://224.0.0.1/hook",
    "https://localhost/hook",  # a name that resolves to loopback
    "https://does-not-exist.invalid/hook",
    "https:///hook",
    "https://exa mple.com/hook",
    "not a url",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_a_refused_webhook_url_is_a_400_at_webhook_url(alice, url):
    response = alice.post(ALERTS, json=rule(webhook_url=url))
    assert response.status_code == 400, response.json
    assert [e["pointer"] for e in response.json["errors"]] == ["/webhook_url"]
    assert alice.get(ALERTS).json["items"] == []


@pytest.mark.parametrize(
    "url, allowed",
    [
        ("http://127.0.0.1:9/hook", True),
        ("http://[::1]:9/hook", True),
        ("http://localhost:9/hook", True),
        ("http://10.0.0.1/hook", True),
        ("http://169.254.169.254/latest/meta-data/", False),
        ("http://[fe80::1]/hook", False),
        ("http://user@127.0.0.1/hook", False),
    ],
)
def test_the_operator_may_allow_loopback_and_private_but_never_link_local(
    carol, url, allowed
):
    response = carol.post(ALERTS, json=rule(webhook_url=url))
    assert response.status_code == (201 if allowed else 400), response.json


def test_the_rule_limit_per_user_is_a_409(app_with, alice, bob):
    limited = app_with(ALERT_RULES_MAX_PER_USER=2).test_client()
    for expected in (201, 201, 409):
        answer = limited.post(ALERTS, json=rule(), headers=alice.headers)
        assert answer.status_code == expected
    assert answer.content_type == "application/problem+json"
    assert len(alice.get(ALERTS).json["items"]) == 2
    assert limited.post(ALERTS, json=rule(), headers=bob.headers).status_code == 201


def test_rules_are_listed_in_id_order_and_page_with_a_cursor(alice, bob, new_rule):
    made = [new_rule(alice, rule(name=f"r{n}"))["id"] for n in range(5)]
    new_rule(bob, rule(name="bob's"))
    seen, url = [], ALERTS + "?limit=2"
    while url:
        page = alice.get(url).json
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        url = cursor and f"{ALERTS}?limit=2&cursor={cursor}"
    assert seen == made


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_another_users_rule_answers_404_like_a_missing_one(
    alice, bob, new_rule, method
):
    rule_id = new_rule(alice, rule())["id"]
    body = {"name": "mine now"} if method == "PATCH" else None
    hidden = bob.client.open(
        f"{ALERTS}{rule_id}", method=method, json=body, headers=bob.headers
    )
    missing = bob.client.open(
        f"{ALERTS}2147483647", method=method, json=body, headers=bob.headers
    )
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json == missing.json
    assert alice.get(f"{ALERTS}{rule_id}").json["name"] == "too warm"


def test_events_and_deliveries_of_another_users_rule_answer_404(alice, bob, new_rule):
    rule_id = new_rule(alice, rule())["id"]
    assert bob.get(f"{EVENTS}?rule_id={rule_id}").status_code == 404
    assert bob.get(f"{ALERTS}{rule_id}/deliveries").status_code == 404
    assert alice.get(f"{EVENTS}?rule_id={rule_id}").json["items"] == []


@pytest.mark.parametrize(
    "body, pointer",
    [
        ({"sensor": "elsewhere"}, "/sensor"),
        ({"state": "ok"}, "/state"),
        ({"id": 5}, "/id"),
        ({"webhook_secret": "whsec_AAAA"}, "/webhook_secret"),
        ({"created_at": "2024-01-01T00:00:00Z"}, "/created_at"),
        ({"colour": "red"}, "/colour"),
        ({"name": ""}, "/name"),
        ({"condition": {"type": "silence", "seconds": 1}}, "/condition/seconds"),
    ],
)
def test_patch_refuses_unknown_and_read_only_members_at_their_pointer(
    alice, new_rule, body, pointer
):
    made = new_rule(alice, rule())
    response = alice.patch(f"{ALERTS}{made['id']}", json=body)
    assert response.status_code == 400, response.json
    assert pointer in [error["pointer"] for error in response.json["errors"]]
    assert alice.get(f"{ALERTS}{made['id']}").json == made


def firing_rule(account, new_rule):
    made = new_rule(account, rule())
    assert account.post(READINGS, json=reading(data={"celsius": 35})).status_code == 201
    assert account.get(f"{ALERTS}{made['id']}").json["state"] == "firing"
    return made


def events_of(account, rule_id):
    return account.get(f"{EVENTS}?rule_id={rule_id}").json["items"][::-1]


def test_changing_the_condition_of_a_firing_rule_resolves_it_then_starts_ok(
    alice, new_rule
):
    made = firing_rule(alice, new_rule)
    url = f"{ALERTS}{made['id']}"
    changed = alice.patch(url, json={"condition": threshold(above=40)})
    assert changed.status_code == 200, changed.json
    assert changed.json["state"] == "ok"
    assert changed.json["state_since"] == changed.json["updated_at"]
    events = events_of(alice, made["id"])
    assert [e["state"] for e in events] == ["firing", "resolved"]
    assert events[1]["reading_id"] is None and events[1]["value"] is None
    assert events[1]["at"] == changed.json["updated_at"]
    # The new condition judges the next reading.
    alice.post(READINGS, json=reading(data={"celsius": 35}))
    assert alice.get(url).json["state"] == "ok"


def test_patching_the_same_condition_or_the_name_restarts_nothing(alice, new_rule):
    made = firing_rule(alice, new_rule)
    url = f"{ALERTS}{made['id']}"
    same = alice.patch(url, json={"condition": made["condition"], "name": "renamed"})
    assert same.status_code == 200
    assert (same.json["state"], same.json["name"]) == ("firing", "renamed")
    assert same.json["updated_at"] > made["updated_at"]
    assert [e["state"] for e in events_of(alice, made["id"])] == ["firing"]


def test_a_webhook_set_where_there_was_none_comes_with_a_secret_once(
    carol, new_rule, receiver
):
    made = new_rule(carol, rule())
    url = f"{ALERTS}{made['id']}"
    first = carol.patch(url, json={"webhook_url": receiver.url("/a")}).json
    assert first["webhook_secret"].startswith("whsec_")
    moved = carol.patch(url, json={"webhook_url": receiver.url("/b")}).json
    assert "webhook_secret" not in moved and moved["webhook_url"].endswith("/b")
    removed = carol.patch(url, json={"webhook_url": None}).json
    assert removed["webhook_url"] is None and "webhook_secret" not in removed
    again = carol.patch(url, json={"webhook_url": receiver.url("/a")}).json
    assert again["webhook_secret"] not in (None, first["webhook_secret"])


def test_removing_the_webhook_cancels_pending_deliveries(carol, new_rule, rows):
    made = new_rule(carol, rule(webhook_url="http://127.0.0.1:9/hook"))
    for celsius in (35, 20, 36):
        carol.post(READINGS, json=reading(data={"celsius": celsius}))
    pending = rows("alert_deliveries", rule_id=made["id"])
    assert [d["status"] for d in pending] == ["superseded"] * 2 + ["pending"]
    carol.patch(f"{ALERTS}{made['id']}", json={"webhook_url": None})
    cancelled = rows("alert_deliveries", rule_id=made["id"])
    assert [(d["status"], d["next_attempt_at"]) for d in cancelled] == [
        ("superseded", None)
    ] * 2 + [("cancelled", None)]


def test_deleting_a_rule_takes_its_events_and_deliveries(carol, new_rule, rows):
    made = new_rule(carol, rule(webhook_url="http://127.0.0.1:9/hook"))
    carol.post(READINGS, json=reading(data={"celsius": 35}))
    assert rows("alert_events") and rows("alert_deliveries")
    assert carol.delete(f"{ALERTS}{made['id']}").status_code == 204
    assert carol.get(f"{ALERTS}{made['id']}").status_code == 404
    assert rows("alert_events") == rows("alert_deliveries") == []
    assert carol.get(EVENTS).json["items"] == []


def test_deleting_the_user_takes_rules_events_and_deliveries(carol, new_rule, rows):
    new_rule(carol, rule(webhook_url="http://127.0.0.1:9/hook"))
    carol.post(READINGS, json=reading(data={"celsius": 35}))
    gone = carol.delete("/api/v1/users/me", json={"current_password": carol.password})
    assert gone.status_code == 204
    for table in ("alert_rules", "alert_events", "alert_deliveries"):
        assert rows(table) == [], table


def test_events_filter_by_since_and_page_newest_first(alice, new_rule):
    made = new_rule(alice, rule())
    for celsius in (35, 20, 36, 21, 37):
        alice.post(READINGS, json=reading(data={"celsius": celsius}))
    everything = alice.get(EVENTS).json["items"]
    assert [e["id"] for e in everything] == sorted(
        (e["id"] for e in everything), reverse=True
    )
    assert len(everything) == 5 and {e["rule_id"] for e in everything} == {made["id"]}
    since = everything[1]["at"]
    later = alice.get(f"{EVENTS}?since={since}").json["items"]
    assert [e["id"] for e in later] == [e["id"] for e in everything[:2]]
    first = alice.get(f"{EVENTS}?limit=3").json
    rest = alice.get(f"{EVENTS}?limit=3&cursor={first['next_cursor']}").json
    assert first["items"] + rest["items"] == everything
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    "query, name",
    [
        ("rule_id=0", "rule_id"),
        ("rule_id=x", "rule_id"),
        ("since=yesterday", "since"),
        ("since=2024-01-01T00:00:00", "since"),
        ("limit=1001", "limit"),
        ("cursor=forged", "cursor"),
    ],
)
def test_bad_event_queries_answer_400_naming_the_parameter(alice, query, name):
    response = alice.get(f"{EVENTS}?{query}")
    assert response.status_code == 400
    assert response.json["errors"][0]["query"] == name


def test_racing_creates_past_a_limit_of_one_store_exactly_one_rule(app_with, alice):
    race_to_each_limit(app_with, "ALERT_RULES_MAX_PER_USER", alice, ALERTS, rule())
    assert len(alice.get(ALERTS).json["items"]) == 5
