"""End to end: deploy/deploy.sh over ssh+rsync into a temp "server", under load.

Only the service manager is replaced: the reload command is a small script that
starts uWSGI from current/myapp.ini the first time and touches its chain-reload
file afterwards (what ExecReload does under systemd). The releases are the
project's committed HEAD plus one edit each, so uncommitted work is not deployed.
"""

import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time

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
# Stands in for systemd: start uWSGI from current/myapp.ini, or chain-reload it.
set -e
cd "$(dirname "$0")"
if [ -f run/uwsgi.pid ] && kill -0 "$(cat run/uwsgi.pid)" 2>/dev/null; then
  exec touch run/reload
fi
mkdir -p run
touch run/reload
set -a
. ./myapp.env
set +a
MYAPP_DIR="$PWD/current" MYAPP_RELOAD_FILE="$PWD/run/reload" \\
MYAPP_STATS="$PWD/run/stats.sock" \\
MYAPP_HTTP=127.0.0.1:{port} MYAPP_PROCESSES=2 MYAPP_THREADS=2 \\
  exec current/.venv/bin/uwsgi --ini current/myapp.ini \\
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


SLOW_START = """

# A release whose live workers (the service sets MYAPP_RELOAD_FILE, the canary
# does not) cannot finish warming up until the test opens the gate.
while os.environ.get("MYAPP_RELOAD_FILE") and not os.path.exists({gate!r}):
    time.sleep(0.1)
"""

SLOW_IMPORT = "import os\nimport time\n"


class Host:
    """The temp directory treated as the server: app root, data, env, service."""

    def __init__(self, base, ssh):
        self.ssh = ssh
        self.root = os.path.join(base, "srv", "myapp")
        self.port = free_port()
        self.deployed = []  # revisions deployed successfully, oldest first
        os.makedirs(os.path.join(base, "data"))
        os.makedirs(self.root)
        # The PostgreSQL half of the suite deploys against its database too.
        database = os.environ.get("TEST_DATABASE_URL") or "sqlite:///" + os.path.join(
            base, "data", "myapp.sqlite"
        )
        self.env_file = os.path.join(self.root, "myapp.env")
        with open(self.env_file, "w") as out:
            out.write(
                "MYAPP_CONFIG=production\n"
                f"SECRET_KEY={secrets.token_hex(32)}\n"
                f"DATABASE_URL={database}\n"
            )
        self.service = os.path.join(self.root, "service.sh")
        with open(self.service, "w") as out:
            out.write(SERVICE.replace("{port}", str(self.port)))
        os.chmod(self.service, 0o755)

    def deploy(self, source, sha, *extra, timeout=HEALTH_TIMEOUT, on_line=None):
        """Run the real deploy script against this host; returns the finished run.

        on_line(line) sees each line of its output as it is written.
        """
        command = [
            DEPLOY,
            "--host", "127.0.0.1",
            "--port", str(self.ssh.port),
            "--user", self.ssh.user,
            "--key", self.ssh.key,
            "--known-hosts", self.ssh.known_hosts,
            "--path", self.root,
            "--source", source,
            "--revision", sha,
            "--env-file", self.env_file,
            "--python", base_python(),
            "--reload-cmd", self.service,
            "--health-url", f"http://127.0.0.1:{self.port}/api/v1/health",
            "--health-timeout", str(timeout),
            "--keep", "2",
            "--stats", os.path.join(self.root, "run", "stats.sock"),
            *extra,
        ]  # fmt: skip
        started = time.monotonic()
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        watchdog = threading.Timer(600, process.kill)
        watchdog.start()
        lines = []
        for line in process.stdout:
            lines.append(line)
            if on_line:
                on_line(line)
        watchdog.cancel()
        run = subprocess.CompletedProcess(command, process.wait(), "".join(lines))
        run.seconds = time.monotonic() - started
        run.log = run.stdout
        print(run.log)
        if run.returncode == 0 and "--rollback" not in extra:
            self.deployed.append(sha)
        return run

    def live(self):
        return os.path.basename(os.readlink(os.path.join(self.root, "current")))

    def version(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
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

    def git(self, *args):
        return subprocess.run(
            ["git", "-c", "user.name=deploy test", "-c", "user.email=t@example.com"]
            + ["-C", self.path, *args],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    def commit(self, message, edits=None):
        for name, edit in (edits or {}).items():
            path = os.path.join(self.path, name)
            with open(path) as handle:
                text = handle.read()
            with open(path, "w") as handle:
                handle.write(edit(text))
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
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
        switch = re.search(r"healthy ([0-9.]+) s after the switch( back)?", run.log)
        healthy = ""
        if switch and switch.group(2):
            healthy = (
                f", old release healthy again {switch.group(1)} s after the switch back"
            )
        elif switch:
            healthy = f", new release healthy {switch.group(1)} s after the switch"
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
    before = host.version()
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
    deploy_figures.append(f"A -> B ({before} -> {new}): " + load.figures(run))


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


def test_a_release_not_healthy_in_time_after_the_switch_is_rolled_back(
    host, releases, release_a, deploy_figures
):
    before, live = host.version(), host.live()
    gate = os.path.join(host.root, "release-d-may-start")
    slow_start = SLOW_START.format(gate=gate)
    sha = releases.commit(
        "release D, slow", {"wsgi.py": lambda t: SLOW_IMPORT + t + slow_start}
    )
    releases.git("revert", "--no-edit", "HEAD")

    def open_gate_once_rolling_back(line):
        if "ROLLBACK" in line:
            open(gate, "w").close()

    # It passes the canary but its live workers cannot become healthy before the
    # 4 s health wait gives up: they wait for the rollback to begin.
    with Load(host.port) as load:
        run = host.deploy(
            releases.path, sha, timeout=4, on_line=open_gate_once_rolling_back
        )
    assert run.returncode != 0
    assert "ROLLBACK" in run.log
    assert host.live() == live
    assert {host.version() for _ in range(20)} == {before}
    assert load.failures() == []
    deploy_figures.append(
        f"slow release D, rolled back (exit {run.returncode}), back on {before}: "
        + load.figures(run)
    )


def test_rolling_back_by_hand_under_load_fails_no_request(
    host, releases, release_a, deploy_figures
):
    earlier = host.version()
    sha = releases.commit("release E", {"default_config.py": set_version("1.3.0-e")})
    assert host.deploy(releases.path, sha).returncode == 0
    before = host.version()
    assert before == "1.3.0-e" + stamp(sha)
    with Load(host.port) as load:
        run = host.deploy(releases.path, sha, "--rollback")
    assert run.returncode == 0, run.log
    after = host.version()
    assert after == earlier
    assert load.failures() == []
    deploy_figures.append(
        f"rollback by hand ({before} -> {after}): " + load.figures(run)
    )


def test_only_the_newest_releases_and_the_venvs_they_use_are_kept(host, releases):
    # However the tests before it ran: at least three releases went out.
    while len(host.deployed) < 3:
        sha = releases.commit(f"release {len(host.deployed) + 1} for pruning")
        assert host.deploy(releases.path, sha).returncode == 0
    releases_dir = os.path.join(host.root, "releases")
    kept = [name for name in os.listdir(releases_dir) if not name.endswith(".log")]
    current = os.path.basename(os.readlink(os.path.join(host.root, "current")))
    previous = os.path.basename(os.readlink(os.path.join(host.root, "previous")))
    assert current in kept and previous in kept
    assert len(kept) <= 3  # --keep 2, plus current/previous if older
    assert len(os.listdir(os.path.join(host.root, "venvs"))) == 1
