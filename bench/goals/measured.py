"""Seeds and cases of the measured-goals benchmark (issue 14), used by run.py.

- forest: the same 5,000-goal forest as run.py's, for user `measured`, with
  100 of its goals carrying targets (lifetime and habits, every aggregate) over
  100,000 readings of 5 sensors (one every 5 minutes for 69 days), added
  through the app's own ingest path so the running measures are what uploads
  leave behind.
- ingest: users `plain` (no goals) and `watched` (10 measured goals on the
  sensor it uploads), each posting the same fresh 1000-reading bodies.
- habits (issue 21): users `plain` and `habits` (200 daily habits on one
  sensor, started over the last 1000 days) each post 1000 readings spread
  over those 1000 days, one a day.
"""

import itertools
import random
import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from myapp.db import db
from myapp.goals import service as goals
from myapp.goals.models import Goal
from myapp.users import service as users

MEASURED_FIRST_ID = 300_001
MEASURED_GOALS = 100
READINGS = 100_000
SENSORS = {
    "pedometer": ("km", lambda rng: round(rng.uniform(0, 2), 2)),
    "sleep": ("hours", lambda rng: round(rng.uniform(4, 9), 1)),
    "heart": ("bpm", lambda rng: rng.randint(50, 90)),
    "scale": ("kg", lambda rng: round(rng.uniform(70, 80), 1)),
    "steps": ("value", lambda rng: rng.randint(0, 200)),
}
UNREACHABLE = 1e12
# Ten kinds, cycled over the 100 goals: lifetime targets never met (the forest
# keeps the same completed goals as the one without targets), habits that are.
KINDS = [
    ("pedometer", "sum", ">=", UNREACHABLE, None),
    ("sleep", "min", ">=", 7, "day"),
    ("heart", "last", "<=", 0, None),
    ("scale", "avg", "<=", 75, "day"),
    ("steps", "count", ">=", 100, "day"),
    ("pedometer", "max", ">=", UNREACHABLE, None),
    ("sleep", "count", "<=", 500, "week"),
    ("heart", "avg", ">=", 50, "month"),
    ("steps", "sum", ">=", 10, "week"),
    ("scale", "min", ">=", UNREACHABLE, None),
]
# The ingest user's 10 targets, all on one sensor; lifetime ones stay open, so
# every upload checks them item by item (the costly path).
INGEST_KINDS = [
    ("sum", ">=", UNREACHABLE, None),
    ("count", ">=", UNREACHABLE, None),
    ("max", ">=", UNREACHABLE, None),
    ("avg", ">=", UNREACHABLE, None),
    ("last", ">=", UNREACHABLE, None),
    ("sum", ">=", 10, "day"),
    ("min", ">=", 1, "day"),
    ("count", "<=", 2000, "week"),
    ("max", ">=", 1.5, "month"),
    ("avg", ">=", 1, "week"),
]


def target(sensor, aggregate, op, value, period):
    field = SENSORS[sensor][0]
    return dict(
        sensor=sensor,
        field=field,
        aggregate=aggregate,
        op=op,
        value=value,
        period=period,
    )


def seed_forest(app, client, random_tree, forest_goals, depth, seed):
    """User `measured`: run.py's forest (same seed), 100 targets, 100,000 readings."""
    with app.app_context():
        user = users.register(
            username="measured", email="measured@example.com", password="x" * 12
        )
        rows, _ = random_tree(
            random.Random(seed), user.id, MEASURED_FIRST_ID, forest_goals, depth, 0.02
        )
        db.session.execute(sa.insert(Goal.__table__), rows)
        db.session.commit()
        chosen = [row["id"] for row in rows][:: forest_goals // MEASURED_GOALS]
        started = datetime.now(timezone.utc) - timedelta(days=70)
        for goal_id, kind in zip(chosen, itertools.cycle(KINDS)):
            db.session.execute(
                sa.update(Goal.__table__)
                .where(Goal.id == goal_id)
                .values(started_at=started)
            )
            db.session.commit()
            goals.update_goal(user_id=user.id, goal_id=goal_id, target=target(*kind))
        token = users.start_session(user=user)["access_token"]
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    per_sensor = READINGS // len(SENSORS)
    items = []
    for n in range(per_sensor):
        at = (now - timedelta(minutes=5 * (per_sensor - n))).isoformat()
        for sensor, (field, value) in SENSORS.items():
            items.append(
                {"sensor": sensor, "recorded_at": at, "data": {field: value(rng)}}
            )
    headers = {"Authorization": f"Bearer {token}"}
    for start in range(0, len(items), 1000):
        body = {"readings": items[start : start + 1000]}
        response = client.post("/api/v1/readings/batch", json=body, headers=headers)
        assert response.status_code == 201, response.json
    return token, chosen


def seed_ingest(app):
    """Users `plain` (no goals) and `watched` (10 targets on `pedometer`)."""
    tokens = {}
    with app.app_context():
        for name in ("plain", "watched"):
            user = users.register(
                username=name, email=f"{name}@example.com", password="x" * 12
            )
            tokens[name] = users.start_session(user=user)["access_token"]
            if name == "watched":
                for n, kind in enumerate(INGEST_KINDS):
                    goals.create_goal(
                        user_id=user.id,
                        name=f"walk {n}",
                        started_at=datetime.now(timezone.utc) - timedelta(days=30),
                        target=target("pedometer", *kind),
                    )
    return tokens


def ingest_body(n):
    """The n-th 1000-reading upload (each with its client_id): the last 1000
    minutes, a reading a minute, all counted by the watched user's targets."""
    rng = random.Random(n)
    start = datetime.now(timezone.utc) - timedelta(minutes=1000)
    return {
        "readings": [
            {
                "sensor": "pedometer",
                "recorded_at": (start + timedelta(minutes=m)).isoformat(),
                "data": {"km": round(rng.uniform(0, 2), 2), "steps": m},
                # Never sent before: every upload stores 1000 new readings.
                "client_id": str(uuid.uuid4()),
            }
            for m in range(1000)
        ]
    }


HABITS = 200
SPREAD_DAYS = 1000


def seed_habits(app):
    """User `habits`: 200 daily habits on `pedometer`, one started every 5 days."""
    now = datetime.now(timezone.utc)
    with app.app_context():
        user = users.register(
            username="habits", email="habits@example.com", password="x" * 12
        )
        for n in range(HABITS):
            goals.create_goal(
                user_id=user.id,
                name=f"walk daily {n}",
                started_at=now - timedelta(days=SPREAD_DAYS - 5 * n),
                target=target("pedometer", "sum", ">=", 1 + n % 5, "day"),
            )
        return {"habits": users.start_session(user=user)["access_token"]}


def spread_body(n):
    """The n-th upload of 1000 readings, one a day over the last 1000 days."""
    rng = random.Random(n)
    now = datetime.now(timezone.utc)
    return {
        "readings": [
            {
                "sensor": "pedometer",
                "recorded_at": (now - timedelta(days=day, hours=1)).isoformat(),
                "data": {"km": round(rng.uniform(0, 2), 2)},
                "client_id": str(uuid.uuid4()),
            }
            for day in range(SPREAD_DAYS)
        ]
    }


def goal_rows(app, username):
    """Rows the user's measured goals keep: heads and shared series periods."""
    with app.app_context():
        return db.session.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM goal_measures m JOIN goal_targets t"
                " ON t.goal_id = m.goal_id WHERE t.user_id = u.id)"
                " + (SELECT count(*) FROM goal_series s WHERE s.user_id = u.id)"
                " FROM users u WHERE u.username = :name"
            ),
            {"name": username},
        ).scalar_one()
