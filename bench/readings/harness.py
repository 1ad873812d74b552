"""One readings run: its servers from myapp.ini, its rounds in turns, its figures.

The rounds (rounds/) measure through a Run: the app (or the bare app of bare/)
started on a database, requests checked before they are timed, wrk with the
scripts of lua/.
"""

import functools
import os
import sys

import common
import queries
import seed

HERE = os.path.dirname(os.path.abspath(__file__))
LUA = os.path.join(HERE, "lua")
BARE = os.path.join(HERE, "bare")
# Tokens outlive the whole run (every check still runs on every request). The
# app arms no harakiri: uWSGI 2.0.x keeps one deadline per worker, which its
# other thread zeroes, and killed workers reading POST bodies (unbit/uwsgi#2706).
SERVER_ENV = {"MYAPP_JWT_ACCESS_TOKEN_EXPIRES": "7200", "MYAPP_HARAKIRI": "0"}


class Run:
    """One run: its database, its settings, the servers it started, its figures."""

    def __init__(self, setup, options):
        self.setup = setup
        self.quick = options.quick
        self.duration = 4 if options.quick else 8
        self.rounds = 1 if options.quick else 3
        self.env = dict(SERVER_ENV, **dict(item.split("=", 1) for item in options.env))
        self.servers = []
        self.results = {
            "started": common.utc_now(),
            "command": " ".join(["bench/run.sh", "readings", *sys.argv[1:]]),
            "db": setup.name,
            "big_rows": setup.big_rows,
            "stats_rows": setup.stats_rows,
            "env": self.env,
            "load_average": os.getloadavg(),
        }

    def serve(self, name, database_url, **kwargs):
        """The app (or with app_dir=BARE the bare one) from myapp.ini."""
        kwargs.setdefault("extra_env", self.env)
        self.servers.append(common.Server(name, database_url, **kwargs))
        return self.servers[-1]

    def serve_bare(self, name, database_url):
        return self.serve(name, database_url, extra_env={}, app_dir=BARE)

    def stop(self, *servers):
        """Stop these servers, or all still running."""
        for server in servers or list(self.servers):
            server.stop()
            self.servers.remove(server)

    @functools.cached_property
    def big(self):
        """The app on the big table, shared by the rounds that read it."""
        return self.serve("readings-big", self.setup.big)

    @functools.cached_property
    def token(self):
        """bench1's access token on the big table (user 1, ids 1 to 10,000)."""
        return seed.login(self.big)

    def alternate(self, jobs, key):
        """Named jobs in turns, each round; the run with the median `key` each.

        Taking turns spreads the machine's background load evenly over the jobs.
        """
        runs = {name: [] for name in jobs}
        for _ in range(self.rounds):
            for name, job in jobs.items():
                runs[name].append(job())
                common.say(f"  {name:22} {runs[name][-1]}")
        median = {name: common.median_run(found, key) for name, found in runs.items()}
        return median, runs

    def plan(self, label, username, path):
        """PostgreSQL's plan of the readings query behind path, as measured."""
        if self.setup.name == "postgres":
            plans = self.results.setdefault("plans", {})
            plans[label] = queries.explain_pg(self.setup.big, username, path)


def check(server, path, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    status, body = common.request(server, "GET", path, headers=headers)
    assert status == 200, (server.name, path, status, body)
    return body


def wrk(server, script, args, duration, connections):
    """common.wrk with a script of lua/, failing on any non-2xx answer."""
    figures = common.wrk(
        server.url,
        os.path.join(LUA, script),
        args,
        duration=duration,
        connections=connections,
    )
    assert figures["non_2xx"] == 0, (server.name, figures)
    return figures


def get_by_id(server, token, duration, connections):
    """Random ids of user 1; the bare app takes no token."""
    args = ["/api/v1/readings/", "1", "10000"] + ([token] if token else [])
    return wrk(server, "get_by_id.lua", args, duration, connections)
