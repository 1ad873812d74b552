"""The migrations build exactly the schema the models describe."""

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from myapp.db import db, migrations_directory


def test_models_and_migrations_agree(app):
    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True}
            )
            with warnings.catch_warnings():
                # Alembic cannot compare expression indexes; it says so and skips them.
                warnings.simplefilter("ignore", UserWarning)
                differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_migrations_have_a_single_head():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", migrations_directory())
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"merge the migration heads: {heads}"


def test_rebuilding_sqlite_tables_keeps_every_row_and_gives_ids_autoincrement(
    tmp_path,
):
    """0005 rebuilds users and goals: foreign keys must not cascade rows away."""
    import sqlite3

    import flask_migrate

    from myapp import create_app

    path = tmp_path / "rebuild.sqlite"
    app = create_app(
        {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"}
    )
    day, later = "2024-01-01 00:00:00", "2030-01-01 00:00:00"
    with app.app_context():
        flask_migrate.upgrade(revision="0004")
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(
                f"INSERT INTO users VALUES (7, 'u', 'u@x.io', 'h', 0, '{day}')"
            )
            conn.execute(
                "INSERT INTO auth_sessions VALUES (?, 7, 'j', ?, ?, NULL)",
                ("s", day, later),
            )
            for goal, parent in ((1, "NULL"), (2, 1)):
                conn.execute(
                    f"INSERT INTO goals VALUES ({goal}, 7, {parent}, 'g', NULL, "
                    f"'{day}', NULL, '{day}', '{day}')"
                )
        flask_migrate.upgrade(revision="heads")
        db.engine.dispose()
    with sqlite3.connect(path) as conn:
        counts = [
            conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            for name in ("users", "auth_sessions", "goals")
        ]
        tables = dict(
            conn.execute("SELECT name, sql FROM sqlite_master WHERE type='table'")
        )
        indexes = {
            row[0]
            for row in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")
        }
        parent_keys = conn.execute("PRAGMA foreign_key_list(goals)").fetchall()
    assert counts == [1, 1, 2]
    assert "AUTOINCREMENT" in tables["users"] and "AUTOINCREMENT" in tables["goals"]
    assert {"uq_users_username_lower", "ix_goals_user_id_parent_id"} <= indexes
    assert "ck_goals_not_own_parent" in tables["goals"]
    assert {row[2] for row in parent_keys} == {"users", "goals"}


def test_adding_device_id_rebuilds_sqlite_readings_keeping_rows_and_autoincrement(
    tmp_path,
):
    """0006 rebuilds readings for its named foreign key: nothing may be lost."""
    import sqlite3

    import flask_migrate

    from myapp import create_app

    path = tmp_path / "devices.sqlite"
    app = create_app(
        {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"}
    )
    with app.app_context():
        flask_migrate.upgrade(revision="0005")
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("INSERT INTO users VALUES (7, 'u', 'u@x.io', 'h', 0, 'd')")
            for n, sensor in ((1, "s1"), (2, "s2"), (3, "s2")):
                conn.execute(
                    "INSERT INTO readings (user_id, sensor, recorded_at, data,"
                    f" client_id, created_at) VALUES (7, '{sensor}', {n}, '{{}}',"
                    " NULL, 0)"
                )
            conn.execute("DELETE FROM readings WHERE id = 3")
        flask_migrate.upgrade(revision="heads")
        db.engine.dispose()
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT id, sensor, device_id FROM readings").fetchall()
        latest = conn.execute("SELECT * FROM readings_latest").fetchall()
        sql = conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'readings'"
        ).fetchone()[0]
        indexes = {
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE tbl_name = 'readings'"
                " AND type = 'index'"
            )
        }
        conn.execute(
            "INSERT INTO readings (user_id, sensor, recorded_at, data, client_id,"
            " created_at) VALUES (7, 'new', 4, '{}', NULL, 0)"
        )
        newest = conn.execute("SELECT max(id) FROM readings").fetchone()[0]
    assert rows == [(1, "s1", None), (2, "s2", None)]
    # Each sensor's newest reading, filled in from the readings already stored.
    assert sorted(latest) == [(7, "s1", 1, 1), (7, "s2", 2, 2)]
    assert "AUTOINCREMENT" in sql and "ON DELETE SET NULL" in sql
    assert newest == 4  # the deleted reading's id 3 is not handed out again
    assert {
        "ix_readings_user_id_recorded_at",
        "ix_readings_user_id_sensor_recorded_at",
        "ix_readings_device_id_user_id_recorded_at",
    } <= indexes


def test_0009_rolls_up_existing_readings_in_batches_exactly(tmp_path, monkeypatch):
    """Every numeric field of the first 32 per sensor, per 15 minutes and hour."""
    import json
    import math
    import random
    import sqlite3
    from collections import defaultdict

    import flask_migrate

    from myapp import create_app

    monkeypatch.setenv("MYAPP_ROLLUP_BACKFILL_BATCH", "7")
    path = tmp_path / "rollups.sqlite"
    app = create_app(
        {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"}
    )
    rng = random.Random(9)
    rows = []
    for n in range(1, 60):
        value = rng.choice([rng.randint(-50, 50), rng.uniform(-5, 5), True, "x"])
        at = rng.randrange(-3600, 3 * 3600) * 1_000_000
        rows.append((n, rng.choice(["a", "b"]), at, {"v": value, "w": 1}))
    with app.app_context():
        flask_migrate.upgrade(revision="0008")
        with sqlite3.connect(path) as conn:
            conn.execute("INSERT INTO users VALUES (7, 'u', 'u@x.io', 'h', 0, 'd')")
            for n, sensor, at, data in rows:
                conn.execute(
                    "INSERT INTO readings (id, user_id, sensor, recorded_at, data,"
                    " client_id, created_at) VALUES (?, 7, ?, ?, json(?), NULL, 0)",
                    (n * 3, sensor, at, json.dumps(data)),
                )
        flask_migrate.upgrade(revision="heads")
        db.engine.dispose()
    want = defaultdict(list)
    for _, sensor, at, data in rows:
        for field, value in data.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            for tier, width in ((0, 900 * 10**6), (1, 3600 * 10**6)):
                want[(sensor, field, tier, at - at % width)].append(value)
    with sqlite3.connect(path) as conn:
        got = {
            tuple(row[:4]): row[4:]
            for row in conn.execute(
                "SELECT sensor, field, tier, start, count, total, low, high"
                " FROM reading_rollups WHERE user_id = 7"
            )
        }
        zones = {row[0] for row in conn.execute("SELECT time_zone FROM users")}
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert zones == {"UTC"}
    assert "reading_rollups_backfill" not in tables
    assert sorted(got) == sorted(want)
    for key, values in want.items():
        count, total, low, high = got[key]
        assert (count, low, high) == (len(values), min(values), max(values)), key
        assert math.isclose(total, math.fsum(values), abs_tol=1e-9), key


def test_0013_moves_habits_periods_into_shared_series_and_back(tmp_path):
    """Downgrading gives every habit its own periods again; upgrading shares them."""
    from datetime import datetime, timedelta, timezone

    import flask_migrate
    import sqlalchemy as sa

    from myapp import create_app
    from myapp.goals import service as goals
    from myapp.users import service as users

    path = tmp_path / "series.sqlite"
    app = create_app(
        {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"}
    )
    now = datetime.now(timezone.utc)
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
        user = users.register(username="u", email="u@x.io", password="x" * 12)
        token = users.start_session(user=user)["access_token"]
        for days, period in ((9, "day"), (5, "day"), (9, None), (20, "week")):
            target = {"sensor": "s", "field": "v", "aggregate": "sum", "op": ">="}
            goals.create_goal(
                user_id=user.id,
                name=f"{days} {period}",
                started_at=now - timedelta(days=days, hours=3),
                target={**target, "value": 2, "period": period},
            )
    items = [
        {
            "sensor": "s",
            "data": {"v": day % 3},
            "recorded_at": (now - timedelta(days=day, hours=h)).isoformat(),
        }
        for day in range(12)
        for h in (1, 5)
    ]
    response = app.test_client().post(
        "/api/v1/readings/batch",
        json={"readings": items},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201

    def stored():
        return {
            table: sorted(
                map(tuple, db.session.execute(sa.text(f"SELECT * FROM {table}")))
            )
            for table in ("goal_measures", "goal_series")
        }

    with app.app_context():
        shared = stored()
        # One head per target with readings in it (the weekly one's week has none).
        assert len(shared["goal_measures"]) == 3 and shared["goal_series"]
        flask_migrate.downgrade(revision="0012")
        per_goal = db.session.execute(sa.text("SELECT count(*) FROM goal_measures"))
        assert per_goal.scalar_one() > 3
        db.session.remove()
        flask_migrate.upgrade(revision="heads")
        assert stored() == shared
        db.session.remove()
        db.engine.dispose()


def test_every_table_the_models_give_autoincrement_has_it_after_migrating(tmp_path):
    """SQLite rebuilds tables in batch migrations: AUTOINCREMENT must survive."""
    import sqlite3

    import flask_migrate

    from myapp import create_app

    path = tmp_path / "autoincrement.sqlite"
    app = create_app(
        {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"}
    )
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
        wanted = {
            table.name
            for table in db.metadata.sorted_tables
            if table.dialect_kwargs.get("sqlite_autoincrement")
        }
        db.engine.dispose()
    with sqlite3.connect(path) as conn:
        schema = dict(conn.execute("SELECT name, sql FROM sqlite_master"))
    assert (
        wanted
        and {name for name in wanted if "AUTOINCREMENT" not in schema[name]} == set()
    )
