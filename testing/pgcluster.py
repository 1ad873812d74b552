"""pg_auto_failover in network namespaces: a monitor and two PostgreSQL nodes.

Each runs `pg_autoctl run` (Debian's postgresql-15-auto-failover) as the
postgres user in a network namespace of testing/hosts.Network, and in a mount
namespace where /var/run/postgresql is a directory of its own, so every node
listens on 5432 as on a machine of its own. The nodes are made the way
deploy/README.md makes them ("A database for more than one machine"):
`pg_autoctl create`, then `pg_autoctl run`, with shorter health checks and
timeouts than the defaults so that a test's failover takes seconds, not a
minute. Everything lives in a directory of /tmp the test removes.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time

import psycopg

from testing import hosts as net

PORT = 5432
DATABASE = "myapp"
ROLE = "myapp"
RUN_DIR = "/var/run/postgresql"
# The monitor's clock, in milliseconds: a node that misses its checks for about
# 3 s is unhealthy; a primary gone that long is demoted (after
# primary_demote_timeout, which must outlast the keepers' network partition
# timeout below: an isolated primary has demoted itself by then).
MONITOR_SETTINGS = {
    "pgautofailover.health_check_period": 1000,
    "pgautofailover.health_check_timeout": 1000,
    "pgautofailover.health_check_max_retries": 1,
    "pgautofailover.health_check_retry_delay": 500,
    "pgautofailover.node_considered_unhealthy_timeout": 3000,
    "pgautofailover.startup_grace_period": 3000,
    "pgautofailover.primary_demote_timeout": 7000,
}
WRITABLE = ("primary", "wait_primary")
# Each keeper's: seconds without the monitor and every standby before a
# primary demotes itself (default 20).
KEEPER_SETTINGS = {"timeout.network_partition_timeout": 5}


def pg_bindir():
    for version in ("17", "16", "15"):
        path = f"/usr/lib/postgresql/{version}/bin"
        if os.path.exists(os.path.join(path, "pg_ctl")):
            return path
    raise RuntimeError("PostgreSQL's server binaries are missing")


class Node:
    """One pg_autoctl node (the monitor or a PostgreSQL node) in its namespace."""

    def __init__(self, cluster, name):
        self.cluster = cluster
        self.name = name
        self.address = cluster.network.addresses[name]
        self.dir = os.path.join(cluster.base, name)
        self.pgdata = os.path.join(self.dir, "data")
        self.run_dir = os.path.join(self.dir, "run")
        for path in (self.dir, self.run_dir):
            os.makedirs(path)
            shutil.chown(path, "postgres")
        self.log_path = os.path.join(cluster.log_dir, f"failover-{name}.log")
        self.log = open(self.log_path, "w")
        self.process = None

    def command(self, *args):
        """pg_autoctl with args, as postgres, in this node's namespaces."""
        home = self.dir
        return self.cluster.network.prefix(self.name, (self.run_dir, RUN_DIR)) + [
            "runuser", "-u", "postgres", "--", "env", f"HOME={home}",
            f"XDG_CONFIG_HOME={home}/config", f"XDG_DATA_HOME={home}/share",
            f"XDG_RUNTIME_DIR={home}/run", f"PATH={pg_bindir()}:/usr/bin:/bin",
            f"PGDATA={self.pgdata}", "pg_autoctl", *args,
        ]  # fmt: skip

    def autoctl(self, *args, timeout=120):
        """Run one pg_autoctl command to its end; its output in the node's log."""
        self.log.write(f"$ pg_autoctl {' '.join(args)}\n")
        self.log.flush()
        subprocess.run(
            self.command(*args),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=True,
        )

    def start(self):
        """`pg_autoctl run`: what the systemd unit runs (a crashed node comes back)."""
        self.log.write("$ pg_autoctl run\n")
        self.log.flush()
        self.process = subprocess.Popen(
            self.command("run"), stdout=self.log, stderr=subprocess.STDOUT
        )

    def append(self, file, lines):
        with open(os.path.join(self.pgdata, file), "a") as out:
            out.write("".join(line + "\n" for line in lines))

    def crash(self):
        """SIGKILL pg_autoctl and postgres at once: the machine died."""
        net.kill_everything_in(self.cluster.network.namespaces[self.name])
        if self.process:
            self.process.wait(timeout=30)

    def postmaster_pid(self):
        with open(os.path.join(self.pgdata, "postmaster.pid")) as handle:
            return int(handle.readline())

    @property
    def veth(self):
        """The root end of the node's veth pair on the bridge (testing/hosts.py)."""
        return f"{self.cluster.network.bridge}{self.name}"

    def cut(self):
        net.ip("link", "set", self.veth, "down")

    def mend(self):
        net.ip("link", "set", self.veth, "up")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        self.crash()
        self.log.close()


class AutoFailover:
    """A monitor and PostgreSQL nodes on `network` (names from its namespaces)."""

    def __init__(self, network, log_dir, nodes=("pg1", "pg2"), monitor="mon"):
        self.network = network
        self.log_dir = log_dir
        self.base = tempfile.mkdtemp(prefix="myapp-failover-")
        shutil.chown(self.base, "postgres")
        os.chmod(self.base, 0o755)
        self.monitor = Node(self, monitor)
        self.nodes = {name: Node(self, name) for name in nodes}
        self.started = []

    def monitor_uri(self):
        return (
            f"postgres://autoctl_node@{self.monitor.address}:{PORT}"
            "/pg_auto_failover?sslmode=disable"
        )

    def start(self):
        """The monitor, then the first node (primary), then the others (standbys)."""
        trusted = f"{self.network.subnet}.0/24"
        monitor = self.monitor
        monitor.autoctl(
            "create", "monitor", "--pgport", str(PORT), "--hostname",
            monitor.address, "--auth", "trust", "--no-ssl",
        )  # fmt: skip
        monitor.append("pg_hba.conf", [f"host all all {trusted} trust"])
        monitor.append(
            "postgresql.conf", [f"{k} = {v}" for k, v in MONITOR_SETTINGS.items()]
        )
        monitor.start()
        self.started.append(monitor)
        self.wait_sql(monitor.address, "pg_auto_failover")
        for number, node in enumerate(self.nodes.values()):
            node.autoctl(
                "create", "postgres", "--pgport", str(PORT), "--hostname",
                node.address, "--name", node.name, "--dbname", DATABASE,
                "--monitor", self.monitor_uri(), "--auth", "trust", "--no-ssl",
            )  # fmt: skip
            for key, value in KEEPER_SETTINGS.items():
                node.autoctl("config", "set", key, str(value))
            if number == 0:
                # Copied to the standbys by their base backup.
                node.append(
                    "pg_hba.conf",
                    [
                        f"host all all {trusted} trust",
                        f"host replication all {trusted} trust",
                    ],
                )
            node.start()
            self.started.append(node)
            if number == 0:
                self.wait_states({node.name: "single"}, timeout=90)
                self.wait_sql(node.address, "postgres")
                self.make_role(node)
        self.wait_healthy(timeout=120)

    def make_role(self, node):
        with self.connect(node.name, "postgres") as conn:
            conn.execute(f"CREATE ROLE {ROLE} LOGIN")
            conn.execute(f"ALTER DATABASE {DATABASE} OWNER TO {ROLE}")
        with self.connect(node.name, DATABASE) as conn:
            conn.execute(f"ALTER SCHEMA public OWNER TO {ROLE}")

    def connect(self, name, dbname=DATABASE, timeout=3):
        address = self.network.addresses[name]
        return psycopg.connect(
            host=address,
            port=PORT,
            user="postgres",
            dbname=dbname,
            connect_timeout=timeout,
            autocommit=True,
        )

    def wait_sql(self, address, dbname, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(
                    host=address, port=PORT, user="postgres", dbname=dbname,
                    connect_timeout=2,
                ).close()  # fmt: skip
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def states(self):
        """{node name: (reported state, goal state)} as the monitor sees them."""
        with self.connect(self.monitor.name, "pg_auto_failover") as conn:
            rows = conn.execute(
                "SELECT nodename, reportedstate::text, goalstate::text"
                " FROM pgautofailover.node"
            ).fetchall()
        return {name: (reported, goal) for name, reported, goal in rows}

    def wait_states(self, wanted, timeout=60):
        """Until every named node has reported (and is meant to be in) its state."""
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            try:
                seen = self.states()
            except psycopg.OperationalError:
                seen = None
            if seen and all(seen.get(n) == (s, s) for n, s in wanted.items()):
                return seen
            time.sleep(0.2)
        raise AssertionError(f"nodes not {wanted} within {timeout} s: {seen}")

    def wait_healthy(self, timeout=60):
        """Until one node is primary and every other a secondary; the primary."""
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            try:
                seen = self.states()
            except psycopg.OperationalError:
                seen = None
            settled = seen and all(r == g for r, g in seen.values())
            reported = sorted(r for r, _ in (seen or {}).values())
            want = ["primary"] + ["secondary"] * (len(self.nodes) - 1)
            if settled and len(seen) == len(self.nodes) and reported == want:
                return next(n for n, (r, _) in seen.items() if r == "primary")
            time.sleep(0.2)
        raise AssertionError(f"no primary and secondaries within {timeout} s: {seen}")

    def wait_promoted(self, old, timeout=90):
        """Until a node other than `old` is the writable primary; its name.

        Alone, it is wait_primary (synchronous replication off until a
        standby is back), which takes writes as primary does.
        """
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            with contextlib.suppress(psycopg.OperationalError):
                seen = self.states()
                for name, (reported, goal) in seen.items():
                    writable = reported == goal and goal in WRITABLE
                    if name != old and writable:
                        return name
            time.sleep(0.2)
        raise AssertionError(f"no node promoted within {timeout} s: {seen}")

    def primary(self):
        return next(n for n, (r, _) in self.states().items() if r == "primary")

    def url(self, driver="postgresql+psycopg"):
        """The app's multi-host URL: every node, the writable one chosen."""
        hosts = "&".join(f"host={n.address}:{PORT}" for n in self.nodes.values())
        return f"{driver}://{ROLE}@/{DATABASE}?{hosts}&target_session_attrs=read-write"

    def switchover(self, drain_seconds=1.0):
        """The planned move of the primary, as deploy/README.md does it.

        New transactions on the primary are made read-only first, so their
        first write fails before any COMMIT (and the app runs them again on
        the new primary), and those under way get `drain_seconds` to end: the
        fast shutdown of `pg_autoctl perform switchover` then cuts no COMMIT.
        """
        old = self.primary()
        self.alter(old, "default_transaction_read_only", "on")
        time.sleep(drain_seconds)
        try:
            self.monitor.autoctl(
                "perform", "switchover", "--formation", "default", "--group", "0"
            )
        finally:
            self.alter(old, "default_transaction_read_only", None, retry=60)

    def alter(self, name, setting, value, retry=0):
        """ALTER SYSTEM on one node (RESET for None), then reload."""
        deadline = time.monotonic() + retry
        while True:
            try:
                with self.connect(name, "postgres") as conn:
                    if value is None:
                        conn.execute(f"ALTER SYSTEM RESET {setting}")
                    else:
                        conn.execute(f"ALTER SYSTEM SET {setting} = '{value}'")
                    conn.execute("SELECT pg_reload_conf()")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def conninfo(self, user="postgres"):
        """libpq's form of the same, for psycopg in the tests."""
        nodes = list(self.nodes.values())
        return (
            f"host={','.join(n.address for n in nodes)} "
            f"port={','.join(str(PORT) for _ in nodes)} user={user} "
            f"dbname={DATABASE} target_session_attrs=read-write connect_timeout=2"
        )

    def set_primary(self, setting, value):
        """ALTER SYSTEM on every node (the standbys keep it for their turn)."""
        for name in self.nodes:
            self.alter(name, setting, value)

    def stop(self):
        for node in reversed(self.started):
            node.stop()
        for node in [self.monitor, *self.nodes.values()]:
            if not node.log.closed:
                node.log.close()
        shutil.rmtree(self.base, ignore_errors=True)
