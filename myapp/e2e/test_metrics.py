"""/metrics over uWSGI with several processes: counts add up across them.

A known load (single uploads and batches, sent in parallel so several workers
answer) is scraped back: whichever worker answers a scrape, the counts are
the load's, and they stay so after a worker is killed with SIGKILL and
respawned (its counts live on in its file in PROMETHEUS_MULTIPROC_DIR).
"""

import os
import signal
from concurrent.futures import ThreadPoolExecutor

from prometheus_client.parser import text_string_to_metric_families

from testing.accounts import register_over_http
from testing.http import Http
from testing.readings import BATCH, READINGS, reading
from testing.servers import APP_READY, wait_until

SINGLES, BATCHES, PER_BATCH = 40, 5, 10


def parse(text):
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(scraped, name, **labels):
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(server):
    response = server.request("GET", "/metrics")
    assert response.status == 200, response.body
    return parse(response.body.decode())


def test_counts_add_up_across_uwsgi_processes(uwsgi):
    server = uwsgi(processes=4, threads=1)
    user = register_over_http(Http(server))

    def single(n):
        body = reading(recorded_at=f"2026-01-01T00:00:{n:02d}Z")
        return user.request("POST", READINGS, body).status

    def batch(n):
        items = [
            reading(recorded_at=f"2026-02-0{n + 1}T00:00:{i:02d}Z")
            for i in range(PER_BATCH)
        ]
        return user.request("POST", BATCH, {"readings": items}).status

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(single, range(SINGLES)))
        statuses += list(pool.map(batch, range(BATCHES)))
    assert statuses == [201] * (SINGLES + BATCHES)
    uploads = [r for r in server.requests_logged() if r.uri == READINGS]
    assert len({r.pid for r in uploads}) >= 2, "one worker took all the load"

    def counts(scraped):
        posted = {"method": "POST", "route": READINGS}
        return (
            value(scraped, "myapp_http_requests_total", **posted, status="201"),
            value(scraped, "myapp_http_request_duration_seconds_count", **posted),
            value(
                scraped,
                "myapp_http_requests_total",
                method="POST",
                route=BATCH,
                status="201",
            ),
            value(scraped, "myapp_readings_stored_total"),
        )

    expected = (SINGLES, SINGLES, BATCHES, SINGLES + BATCHES * PER_BATCH)
    for _ in range(8):  # answered by one worker or another: the same sums
        assert counts(scrape(server)) == expected

    victim = server.worker_pids()[0]
    ready = server.log().count(APP_READY)
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: server.log().count(APP_READY) > ready, 60, what="respawn")
    assert counts(scrape(server)) == expected


def test_an_address_outside_metrics_allow_gets_a_403_problem(uwsgi):
    server = uwsgi({"MYAPP_METRICS_ALLOW": "127.0.0.2/32, ::2/128"}, processes=1)
    response = server.request("GET", "/metrics")
    assert response.status == 403
    assert response.getheader("Content-Type") == "application/problem+json"
    assert response.json["status"] == 403
    assert b"myapp_" not in response.body
