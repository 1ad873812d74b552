"""PostgreSQL fails over under load, and no acknowledged reading is lost.

pg_auto_failover (testing/pgcluster.py) runs a monitor, a primary and a
synchronous standby, each in a network namespace of its own; two app hosts in
theirs (testing/failover.py) run uWSGI and the alerts worker on the
multi-host URL (target_session_attrs=read-write), behind nginx on loopback.
Under a bounded load of batches with client_ids and single device uploads,
retried as clients do, the primary is killed (SIGKILL of pg_autoctl and
postgres: the machine is gone) or cut off (its veth down). Every answer is a
2xx or a 503 with Retry-After; every acknowledged reading is on the new
primary with its id, no upload is stored in part, writes resume, and the old
primary rejoins as the standby. Figures go to test-output/failover-figures.json
(bench/failover/run.py publishes them in bench/README.md).

It brings its own PostgreSQL nodes, so it runs in the SQLite half of
scripts/test.sh and is skipped, saying so, in the PostgreSQL half.
"""

import contextlib
import json
import os
import subprocess
import threading
import time
import uuid

import psycopg
import pytest

from testing import hosts as net
from testing.alerts import Receiver, rule
from testing.failover import (
    APP_PORT,
    BATCH,
    PASSWORD,
    AppHost,
    Load,
    assert_stored,
    call,
)
from testing.pgcluster import AutoFailover
from testing.servers import free_port

pytestmark = pytest.mark.failover

OUTPUT = os.path.join(net.ROOT, "test-output")
FIGURES = os.path.join(OUTPUT, "failover-figures.json")
# Writes must resume within this many seconds of the primary's loss.
RESUME_TARGET = 30
ACKS = 15  # acknowledged uploads before the fault, and after it


def require_tools():
    net.require_tools(
        "failover",
        ("ip", "unshare", "nginx", "pg_autoctl", "runuser"),
        "iproute2, util-linux, nginx-light and postgresql-15-auto-failover",
    )


class Stack:
    """The monitor, the PostgreSQL nodes, the app hosts and nginx."""

    def __init__(self, stack, base):
        os.makedirs(OUTPUT, exist_ok=True)
        self.network = net.Network(["mon", "pg1", "pg2", "a", "b"])
        stack.callback(self.network.remove)
        self.db = AutoFailover(self.network, OUTPUT)
        stack.callback(self.db.stop)
        self.db.start()
        env = {
            "MYAPP_CONFIG": "production",
            "SECRET_KEY": os.urandom(32).hex(),
            "DATABASE_URL": self.db.url(),
            "MYAPP_DATABASE_CONNECT_TIMEOUT": "2",
            # A request failed before its COMMIT runs again while the primary
            # moves (myapp/primary.py), for up to this many seconds.
            "MYAPP_DATABASE_PRIMARY_WAIT": "10",
            "MYAPP_DEVICE_RATE_LIMIT": "1000000 per minute",
            "MYAPP_JWT_ACCESS_TOKEN_EXPIRES": "3600",
            # uWSGI 2.0.x kills a worker reading a POST body after another
            # thread finished a request (unbit/uwsgi#2706): off, as in test_hosts.
            "MYAPP_HARAKIRI": "0",
            # The webhook receiver is on the test's private subnet, over http.
            "MYAPP_WEBHOOK_ALLOW_HTTP": "true",
            "MYAPP_WEBHOOK_ALLOW_PRIVATE": "true",
            "MYAPP_WEBHOOK_TIMEOUT": "3",
        }
        flask = os.path.join(net.ROOT, ".venv", "bin", "flask")
        subprocess.run(
            [flask, "db", "upgrade", "heads"],
            cwd=net.ROOT,
            env={**os.environ, **env, "FLASK_APP": "wsgi"},
            check=True,
            capture_output=True,
        )
        self.receiver = Receiver(address=self.network.private_gateway)
        stack.callback(self.receiver.stop)
        self.hosts = []
        for name in ("a", "b"):
            host = AppHost(self.network, name, env, OUTPUT)
            stack.callback(host.stop)
            self.hosts.append(host)
        self.nginx = net.Nginx(
            os.path.join(base, "nginx"),
            free_port(),
            [host.address for host in self.hosts],
            APP_PORT,
        )
        stack.callback(self.nginx.stop)
        deadline = time.monotonic() + 90
        while call(self.nginx.port, "GET", "/api/v1/health")[0] != 200:
            assert time.monotonic() < deadline, "the app hosts never became healthy"
            time.sleep(0.5)

    def request(self, method, path, body=None, token=None):
        status, parsed, _ = call(self.nginx.port, method, path, body, token)
        return status, parsed

    def primary_connection(self):
        return psycopg.connect(self.db.conninfo())


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgres"):
        pytest.skip(
            "ran in the SQLite half with its own PostgreSQL nodes (in network "
            "namespaces); one run of it is enough"
        )
    require_tools()
    with contextlib.ExitStack() as stack:
        yield Stack(stack, str(tmp_path_factory.mktemp("failover")))


@pytest.fixture(scope="module")
def account(cluster):
    name = "f_" + uuid.uuid4().hex[:10]
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    status, user = cluster.request("POST", "/api/v1/auth/register", body)
    assert status == 201, user
    status, tokens = cluster.request(
        "POST", "/api/v1/auth/login", {"username": name, "password": PASSWORD}
    )
    assert status == 200, tokens
    token = tokens["access_token"]
    status, device = cluster.request("POST", "/api/v1/devices/", {"name": "box"}, token)
    assert status == 201, device
    return {"id": user["id"], "token": token, "device_key": device["key"]}


@pytest.fixture(scope="module")
def figures(failover_figures):
    """Each case's figures: printed at the end of the run, and saved as JSON."""
    found = {}
    yield found
    if found:
        with open(FIGURES, "w") as out:
            json.dump(found, out, indent=2)
        for case, values in found.items():
            failover_figures.append(f"{case}: {json.dumps(values)}")


def hooked(cluster, account):
    """A rule whose webhook reaches the receiver; its sensor."""
    sensor = "hooked-" + uuid.uuid4().hex[:8]
    path = "/" + sensor
    body = rule(sensor=sensor, webhook_url=cluster.receiver.url(path))
    status, made = cluster.request("POST", "/api/v1/alerts/", body, account["token"])
    assert status == 201, made
    cluster.receiver.secrets[path] = made["webhook_secret"]
    return sensor


def assert_workers_send(cluster, account, sensor, timeout=30):
    """A crossing reading's event reaches the receiver: the workers lived on."""
    reading = {"sensor": sensor, "data": {"celsius": 40}}
    status, _ = cluster.request("POST", "/api/v1/readings/", reading, account["token"])
    assert status == 201
    deadline = time.monotonic() + timeout
    while not any(
        a.path == "/" + sensor and a.payload for a in cluster.receiver.unique()
    ):
        assert time.monotonic() < deadline, "no webhook sent after the failover"
        time.sleep(0.1)
    for host in cluster.hosts:
        assert host.worker.poll() is None, f"host {host.name}'s alerts worker died"


def fail_over(cluster, account, fault, mend):
    """Load, the fault on the primary, writes resumed, the old primary back."""
    old = cluster.db.primary()
    node = cluster.db.nodes[old]
    sensor = hooked(cluster, account)
    load = Load(cluster.nginx.port, account["token"], account["device_key"]).start()
    try:
        load.wait_acknowledged(ACKS)
        fault_at = time.monotonic()
        fault(node)
        load.wait_acknowledged(ACKS, timeout=90)
        resumed = load.first_write_after(fault_at)
        new = cluster.db.wait_promoted(old)
        mend(node)
        assert cluster.db.wait_healthy(timeout=120) == new
        rejoined_at = time.monotonic()
        load.wait_acknowledged(ACKS)
    finally:
        load.stop()
    assert load.problems == [], load.problems[:5]
    with cluster.primary_connection() as conn:
        (address,) = conn.execute("SELECT host(inet_server_addr())").fetchone()
        assert address == cluster.db.nodes[new].address
        acknowledged, count = assert_stored(conn, load, account["id"])
    assert resumed is not None and resumed < RESUME_TARGET, resumed
    assert_workers_send(cluster, account, sensor)
    last = load.last_write_before(fault_at)
    return {
        "old primary": old,
        "new primary": new,
        "fault to first successful write s": round(resumed, 2),
        "last write before the fault to first after it s": round(
            fault_at + resumed - (last or fault_at), 2
        ),
        "longest time without an acknowledged write s": round(load.longest_gap(), 2),
        "fault to old primary back as standby s": round(rejoined_at - fault_at, 1),
        "slowest answer s": round(load.slowest(), 2),
        "answers to requests started from fault to first write": dict(
            load.statuses(fault_at, fault_at + resumed)
        ),
        "statuses of the whole run": dict(load.statuses(None, None)),
        "acknowledged readings": acknowledged,
        "readings stored": count,
    }


def test_killing_the_primary_loses_no_acknowledged_reading(cluster, account, figures):
    def crash(node):
        node.crash()

    def restart(node):
        node.start()

    figures["kill -9"] = fail_over(cluster, account, crash, restart)


def test_cutting_the_primarys_network_loses_no_acknowledged_reading(
    cluster, account, figures
):
    def cut(node):
        node.cut()

    def mend(node):
        node.mend()

    figures["link cut"] = fail_over(cluster, account, cut, mend)


def test_a_switchover_during_a_rolling_restart_fails_no_request(
    cluster, account, figures
):
    """What a maintenance window does: the primary moved on purpose while the
    app hosts restart one at a time, each drained in nginx first."""
    old = cluster.db.primary()
    load = Load(cluster.nginx.port, account["token"], account["device_key"]).start()
    failed = []

    def switch():
        try:
            cluster.db.switchover()
        except Exception as error:  # said below, not lost in a thread
            failed.append(repr(error))

    switching = threading.Thread(target=switch)
    try:
        load.wait_acknowledged(ACKS)
        started = time.monotonic()
        switching.start()
        for host in cluster.hosts:
            subprocess.run(
                f"{cluster.nginx.hook('drain')} {host.address}", shell=True, check=True
            )
            host.restart()
            subprocess.run(
                f"{cluster.nginx.hook('undrain')} {host.address}",
                shell=True,
                check=True,
            )
        switching.join(timeout=120)
        new = cluster.db.wait_healthy(timeout=120)
        ended = time.monotonic()
        load.wait_acknowledged(ACKS)
    finally:
        load.stop()
    assert not failed and new != old, (failed, old, new)
    assert load.problems == [], load.problems[:5]
    statuses = load.statuses(None, None)
    assert set(statuses) <= {"200", "201"}, statuses
    with cluster.primary_connection() as conn:
        acknowledged, count = assert_stored(conn, load, account["id"])
    figures["switchover"] = {
        "old primary": old,
        "new primary": new,
        "switchover and restarts s": round(ended - started, 1),
        "longest time without an acknowledged write s": round(load.longest_gap(), 2),
        "slowest answer s": round(load.slowest(), 2),
        "statuses of the whole run": dict(statuses),
        "acknowledged readings": acknowledged,
        "readings stored": count,
    }


def test_losing_the_standby_stalls_writes_then_they_go_on_unreplicated(
    cluster, account, figures
):
    primary = cluster.db.primary()
    (standby,) = [n for n in cluster.db.nodes if n != primary]
    node = cluster.db.nodes[standby]
    load = Load(cluster.nginx.port, account["token"], account["device_key"]).start()
    try:
        load.wait_acknowledged(ACKS)
        fault_at = time.monotonic()
        node.crash()
        # Commits wait for the standby until the monitor lets the primary go
        # on alone (wait_primary: synchronous replication off).
        cluster.db.wait_states({primary: "wait_primary"}, timeout=60)
        alone_at = time.monotonic()
        load.wait_acknowledged(ACKS)
        node.start()
        assert cluster.db.wait_healthy(timeout=120) == primary
        back_at = time.monotonic()
        load.wait_acknowledged(ACKS)
    finally:
        load.stop()
    assert load.problems == [], load.problems[:5]
    with cluster.primary_connection() as conn:
        assert_stored(conn, load, account["id"])
    last = load.last_write_before(fault_at)
    gap = fault_at + load.first_write_after(fault_at) - (last or fault_at)
    figures["standby lost"] = {
        "fault to primary alone (wait_primary) s": round(alone_at - fault_at, 2),
        "longest time without an acknowledged write s": round(
            max(gap, load.longest_gap()), 2
        ),
        "slowest answer s": round(load.slowest(), 2),
        "fault to standby back s": round(back_at - fault_at, 1),
        "statuses of the whole run": dict(load.statuses(None, None)),
    }


def write_rate(cluster, account, seconds=5, threads=2):
    """Readings a second acknowledged by batches of BATCH through nginx."""
    done = []
    deadline = time.monotonic() + seconds

    def write():
        while time.monotonic() < deadline:
            items = [{"sensor": "rate", "data": {"n": n}} for n in range(BATCH)]
            status, _ = cluster.request(
                "POST", "/api/v1/readings/batch", {"readings": items}, account["token"]
            )
            assert status == 201
            done.append(BATCH)

    workers = [threading.Thread(target=write) for _ in range(threads)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(done) / (time.monotonic() - started)


def test_the_price_of_synchronous_commit_is_measured(cluster, account, figures):
    rates = {}
    for setting in ("on", "off", "on"):
        cluster.db.set_primary("synchronous_commit", setting)
        rates.setdefault(setting, []).append(write_rate(cluster, account))
    cluster.db.set_primary("synchronous_commit", "on")
    figures["write throughput"] = {
        "batch size": BATCH,
        "synchronous_commit on, readings/s": [round(r) for r in rates["on"]],
        "synchronous_commit off, readings/s": [round(r) for r in rates["off"]],
    }
