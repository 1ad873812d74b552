"""/goals: every row of the Goals contract, with each status code it can answer."""

import re

import pytest

from testing.accounts import PASSWORD
from testing.goals import GOALS, goal_url, walk
from testing.limits import race_to_each_limit

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
FIELDS = {
    "id",
    "name",
    "description",
    "parent_id",
    "started_at",
    "completed_at",
    "completed",
    "progress",
    "target",
    "measured",
    "streak",
    "created_at",
    "updated_at",
}


def by_name(nodes):
    return {node["name"]: node for node in walk(nodes)}


def names(nodes):
    return [node["name"] for node in nodes]


# --- POST /goals/ ------------------------------------------------------------


def test_creating_a_top_level_goal_answers_201_with_location_and_defaults(alice):
    response = alice.post(GOALS, json={"name": "Run a marathon"})
    assert response.status_code == 201
    goal = response.json
    assert set(goal) == FIELDS | {"children"}
    assert response.headers["Location"].endswith(goal_url(goal["id"]))
    assert goal["name"] == "Run a marathon"
    assert goal["description"] is None and goal["parent_id"] is None
    assert goal["completed"] is False and goal["completed_at"] is None
    assert goal["progress"] == 0.0 and goal["children"] == []
    assert goal["target"] is goal["measured"] is goal["streak"] is None
    assert TIMESTAMP.match(goal["created_at"])
    assert goal["started_at"] == goal["created_at"] == goal["updated_at"]
    assert alice.get(response.headers["Location"]).json == goal


def test_creating_with_started_at_stores_it_in_utc(alice):
    response = alice.post(
        GOALS, json={"name": "x", "started_at": "2026-03-01T10:00:00.5+02:00"}
    )
    assert response.status_code == 201
    assert response.json["started_at"] == "2026-03-01T08:00:00.500000Z"


def test_early_years_keep_four_digits(alice):
    response = alice.post(
        GOALS, json={"name": "x", "started_at": "0005-01-01T00:00:00Z"}
    )
    assert response.status_code == 201
    assert response.json["started_at"] == "0005-01-01T00:00:00.000000Z"


def test_timestamps_formatted_by_the_database_equal_format_timestamp(alice, in_app):
    from myapp.db import db
    from myapp.goals.models import Goal
    from myapp.timestamps import format_timestamp

    fields = ["started_at", "completed_at", "created_at", "updated_at"]
    goal = alice.post(GOALS, json={"name": "x"}).json
    shown = alice.patch(goal_url(goal["id"]), json={"completed": True}).json

    def stored():
        row = db.session.get(Goal, goal["id"])
        return {name: format_timestamp(getattr(row, name)) for name in fields}

    assert {name: shown[name] for name in fields} == in_app(stored)


def test_creating_under_a_parent_nests_the_goal(alice, new_goal):
    parent = new_goal(alice, "parent")
    response = alice.post(GOALS, json={"name": "child", "parent_id": parent["id"]})
    assert response.status_code == 201
    assert response.json["parent_id"] == parent["id"]
    tree = alice.get(goal_url(parent["id"])).json
    assert names(tree["children"]) == ["child"]


def test_name_and_description_at_their_maximum_length_are_accepted(alice):
    body = {"name": "n" * 200, "description": "d" * 2000}
    response = alice.post(GOALS, json=body)
    assert response.status_code == 201
    assert response.json["name"] == body["name"]
    assert response.json["description"] == body["description"]


@pytest.mark.parametrize(
    "body, pointer",
    [
        ({}, "/name"),
        ({"name": ""}, "/name"),
        ({"name": "n" * 201}, "/name"),
        ({"name": 5}, "/name"),
        ({"name": "a\u0000b"}, "/name"),
        ({"name": "x", "description": "d" * 2001}, "/description"),
        ({"name": "x", "parent_id": "1"}, "/parent_id"),
        ({"name": "x", "parent_id": 0}, "/parent_id"),
        ({"name": "x", "parent_id": 2**31}, "/parent_id"),
        ({"name": "x", "parent_id": 1.5}, "/parent_id"),
        ({"name": "x", "started_at": "2026-03-01T10:00:00"}, "/started_at"),
        ({"name": "x", "started_at": "2026-13-01T10:00:00Z"}, "/started_at"),
        ({"name": "x", "started_at": "9999-12-31T23:00:00-05:00"}, "/started_at"),
        ({"name": "x", "completed": True}, "/completed"),
        ({"name": "x", "id": 7}, "/id"),
        ({"name": "x", "user_id": 7}, "/user_id"),
    ],
)
def test_creating_an_invalid_goal_answers_400_pointing_at_the_field(
    alice, body, pointer
):
    response = alice.post(GOALS, json=body)
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    assert pointer in [error["pointer"] for error in response.json["errors"]]
    assert alice.get(GOALS).json["items"] == []


def test_creating_under_another_users_goal_answers_400_at_parent_id(
    alice, bob, new_goal
):
    bobs = new_goal(bob, "bob's")
    for parent_id in (bobs["id"], bobs["id"] + 1000):
        response = alice.post(GOALS, json={"name": "x", "parent_id": parent_id})
        assert response.status_code == 400
        assert response.json["errors"][0]["pointer"] == "/parent_id"
    assert alice.get(GOALS).json["items"] == []
    assert bob.get(goal_url(bobs["id"])).json["children"] == []


def test_creating_with_a_non_json_body_answers_415(alice):
    response = alice.client.post(
        GOALS, data="name=x", headers=alice.headers, content_type="text/plain"
    )
    assert response.status_code == 415
    assert response.content_type == "application/problem+json"


def test_creating_with_unparseable_json_answers_400(alice):
    response = alice.client.post(
        GOALS, data="{", headers=alice.headers, content_type="application/json"
    )
    assert response.status_code == 400


def test_creating_with_a_body_over_the_limit_answers_413(alice):
    body = '{"name": "x", "description": "' + "d" * (1024 * 1024) + '"}'
    response = alice.client.post(
        GOALS, data=body, headers=alice.headers, content_type="application/json"
    )
    assert response.status_code == 413


def test_creating_beyond_the_per_user_limit_answers_409(
    app, monkeypatch, alice, bob, new_goal
):
    monkeypatch.setitem(app.config, "GOALS_MAX_PER_USER", 3)
    for n in range(3):
        new_goal(alice, f"goal {n}")
    response = alice.post(GOALS, json={"name": "one too many"})
    assert response.status_code == 409
    assert "limit of 3 goals" in response.json["detail"]
    assert len(alice.get(GOALS).json["items"]) == 3
    new_goal(bob, "bob is not affected")


def test_racing_creates_past_a_limit_of_one_store_exactly_one_goal(app_with, alice):
    race_to_each_limit(
        app_with, "GOALS_MAX_PER_USER", alice, GOALS, {"name": "only one"}
    )
    assert len(alice.get(GOALS).json["items"]) == 5


def test_creating_below_the_depth_limit_answers_400_at_parent_id(
    app, monkeypatch, alice, new_goal
):
    monkeypatch.setitem(app.config, "GOALS_MAX_DEPTH", 3)
    parent = None
    for level in range(3):
        parent = new_goal(alice, f"level {level + 1}", parent)
    response = alice.post(GOALS, json={"name": "level 4", "parent_id": parent["id"]})
    assert response.status_code == 400
    assert response.json["errors"][0]["pointer"] == "/parent_id"
    assert "deeper than 3 levels" in response.json["errors"][0]["message"]


def test_creating_under_a_completed_goal_reopens_its_completed_ancestors(
    alice, new_goal
):
    top = new_goal(alice, "top")
    middle = new_goal(alice, "middle", top)
    alice.patch(goal_url(top["id"]), json={"completed": True})
    response = alice.post(GOALS, json={"name": "new work", "parent_id": middle["id"]})
    assert response.status_code == 201
    tree = by_name(alice.get(GOALS).json["items"])
    assert not tree["top"]["completed"] and not tree["middle"]["completed"]
    assert tree["top"]["progress"] == 0.0


# --- GET /goals/ ---------------------------------------------------------------


def test_listing_nests_whole_subtrees_with_siblings_in_creation_order(alice, new_goal):
    first = new_goal(alice, "first")
    second = new_goal(alice, "second")
    b = new_goal(alice, "b", first)
    a = new_goal(alice, "a", first)
    deep = new_goal(alice, "deep", a)
    # A newer goal becomes the parent of an older one: order stays creation order.
    alice.patch(goal_url(first["id"]), json={"parent_id": second["id"]})
    newest = new_goal(alice, "newest", second)
    response = alice.get(GOALS)
    assert response.status_code == 200
    items = response.json["items"]
    assert names(items) == ["second"]
    assert names(items[0]["children"]) == ["first", "newest"]
    assert names(items[0]["children"][0]["children"]) == ["b", "a"]
    assert [n["id"] for n in walk(items)] == [
        second["id"],
        first["id"],
        b["id"],
        a["id"],
        deep["id"],
        newest["id"],
    ]
    assert all(set(node) == FIELDS | {"children"} for node in walk(items))
    assert all(node["target"] is node["measured"] is None for node in walk(items))


def test_listing_flat_gives_every_goal_once_by_id_without_children(alice, new_goal):
    top = new_goal(alice, "top")
    child = new_goal(alice, "child", top)
    other = new_goal(alice, "other")
    alice.patch(goal_url(top["id"]), json={"parent_id": other["id"]})
    alice.patch(goal_url(child["id"]), json={"completed": True})
    response = alice.get(GOALS + "?flat=true")
    assert response.status_code == 200
    items = response.json["items"]
    assert [item["id"] for item in items] == [top["id"], child["id"], other["id"]]
    assert all(set(item) == FIELDS for item in items)
    assert [item["progress"] for item in items] == [1.0, 1.0, 1.0]
    assert items[0]["parent_id"] == other["id"]


def test_listing_flat_false_is_the_forest(alice, new_goal):
    new_goal(alice, "top")
    assert "children" in alice.get(GOALS + "?flat=false").json["items"][0]


def test_listing_without_goals_is_an_empty_list(alice):
    response = alice.get(GOALS)
    assert response.status_code == 200
    assert response.json == {"items": []}


def test_listing_shows_only_your_own_goals(alice, bob, new_goal):
    new_goal(alice, "alice's")
    new_goal(bob, "bob's")
    assert names(alice.get(GOALS).json["items"]) == ["alice's"]
    assert names(bob.get(GOALS + "?flat=true").json["items"]) == ["bob's"]


@pytest.mark.parametrize(
    "query, name",
    [
        ("flat=maybe", "flat"),
        ("user_id=abc", "user_id"),
        ("user_id=0", "user_id"),
        ("user_id=2147483648", "user_id"),
    ],
)
def test_listing_with_an_invalid_query_answers_400_naming_it(admin, query, name):
    response = admin.get(f"{GOALS}?{query}")
    assert response.status_code == 400
    assert response.json["errors"] == [
        {"query": name, "message": response.json["errors"][0]["message"]}
    ]


def test_listing_with_user_id_as_a_non_admin_answers_403(alice, bob, new_goal):
    new_goal(bob, "bob's")
    for user_id in (bob.id, alice.id):
        response = alice.get(f"{GOALS}?user_id={user_id}")
        assert response.status_code == 403
        assert response.content_type == "application/problem+json"


def test_an_admin_lists_another_users_forest_with_user_id(admin, alice, new_goal):
    top = new_goal(alice, "top")
    new_goal(alice, "child", top)
    new_goal(admin, "admin's own")
    response = admin.get(f"{GOALS}?user_id={alice.id}")
    assert response.status_code == 200
    assert response.json == alice.get(GOALS).json
    flat = admin.get(f"{GOALS}?user_id={alice.id}&flat=true").json["items"]
    assert names(flat) == ["top", "child"]


def test_an_admin_listing_a_user_without_goals_gets_an_empty_list(admin, alice):
    response = admin.get(f"{GOALS}?user_id={alice.id}")
    assert response.status_code == 200
    assert response.json == {"items": []}


def test_an_admin_listing_an_unknown_user_answers_404(admin):
    response = admin.get(f"{GOALS}?user_id=999999")
    assert response.status_code == 404
    assert response.json["detail"] == "The user does not exist."


def test_progress_is_the_share_of_completed_leaf_descendants(alice, new_goal):
    top = new_goal(alice, "top")
    left = new_goal(alice, "left", top)
    new_goal(alice, "right", top)
    done = new_goal(alice, "done", left)
    new_goal(alice, "open", left)
    alice.patch(goal_url(done["id"]), json={"completed": True})
    tree = by_name(alice.get(GOALS).json["items"])
    progress = {name: node["progress"] for name, node in tree.items()}
    assert progress == {
        "top": pytest.approx(1 / 3),
        "left": 0.5,
        "right": 0.0,
        "done": 1.0,
        "open": 0.0,
    }
    assert alice.get(goal_url(left["id"])).json["progress"] == 0.5


# --- GET /goals/<id> -------------------------------------------------------


def test_reading_a_goal_returns_it_with_its_whole_subtree(alice, new_goal):
    top = new_goal(alice, "top")
    child = new_goal(alice, "child", top)
    new_goal(alice, "grandchild", child)
    new_goal(alice, "elsewhere")
    response = alice.get(goal_url(child["id"]))
    assert response.status_code == 200
    assert response.json["name"] == "child"
    assert response.json["parent_id"] == top["id"]
    assert names(walk([response.json])) == ["child", "grandchild"]


def test_reading_another_users_goal_answers_404_like_a_missing_one(
    alice, bob, new_goal
):
    bobs = new_goal(bob, "bob's")
    theirs = alice.get(goal_url(bobs["id"]))
    missing = alice.get(goal_url(bobs["id"] + 1000))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json == missing.json
    assert theirs.content_type == "application/problem+json"


@pytest.mark.parametrize("goal_id", ["2147483648", "99999999999999999999", "abc"])
def test_reading_a_goal_id_out_of_range_answers_404(alice, goal_id):
    response = alice.get(GOALS + goal_id)
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"


# --- PATCH /goals/<id> -------------------------------------------------------


def test_renaming_and_describing_answers_200_and_touches_updated_at(alice, new_goal):
    goal = new_goal(alice, "old", description="old words")
    response = alice.patch(
        goal_url(goal["id"]), json={"name": "new", "description": "new words"}
    )
    assert response.status_code == 200
    assert response.json["name"] == "new"
    assert response.json["description"] == "new words"
    assert response.json["updated_at"] > goal["updated_at"]
    assert response.json["created_at"] == goal["created_at"]
    cleared = alice.patch(goal_url(goal["id"]), json={"description": None}).json
    assert cleared["description"] is None


def test_a_patch_that_changes_nothing_keeps_updated_at(alice, new_goal):
    goal = new_goal(alice, "same")
    for body in ({}, {"name": "same"}, {"parent_id": None}, {"completed": False}):
        response = alice.patch(goal_url(goal["id"]), json=body)
        assert response.status_code == 200
        assert response.json["updated_at"] == goal["updated_at"]


def test_moving_a_goal_changes_its_parent_and_moves_its_subtree(alice, new_goal):
    top = new_goal(alice, "top")
    other = new_goal(alice, "other")
    child = new_goal(alice, "child", top)
    new_goal(alice, "grandchild", child)
    response = alice.patch(goal_url(child["id"]), json={"parent_id": other["id"]})
    assert response.status_code == 200
    assert response.json["parent_id"] == other["id"]
    assert response.json["updated_at"] > child["updated_at"]
    items = alice.get(GOALS).json["items"]
    assert names(walk(items)) == ["top", "other", "child", "grandchild"]
    moved_up = alice.patch(goal_url(child["id"]), json={"parent_id": None})
    assert moved_up.json["parent_id"] is None
    assert names(alice.get(GOALS).json["items"]) == ["top", "other", "child"]


def test_moving_a_goal_under_itself_or_its_descendant_answers_409(alice, new_goal):
    top = new_goal(alice, "top")
    child = new_goal(alice, "child", top)
    grandchild = new_goal(alice, "grandchild", child)
    before = alice.get(GOALS).json
    for target in (top, child, grandchild):
        response = alice.patch(goal_url(top["id"]), json={"parent_id": target["id"]})
        assert response.status_code == 409
        assert response.content_type == "application/problem+json"
    assert alice.get(GOALS).json == before


def test_moving_under_a_goal_that_is_not_yours_answers_400_at_parent_id(
    alice, bob, new_goal
):
    goal = new_goal(alice, "mine")
    bobs = new_goal(bob, "bob's")
    for parent_id in (bobs["id"], bobs["id"] + 1000):
        response = alice.patch(goal_url(goal["id"]), json={"parent_id": parent_id})
        assert response.status_code == 400
        assert response.json["errors"][0]["pointer"] == "/parent_id"
    assert alice.get(goal_url(goal["id"])).json["parent_id"] is None


def test_moving_a_subtree_below_the_depth_limit_answers_400_at_parent_id(
    app, monkeypatch, alice, new_goal
):
    monkeypatch.setitem(app.config, "GOALS_MAX_DEPTH", 4)
    top = new_goal(alice, "top")
    middle = new_goal(alice, "middle", top)
    branch = new_goal(alice, "branch")
    new_goal(alice, "leaf", new_goal(alice, "twig", branch))
    # branch is 3 levels; under middle (level 2) it would reach level 5.
    response = alice.patch(goal_url(branch["id"]), json={"parent_id": middle["id"]})
    assert response.status_code == 400
    assert response.json["errors"][0]["pointer"] == "/parent_id"
    # Under top (level 1) it reaches level 4: allowed.
    response = alice.patch(goal_url(branch["id"]), json={"parent_id": top["id"]})
    assert response.status_code == 200


def test_completing_a_goal_completes_its_open_descendants_with_one_timestamp(
    alice, new_goal
):
    top = new_goal(alice, "top")
    early = new_goal(alice, "early", top)
    child = new_goal(alice, "child", top)
    grandchild = new_goal(alice, "grandchild", child)
    first = alice.patch(goal_url(early["id"]), json={"completed": True}).json
    response = alice.patch(goal_url(top["id"]), json={"completed": True})
    assert response.status_code == 200
    tree = by_name([response.json])
    stamp = tree["top"]["completed_at"]
    assert TIMESTAMP.match(stamp)
    assert tree["child"]["completed_at"] == tree["grandchild"]["completed_at"] == stamp
    assert tree["grandchild"]["updated_at"] == stamp
    # Already completed before: keeps its own timestamp.
    assert tree["early"]["completed_at"] == first["completed_at"] != stamp
    assert all(node["completed"] and node["progress"] == 1.0 for node in tree.values())
    assert grandchild["id"] in [n["id"] for n in walk([response.json])]


def test_completing_a_completed_goal_keeps_its_timestamp(alice, new_goal):
    goal = new_goal(alice, "goal")
    done = alice.patch(goal_url(goal["id"]), json={"completed": True}).json
    again = alice.patch(goal_url(goal["id"]), json={"completed": True}).json
    assert again["completed_at"] == done["completed_at"]
    assert again["updated_at"] == done["updated_at"]


def test_reopening_a_goal_reopens_its_completed_ancestors_only(alice, new_goal):
    top = new_goal(alice, "top")
    middle = new_goal(alice, "middle", top)
    sibling = new_goal(alice, "sibling", top)
    leaf = new_goal(alice, "leaf", middle)
    below = new_goal(alice, "below", leaf)
    alice.patch(goal_url(top["id"]), json={"completed": True})
    response = alice.patch(goal_url(leaf["id"]), json={"completed": False})
    assert response.status_code == 200
    assert response.json["completed"] is False
    tree = by_name(alice.get(GOALS).json["items"])
    assert [tree[n]["completed"] for n in ("top", "middle", "leaf")] == [False] * 3
    assert tree["sibling"]["completed"] and tree["below"]["completed"]
    assert tree["top"]["progress"] == 1.0  # leaves sibling and below are done
    assert tree["top"]["updated_at"] > top["updated_at"]
    assert sibling["id"] and below["id"]


def test_moving_a_completed_goal_under_an_open_goal_keeps_both_as_they_were(
    alice, new_goal
):
    done = new_goal(alice, "done")
    new_goal(alice, "done child", done)
    alice.patch(goal_url(done["id"]), json={"completed": True})
    target = new_goal(alice, "open target")
    response = alice.patch(goal_url(done["id"]), json={"parent_id": target["id"]})
    assert response.status_code == 200
    assert response.json["completed"] is True
    tree = by_name(alice.get(GOALS).json["items"])
    assert tree["done child"]["completed"] is True
    assert tree["open target"]["completed"] is False
    assert tree["open target"]["progress"] == 1.0


def test_moving_an_open_goal_under_a_completed_goal_reopens_the_new_parent_chain(
    alice, new_goal
):
    top = new_goal(alice, "top")
    target = new_goal(alice, "target", top)
    other = new_goal(alice, "other done", top)
    alice.patch(goal_url(top["id"]), json={"completed": True})
    work = new_goal(alice, "open work")
    response = alice.patch(goal_url(work["id"]), json={"parent_id": target["id"]})
    assert response.status_code == 200
    assert response.json["completed"] is False
    tree = by_name(alice.get(GOALS).json["items"])
    assert not tree["top"]["completed"] and not tree["target"]["completed"]
    assert tree["other done"]["completed"] is True
    assert tree["top"]["progress"] == 0.5
    assert other["id"]


def test_moving_and_completing_in_one_patch_under_a_completed_goal_keeps_it_completed(
    alice, new_goal
):
    target = new_goal(alice, "target")
    alice.patch(goal_url(target["id"]), json={"completed": True})
    work = new_goal(alice, "work")
    new_goal(alice, "step", work)
    response = alice.patch(
        goal_url(work["id"]), json={"parent_id": target["id"], "completed": True}
    )
    assert response.status_code == 200
    tree = by_name(alice.get(GOALS).json["items"])
    assert all(node["completed"] for node in tree.values())


def test_moving_and_reopening_a_completed_goal_under_a_completed_goal_reopens_both(
    alice, new_goal
):
    target = new_goal(alice, "target")
    done = new_goal(alice, "done")
    alice.patch(goal_url(target["id"]), json={"completed": True})
    alice.patch(goal_url(done["id"]), json={"completed": True})
    response = alice.patch(
        goal_url(done["id"]), json={"parent_id": target["id"], "completed": False}
    )
    assert response.status_code == 200
    tree = by_name(alice.get(GOALS).json["items"])
    assert not tree["target"]["completed"] and not tree["done"]["completed"]


@pytest.mark.parametrize(
    "body, pointer",
    [
        ({"name": ""}, "/name"),
        ({"name": None}, "/name"),
        ({"description": "d" * 2001}, "/description"),
        ({"parent_id": "top"}, "/parent_id"),
        ({"parent_id": -1}, "/parent_id"),
        ({"completed": "yes"}, "/completed"),
        ({"completed": None}, "/completed"),
        ({"started_at": "2026-01-01T00:00:00Z"}, "/started_at"),
        ({"user_id": 1}, "/user_id"),
        ([], ""),
    ],
)
def test_an_invalid_patch_answers_400_and_changes_nothing(
    alice, new_goal, body, pointer
):
    goal = new_goal(alice, "goal")
    response = alice.patch(goal_url(goal["id"]), json=body)
    assert response.status_code == 400
    assert pointer in [error["pointer"] for error in response.json["errors"]]
    assert alice.get(goal_url(goal["id"])).json == goal


def test_patching_with_a_non_json_body_answers_415(alice, new_goal):
    goal = new_goal(alice)
    response = alice.client.patch(
        goal_url(goal["id"]), data="x", headers=alice.headers, content_type="text/csv"
    )
    assert response.status_code == 415


def test_patching_with_unparseable_json_answers_400(alice, new_goal):
    goal = new_goal(alice)
    response = alice.client.patch(
        goal_url(goal["id"]),
        data="{nope",
        headers=alice.headers,
        content_type="application/json",
    )
    assert response.status_code == 400


def test_patching_with_a_body_over_the_limit_answers_413(alice, new_goal):
    goal = new_goal(alice)
    body = '{"name": "' + "n" * (1024 * 1024) + '"}'
    response = alice.client.patch(
        goal_url(goal["id"]),
        data=body,
        headers=alice.headers,
        content_type="application/json",
    )
    assert response.status_code == 413


def test_patching_another_users_goal_answers_404_and_changes_nothing(
    alice, bob, new_goal
):
    bobs = new_goal(bob, "bob's")
    response = alice.patch(goal_url(bobs["id"]), json={"name": "mine now"})
    assert response.status_code == 404
    missing = alice.patch(goal_url(bobs["id"] + 1000), json={"name": "x"})
    assert missing.json == response.json
    assert bob.get(goal_url(bobs["id"])).json["name"] == "bob's"


# --- DELETE /goals/<id> ------------------------------------------------------


def test_deleting_a_goal_answers_204_and_deletes_its_whole_subtree(
    alice, new_goal, stored_goals
):
    top = new_goal(alice, "top")
    doomed = new_goal(alice, "doomed", top)
    new_goal(alice, "grandchild", new_goal(alice, "child", doomed))
    new_goal(alice, "sibling", top)
    response = alice.delete(goal_url(doomed["id"]))
    assert response.status_code == 204
    assert response.data == b""
    assert names(walk(alice.get(GOALS).json["items"])) == ["top", "sibling"]
    assert len(stored_goals(alice.id)) == 2
    assert alice.get(goal_url(doomed["id"])).status_code == 404


def test_deleting_another_users_goal_answers_404_and_keeps_it(alice, bob, new_goal):
    bobs = new_goal(bob, "bob's")
    response = alice.delete(goal_url(bobs["id"]))
    assert response.status_code == 404
    assert alice.delete(goal_url(bobs["id"] + 1000)).json == response.json
    assert bob.get(goal_url(bobs["id"])).status_code == 200


def test_deleting_an_account_deletes_its_goals(alice, bob, new_goal, stored_goals):
    new_goal(alice, "child", new_goal(alice, "top"))
    new_goal(bob, "bob's")
    response = alice.delete("/api/v1/users/me", json={"current_password": PASSWORD})
    assert response.status_code == 204
    assert stored_goals(alice.id) == {}
    assert len(stored_goals(bob.id)) == 1


# --- every operation ----------------------------------------------------------


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("GET", GOALS, None),
        ("POST", GOALS, {"name": "x"}),
        ("GET", goal_url(1), None),
        ("PATCH", goal_url(1), {"completed": True}),
        ("DELETE", goal_url(1), None),
    ],
)
def test_every_goals_operation_answers_503_when_the_database_is_unreachable(
    alice, app_with, method, path, body
):
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    offline = app_with(SQLALCHEMY_DATABASE_URI=url)
    response = offline.test_client().open(
        path, method=method, json=body, headers=alice.headers
    )
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert "Retry-After" in response.headers


# --- the spec ----------------------------------------------------------------


def test_the_spec_declares_every_status_each_goals_operation_answers(client):
    spec = client.get("/api/v1/swagger.json").json
    # Besides these, every secured operation declares 401, 403 (a device key) and
    # 503 (@authenticated).
    expected = {
        ("/goals/", "get"): {"200", "400", "403", "404"},
        ("/goals/", "post"): {"201", "400", "409", "413", "415"},
        ("/goals/{goal_id}", "get"): {"200", "404"},
        ("/goals/{goal_id}", "patch"): {"200", "400", "404", "409", "413", "415"},
        ("/goals/{goal_id}", "delete"): {"204", "404"},
    }
    for (path, method), codes in expected.items():
        operation = spec["paths"][path][method]
        declared = codes | {"401", "403", "503"}
        assert set(operation["responses"]) == declared, (path, method)
        assert operation["security"] == [{"Bearer": []}]
    goal = spec["definitions"]["Goal"]["properties"]
    assert goal["completed_at"]["x-nullable"] is True
    assert goal["description"]["x-nullable"] is True
    for name in ("target", "measured", "streak"):
        assert goal[name]["x-nullable"] is True
    assert goal["children"]["items"] == {"$ref": "#/definitions/Goal"}
