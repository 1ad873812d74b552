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
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import pytest

from testing.servers import free_port

pytestmark = pytest.mark.deploy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPLOY = os.path.join(ROOT, "deploy", "deploy.sh")
HEALTH_TIMEOUT = 60


def base_python():
    """The interpreter the project's venv was made from; builds the server's venvs."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return os.path.join(sys.base_prefix, "bin", version)


SERVICE = """#!/bin/sh
# Stands in for systemd: start uWSGI from current/myapp.ini with the unit's
# Environment= and the EnvironmentFile read as systemd reads it; or chain-reload.
set -e
cd "$(dirname "$0")"
if [ -f run/uwsgi.pid ] && kill -0 "$(cat run/uwsgi.pid)" 2>/dev/null; then
  exec touch run/reload
fi
mkdir -p run
touch run/reload
exec {python} current/deploy/envfile.py --unit MYAPP_CONFIG=production \\
  --unit MYAPP_DIR="$PWD/current" --unit MYAPP_RELOAD_FILE="$PWD/run/reload" \\
  --unit MYAPP_STATS="$PWD/run/stats.sock" --unit MYAPP_HTTP={address}:{port} \\
  --unit MYAPP_PROCESSES=2 --unit MYAPP_THREADS=2 myapp.env \\
  current/.venv/bin/uwsgi --ini current/myapp.ini \\
  --pidfile run/uwsgi.pid --daemonize run/uwsgi.log
"""

BROKEN_HEALTH = """

@app.before_request
def broken_health():
    # A release whose health check fails: the database check is broken.
    from flask import request

    if request.path == "/api/v1/health":
        raise RuntimeError("broken on purpose")
"""


HANG_UNTIL_GATE = """

# Under the service (the canary has no reload file) every worker hangs while
# loading until the test opens the gate: never healthy within the health wait.
if __import__("os").environ.get("MYAPP_RELOAD_FILE"):
    while not __import__("os").path.exists({gate!r}):
        __import__("time").sleep(0.1)
"""

UNSAFE_IN_PRODUCTION = ('CORS_ORIGINS = ""', 'CORS_ORIGINS = "*"')

# Values a shell would mangle and systemd keeps: `$`, `&`, quotes, spaces, `#`.
NASTY_DIR = "data $db & 'q' #1"


class Host:
    """The temp directory treated as the server: app root, data, env, service.

    By default uWSGI serves on a free loopback port, on the run's database; a
    host in a network namespace passes its own address, port and database, and
    settings for its env file.
    """

    def __init__(
        self,
        base,
        ssh,
        address="127.0.0.1",
        port=None,
        database=None,
        env=None,
        served_root=None,
    ):
        self.ssh = ssh
        self.address = address
        self.root = os.path.join(base, "srv", "myapp")
        # Where the server sees self.root (a host of several: the shared path).
        self.served_root = served_root or self.root
        self.port = port or free_port()
        self.data = os.path.join(base, NASTY_DIR)
        os.makedirs(self.data)
        os.makedirs(self.root, exist_ok=True)
        # The PostgreSQL half of the suite deploys against its database too.
        self.sqlite = None
        database = database or os.environ.get("TEST_DATABASE_URL")
        if not database:
            self.sqlite = os.path.join(self.data, "myapp.sqlite")
            database = "sqlite:///" + self.sqlite
        # No MYAPP_CONFIG: like a server bootstrapped before it was written
        # here, the unit's Environment=MYAPP_CONFIG=production applies.
        self.env_file = os.path.join(self.root, "myapp.env")
        secret = f"{secrets.token_hex(32)} $HOME & 'q' # kept"
        settings = {"SECRET_KEY": f'"{secret}"', "DATABASE_URL": database}
        with open(self.env_file, "w") as out:
            out.write(
                "# Read as systemd reads it: nothing below is expanded or split.\n"
            )
            for key, value in {**settings, **(env or {})}.items():
                out.write(f"{key}={value}\n")
        self.service = os.path.join(self.root, "service.sh")
        with open(self.service, "w") as out:
            out.write(
                SERVICE.replace("{port}", str(self.port))
                .replace("{address}", address)
                .replace("{python}", base_python())
            )
        os.chmod(self.service, 0o755)

    @property
    def health_url(self):
        return f"http://{self.address}:{self.port}/api/v1/health"

    def deploy_options(self, timeout=HEALTH_TIMEOUT):
        """deploy.sh's options for this host (the same for each of several)."""
        served = self.served_root
        return [
            "--port", str(self.ssh.port),
            "--user", self.ssh.user,
            "--key", self.ssh.key,
            "--known-hosts", self.ssh.known_hosts,
            "--path", served,
            "--env-file", os.path.join(served, "myapp.env"),
            "--python", base_python(),
            "--reload-cmd", os.path.join(served, "service.sh"),
            "--health-url", self.health_url,
            "--health-timeout", str(timeout),
            "--keep", "2",
            "--backups", "2",
            "--stats", os.path.join(served, "run", "stats.sock"),
        ]  # fmt: skip

    def deploy(self, source, sha, *extra, timeout=HEALTH_TIMEOUT, on_line=None):
        """Run the real deploy script against this host; returns the finished run.

        on_line(line) sees each line of its output as it comes.
        """
        run = run_deploy(
            ["--host", self.address, *self.deploy_options(timeout)]
            + ["--source", source, "--revision", sha, *extra],
            on_line,
        )
        assert self.canaries_gone(), "a canary uWSGI outlived its deploy"
        return run

    def canaries_gone(self, patience=10):
        """No process runs from a release's own path (the service uses current/)."""
        mark = os.path.join(self.root, "releases", "").encode()
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            if not any(mark in cmdline for cmdline in command_lines()):
                return True
            time.sleep(0.2)
        return False

    def live(self):
        return os.path.basename(os.readlink(os.path.join(self.root, "current")))

    def previous(self):
        return os.path.basename(os.readlink(os.path.join(self.root, "previous")))

    def shipped(self, sha, name):
        """A file of a release as it lies on the server."""
        return os.path.join(self.root, "releases", sha, name)

    def backups(self):
        """The SQLite backups beside the database, oldest first."""
        folder = os.path.join(self.data, "backups")
        paths = [os.path.join(folder, name) for name in os.listdir(folder)]
        return sorted(paths, key=os.path.getmtime)

    def version(self):
        conn = http.client.HTTPConnection(self.address, self.port, timeout=10)
        conn.request("GET", "/api/v1/health")
        body = json.loads(conn.getresponse().read())
        conn.close()
        return body["version"]

    def stop(self):
        pidfile = os.path.join(self.root, "run", "uwsgi.pid")
        if not os.path.exists(pidfile):
            return
        with open(pidfile) as handle:
            pid = int(handle.read())
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


def run_deploy(arguments, on_line=None):
    """deploy.sh with these arguments; the finished run (output, exit, seconds).

    on_line(line) sees each line of its output as it comes.
    """
    started = time.monotonic()
    lines = []
    with subprocess.Popen(
        [DEPLOY, *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        for line in process.stdout:
            lines.append(line)
            if on_line:
                on_line(line)
        returncode = process.wait(timeout=600)
    log = "".join(lines)
    print(log)
    seconds = time.monotonic() - started
    return SimpleNamespace(returncode=returncode, log=log, seconds=seconds)


def command_lines():
    """The command line of every process, as bytes."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                yield handle.read()
        except OSError:  # it exited meanwhile
            continue


class Releases:
    """A throwaway git repository: the project's committed tree, then edits of it."""

    def __init__(self, path):
        self.path = path
        os.makedirs(path)
        self.git("init", "-q", "-b", "main")
        archive = subprocess.run(
            ["git", "-C", ROOT, "archive", "--format=tar", "HEAD"],
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", path], input=archive.stdout, check=True)
        shutil.rmtree(os.path.join(path, "deploy"))
        shutil.copytree(
            os.path.join(ROOT, "deploy"),
            os.path.join(path, "deploy"),
            ignore=shutil.ignore_patterns("__pycache__"),
        )

    def git(self, *args, env=None):
        return subprocess.run(
            ["git", "-c", "user.name=deploy test", "-c", "user.email=t@example.com"]
            + ["-C", self.path, *args],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout.strip()

    def commit(self, message, edits=None, date=None):
        """Commit the tree with `edits` (name -> function of the text); at `date`."""
        for name, edit in (edits or {}).items():
            path = os.path.join(self.path, name)
            with open(path) as handle:
                text = handle.read()
            with open(path, "w") as handle:
                handle.write(edit(text))
        self.git("add", "-A")
        env = dict(os.environ, GIT_COMMITTER_DATE=date) if date else None
        self.git("commit", "-q", "--allow-empty", "-m", message, env=env)
        return self.git("rev-parse", "HEAD")


def set_version(version):
    return lambda text: re.sub(
        r'VERSION = "[^"]*"', f'VERSION = "{version}"', text, count=1
    )


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
