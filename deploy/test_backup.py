"""deploy/backup.py: SQLite backups before migrating, and restoring one."""

import os
import sqlite3
import subprocess
import sys

from alembic.script import ScriptDirectory

from deploy import backup

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLASK = os.path.join(os.path.dirname(sys.executable), "flask")


def flask_db(url, *args):
    """`flask db ...` on the database at `url`, as remote.sh runs it."""
    env = dict(os.environ, DATABASE_URL=url, MYAPP_CONFIG="testing", FLASK_APP="wsgi")
    env.pop("TEST_DATABASE_URL", None)
    subprocess.run([FLASK, "db", *args], cwd=ROOT, env=env, check=True)


def dump(path):
    with sqlite3.connect(path) as db:
        return list(db.iterdump())


def test_a_backup_taken_before_migrating_restores_the_pre_migration_state(tmp_path):
    database = str(tmp_path / "app.sqlite")
    url = "sqlite:///" + database
    first = ScriptDirectory(os.path.join(ROOT, "migrations")).get_base()
    flask_db(url, "upgrade", first)
    with sqlite3.connect(database) as db:
        db.execute(
            "INSERT INTO users (username, email, password_hash, is_admin, created_at)"
            " VALUES ('alice', 'a@example.com', 'x', 0, '2020-01-01 00:00:00')"
        )
    before = dump(database)

    taken = backup.take(database, keep=5, label="before-heads")
    flask_db(url, "upgrade", "heads")
    assert dump(database) != before
    backup.restore(taken, database)

    assert dump(database) == before
    assert os.path.dirname(taken) == str(tmp_path / "backups")
    assert oct(os.stat(taken).st_mode & 0o777) == "0o600"


def test_the_backup_holds_writes_still_in_the_wal_file(tmp_path):
    # A file copy of the main database would miss them; the backup API does not.
    database = str(tmp_path / "wal.sqlite")
    writer = sqlite3.connect(database)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE readings (value INTEGER)")
    writer.executemany("INSERT INTO readings VALUES (?)", [(n,) for n in range(500)])
    writer.commit()
    assert os.path.getsize(database + "-wal") > 0

    taken = backup.take(database, keep=1, label="wal")
    writer.close()

    with sqlite3.connect(taken) as db:
        assert db.execute("SELECT count(*), sum(value) FROM readings").fetchone() == (
            500,
            sum(range(500)),
        )


def test_only_the_newest_backups_are_kept(tmp_path):
    database = str(tmp_path / "app.sqlite")
    sqlite3.connect(database).close()
    taken = [backup.take(database, keep=2, label=f"deploy{n}") for n in range(4)]
    folder = str(tmp_path / "backups")
    assert sorted(os.listdir(folder)) == sorted(map(os.path.basename, taken[-2:]))


def run_take(tmp_path, url):
    return subprocess.run(
        [sys.executable, backup.__file__, "take", "--keep", "3", "--label", "x"],
        env=dict(os.environ, DATABASE_URL=url),
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_the_command_backs_up_the_sqlite_file_database_url_names(tmp_path):
    database = tmp_path / "odd $name & 'q' #1.sqlite"
    sqlite3.connect(database).close()
    said = run_take(tmp_path, f"sqlite:///{database}?timeout=5")
    assert os.path.dirname(said.strip()) == str(tmp_path / "backups")
    assert os.path.exists(said.strip())


def test_the_command_takes_no_backup_of_postgresql_or_of_nothing(tmp_path):
    assert "not a SQLite file" in run_take(tmp_path, "postgresql://u@h/db")
    assert "does not exist yet" in run_take(tmp_path, f"sqlite:///{tmp_path}/no.db")
    assert not os.path.exists(tmp_path / "backups")
