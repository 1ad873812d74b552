"""The deploy tests' fake server: the temp directory deploy.sh treats as a host.

A Host is an app root, data directory, env file and service stand-in that
deploy/deploy.sh reaches over ssh (testing/sshd.py); Releases is a throwaway git
repository of the project's committed HEAD plus edits, with this checkout's
deploy/ folder, so the deploy code under test is the one here. Shared by
deploy/test_deploy.py (one host on loopback) and deploy/test_hosts.py (two hosts
in network namespaces).
"""

import http.client
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

from testing.servers import free_port

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

HANG_UNTIL_GATE = """

# Under the service (the canary has no reload file) every worker hangs while
# loading until the test opens the gate: never healthy within the health wait.
if __import__("os").environ.get("MYAPP_RELOAD_FILE"):
    while not __import__("os").path.exists({gate!r}):
        __import__("time").sleep(0.1)
"""


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
