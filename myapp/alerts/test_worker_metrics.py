"""The alerts worker serves its own metrics on a loopback port."""

import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from testing.alerts import WorkerProcess, hooked_rule, worker_env
from testing.readings import READINGS, reading
from testing.servers import free_port, wait_until


def sample(port, name, **labels):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return found.value
    return 0


def attempts(port, outcome):
    name = "myapp_alert_delivery_attempts_total"
    return sample(port, name, channel="webhook", outcome=outcome)


def loop_ran(port):
    return sample(port, "myapp_alerts_worker_last_loop_timestamp_seconds")


def test_the_worker_counts_its_delivery_attempts_by_outcome(
    database_url, carol, receiver
):
    port = free_port()
    env = worker_env(database_url, MYAPP_ALERTS_WORKER_METRICS_PORT=str(port))
    worker = WorkerProcess(env)
    try:
        assert attempts(port, "delivered") == 0
        hooked_rule(carol, receiver, "/hook")
        assert carol.post(READINGS, reading(data={"celsius": 35})).status_code == 201
        receiver.wait_for(1)
        wait_until(lambda: attempts(port, "delivered") == 1, 30, what="counted")
        assert attempts(port, "failed") == 0
        assert 0 < time.time() - loop_ran(port) < 30
    finally:
        assert worker.stop() == 0
