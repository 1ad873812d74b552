"""End to end: deploy/deploy.sh over ssh+rsync into a temp "server", under load.

Only the service manager is replaced: the reload command is a small script that
starts uWSGI from current/myapp.ini the first time, with the unit's environment
and the env file read as systemd reads it, and touches its chain-reload file
afterwards (what ExecReload does under systemd). The releases are the project's
committed HEAD plus one edit each, so uncommitted app code is not deployed; their
deploy/ folder is this checkout's, so the deploy code under test is the one here.
"""

import http.client
import json
import os
import re
import sqlite3
import threading
import time

import pytest

from testing.deploys import HANG_UNTIL_GATE, Host, Releases, set_version

pytestmark = pytest.mark.deploy

BROKEN_HEALTH = """

@app.before_request
def broken_health():
    # A release whose health check fails: the database check is broken.
    from flask import request

    if request.path == "/api/v1/health":
        raise RuntimeError("broken on purpose")
"""


UNSAFE_IN_PRODUCTION = ('CORS_ORIGINS = ""', 'CORS_ORIGINS = "*"')


class Load:
    """Threads sending GET /api/v1/health and GET / (which names the version)."""

    def __init__(self, port, threads=3, limit_seconds=300):
        self.port = port
        self.results = []  # (monotonic start, path, ok, version or error)
        self.latencies = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.deadline = time.monotonic() + limit_seconds
        self.threads = [
            threading.Thread(target=self.run, args=(i,)) for i in range(threads)
        ]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        time.sleep(0.5)
        self.stopping.set()
        for thread in self.threads:
            thread.join()

    def run(self, index):
        paths = ["/api/v1/health", "/"]
        count = index
        while not self.stopping.is_set() and time.monotonic() < self.deadline:
            path = paths[count % 2]
            count += 1
            started = time.monotonic()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn.request("GET", path)
                response = conn.getresponse()
                body = response.read()
                conn.close()
                ok = response.status == 200
                detail = json.loads(body)["version"] if ok else response.status
            except Exception as error:  # every failure counts, whatever it is
                ok, detail = False, repr(error)
            with self.lock:
                self.results.append((started, path, ok, detail))
                self.latencies.append(time.monotonic() - started)
            time.sleep(0.002)  # leave the shared CPU some room

    def failures(self):
        return [r for r in self.results if not r[2]]

    def versions(self):
        return [r[3] for r in self.results if r[2]]

    def figures(self, run):
        """Requests sent, failed, the script's time and the slowest answer."""
        back = re.search(r"rolled back to \S+: healthy ([0-9.]+) s", run.log)
        new = re.search(r"deployed \S+: healthy ([0-9.]+) s", run.log)
        healthy = ""
        if back:
            healthy = f", the release before healthy again {back[1]} s after the switch"
        elif new:
            healthy = f", new release healthy {new[1]} s after the switch"
        return (
            f"{len(self.results)} requests sent, {len(self.failures())} failed; "
            f"deploy.sh ran {run.seconds:.1f} s{healthy}; "
            f"slowest answer {max(self.latencies):.2f} s"
        )


@pytest.fixture(scope="module")
def host(ssh_server, tmp_path_factory):
    host = Host(str(tmp_path_factory.mktemp("server")), ssh_server)
    yield host
    host.stop()


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    return Releases(str(tmp_path_factory.mktemp("source") / "repo"))


@pytest.fixture(scope="module")
def release_a(host, releases):
    """Release A, deployed to the empty server: the service starts on it."""
    sha = releases.commit("release A")
    run = host.deploy(releases.path, sha)
    assert run.returncode == 0, run.log
    assert host.version().endswith("+" + sha[:12])
    return sha


def stamp(sha):
    return "+" + sha[:12]


def test_deploying_release_b_under_load_fails_no_request_and_b_answers_after(
    host, releases, release_a, deploy_figures
):
    before, live = host.version(), host.live()
    sha = releases.commit(
        "release B", {"default_config.py": set_version("1.1.0-release-b")}
    )
    with Load(host.port) as load:
        run = host.deploy(releases.path, sha)
    assert run.returncode == 0, run.log
    assert "venv: reusing" in run.log
    new = "1.1.0-release-b" + stamp(sha)
    assert host.version() == new
    assert load.versions()[-1] == new
    assert load.failures() == []
    deploy_figures.append(f"B under load ({before} -> {new}): " + load.figures(run))
    if host.sqlite:
        # Taken before migrating, of the database the service uses (whose path
        # has every character a shell would mangle), named for the switch.
        backup = host.backups()[-1]
        assert os.path.basename(backup).endswith(f"-{live[:12]}-to-{sha[:12]}.sqlite")
        assert len(host.backups()) <= 2
        with sqlite3.connect(backup) as db:
            assert db.execute("SELECT count(*) FROM alembic_version").fetchone()[0]


def test_a_release_whose_health_check_fails_is_not_switched_to_and_no_request_fails(
    host, releases, release_a, deploy_figures
):
    before, live = host.version(), host.live()
    sha = releases.commit("release C, broken", {"wsgi.py": lambda t: t + BROKEN_HEALTH})
    releases.git("revert", "--no-edit", "HEAD")
    with Load(host.port) as load:
        run = host.deploy(releases.path, sha)
    assert run.returncode != 0
    assert "canary" in run.log and "nothing was switched" in run.log
    assert host.live() == live
    assert host.version() == before
    assert set(load.versions()) == {before}
    assert load.failures() == []
    deploy_figures.append(
        f"broken release C, refused (exit {run.returncode}), {before} stayed live: "
        + load.figures(run)
    )


def test_a_release_production_would_refuse_is_refused_before_the_switch(
    host, releases, release_a
):
    # The env file does not say MYAPP_CONFIG: the unit's production applies to
    # the migrations and the canary too, which then refuse CORS_ORIGINS="*".
    before, live = host.version(), host.live()
    sha = releases.commit(
        "release U, unsafe in production",
        {"default_config.py": lambda t: t.replace(*UNSAFE_IN_PRODUCTION)},
    )
    releases.git("revert", "--no-edit", "HEAD")
    run = host.deploy(releases.path, sha)
    assert run.returncode != 0
    assert "Refusing to start in production" in run.log
    assert "nothing was switched" in run.log
    assert host.live() == live
    assert host.version() == before


def test_a_release_not_healthy_in_time_after_the_switch_is_rolled_back(
    host, releases, release_a, deploy_figures, tmp_path
):
    before, live = host.version(), host.live()
    gate = str(tmp_path / "gate")
    sha = releases.commit(
        "release D, hangs", {"wsgi.py": lambda t: t + HANG_UNTIL_GATE.format(gate=gate)}
    )
    releases.git("revert", "--no-edit", "HEAD")

    def open_gate_once_rolling_back(line):
        if "ROLLBACK" in line:
            open(gate, "w").close()

    # It passes the canary, then its workers hang until the deploy has given up
    # on it: the 4 s health wait cannot be won, however fast the machine.
    with Load(host.port) as load:
        run = host.deploy(
            releases.path, sha, timeout=4, on_line=open_gate_once_rolling_back
        )
    assert run.returncode != 0
    assert "canary: healthy" in run.log and "ROLLBACK" in run.log
    assert host.live() == live
    assert {host.version() for _ in range(20)} == {before}
    assert load.failures() == []
    deploy_figures.append(
        f"hanging release D, rolled back (exit {run.returncode}), back on {before}: "
        + load.figures(run)
    )


def test_rolling_back_by_hand_under_load_returns_to_the_release_before(
    host, releases, release_a, deploy_figures
):
    before, live = host.version(), host.live()
    sha = releases.commit("release E", {"default_config.py": set_version("1.3.0-e")})
    assert host.deploy(releases.path, sha).returncode == 0
    deployed = host.version()
    assert deployed == "1.3.0-e" + stamp(sha)
    with Load(host.port) as load:
        run = host.deploy(releases.path, sha, "--rollback")
    assert run.returncode == 0, run.log
    assert host.live() == live
    assert host.previous() == sha
    assert host.version() == before
    assert set(load.versions()) <= {deployed, before}
    assert load.versions()[-1] == before
    assert load.failures() == []
    deploy_figures.append(
        f"rollback by hand ({deployed} -> {before}): " + load.figures(run)
    )


def test_a_same_size_edit_committed_in_the_same_second_ships(host, releases, release_a):
    # git archive gives both trees the same mtimes: rsync's size-and-time check
    # would hard-link the live default_config.py into the new release.
    when = "2020-02-02T02:02:02+0000"
    first = releases.commit(
        "release F1", {"default_config.py": set_version("1.4.0-same-1")}, date=when
    )
    assert host.deploy(releases.path, first).returncode == 0
    second = releases.commit(
        "release F2", {"default_config.py": set_version("1.4.0-same-2")}, date=when
    )
    run = host.deploy(releases.path, second)
    assert run.returncode == 0, run.log
    old, new = (
        os.stat(host.shipped(sha, "default_config.py")) for sha in (first, second)
    )
    assert (old.st_size, old.st_mtime) == (new.st_size, new.st_mtime)
    assert old.st_ino != new.st_ino
    assert host.version() == "1.4.0-same-2" + stamp(second)


def test_only_the_newest_releases_and_the_venvs_they_use_are_kept(
    host, releases, release_a
):
    shas = [releases.commit(f"release P{n}") for n in (1, 2)]
    for sha in shas:
        assert host.deploy(releases.path, sha).returncode == 0
    releases_dir = os.path.join(host.root, "releases")
    kept = [name for name in os.listdir(releases_dir) if not name.endswith(".log")]
    # --keep 2: the two just deployed (current and previous); release A is gone.
    assert sorted(kept) == sorted(shas)
    assert (host.previous(), host.live()) == tuple(shas)
    assert len(os.listdir(os.path.join(host.root, "venvs"))) == 1
