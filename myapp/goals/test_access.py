"""Who may do what with goals: every bad token is a 401, others' goals are 404."""

import pytest

from testing.goals import GOALS, goal_url
from testing.tokens import BAD_TOKEN_KINDS, bad_headers

OPERATIONS = [
    ("GET", GOALS, None),
    ("POST", GOALS, {"name": "sneaky"}),
    ("GET", "{goal}", None),
    ("PATCH", "{goal}", {"name": "changed", "completed": True}),
    ("DELETE", "{goal}", None),
]


@pytest.mark.parametrize("kind", BAD_TOKEN_KINDS)
@pytest.mark.parametrize("method, path, body", OPERATIONS)
def test_a_bad_token_on_a_goals_operation_answers_401_and_changes_nothing(
    app, client, alice, expired_token, new_goal, method, path, body, kind
):
    goal = new_goal(alice, "kept")
    headers = bad_headers(kind, alice, expired_token, client, app)
    url = path.format(goal=goal_url(goal["id"]))
    response = client.open(url, method=method, json=body, headers=headers)
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert alice.get(GOALS).json["items"] == [goal]


@pytest.mark.parametrize(
    "method, body",
    [("GET", None), ("PATCH", {"name": "mine now"}), ("DELETE", None)],
)
def test_another_users_goal_answers_404_and_stays_unchanged(
    alice, bob, new_goal, method, body
):
    bobs = new_goal(bob, "bob's")
    url = goal_url(bobs["id"])
    response = alice.client.open(url, method=method, json=body, headers=alice.headers)
    assert response.status_code == 404
    assert response.json["detail"] == "The goal does not exist."
    assert bob.get(GOALS).json["items"] == [bobs]


def test_another_users_goal_as_parent_answers_400_at_parent_id(alice, bob, new_goal):
    bobs = new_goal(bob, "bob's")
    mine = new_goal(alice, "mine")
    for response in (
        alice.post(GOALS, json={"name": "x", "parent_id": bobs["id"]}),
        alice.patch(goal_url(mine["id"]), json={"parent_id": bobs["id"]}),
    ):
        assert response.status_code == 400
        assert response.json["errors"][0]["pointer"] == "/parent_id"
    assert bob.get(goal_url(bobs["id"])).json["children"] == []


def test_another_users_goals_never_show_in_your_list(alice, bob, new_goal):
    new_goal(bob, "bob's")
    assert alice.get(GOALS).json == {"items": []}
    assert alice.get(GOALS + "?flat=true").json == {"items": []}


@pytest.mark.parametrize(
    "method, body",
    [("GET", None), ("PATCH", {"name": "admin was here"}), ("DELETE", None)],
)
def test_an_admin_cannot_read_or_change_a_users_goal_by_id(
    admin, alice, new_goal, method, body
):
    goal = new_goal(alice, "alice's")
    url = goal_url(goal["id"])
    response = admin.client.open(url, method=method, json=body, headers=admin.headers)
    assert response.status_code == 404
    assert alice.get(GOALS).json["items"] == [goal]


def test_an_admin_lists_a_users_goals_only_with_user_id(admin, alice, new_goal):
    goal = new_goal(alice, "alice's")
    assert admin.get(GOALS).json == {"items": []}
    assert admin.get(f"{GOALS}?user_id={alice.id}").json == {"items": [goal]}


def test_a_non_admin_passing_user_id_answers_403(alice, bob, new_goal):
    new_goal(bob, "bob's")
    response = alice.get(f"{GOALS}?user_id={bob.id}")
    assert response.status_code == 403
    assert response.content_type == "application/problem+json"
