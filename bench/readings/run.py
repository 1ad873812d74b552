"""Readings benchmark: uWSGI from myapp.ini (2 processes) on loopback.

    bench/run.sh readings [--quick] [--only get,list,...]   SQLite
    bench/run.sh readings --db postgres [--quick]           a PostgreSQL run.sh starts

Measures, in one run and on the same data, the targets of issues 3, 12 and 15
against baselines of the same run: GET /readings/<id> against a bare Flask app
on the same driver (wrk); keyset listing on a big (SQLite 2,000,000 rows,
PostgreSQL 10,000,000) and a 10,000-row table; stats over one sensor's
readings (a year, 1,000,000, from rollups); batch ingest against the fastest plain
in-process insert; one reading posted over 16 connections with a device key,
against a user's token and a bare Flask INSERT; GET /readings/latest for 100
sensors against GET /readings/<id>. Writes bench/results/readings[-postgres]
.json and .md, puts the table into bench/README.md, and prints it.

Each part is a module of rounds/; the databases are setups.py's, the servers
and turns harness.py's, the table report.py's.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [HERE, os.path.dirname(HERE), ROOT]

import report  # noqa: E402
from harness import Run  # noqa: E402
from rounds import ROUNDS  # noqa: E402
from setups import PG_MIN_ROWS, PG_ROWS, PostgreSQL, SQLite  # noqa: E402


def parse_options():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 4 s")
    parser.add_argument("--rebuild", action="store_true", help="reseed the tables")
    parser.add_argument(
        "--db",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="postgres: on the server in TEST_DATABASE_URL (bench/run.sh starts one)",
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=PG_ROWS,
        help=f"rows of the big PostgreSQL table (at least {PG_MIN_ROWS:,})",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the app's uWSGI (what-if experiments)",
    )
    parser.add_argument(
        "--only",
        default=",".join(ROUNDS),
        help=f"comma-separated subset of {','.join(ROUNDS)} (for iterating)",
    )
    options = parser.parse_args()
    only = set(options.only.split(","))
    if only - set(ROUNDS):
        parser.error(f"--only: unknown parts {','.join(sorted(only - set(ROUNDS)))}")
    options.parts = [part for part in ROUNDS if part in only]
    if options.rows < PG_MIN_ROWS:
        # Below it user 3 of seed_pg has fewer readings than its 100 sensors.
        parser.error(f"--rows: at least {PG_MIN_ROWS:,}")
    if options.db == "postgres":
        options.server_url = os.environ.get("TEST_DATABASE_URL", "")
        if not options.server_url.startswith("postgresql"):
            parser.error("--db postgres runs through bench/run.sh, which starts one")
    return options


def main():
    options = parse_options()
    if options.db == "postgres":
        setup = PostgreSQL(options.server_url, options.rows)
    else:
        setup = SQLite()
    run = Run(setup, options)
    setup.build(options.rebuild)
    try:
        for part in options.parts:
            ROUNDS[part].measure(run)
    finally:
        run.stop()
    run.results["load_average_end"] = os.getloadavg()
    rows = [
        row for part in options.parts for row in ROUNDS[part].rows(run.results, setup)
    ]
    # Only a whole run as deployed (no what-if --env) stands in bench/README.md.
    report.write(run, rows, options.parts == list(ROUNDS) and not options.env)


if __name__ == "__main__":
    main()
