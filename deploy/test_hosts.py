"""Two app hosts behind nginx, sharing one PostgreSQL and one Redis.

Each host is a network namespace on a private bridge (testing/hosts.py) with its
own sshd, app root and env file, and a mount namespace where its app root is
at the same path as on the other host, as on two machines. uWSGI runs there
from myapp.ini, started and chain-reloaded by the deploy test's service
stand-in, beside the alerts worker (`flask alerts worker`, restarted by a
stand-in for myapp-worker.service), and deploy.sh deploys to both over ssh,
one host at a time, draining each in nginx with deploy/upstream.sh.
PostgreSQL, Redis and nginx (the shipped deploy/nginx/myapp-hosts.conf) run in
the root namespace, and so does a webhook receiver, on the bridge's private
subnet. During every test a steady, bounded load goes through nginx: reads
(GET by id, health) and batches of 20 readings with client_ids, every write
checked against PostgreSQL afterwards.

This test brings its own PostgreSQL (it must listen on the bridge), so it runs
in the SQLite half of scripts/test.sh and is skipped, saying so, in the
PostgreSQL half.
"""

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest

from testing import hosts as net
from testing.alerts import Receiver, payloads_by_rule, rule, threshold
from testing.deploys import (
    HANG_UNTIL_GATE,
    Host,
    Releases,
    base_python,
    run_deploy,
    set_version,
)
from testing.servers import free_port
from testing.sshd import SshServer
from testing.streams import EventStream

pytestmark = pytest.mark.hosts

APP_PORT = 8000
RELAY_PORT = 8001
PASSWORD = "correct horse battery"
LOGIN_LIMIT = 5
DEVICE_LIMIT = 6
# Tries of a key that must be refused: enough to reach every uWSGI worker of a host.
REFUSALS = 6
WORKER_THREADS = 4  # sending threads of each host's alerts worker
BATCH = 20
# Rules (each with its own webhook path and secret) per alerts test; each fires
# and resolves once, so twice as many events.
HOOKED_RULES = 12
# The same app path on both hosts, each seeing its own directory there.
SERVED_ROOT = "srv-myapp"

WORKER_SERVICE = """#!/bin/sh
# Stands in for `systemctl restart myapp-worker.service myapp-live.service`:
# SIGTERM each running one (SIGKILL after 30 s), then start `flask alerts
# worker` and `flask live relay` in current/ with the units' Environment= and
# the env file read as systemd reads it.
set -e
cd "$(dirname "$0")"
mkdir -p run
root="$PWD"
running() {  # a zombie's empty command line says it has gone too
  [ -f "run/$1.pid" ] &&
    grep -qa "$2" "/proc/$(cat "run/$1.pid")/cmdline" 2>/dev/null
}
restart() {  # name, a word of its command line, then flask's arguments
  name=$1 word=$2
  shift 2
  if running "$name" "$word"; then
    kill -TERM "$(cat "run/$name.pid")"
    n=0
    while running "$name" "$word" && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
    ! running "$name" "$word" || kill -KILL "$(cat "run/$name.pid")"
  fi
  cd current
  setsid {python} deploy/envfile.py --unit MYAPP_CONFIG=production \\
    --unit FLASK_APP=wsgi "$root/myapp.env" .venv/bin/flask "$@" \\
    </dev/null >>"$root/run/$name.log" 2>&1 &
  echo $! >"$root/run/$name.pid"
  cd "$root"
}
restart worker alerts alerts worker
restart relay relay live relay
"""


def command_line(pid):
    """A process's command line; b"" once it has exited (a zombie's too)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return b""


def stop_worker(host_root):
    """SIGTERM the host's alerts worker and stream relay (while PostgreSQL still
    runs), then SIGKILL."""
    for name, word in (("worker", b"alerts"), ("relay", b"relay")):
        try:
            with open(os.path.join(host_root, "run", f"{name}.pid")) as handle:
                pid = int(handle.read())
        except FileNotFoundError:
            continue
        for signal_number in (signal.SIGTERM, signal.SIGKILL):
            if word not in command_line(pid):
                break
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal_number)
            deadline = time.monotonic() + 20
            while word in command_line(pid) and time.monotonic() < deadline:
                time.sleep(0.1)


def require_tools():
    net.require_tools(
        "two-host",
        ("ip", "unshare", "nginx", "redis-server", "/usr/sbin/sshd", "rsync"),
        "iproute2, util-linux, nginx-light, redis-server, openssh-server, rsync",
    )


class Response:
    def __init__(self, status, body, headers):
        self.status = status
        self.body = body
        self.headers = headers
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None


def call(address, port, method, path, body=None, token=None, client=None, source=None):
    """One request. client: the X-Forwarded-For a proxy would send (direct to a
    host); source: the loopback address to connect from (through nginx)."""
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if client:
        headers["X-Forwarded-For"] = client
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection(
        address, port, timeout=30, source_address=(source, 0) if source else None
    )
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return Response(response.status, response.read(), dict(response.getheaders()))
    finally:
        conn.close()


class Cluster:
    """The hosts, nginx, the databases and the releases of one test module."""

    def __init__(self, base, stack):
        self.base = base
        self.network = net.Network(["a", "b"])
        stack.callback(self.network.remove)
        output = os.path.join(net.ROOT, "test-output")
        os.makedirs(output, exist_ok=True)
        self.postgres = net.Postgres(self.network, os.path.join(output, "hosts-pg.log"))
        stack.callback(self.postgres.stop)
        self.redis = net.Redis(
            self.network, free_port(), os.path.join(output, "hosts-redis.log")
        )
        stack.callback(self.redis.stop)
        self.served_root = os.path.join(base, SERVED_ROOT)
        os.makedirs(self.served_root)
        secret = os.urandom(32).hex()
        # The hosts reach no package index: pip installs there from the files
        # requirements.lock pins (hashes checked), downloaded here once.
        wheelhouse = os.path.join(base, "wheelhouse")
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
            + ["--require-hashes", "-r", os.path.join(net.ROOT, "requirements.lock")]
            + ["-d", wheelhouse],
            check=True,
        )
        # What pip needs to build uWSGI from its source there.
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
            + ["setuptools", "wheel", "-d", wheelhouse],
            check=True,
        )
        offline = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": wheelhouse}
        self.hosts = {}
        key = known_hosts = None
        for name, address in self.network.addresses.items():
            home = os.path.join(base, f"host-{name}")
            os.makedirs(home)
            host_root = os.path.join(home, "srv", "myapp")
            os.makedirs(host_root)
            ssh = SshServer(
                home,
                address=address,
                port=22,
                prefix=self.network.prefix(name, (host_root, self.served_root)),
                key=key,
                known_hosts=known_hosts,
                environment=offline,
            )
            key, known_hosts = ssh.key, ssh.known_hosts
            stack.callback(ssh.stop)
            host = Host(
                home,
                ssh,
                address=address,
                port=APP_PORT,
                database=self.postgres.host_url,
                served_root=self.served_root,
                env={
                    "SECRET_KEY": secret,
                    "REDIS_URL": self.redis.url,
                    "MYAPP_LOGIN_RATE_LIMIT": f'"{LOGIN_LIMIT} per hour"',
                    "MYAPP_DEVICE_RATE_LIMIT": f'"{DEVICE_LIMIT} per hour"',
                    # The receiver is on the test's private subnet, over http:
                    # allowed for this test only. A short lease: a killed
                    # worker's claims are taken over within seconds.
                    "MYAPP_WEBHOOK_ALLOW_HTTP": "true",
                    "MYAPP_WEBHOOK_ALLOW_PRIVATE": "true",
                    "MYAPP_WEBHOOK_TIMEOUT": "3",
                    "MYAPP_ALERTS_DELIVERY_LEASE_SECONDS": "8",
                    "MYAPP_ALERTS_WORKER_THREADS": str(WORKER_THREADS),
                    "MYAPP_JWT_ACCESS_TOKEN_EXPIRES": "3600",
                    # uWSGI 2.0.x kills a worker at once when a POST body is read
                    # after another thread of it finished a request (one harakiri
                    # field per worker; unbit/uwsgi#2706): off for this load.
                    "MYAPP_HARAKIRI": "0",
                    "MYAPP_TEST_HOST": name,
                    # Its stream relay, where the load balancer's nginx sends streams.
                    "MYAPP_LIVE_RELAY_BIND": f"{address}:{RELAY_PORT}",
                },
            )
            host.name = name
            stack.callback(host.stop)
            self.hosts[name] = host
            with open(os.path.join(host_root, "worker.sh"), "w") as out:
                out.write(WORKER_SERVICE.replace("{python}", base_python()))
            os.chmod(os.path.join(host_root, "worker.sh"), 0o755)
            stack.callback(stop_worker, host_root)
        self.nginx = net.Nginx(
            os.path.join(base, "nginx"),
            free_port(),
            self.network.addresses.values(),
            APP_PORT,
            RELAY_PORT,
        )
        stack.callback(self.nginx.stop)
        self.releases = Releases(os.path.join(base, "source", "repo"))

    def deploy(self, sha, timeout=60, on_line=None, extra=()):
        """deploy.sh to both hosts, a then b, draining each in nginx."""
        first = self.hosts["a"]
        arguments = []
        for host in self.hosts.values():
            arguments += ["--host", host.address]
        options = first.deploy_options(timeout)
        # One health URL for all hosts: {host} is each host's own address.
        url = options.index("--health-url") + 1
        options[url] = options[url].replace(first.address, "{host}")
        arguments += options
        arguments += ["--worker-cmd", os.path.join(self.served_root, "worker.sh")]
        arguments += ["--drain-cmd", self.nginx.hook("drain")]
        arguments += ["--undrain-cmd", self.nginx.hook("undrain")]
        arguments += ["--source", self.releases.path, "--revision", sha, *extra]
        run = run_deploy(arguments, on_line)
        for host in self.hosts.values():
            assert host.canaries_gone(), f"a canary outlived the deploy on {host.name}"
        return run

    def versions(self):
        return {name: host.version() for name, host in self.hosts.items()}

    def host(self, name, method, path, body=None, token=None, client=None):
        """A request straight to one host, as nginx would send it."""
        host = self.hosts[name]
        return call(host.address, APP_PORT, method, path, body, token, client)

    def via_nginx(self, method, path, body=None, token=None, source="127.0.0.1"):
        return call(
            "127.0.0.1", self.nginx.port, method, path, body, token, None, source
        )

    def database(self):
        import psycopg

        return psycopg.connect(self.postgres.url.replace("+psycopg", ""))


class Traffic:
    """Threads sending reads and batches through nginx, bounded in count and time.

    Every request is recorded: (started, ended, method, status or error); every
    batch with its client_ids and whether it was acknowledged (201).
    """

    def __init__(self, cluster, token, reading_ids, limit_seconds=900, limit=40000):
        self.cluster = cluster
        self.token = token
        self.reading_ids = reading_ids
        self.records = []
        self.batches = []  # (client_ids, acknowledged, ids)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.deadline = time.monotonic() + limit_seconds
        self.limit = limit
        self.crashed = []
        self.threads = [
            threading.Thread(target=self.guard, args=(self.read, n), daemon=True)
            for n in (0, 1)
        ] + [threading.Thread(target=self.guard, args=(self.write,), daemon=True)]

    def start(self):
        for thread in self.threads:
            thread.start()

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def guard(self, loop, *args):
        """A load thread that dies says so: a silent one would prove nothing."""
        try:
            loop(*args)
        except BaseException as error:
            self.crashed.append(repr(error))
            raise

    def running(self):
        return (
            not self.stopping.is_set()
            and time.monotonic() < self.deadline
            and len(self.records) < self.limit
        )

    def send(self, method, path, body=None):
        started = time.monotonic()
        try:
            response = self.cluster.via_nginx(method, path, body, self.token)
            outcome = response.status
        except Exception as error:  # every failure counts, whatever it is
            response, outcome = None, repr(error)
        with self.lock:
            self.records.append((started, time.monotonic(), method, outcome))
        return response

    def read(self, index):
        count = index
        while self.running():
            count += 1
            if count % 2:
                self.send("GET", f"/api/v1/readings/{self.reading_ids[count % 10]}")
            else:
                self.send("GET", "/api/v1/health")
            time.sleep(0.01)

    def write(self):
        while self.running():
            client_ids = [str(uuid.uuid4()) for _ in range(BATCH)]
            items = [
                {"sensor": "load", "data": {"n": n}, "client_id": client_id}
                for n, client_id in enumerate(client_ids)
            ]
            response = self.send("POST", "/api/v1/readings/batch", {"readings": items})
            acknowledged = response is not None and response.status == 201
            ids = response.json["ids"] if acknowledged else []
            with self.lock:
                self.batches.append((client_ids, acknowledged, ids))
            time.sleep(0.02)

    @contextlib.contextmanager
    def window(self):
        """What happened from entering to leaving: records, batches, nginx's log."""
        with self.lock:
            marks = len(self.records), len(self.batches)
        offset = self.cluster.nginx.log_offset()
        seen = Window()
        time.sleep(0.5)
        yield seen
        time.sleep(0.5)
        with self.lock:
            seen.records = self.records[marks[0] :]
            seen.batches = self.batches[marks[1] :]
        seen.log = self.cluster.nginx.entries(offset)
        assert not self.crashed, self.crashed
        assert seen.batches and len(seen.records) > 2 * len(seen.batches)


class Window:
    def failures(self):
        return [r for r in self.records if not isinstance(r[3], int) or r[3] >= 400]

    def failovers(self):
        return sum(1 for entry in self.log if len(entry[2]) > 1)

    def served_by(self):
        """{upstream address: requests it answered} (the last one tried)."""
        found = {}
        for entry in self.log:
            if entry[2]:
                found[entry[2][-1]] = found.get(entry[2][-1], 0) + 1
        return found

    def figures(self, run=None):
        slowest = max(r[1] - r[0] for r in self.records)
        text = (
            f"{len(self.records)} requests sent ({len(self.batches)} batches of "
            f"{BATCH}), {len(self.failures())} failed, {self.failovers()} failovers "
            f"in nginx, slowest answer {slowest:.2f} s"
        )
        if run is not None:
            text += f"; deploy.sh ran {run.seconds:.1f} s"
        return text


def assert_writes_stored(cluster, batches):
    """Every acknowledged batch is stored with its ids; none is stored in part."""
    client_ids = [cid for ids, _, _ in batches for cid in ids]
    with cluster.database() as conn:
        stored = dict(
            conn.execute(
                "SELECT client_id, id FROM readings WHERE client_id = ANY(%s)",
                (client_ids,),
            ).fetchall()
        )
    for ids, acknowledged, returned in batches:
        found = [stored.get(cid) for cid in ids]
        if acknowledged:
            assert found == returned, "an acknowledged batch is not what was stored"
        else:
            kept = sum(1 for value in found if value is not None)
            assert kept in (0, len(ids)), f"a batch was stored in part: {kept}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgres"):
        pytest.skip(
            "ran in the SQLite half against its own PostgreSQL (it must listen "
            "on the test bridge); one run of it is enough"
        )
    require_tools()
    with contextlib.ExitStack() as stack:
        cluster = Cluster(str(tmp_path_factory.mktemp("hosts")), stack)
        sha = cluster.releases.commit("release A")
        run = cluster.deploy(sha)
        assert run.returncode == 0, run.log
        assert set(cluster.versions().values()) == {"1.0.0+" + sha[:12]}
        yield cluster


@pytest.fixture(scope="module")
def traffic(cluster):
    """One user's load through nginx for the whole module."""
    account = register(cluster, source="127.0.0.2")
    items = [{"sensor": "seed", "data": {"n": n}} for n in range(10)]
    response = cluster.via_nginx(
        "POST", "/api/v1/readings/batch", {"readings": items}, account["token"]
    )
    assert response.status == 201, response.body
    ids = response.json["ids"]
    load = Traffic(cluster, account["token"], ids)
    load.start()
    yield load
    load.stop()
    assert_writes_stored(cluster, load.batches)


def register(cluster, source="127.0.0.3", login=True):
    """A new user registered through nginx (and logged in: a login counts)."""
    name = "h_" + uuid.uuid4().hex[:10]
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    created = cluster.via_nginx("POST", "/api/v1/auth/register", body, source=source)
    assert created.status == 201, created.body
    if not login:
        return {"name": name}
    login = cluster.via_nginx(
        "POST",
        "/api/v1/auth/login",
        {"username": name, "password": PASSWORD},
        source=source,
    )
    assert login.status == 200, login.body
    return {"name": name, "token": login.json["access_token"], **login.json}


def me(cluster, host, tokens):
    """The status of GET /users/me on one host with a login's access token."""
    return cluster.host(
        host, "GET", "/api/v1/users/me", token=tokens["access_token"]
    ).status


def login_on(cluster, host, name, client, password=PASSWORD):
    response = cluster.host(
        host,
        "POST",
        "/api/v1/auth/login",
        {"username": name, "password": password},
        client=client,
    )
    assert response.status == 200, response.body
    return response.json


def test_a_login_on_one_host_works_on_the_other_and_revocations_apply_at_once(
    cluster, traffic, host_figures
):
    with traffic.window() as seen:
        user = register(cluster)
        name = user["name"]
        tokens = login_on(cluster, "a", name, "192.0.2.10")
        mine = cluster.host(
            "b", "GET", "/api/v1/users/me", token=tokens["access_token"]
        )
        assert mine.status == 200 and mine.json["username"] == name

        # Logout through B: the token and its refresh token stop working on A.
        out = cluster.host(
            "b", "POST", "/api/v1/auth/logout", token=tokens["access_token"]
        )
        assert out.status == 204
        assert me(cluster, "a", tokens) == 401
        refresh = cluster.host(
            "a", "POST", "/api/v1/auth/refresh", token=tokens["refresh_token"]
        )
        assert refresh.status == 401

        # A password change through B ends the other login sessions on A at once.
        kept = login_on(cluster, "a", name, "192.0.2.11")
        other = login_on(cluster, "a", name, "192.0.2.12")
        changed = cluster.host(
            "b",
            "PATCH",
            "/api/v1/users/me",
            {"password": "a new horse battery", "current_password": PASSWORD},
            token=kept["access_token"],
        )
        assert changed.status == 200, changed.body
        assert me(cluster, "a", other) == 401
        assert me(cluster, "a", kept) == 200

        # Deleting the account through B: its token is refused on A at once.
        gone = cluster.host(
            "b",
            "DELETE",
            "/api/v1/users/me",
            {"current_password": "a new horse battery"},
            token=kept["access_token"],
        )
        assert gone.status == 204, gone.body
        assert me(cluster, "a", kept) == 401
    assert seen.failures() == []
    host_figures.append("sessions across hosts, under load: " + seen.figures())


def test_login_limits_hold_across_both_hosts(cluster, traffic, host_figures):
    attempts = 3 * LOGIN_LIMIT
    user = register(cluster, source="127.0.0.4", login=False)
    wrong = {"username": user["name"], "password": "not the password"}
    # One account from many clients, alternating hosts: the per-account limit.
    by_account = [
        cluster.host(
            "ab"[n % 2],
            "POST",
            "/api/v1/auth/login",
            wrong,
            client=f"192.0.2.{100 + n}",
        )
        for n in range(attempts)
    ]
    # One client trying many names, alternating hosts: the per-client limit.
    by_client = [
        cluster.host(
            "ab"[n % 2],
            "POST",
            "/api/v1/auth/login",
            {"username": f"nobody{n}_{uuid.uuid4().hex[:6]}", "password": "whatever1"},
            client="192.0.2.200",
        )
        for n in range(attempts)
    ]
    for responses in (by_account, by_client):
        statuses = [r.status for r in responses]
        # Counted in Redis: exactly the limit gets through, whichever host asked;
        # each host counting alone would let 2 x the limit through.
        assert statuses.count(401) == LOGIN_LIMIT, statuses
        assert statuses.count(429) == attempts - LOGIN_LIMIT, statuses
        for first in (0, 1):  # each host let some through and refused others
            assert {statuses[n] for n in range(first, attempts, 2)} == {401, 429}
    host_figures.append(
        f"login limit {LOGIN_LIMIT}/hour: {attempts} wrong passwords for one account "
        f"and {attempts} logins from one client, alternating hosts: "
        f"{LOGIN_LIMIT} answered 401 each, the rest 429"
    )


def test_an_upload_through_host_a_reaches_a_stream_open_on_host_b(cluster):
    """The replay store and its wake-ups are Redis: every host streams every event."""
    user = register(cluster)
    stream = EventStream(cluster.hosts["b"], user["token"])
    assert stream.status == 200
    reading = {"sensor": "hall", "data": {"t": 1}}
    stored = cluster.host("a", "POST", "/api/v1/readings/", reading, user["token"])
    assert stored.status == 201, stored.body
    event = stream.next_event()
    assert event.name == "readings"
    assert [item["id"] for item in event.data["items"]] == [stored.json["id"]]
    stream.close()

    missed = cluster.host("b", "POST", "/api/v1/readings/", reading, user["token"])
    again = EventStream(cluster.hosts["a"], user["token"], last_event_id=event.id)
    assert again.next_event().data["items"][0]["id"] == missed.json["id"]
    again.close()


def test_streams_through_nginx_are_the_relays_and_hear_uploads_on_both_hosts(
    cluster,
):
    """nginx sends streams to each host's relay, never to uWSGI; an upload
    straight to either host reaches every stream, whichever relay holds it."""
    user = register(cluster)
    offset = cluster.nginx.log_offset()
    streams = [EventStream(cluster.nginx, user["token"]) for _ in range(2)]
    assert [stream.status for stream in streams] == [200, 200]
    reading = {"sensor": "hall", "data": {"t": 2}}
    for name in "ab":
        stored = cluster.host(name, "POST", "/api/v1/readings/", reading, user["token"])
        assert stored.status == 201, stored.body
        for stream in streams:
            event = stream.next_event()
            assert event.data["items"][0]["id"] == stored.json["id"]
    for stream in streams:
        stream.close()

    def relays():
        entries = cluster.nginx.entries(offset)
        return {e[2][-1] for e in entries if e[4] == "/api/v1/stream"}

    held_by = {f"{host.address}:{RELAY_PORT}" for host in cluster.hosts.values()}
    wait_for(lambda: relays() == held_by, 30, "nginx's log of both streams")


def new_device(cluster, user, host="a"):
    """A new device of user made through host; its JSON, key included."""
    made = cluster.host(
        host, "POST", "/api/v1/devices/", {"name": "box"}, token=user["token"]
    )
    assert made.status == 201, made.body
    return made.json


def upload(cluster, host, key, n=0):
    """One reading posted with a device key straight to host: the response."""
    body = {"sensor": "box/temp", "data": {"n": n}}
    return cluster.host(host, "POST", "/api/v1/readings/", body, token=key)


def refused_on_a(cluster, key):
    """Whether host a answers 401 to the key each time (whichever worker asks)."""
    return {upload(cluster, "a", key).status for _ in range(REFUSALS)} == {401}


def test_a_device_key_revoked_or_rotated_on_one_host_is_refused_at_once_on_the_other(
    cluster, traffic, host_figures
):
    grace = 3
    with traffic.window() as seen:
        user = register(cluster, source="127.0.0.5")
        device = new_device(cluster, user)
        rotate = f"/api/v1/devices/{device['id']}/rotate"
        first = device["key"]
        assert upload(cluster, "a", first).status == 201

        # Rotated through B without a grace: the old key is refused on A at once.
        rotated = cluster.host("b", "POST", rotate, {}, token=user["token"])
        assert rotated.status == 200, rotated.body
        second = rotated.json["key"]
        assert refused_on_a(cluster, first)
        assert upload(cluster, "a", second).status == 201

        # Rotated through B with a grace: A takes the old key until it ends.
        graced = cluster.host(
            "b", "POST", rotate, {"grace_seconds": grace}, token=user["token"]
        )
        assert graced.status == 200, graced.body
        ends = time.monotonic() + grace
        third = graced.json["key"]
        assert upload(cluster, "a", second).status == 201
        assert time.monotonic() < ends, "too slow to see the grace window"
        time.sleep(ends - time.monotonic() + 0.5)
        assert refused_on_a(cluster, second)
        assert upload(cluster, "a", third).status == 201

        # Deleted through B: its key is refused on A at once.
        gone = cluster.host(
            "b", "DELETE", f"/api/v1/devices/{device['id']}", token=user["token"]
        )
        assert gone.status == 204, gone.body
        assert refused_on_a(cluster, third)
    assert seen.failures() == []
    host_figures.append("device keys across hosts, under load: " + seen.figures())


def test_device_key_limits_hold_across_both_hosts(cluster, host_figures):
    attempts = 3 * DEVICE_LIMIT
    user = register(cluster, source="127.0.0.6")
    device = new_device(cluster, user)
    responses = [
        upload(cluster, "ab"[n % 2], device["key"], n) for n in range(attempts)
    ]
    statuses = [r.status for r in responses]
    # Counted in Redis: exactly the limit is stored, whichever host was asked;
    # each host counting alone would let 2 x the limit through.
    assert statuses.count(201) == DEVICE_LIMIT, statuses
    assert statuses.count(429) == attempts - DEVICE_LIMIT, statuses
    for first in (0, 1):  # each host let some through and refused others
        assert {statuses[n] for n in range(first, attempts, 2)} == {201, 429}
    assert all(int(r.headers["Retry-After"]) > 0 for r in responses if r.status == 429)
    with cluster.database() as conn:
        (stored,) = conn.execute(
            "SELECT count(*) FROM readings WHERE device_id = %s", (device["id"],)
        ).fetchone()
    assert stored == DEVICE_LIMIT
    host_figures.append(
        f"device limit {DEVICE_LIMIT}/hour: {attempts} uploads with one key, "
        f"alternating hosts: {DEVICE_LIMIT} stored, the rest 429"
    )


@pytest.fixture(scope="module")
def receiver(cluster):
    """A webhook endpoint on the bridge's private address; both hosts reach it."""
    running = Receiver(address=cluster.network.private_gateway)
    yield running
    running.stop()


def hooked_rules(cluster, user, receiver):
    """HOOKED_RULES rules made through alternating hosts, each with its own hook."""
    made = []
    for n in range(HOOKED_RULES):
        path = f"/{user['name']}/{n}"
        body = rule(
            sensor=f"hooked/{n}",
            condition=threshold(above=30),
            webhook_url=receiver.url(path),
        )
        created = cluster.host(
            "ab"[n % 2], "POST", "/api/v1/alerts/", body, token=user["token"]
        )
        assert created.status == 201, created.body
        receiver.secrets[path] = created.json["webhook_secret"]
        made.append(created.json["id"])
    return made


def fire_and_resolve(cluster, user, rules):
    """Through nginx, a batch making every rule fire, and once those are
    delivered (a newer event would supersede them), one making each resolve:
    the events' webhook-ids."""
    for celsius in (40, 20):
        items = [
            {"sensor": f"hooked/{n}", "data": {"celsius": celsius}}
            for n in range(len(rules))
        ]
        posted = cluster.via_nginx(
            "POST", "/api/v1/readings/batch", {"readings": items}, user["token"]
        )
        assert posted.status == 201, posted.body
        if celsius == 40:
            wait_for(
                lambda: delivered(cluster, rules) == len(rules),
                60,
                "the firing events delivered",
            )
    with cluster.database() as conn:
        events = conn.execute(
            "SELECT id FROM alert_events WHERE rule_id = ANY(%s)", (rules,)
        ).fetchall()
    assert len(events) == 2 * len(rules)
    return {f"msg_alert_event_{event_id}" for (event_id,) in events}


def delivered(cluster, rules):
    with cluster.database() as conn:
        return conn.execute(
            "SELECT count(*) FROM alert_deliveries"
            " WHERE rule_id = ANY(%s) AND status = 'delivered'",
            (rules,),
        ).fetchone()[0]


def arrivals_of(receiver, message_ids):
    return [a for a in list(receiver.arrivals) if a.message_id in message_ids]


def all_delivered(cluster, rules, receiver, expected, timeout):
    """Until every delivery of the rules is done (nothing more will be sent):
    what arrived of the expected webhook-ids."""

    def done():
        with cluster.database() as conn:
            statuses = conn.execute(
                "SELECT status FROM alert_deliveries WHERE rule_id = ANY(%s)",
                (rules,),
            ).fetchall()
        return statuses and {status for (status,) in statuses} == {"delivered"}

    try:
        wait_for(done, timeout, "every delivery made")
    except AssertionError as error:
        sent = [a.message_id for a in arrivals_of(receiver, expected)]
        raise AssertionError(
            f"{error}; {len(set(sent))} of {len(expected)} events arrived, in "
            f"{len(sent)} requests"
        ) from None
    return arrivals_of(receiver, expected)


def assert_in_rule_order(arrivals, rules):
    """Every arrival verifies, and each rule's events came firing, then resolved."""
    grouped = payloads_by_rule(arrivals)
    assert sorted(grouped) == sorted(rules)
    for payloads in grouped.values():
        assert [p["type"] for p in payloads] == ["alert.firing", "alert.resolved"]


def sent_by(cluster, arrival):
    """The host whose worker sent an arrival, by its private address."""
    return {v: k for k, v in cluster.network.private.items()}[arrival.sender]


def workers_started(cluster, name):
    """How many times host name's worker logged its start (it logs to its app root)."""
    path = os.path.join(cluster.hosts[name].root, "run", "worker.log")
    with open(path, errors="replace") as handle:
        return handle.read().count(" started: ")


def test_each_webhook_goes_out_once_whichever_hosts_worker_claims_it(
    cluster, traffic, receiver, host_figures
):
    for name in "ab":
        assert worker_pids(cluster, name), f"no alerts worker runs on host {name}"
    receiver.delay = 0.3  # each attempt holds a sending thread: both hosts get some
    with traffic.window() as seen:
        user = register(cluster, source="127.0.0.7")
        rules = hooked_rules(cluster, user, receiver)
        expected = fire_and_resolve(cluster, user, rules)
        arrivals = all_delivered(cluster, rules, receiver, expected, 60)
    sent = [a.message_id for a in arrivals]
    assert sorted(sent) == sorted(expected), "an event was lost or sent twice"
    assert_in_rule_order(arrivals, rules)
    senders = [sent_by(cluster, a) for a in arrivals]
    assert set(senders) == {"a", "b"}, "both hosts' workers claimed deliveries"
    with cluster.database() as conn:
        attempts = conn.execute(
            "SELECT count(*) FROM alert_delivery_attempts WHERE rule_id = ANY(%s)",
            (rules,),
        ).fetchone()[0]
    assert attempts == len(expected)
    assert seen.failures() == []
    host_figures.append(
        f"webhooks: {len(expected)} events of {len(rules)} rules, each delivered "
        f"once ({senders.count('a')} by host a's worker, {senders.count('b')} by "
        f"b's), under load: " + seen.figures()
    )


def test_a_worker_killed_hard_mid_delivery_loses_no_event(
    cluster, traffic, receiver, host_figures
):
    receiver.delay = 1.0  # long enough to kill a's worker while it waits
    user = register(cluster, source="127.0.0.8")
    rules = hooked_rules(cluster, user, receiver)
    started = workers_started(cluster, "a")
    with traffic.window() as seen:
        expected = fire_and_resolve(cluster, user, rules)

        def a_is_waiting_for_an_answer():
            now = time.monotonic()
            return any(
                sent_by(cluster, a) == "a" and now - a.at < 0.5
                for a in arrivals_of(receiver, expected)
            )

        wait_for(a_is_waiting_for_an_answer, 30, "host a's worker mid-delivery")
        victims = worker_pids(cluster, "a")
        assert victims, "no alerts worker runs on host a"
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not worker_pids(cluster, "a"), 10, "a's worker gone")
        # b takes over what a held once its lease (8 s) runs out.
        arrivals = all_delivered(cluster, rules, receiver, expected, 90)
    assert {a.message_id for a in arrivals} == expected, "an event was lost"
    first = {}
    for arrival in arrivals:
        first.setdefault(arrival.message_id, arrival)
    assert_in_rule_order(list(first.values()), rules)
    again = [a for a in arrivals if first[a.message_id] is not a]
    # At least once: what a's worker was sending when it died (at most one
    # delivery per sending thread) goes out again from b; nothing else twice.
    assert 0 < len(again) <= WORKER_THREADS, again
    for arrival in again:
        assert sent_by(cluster, first[arrival.message_id]) == "a"
        assert sent_by(cluster, arrival) == "b"
    assert len(again) == len({a.message_id for a in again})
    assert seen.failures() == []

    restart = run_ssh(cluster.hosts["a"], f"{cluster.served_root}/worker.sh")
    assert restart.returncode == 0, restart.stderr
    wait_for(lambda: workers_started(cluster, "a") > started, 30, "a's worker back")
    assert worker_pids(cluster, "a")
    host_figures.append(
        f"host a's alerts worker killed with SIGKILL mid-delivery: {len(expected)} "
        f"events all delivered, {len(again)} of them twice (sent again by b once "
        f"a's claim ran out), under load: " + seen.figures()
    )


def processes(cluster, name, mark):
    """The live processes of host name whose command line holds mark."""
    return [pid for pid in cluster.network.pids(name) if mark in command_line(pid)]


def uwsgi_pids(cluster, name):
    return processes(cluster, name, b"uwsgi")


def worker_pids(cluster, name):
    return processes(cluster, name, b"alerts\0worker")


def workers_on_live_release(cluster):
    """Whether each host's one alerts worker runs the release live there."""
    for name, host in cluster.hosts.items():
        pids = worker_pids(cluster, name)
        if len(pids) != 1 or not os.readlink(f"/proc/{pids[0]}/cwd").endswith(
            "/" + host.live()
        ):
            return False
    return True


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s")


def test_a_host_killed_hard_loses_no_acknowledged_write_and_rejoins(
    cluster, traffic, host_figures
):
    a, b = (f"{cluster.hosts[n].address}:{APP_PORT}" for n in "ab")
    with traffic.window() as seen:
        time.sleep(2)
        killed_at = time.time()
        victims = uwsgi_pids(cluster, "a")
        assert victims, "no uWSGI runs on host a"
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not uwsgi_pids(cluster, "a"), 10, "uWSGI on a gone")
        # Only b serves meanwhile, past nginx's fail_timeout, so nginx tries a
        # again while it is down: if the kill cut off only a POST (a 502 nginx
        # never re-sends), that retry is the failover; a back sooner shows none.
        time.sleep(net.FAIL_TIMEOUT + 2)
        restarted_at = time.time()
        host = cluster.hosts["a"]
        restart = run_ssh(host, f"{cluster.served_root}/service.sh")
        assert restart.returncode == 0, restart.stderr

        def a_serves_again():
            since = [e for e in cluster.nginx.entries() if e[0] > restarted_at]
            return any(e[2] and e[2][-1] == a and e[1] < 400 for e in since)

        wait_for(a_serves_again, 90, "host a back in nginx's rotation")
        time.sleep(1)
    during = [e for e in seen.log if killed_at + 1 < e[0] < restarted_at]
    assert during and {e[2][-1] for e in during} == {
        b
    }, "b alone served while a was down"
    # Only writes in flight on a when it died may fail (nginx never re-sends a
    # POST that reached a host): each at most one batch per writer thread.
    failed = seen.failures()
    assert all(r[2] == "POST" for r in failed), failed
    assert len(failed) <= 1, failed
    assert_writes_stored(cluster, seen.batches)
    assert seen.failovers() >= 1
    host_figures.append(
        "host a's uWSGI killed with SIGKILL, restarted: "
        + seen.figures()
        + f"; {len(failed)} unacknowledged write(s), stored whole or not at all"
    )


def run_ssh(host, command):
    return subprocess.run(
        [
            "ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={host.ssh.known_hosts}", "-i", host.ssh.key,
            "-p", str(host.ssh.port), f"{host.ssh.user}@{host.address}", command,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip


def test_deploying_to_both_hosts_one_at_a_time_fails_no_request(
    cluster, traffic, host_figures
):
    before = cluster.versions()
    sha = cluster.releases.commit(
        "release B", {"default_config.py": set_version("1.1.0-two-hosts")}
    )
    lines = []
    with traffic.window() as seen:
        run = cluster.deploy(sha, on_line=lines.append)
    assert run.returncode == 0, run.log
    want = "1.1.0-two-hosts+" + sha[:12]
    assert cluster.versions() == {"a": want, "b": want}
    assert workers_on_live_release(cluster), "deploy.sh restarted each worker"
    # One host at a time: a is drained, deployed and back before b is drained.
    steps = [line.strip() for line in lines if line.startswith("deploy: ")]
    order = [s for s in steps if s.startswith(("deploy: drain", "deploy: put back"))]
    addresses = [cluster.hosts[n].address for n in "ab"]
    assert order == [
        f"deploy: drain {addresses[0]}",
        f"deploy: put back {addresses[0]}",
        f"deploy: drain {addresses[1]}",
        f"deploy: put back {addresses[1]}",
    ], steps
    assert run.log.count("migrations: flask db upgrade heads") == 1
    assert seen.failures() == []
    assert_writes_stored(cluster, seen.batches)
    host_figures.append(
        f"deploy to both hosts ({before['a']} -> {want}): " + seen.figures(run)
    )


def test_a_release_failing_on_the_second_host_is_rolled_back_on_both(
    cluster, traffic, host_figures, tmp_path
):
    before = cluster.versions()
    assert before["a"] == before["b"]
    gate = str(tmp_path / "gate")
    hang_on_b = HANG_UNTIL_GATE.replace(
        'if __import__("os").environ.get("MYAPP_RELOAD_FILE"):',
        'if __import__("os").environ.get("MYAPP_RELOAD_FILE") and '
        '__import__("os").environ.get("MYAPP_TEST_HOST") == "b":',
    )
    assert hang_on_b != HANG_UNTIL_GATE
    sha = cluster.releases.commit(
        "release D, hangs on b",
        {
            "default_config.py": set_version("1.2.0-hangs-on-b"),
            "wsgi.py": lambda t: t + hang_on_b.format(gate=gate),
        },
    )
    cluster.releases.git("revert", "--no-edit", "HEAD")

    def open_gate_once_rolling_back(line):
        if "ROLLBACK" in line:
            open(gate, "w").close()

    with traffic.window() as seen:
        # Long enough for a to go live on a busy machine; b cannot, however long.
        run = cluster.deploy(sha, timeout=30, on_line=open_gate_once_rolling_back)
    assert run.returncode != 0
    assert "failed on " + cluster.hosts["b"].address in run.log
    assert "rolling back 1 host(s)" in run.log
    assert cluster.versions() == before
    assert workers_on_live_release(cluster)
    assert seen.failures() == []
    assert_writes_stored(cluster, seen.batches)
    host_figures.append(
        f"release hanging on b, rolled back on both (exit {run.returncode}), back on "
        f"{before['a']}: " + seen.figures(run)
    )
