"""Login rate limits under uWSGI: shared through Redis, or counted per worker.

With REDIS_URL every worker counts in one place, so out of N parallel attempts
exactly the limit gets through. Without it each worker counts on its own
(documented): a client can get up to limit x workers attempts through, and
the log shows each worker stopping at the limit.
"""

import socket
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from testing.accounts import PASSWORD
from testing.http import Http

ATTEMPTS = 40  # at least this many, in rounds of 8 parallel attempts


def occupy_workers(server, count):
    """Hold `count` workers on half-sent requests, so the others take the load."""
    blockers = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        blockers.append(sock)
    time.sleep(0.2)  # let a worker accept each one
    return blockers


def spread_wrong_logins(server, username, processes, want_workers):
    """Rounds of parallel wrong-password logins until `want_workers` served some.

    A lone client's requests tend to land on one worker (the last to block in
    accept); holding some workers busy in each round spreads them out.
    """
    http = Http(server)
    body = {"username": username, "password": "wrong password"}
    responses = []
    for round_number in range(40):
        blockers = occupy_workers(server, round_number % processes)
        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                responses += pool.map(
                    lambda _: http.request("POST", "/api/v1/auth/login", body),
                    range(8),
                )
        finally:
            for sock in blockers:
                sock.close()
        served = login_statuses_by_worker(server)
        if len(responses) >= ATTEMPTS and len(served) >= want_workers:
            return responses, served
    raise AssertionError(f"logins never reached {want_workers} workers: {served}")


def register_only(server):
    """A new username, registered without logging in (a login would count)."""
    username = "limited_" + uuid.uuid4().hex[:8]
    body = {"username": username, "email": f"{username}@example.com"}
    response = Http(server).request(
        "POST", "/api/v1/auth/register", dict(body, password=PASSWORD)
    )
    assert response.status == 201
    return username


def login_statuses_by_worker(server):
    """{pid: Counter(status)} of the login requests in the server's log."""
    found = {}
    for line in server.requests_logged():
        if (line.method, line.uri) == ("POST", "/api/v1/auth/login"):
            found.setdefault(line.pid, Counter())[line.status] += 1
    return found


def test_login_limit_holds_exactly_across_four_workers_with_redis(
    uwsgi, redis_url, figures
):
    server = uwsgi(
        {"REDIS_URL": redis_url, "MYAPP_LOGIN_RATE_LIMIT": "5 per hour"}, processes=4
    )
    username = register_only(server)
    responses, by_worker = spread_wrong_logins(server, username, 4, want_workers=3)
    statuses = Counter(r.status for r in responses)
    assert statuses == {401: 5, 429: len(responses) - 5}, by_worker
    limited = next(r for r in responses if r.status == 429)
    assert limited.getheader("Content-Type") == "application/problem+json"
    assert int(limited.getheader("Retry-After")) >= 1
    figures["rate_limit_redis"] = {
        "attempts": len(responses),
        "allowed": statuses[401],
        "workers_hit": len(by_worker),
    }


def test_without_redis_each_worker_counts_its_own_attempts(uwsgi, figures):
    server = uwsgi({"MYAPP_LOGIN_RATE_LIMIT": "3 per hour"}, processes=2)
    username = register_only(server)
    responses, by_worker = spread_wrong_logins(server, username, 2, want_workers=2)
    for counts in by_worker.values():
        # Each worker lets exactly its own budget through, then answers 429.
        assert counts[401] == min(sum(counts.values()), 3), by_worker
    allowed = Counter(r.status for r in responses)[401]
    # Documented: without Redis a client gets up to limit x workers attempts.
    assert allowed == sum(counts[401] for counts in by_worker.values())
    assert allowed > 3
    figures["rate_limit_in_process"] = {
        "attempts": len(responses),
        "allowed": allowed,
        "workers_hit": len(by_worker),
    }
