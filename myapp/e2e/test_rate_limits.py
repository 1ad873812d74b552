"""Login rate limits under uWSGI: shared through Redis, or counted per worker.

With REDIS_URL every worker counts in one place, so out of N parallel attempts
exactly the limit gets through. Without it each worker counts on its own
(documented): a client can get up to limit x workers attempts through, and
the log shows each worker stopping at the limit.
"""

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from testing.accounts import PASSWORD, register_over_http
from testing.http import Http
from testing.servers import occupy_workers

ATTEMPTS = 40  # at least this many, in rounds of 8 parallel attempts


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


# --- Every place a password is checked, limited; counters shared via Redis ----


def assert_limited(response):
    assert response.status == 429, response.body
    assert response.getheader("Content-Type") == "application/problem+json"
    assert int(response.getheader("Retry-After")) >= 1


def test_registrations_are_limited_per_client_address(uwsgi, redis_url, snapshot):
    """Each registration costs an Argon2 hash: a loop of them ate the workers."""
    server = uwsgi({"REDIS_URL": redis_url, "MYAPP_REGISTER_RATE_LIMIT": "3 per hour"})
    http = Http(server)
    for _ in range(3):
        register_only(server)
    before = snapshot()
    body = {"username": "one_too_many", "email": "many@example.com"}
    assert_limited(
        http.request("POST", "/api/v1/auth/register", dict(body, password=PASSWORD))
    )
    assert snapshot() == before


def test_wrong_current_passwords_are_limited_per_user(uwsgi, redis_url):
    """A stolen access token could guess the password on PATCH/DELETE /users/me."""
    server = uwsgi(
        {"REDIS_URL": redis_url, "MYAPP_PASSWORD_CHECK_RATE_LIMIT": "3 per hour"}
    )
    victim = register_over_http(Http(server))
    bystander = register_over_http(Http(server))
    wrong = {"current_password": "not the password"}
    # Right answers do not count; PATCH and DELETE share one bucket.
    ok = victim.request("PATCH", "/api/v1/users/me", {"current_password": PASSWORD})
    assert ok.status == 200
    statuses = [
        victim.request(method, "/api/v1/users/me", wrong).status
        for method in ("PATCH", "DELETE", "PATCH")
    ]
    assert statuses == [403, 403, 403]
    for method in ("PATCH", "DELETE"):
        assert_limited(victim.request(method, "/api/v1/users/me", wrong))
    # Even the right password waits now, and nothing happened to the account.
    assert_limited(
        victim.request("DELETE", "/api/v1/users/me", {"current_password": PASSWORD})
    )
    assert victim.request("GET", "/api/v1/users/me").status == 200
    other = bystander.request("PATCH", "/api/v1/users/me", wrong)
    assert other.status == 403


def behind_a_proxy(redis_url, **limits):
    """Redis-shared limits, the client address taken from X-Forwarded-For as
    behind nginx, so a test can speak from any address."""
    return {"REDIS_URL": redis_url, "MYAPP_PROXY_FIX_X_FOR": "1", **limits}


def test_login_counts_one_account_however_it_is_named(uwsgi, redis_url):
    """Username and email of one account were two buckets: twice the guesses."""
    server = uwsgi(behind_a_proxy(redis_url, MYAPP_LOGIN_RATE_LIMIT="4 per hour"))
    username = register_only(server)
    http = Http(server)
    names = [username, f"{username}@example.com", username.upper(), username]
    # Each attempt from a different client address: only the account counts.
    statuses = [
        http.request(
            "POST",
            "/api/v1/auth/login",
            {"username": name, "password": "wrong password"},
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
        ).status
        for n, name in enumerate(names)
    ]
    assert statuses == [401] * 4
    assert_limited(
        http.request(
            "POST",
            "/api/v1/auth/login",
            {"username": f"{username}@EXAMPLE.com", "password": PASSWORD},
            headers={"X-Forwarded-For": "198.51.100.99"},
        )
    )


def test_login_counts_an_ipv6_client_per_64(uwsgi, redis_url):
    """A host rotating through its /64 got a fresh bucket per address."""
    server = uwsgi(behind_a_proxy(redis_url, MYAPP_LOGIN_RATE_LIMIT="3 per hour"))
    http = Http(server)

    def attempt(address):
        body = {"username": "nobody_" + uuid.uuid4().hex[:8], "password": "wrong"}
        headers = {"X-Forwarded-For": address}
        return http.request("POST", "/api/v1/auth/login", body, headers=headers)

    rotating = [f"2001:db8:0:7::{n:x}" for n in range(1, 4)]
    assert [attempt(address).status for address in rotating] == [401] * 3
    assert_limited(attempt("2001:db8:0:7:ffff:1:2:3"))
    assert attempt("2001:db8:0:8::1").status == 401
