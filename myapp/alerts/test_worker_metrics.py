"""The alerts worker serves its own metrics on a loopback port."""

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from testing.alerts import WorkerProcess, hooked_rule, worker_env
from testing.readings import READINGS, reading
from testing.servers import free_port, wait_until


def attempts(port, outcome):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "myapp_alert_delivery_attempts_total" and (
                sample.labels == {"channel": "webhook", "outcome": outcome}
            ):
                return sample.value
    return 0


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
    finally:
        assert worker.stop() == 0
