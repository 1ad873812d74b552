"""Random readings, targets and goal trees: after every write, what the API shows
(measured value, met, streak, progress, completion and its time) equals a
plain-Python recomputation from the stored readings (testing/measured.py), and
no completed goal has an open descendant."""

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from myapp.db import db
from testing.goals import GOALS, goal_url
from testing.measured import Stored, evaluate, micros, progress, text
from testing.readings import BATCH, READINGS, reading


def instants():
    """Times around now that sit on UTC period boundaries, before and after."""
    now = datetime.now(timezone.utc)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    monday = today - timedelta(days=today.weekday())
    month = today.replace(day=1)
    last_month = (month - timedelta(days=1)).replace(day=1)
    tick = timedelta(microseconds=1)
    return [
        today,
        today - tick,
        today + timedelta(hours=1),
        today - timedelta(hours=30),
        monday,
        monday - tick,
        month,
        month - tick,
        last_month,
        today - timedelta(days=9),
        today - timedelta(days=40),
        now + timedelta(days=1),
    ]


TIMES = [moment.isoformat() for moment in instants()]
# started_at: None is the default (the creation time: every reading above is
# before it, or in the future).
STARTS = [None, TIMES[10], TIMES[8], TIMES[6], TIMES[4], TIMES[3], TIMES[11]]

NUMBERS = st.one_of(
    st.integers(-3, 6), st.sampled_from([0.5, 1.5, -0.5]), st.booleans(), st.just("7")
)
READING = st.builds(
    lambda sensor, field, value, at: reading(
        sensor=sensor,
        data={} if field is None else {field: value},
        recorded_at=at,
    ),
    st.sampled_from(["a", "b"]),
    st.sampled_from(["v", "v", "v", "w", None]),
    NUMBERS,
    st.sampled_from(TIMES),
)
TARGET = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "sensor": st.sampled_from(["a", "b"]),
            "field": st.sampled_from(["v", "v", "w"]),
            "aggregate": st.sampled_from(["sum", "count", "min", "max", "avg", "last"]),
            "op": st.sampled_from([">=", "<="]),
            "value": st.sampled_from([-1, 0, 1, 2, 3.5, 6]),
            "period": st.sampled_from([None, "day", "week", "month"]),
        }
    ),
)
GOAL = st.tuples(st.just("goal"), st.integers(0, 20), st.sampled_from(STARTS), TARGET)
UPLOAD = st.tuples(st.just("upload"), st.lists(READING, min_size=1, max_size=8))
STEP = st.one_of(
    UPLOAD,
    UPLOAD,
    UPLOAD,
    GOAL,
    st.tuples(st.just("delete reading"), st.integers(0, 50)),
    st.tuples(st.just("target"), st.integers(0, 20), TARGET),
    st.tuples(
        st.sampled_from(["complete", "reopen", "delete goal"]), st.integers(0, 20)
    ),
)
# A few goals, then a run of writes long enough to meet, delete and reopen.
STEPS = st.tuples(
    st.lists(GOAL, min_size=2, max_size=5), st.lists(STEP, min_size=6, max_size=18)
)


def refused(target):
    """<= with sum or count needs a period: the API answers 400 at /target/op."""
    return (
        target is not None
        and target["op"] == "<="
        and target["aggregate"] in ("sum", "count")
        and target["period"] is None
    )


class Model:
    """Alice's goals and readings as the contract says they must be."""

    def __init__(self):
        self.goals = {}  # id -> {"parent", "since", "target", "completed_at"}
        self.readings = []

    def below(self, goal_id):
        found, frontier = [], [goal_id]
        while frontier:
            frontier = [g for g, v in self.goals.items() if v["parent"] in frontier]
            found += frontier
        return found

    def complete(self, goal_id, stamp):
        for g in [goal_id, *self.below(goal_id)]:
            if self.goals[g]["completed_at"] is None:
                self.goals[g]["completed_at"] = stamp

    def reopen_up(self, goal_id):
        while goal_id is not None and self.goals[goal_id]["completed_at"] is not None:
            self.goals[goal_id]["completed_at"] = None
            goal_id = self.goals[goal_id]["parent"]

    def lifetime_met(self, goal_id):
        goal = self.goals[goal_id]
        target = goal["target"]
        if target is None or target["period"] is not None:
            return False
        return evaluate(target, goal["since"], self.readings, 0)[1]

    def store(self, items, ids, now):
        """Readings stored in upload order; each met open goal completes at its item."""
        for item, reading_id in zip(items, ids):
            stored = Stored(
                reading_id, item["sensor"], micros(item["recorded_at"]), item["data"]
            )
            self.readings.append(stored)
            for goal_id, goal in sorted(self.goals.items()):
                target = goal["target"]
                if (
                    goal["completed_at"] is None
                    and target is not None
                    and target["sensor"] == stored.sensor
                    and stored.recorded_at >= goal["since"]
                    and self.lifetime_met(goal_id)
                ):
                    self.complete(goal_id, text(min(stored.recorded_at, now)))


def with_period(target):
    return None if target is None else {**target, "value": float(target["value"])}


def apply_step(account, model, step):
    """Do one step over HTTP, check its answer, and apply it to the model."""
    kind = step[0]
    ids = sorted(model.goals)
    if kind == "goal":
        _, which, started, target = step
        parent = (ids + [None])[which % (len(ids) + 1)]
        body = {"name": "g", "parent_id": parent, "target": target}
        if started is not None:
            body["started_at"] = started
        response = account.post(GOALS, json=body)
        if refused(target):
            assert response.status_code == 400
            assert response.json["errors"][0]["pointer"] == "/target/op"
            return
        assert response.status_code == 201, response.json
        created = response.json
        model.goals[created["id"]] = {
            "parent": parent,
            "since": micros(created["started_at"]),
            "target": with_period(target),
            "completed_at": None,
        }
        model.reopen_up(parent)
        if model.lifetime_met(created["id"]):
            assert created["completed_at"] == created["created_at"]
            model.complete(created["id"], created["completed_at"])
    elif kind == "upload":
        items = step[1]
        if len(items) == 1:
            response = account.post(READINGS, json=items[0])
            assert response.status_code == 201, response.json
            new_ids, now = [response.json["id"]], response.json["created_at"]
        else:
            response = account.post(BATCH, json={"readings": items})
            assert response.status_code == 201, response.json
            new_ids = response.json["ids"]
            now = account.get(f"{READINGS}{new_ids[0]}").json["created_at"]
        model.store(items, new_ids, micros(now))
    elif kind == "delete reading":
        if not model.readings:
            return
        doomed = model.readings[step[1] % len(model.readings)]
        assert account.delete(f"{READINGS}{doomed.id}").status_code == 204
        model.readings.remove(doomed)
    elif not ids:
        return
    elif kind == "target":
        goal_id, target = ids[step[1] % len(ids)], step[2]
        response = account.patch(goal_url(goal_id), json={"target": target})
        if refused(target):
            assert response.status_code == 400
            return
        assert response.status_code == 200, response.json
        model.goals[goal_id]["target"] = with_period(target)
        if model.goals[goal_id]["completed_at"] is None and model.lifetime_met(goal_id):
            assert response.json["completed_at"] == response.json["updated_at"]
            model.complete(goal_id, response.json["completed_at"])
    elif kind == "complete":
        goal_id = ids[step[1] % len(ids)]
        response = account.patch(goal_url(goal_id), json={"completed": True})
        assert response.status_code == 200
        model.complete(goal_id, response.json["completed_at"])
    elif kind == "reopen":
        goal_id = ids[step[1] % len(ids)]
        assert (
            account.patch(goal_url(goal_id), json={"completed": False}).status_code
            == 200
        )
        model.reopen_up(goal_id)
    else:
        goal_id = ids[step[1] % len(ids)]
        assert account.delete(goal_url(goal_id)).status_code == 204
        for g in [goal_id, *model.below(goal_id)]:
            del model.goals[g]


def check(account, model):
    """Every goal as the API shows it equals the model's recomputation."""
    shown = {
        node["id"]: node for node in account.get(GOALS + "?flat=true").json["items"]
    }
    assert sorted(shown) == sorted(model.goals)
    leaf_progress = {}
    for goal_id, goal in model.goals.items():
        node = shown[goal_id]
        assert node["completed_at"] == goal["completed_at"], goal_id
        target = goal["target"]
        assert node["target"] == target
        if target is None:
            assert node["measured"] is node["streak"] is None
            leaf_progress[goal_id] = float(goal["completed_at"] is not None)
            continue
        as_of = micros(node["measured"]["as_of"])
        value, met, streak = evaluate(target, goal["since"], model.readings, as_of)
        assert (node["measured"]["value"], node["measured"]["met"]) == (value, met), (
            goal_id,
            target,
        )
        assert node["streak"] == streak, (goal_id, target)
        done = goal["completed_at"] is not None
        leaf_progress[goal_id] = 1.0 if done else progress(target, value)
    for goal_id, goal in model.goals.items():
        below = model.below(goal_id)
        if goal["completed_at"] is not None:
            assert all(model.goals[g]["completed_at"] is not None for g in below)
        leaves = [g for g in [goal_id, *below] if not model.below(g)]
        expected = sum(leaf_progress[g] for g in leaves) / len(leaves)
        assert abs(shown[goal_id]["progress"] - expected) < 1e-9, goal_id


def test_random_readings_targets_and_trees_match_a_plain_recomputation(alice, in_app):
    from myapp.goals.models import Goal
    from myapp.readings.models import Reading

    def forget_everything():
        for model in (Goal, Reading):
            db.session.execute(sa.delete(model).where(model.user_id == alice.id))
        db.session.commit()

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(steps=STEPS)
    def run(steps):
        in_app(forget_everything)
        model = Model()
        first, rest = steps
        import collections

        global STATS
        STATS = globals().setdefault("STATS", collections.Counter())
        STATS["examples"] += 1
        for step in first + rest:
            STATS[step[0]] += 1
            apply_step(alice, model, step)
            check(alice, model)
        STATS["completed"] += sum(
            g["completed_at"] is not None for g in model.goals.values()
        )
        STATS["measured"] += sum(g["target"] is not None for g in model.goals.values())

    run()
    print("STATS", STATS)
