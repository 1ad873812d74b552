"""Losing a standby with one standby, and with two (number_sync_standbys 1).

    .venv/bin/python bench/failover/quorum.py     (bench/run.sh failover runs it)

pg_auto_failover (testing/pgcluster.py) with a monitor and two, then three,
PostgreSQL nodes in network namespaces; a client commits one row at a time
on the primary (synchronous_commit on) while a standby is killed with
SIGKILL. Measured: the longest time without a commit, and the primary's state
and synchronous_standby_names afterwards: with one standby it goes on alone
(wait_primary, nothing replicated: the window for loss is open), with two
and number_sync_standbys 1 it stays primary and the other standby confirms
every commit. Prints one JSON object.
"""

import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.append(ROOT)

import psycopg  # noqa: E402

from testing import hosts as net  # noqa: E402
from testing.pgcluster import AutoFailover  # noqa: E402

WATCH = 10  # seconds of commits after the kill


def commits(cluster, stop, times):
    """One INSERT a transaction on the primary, each commit's end time."""
    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS beat (at float8)")
        while not stop.is_set():
            conn.execute("INSERT INTO beat VALUES (%s)", (time.time(),))
            times.append(time.monotonic())


def measure(nodes, sync_standbys):
    names = [f"pg{n + 1}" for n in range(nodes)]
    network = net.Network(["mon", *names])
    cluster = None
    try:
        log_dir = os.path.join(ROOT, "bench", "results")
        os.makedirs(log_dir, exist_ok=True)
        cluster = AutoFailover(network, log_dir, nodes=tuple(names))
        cluster.start()
        if sync_standbys:
            # What `pg_autoctl set formation number-sync-standbys` calls (the
            # command refused every value on the monitor, pg_auto_failover 2.0).
            with cluster.connect(cluster.monitor.name, "pg_auto_failover") as conn:
                conn.execute(
                    "SELECT pgautofailover.set_formation_number_sync_standbys"
                    "('default', %s)",
                    (sync_standbys,),
                )
            time.sleep(3)
        primary = cluster.wait_healthy()
        victim = next(n for n in names if n != primary)
        stop, times = threading.Event(), []
        writer = threading.Thread(target=commits, args=(cluster, stop, times))
        writer.start()
        time.sleep(3)
        killed_at = time.monotonic()
        cluster.nodes[victim].crash()
        time.sleep(WATCH)
        stop.set()
        writer.join(timeout=60)
        after = [t for t in times if t >= killed_at - 1]
        gap = max((b - a for a, b in zip(after, after[1:])), default=None)
        with cluster.connect(primary, "postgres") as conn:
            (names_now,) = conn.execute(
                "SELECT current_setting('synchronous_standby_names')"
            ).fetchone()
        return {
            "nodes": nodes,
            "number_sync_standbys": sync_standbys,
            "longest time without a commit s": round(gap, 2),
            "commits in the 10 s after the kill": sum(
                1 for t in times if t >= killed_at
            ),
            "primary state after": cluster.states()[primary][0],
            "synchronous_standby_names after": names_now,
        }
    finally:
        if cluster:
            cluster.stop()
        network.remove()


def main():
    results = [measure(2, 0), measure(3, 1)]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
