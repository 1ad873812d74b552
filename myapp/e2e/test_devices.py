"""Device keys under uWSGI: every worker checks the database, so a deleted key
fails at once everywhere, a rotated key lives exactly through its grace, and the
per-device limit is one count across workers (Redis)."""

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from testing.accounts import register_over_http
from testing.http import Http
from testing.servers import occupy_workers

READINGS = "/api/v1/readings/"
BATCH = "/api/v1/readings/batch"
READING = {"sensor": "garden/soil", "data": {"moisture": 0.4}}


def new_device(owner, **fields):
    created = owner.request("POST", "/api/v1/devices/", {"name": "box", **fields})
    assert created.status == 201, created.body
    return created.json


def upload(server, key, path=READINGS, body=READING):
    return Http(server, key).request("POST", path, body)


def uploads_by_worker(server, since=0):
    """{pid: Counter(status)} of the uploads logged after the first `since` lines."""
    found = {}
    for line in server.requests_logged()[since:]:
        if line.method == "POST" and line.uri in (READINGS, BATCH):
            found.setdefault(line.pid, Counter())[line.status] += 1
    return found


def spread_uploads(server, key, want_workers, at_least=16, path=READINGS):
    """Rounds of 8 parallel uploads until `want_workers` workers served some.

    A lone client's requests tend to land on one worker; holding some workers
    on half-sent requests in each round spreads them (see test_rate_limits).
    """
    since = len(server.requests_logged())
    responses = []
    for round_number in range(40):
        blockers = occupy_workers(server, round_number % server.processes)
        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                responses += pool.map(lambda _: upload(server, key, path), range(8))
        finally:
            for sock in blockers:
                sock.close()
        served = uploads_by_worker(server, since)
        if len(responses) >= at_least and len(served) >= want_workers:
            return responses, served
    raise AssertionError(f"uploads never reached {want_workers} workers: {served}")


def test_a_deleted_devices_key_fails_at_once_in_every_worker(uwsgi, snapshot):
    server = uwsgi(processes=4)
    owner = register_over_http(Http(server))
    device = new_device(owner)
    accepted, served = spread_uploads(server, device["key"], want_workers=4)
    assert {r.status for r in accepted} == {201}, served
    gone = owner.request("DELETE", f"/api/v1/devices/{device['id']}")
    assert gone.status == 204
    before = snapshot()
    refused, served = spread_uploads(server, device["key"], want_workers=4)
    assert {r.status for r in refused} == {401}, served
    assert snapshot() == before


def test_a_rotated_key_works_through_its_grace_and_fails_after_it(uwsgi):
    server = uwsgi(processes=4)
    owner = register_over_http(Http(server))
    device = new_device(owner)
    old = device["key"]
    rotated = owner.request(
        "POST", f"/api/v1/devices/{device['id']}/rotate", {"grace_seconds": 3}
    )
    assert rotated.status == 200
    ends = time.monotonic() + 3
    during, served = spread_uploads(server, old, want_workers=3, at_least=8)
    assert time.monotonic() < ends, "too slow to test the grace period"
    assert {r.status for r in during} == {201}, served
    time.sleep(max(0, ends - time.monotonic()) + 0.2)
    after, served = spread_uploads(server, old, want_workers=3, at_least=8)
    assert {r.status for r in after} == {401}, served
    assert upload(server, rotated.json["key"]).status == 201


def test_the_device_limit_holds_across_four_workers_with_redis(
    uwsgi, redis_url, figures
):
    server = uwsgi(
        {"REDIS_URL": redis_url, "MYAPP_DEVICE_RATE_LIMIT": "6 per hour"}, processes=4
    )
    owner = register_over_http(Http(server))
    device = new_device(owner)
    rotated = owner.request(
        "POST", f"/api/v1/devices/{device['id']}/rotate", {"grace_seconds": 600}
    ).json
    # Both keys, both uploads: one count (a batch is one request).
    assert upload(server, device["key"]).status == 201
    batch = {"readings": [READING] * 5}
    assert upload(server, rotated["key"], BATCH, batch).status == 201
    responses, served = spread_uploads(server, rotated["key"], want_workers=3)
    statuses = Counter(r.status for r in responses)
    assert statuses == {201: 4, 429: len(responses) - 4}, served
    limited = next(r for r in responses if r.status == 429)
    assert limited.getheader("Content-Type") == "application/problem+json"
    assert int(limited.getheader("Retry-After")) >= 1
    # The owner's own token is not counted by the device's limit.
    for _ in range(3):
        assert owner.request("POST", READINGS, READING).status == 201
    figures["device_rate_limit_redis"] = {
        "uploads": len(responses) + 2,
        "allowed": statuses[201] + 2,
        "workers_hit": len(served),
    }
