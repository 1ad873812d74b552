"""Random sequences of create / move / complete / reopen / delete keep the tree
rules after every step: no cycles, same-user parents, no completed goal above an
open one, and progress as recomputed from the stored rows. The stored state also
matches a small model of the rules, so a rule applied wrongly fails too."""

from hypothesis import given, settings
from hypothesis import strategies as st

from testing.goals import GOALS, goal_url, walk

# A step: (operation, which goal, which target), indexes taken modulo what exists.
# Every run starts by creating a few goals, so the edits after have a tree to edit.
OPERATIONS = ["create", "move", "move", "complete", "reopen", "delete"]
STEPS = st.tuples(
    st.lists(
        st.tuples(st.just("create"), st.just(0), st.integers(0, 40)),
        min_size=3,
        max_size=10,
    ),
    st.lists(
        st.tuples(st.sampled_from(OPERATIONS), st.integers(0, 40), st.integers(0, 40)),
        min_size=1,
        max_size=20,
    ),
).map(lambda parts: parts[0] + parts[1])


def below(parents, goal_id):
    """Ids strictly below goal_id in a {id: parent_id} map."""
    found, frontier = set(), {goal_id}
    while frontier:
        frontier = {g for g, p in parents.items() if p in frontier} - found
        found |= frontier
    return found


def above(parents, goal_id):
    """Ids strictly above goal_id, nearest first; fails on a cycle."""
    chain, parent = [], parents[goal_id]
    while parent is not None:
        assert parent not in chain and parent != goal_id, "cycle"
        chain.append(parent)
        parent = parents[parent]
    return chain


class Model:
    """Alice's goals as {id: parent} and {id: completed}, changed by the rules."""

    def __init__(self):
        self.parents, self.completed = {}, {}

    def reopen_up(self, goal_id):
        while goal_id is not None and self.completed[goal_id]:
            self.completed[goal_id] = False
            goal_id = self.parents[goal_id]

    def progress(self, goal_id):
        subtree = below(self.parents, goal_id) | {goal_id}
        leaves = [g for g in subtree if g not in self.parents.values()]
        return sum(self.completed[g] for g in leaves) / len(leaves)


def apply_step(account, model, foreign, step):
    """Do one step over HTTP, check the answer, and apply it to the model."""
    operation, which, target = step
    ids = sorted(model.parents)
    if operation == "create":
        parent = (ids + [None])[target % (len(ids) + 1)]
        body = (
            {"name": "goal"} if parent is None else {"name": "g", "parent_id": parent}
        )
        response = account.post(GOALS, json=body)
        assert response.status_code == 201, response.json
        model.parents[response.json["id"]] = parent
        model.completed[response.json["id"]] = False
        model.reopen_up(parent)
        return
    if not ids:
        return
    goal_id = ids[which % len(ids)]
    url = goal_url(goal_id)
    if operation == "move":
        parent = (ids + [None, foreign])[target % (len(ids) + 2)]
        response = account.patch(url, json={"parent_id": parent})
        if parent == foreign:
            assert response.status_code == 400
            assert response.json["errors"][0]["pointer"] == "/parent_id"
        elif parent == goal_id or parent in below(model.parents, goal_id):
            assert response.status_code == 409
        else:
            assert response.status_code == 200, response.json
            model.parents[goal_id] = parent
            if not model.completed[goal_id]:
                model.reopen_up(parent)
    elif operation == "complete":
        assert account.patch(url, json={"completed": True}).status_code == 200
        for g in below(model.parents, goal_id) | {goal_id}:
            model.completed[g] = True
    elif operation == "reopen":
        assert account.patch(url, json={"completed": False}).status_code == 200
        model.reopen_up(goal_id)
    else:
        assert account.delete(url).status_code == 204
        for g in below(model.parents, goal_id) | {goal_id}:
            del model.parents[g], model.completed[g]


def check_rules(account, model, stored):
    """The stored rows keep every rule and match the model; progress is right."""
    parents = {g: row.parent_id for g, row in stored.items()}
    completed = {g: row.completed_at is not None for g, row in stored.items()}
    for goal_id in stored:
        ancestors = above(parents, goal_id)  # asserts there is no cycle
        # The parent is one of this user's stored goals (never another user's).
        assert parents[goal_id] is None or parents[goal_id] in stored
        if not completed[goal_id]:
            assert not any(completed[a] for a in ancestors)
    assert parents == model.parents
    assert completed == model.completed
    nodes = list(walk(account.get(GOALS).json["items"]))
    assert sorted(node["id"] for node in nodes) == sorted(model.parents)
    for node in nodes:
        assert node["completed"] == model.completed[node["id"]]
        assert node["progress"] == model.progress(node["id"])


def test_random_edits_keep_every_tree_rule(alice, bob, new_goal, stored_goals):
    foreign = new_goal(bob, "bob's goal")["id"]

    @settings(max_examples=30, deadline=None)
    @given(steps=STEPS)
    def run(steps):
        for item in alice.get(GOALS).json["items"]:
            assert alice.delete(goal_url(item["id"])).status_code == 204
        model = Model()
        for step in steps:
            apply_step(alice, model, foreign, step)
            check_rules(alice, model, stored_goals(alice.id))

    run()
    assert bob.get(goal_url(foreign)).json["children"] == []
