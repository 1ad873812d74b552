"""A consistent copy of the SQLite database before each migration, and restoring one.

`flask db upgrade` cannot be undone on SQLite (batch migrations rebuild tables),
so remote.sh takes a backup with SQLite's online backup API first: it copies a
consistent snapshot, WAL included, while the live release keeps reading and
writing. Standard library only (runs with the server's python3).

    backup.py take --keep N --label TEXT   DATABASE_URL from the environment;
                                           prints the backup's path
    backup.py restore BACKUP DATABASE      stop the service first
"""

import argparse
import os
import sqlite3
import sys
import time
from urllib.parse import quote

BACKUP_DIR = "backups"


def sqlite_path(url):
    """The file a SQLAlchemy SQLite URL names, or None for other databases."""
    scheme, sep, rest = url.partition(":///")
    if not sep or scheme.split("+")[0] != "sqlite":
        return None
    path = rest.split("?")[0]
    return os.path.abspath(path) if path and path != ":memory:" else None


def copy_database(source, target):
    """Copy one SQLite file into another through the backup API (both consistent)."""
    # mode=rw: never create a missing source; quote: `#` or `?` in a file name.
    src = sqlite3.connect(f"file:{quote(source)}?mode=rw", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        # A target in WAL mode holds the copy in its -wal file: fold it in.
        dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        src.close()
        dst.close()


def take(database, keep, label):
    """Back up `database` into backups/ beside it; keep the newest `keep`."""
    folder = os.path.join(os.path.dirname(database), BACKUP_DIR)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    stem = os.path.splitext(os.path.basename(database))[0]
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = os.path.join(folder, f"{stem}-{stamp}-{label}.sqlite")
    partial = path + ".partial"
    copy_database(database, partial)
    os.chmod(partial, 0o600)
    os.replace(partial, path)
    prune(folder, stem, keep)
    return path


def backups(folder, stem):
    """The backups of one database in `folder`, oldest first."""
    names = [
        name
        for name in os.listdir(folder)
        if name.startswith(stem + "-") and name.endswith(".sqlite")
    ]
    paths = [os.path.join(folder, name) for name in names]
    return sorted(paths, key=lambda path: (os.stat(path).st_mtime_ns, path))


def prune(folder, stem, keep):
    """Delete all but the newest `keep` backups of one database."""
    for path in backups(folder, stem)[:-keep]:
        os.remove(path)


def restore(backup, database):
    """Overwrite `database` with `backup`; the service must not be running."""
    if not os.path.isfile(backup):
        raise FileNotFoundError(backup)
    copy_database(backup, database)


def main(argv):
    """Run the command of the usage above; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="backup.py", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    taking = commands.add_parser("take")
    taking.add_argument("--keep", type=int, required=True)
    taking.add_argument("--label", required=True)
    restoring = commands.add_parser("restore")
    restoring.add_argument("backup")
    restoring.add_argument("database")
    args = parser.parse_args(argv)
    if args.command == "restore":
        restore(args.backup, args.database)
        print(f"restored {args.database} from {args.backup}")
        return 0
    database = sqlite_path(os.environ.get("DATABASE_URL", ""))
    if database is None:
        print(
            "no backup: DATABASE_URL is not a SQLite file (back PostgreSQL up yourself)"
        )
    elif not os.path.exists(database):
        print(f"no backup: {database} does not exist yet")
    elif args.keep < 1:
        print("no backup: --keep is 0")
    else:
        print(take(database, args.keep, args.label))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
