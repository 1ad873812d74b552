"""The contract over real HTTP: uWSGI from myapp.ini on a loopback port."""

import uuid
from concurrent.futures import ThreadPoolExecutor

from testing.accounts import PASSWORD
from testing.servers import wait_until


def test_health_and_root_over_http(live_server):
    health = live_server.request("GET", "/api/v1/health")
    assert health.status == 200 and health.json["status"] == "ok"
    root = live_server.request("GET", "/")
    assert root.json["docs"] == "/docs"


def test_swagger_ui_page_lists_the_api_over_http(live_server):
    docs = live_server.request("GET", "/docs")
    assert docs.status == 200 and b"swagger-ui" in docs.body
    spec = live_server.request("GET", "/api/v1/swagger.json")
    assert "/users/me" in spec.json["paths"]


def test_register_login_me_logout_over_http(live_server):
    user = {"username": "httpuser", "email": "h@example.com", "password": PASSWORD}
    created = live_server.request("POST", "/api/v1/auth/register", user)
    assert created.status == 201
    assert created.getheader("Location") == f"/api/v1/users/{created.json['id']}"
    tokens = live_server.request(
        "POST", "/api/v1/auth/login", {"username": "httpuser", "password": PASSWORD}
    ).json
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    served = answers_by_worker(live_server, "/api/v1/users/me", auth)
    for worker, responses in served.items():
        assert {r.status for r in responses} == {200}, f"worker {worker}"
    assert (
        live_server.request("POST", "/api/v1/auth/logout", headers=auth).status == 204
    )
    # The revocation lives in the database: every worker that served the token
    # must refuse it now.
    by_worker = answers_by_worker(live_server, "/api/v1/users/me", auth)
    for worker, responses in by_worker.items():
        assert {r.status for r in responses} == {401}, f"worker {worker}"
        for response in responses:
            assert response.getheader("WWW-Authenticate").startswith("Bearer")


def answers_by_worker(server, path, headers, rounds=50):
    """{pid: responses} of parallel GETs of path, once every worker answered some.

    Each request carries a unique query string, so uWSGI's log names the worker
    that answered it.
    """
    probe = uuid.uuid4().hex
    responses = {}
    for round_number in range(rounds):
        urls = [f"{path}?probe={probe}-{round_number}-{n}" for n in range(4)]
        with ThreadPoolExecutor(max_workers=4) as pool:
            responses.update(zip(urls, pool.map(get(server, headers), urls)))
        logged = wait_until(
            lambda: logged_probes(server, probe, len(responses)),
            timeout=10,
            interval=0.05,
            what="uWSGI logged every request",
        )
        by_worker = {}
        for line in logged:
            by_worker.setdefault(line.pid, []).append(responses[line.uri])
        if set(by_worker) >= set(server.worker_pids()):
            return by_worker
    raise AssertionError(f"requests never reached every worker: {list(by_worker)}")


def get(server, headers):
    return lambda url: server.request("GET", url, headers=headers)


def logged_probes(server, probe, count):
    """uWSGI's lines for the requests carrying probe, once all count are logged."""
    logged = [line for line in server.requests_logged() if probe in line.uri]
    return logged if len(logged) >= count else None


def test_error_statuses_over_http(live_server):
    missing = live_server.request("GET", "/api/v1/nope")
    assert missing.status == 404
    assert missing.getheader("Content-Type") == "application/problem+json"
    wrong = live_server.request("DELETE", "/api/v1/auth/login")
    assert wrong.status == 405 and "POST" in wrong.getheader("Allow")
    text = live_server.request(
        "POST",
        "/api/v1/auth/login",
        raw=b"x",
        headers={"Content-Type": "text/plain"},
    )
    assert text.status == 415
    broken = live_server.request(
        "POST",
        "/api/v1/auth/login",
        raw=b"{",
        headers={"Content-Type": "application/json"},
    )
    assert broken.status == 400 and broken.json["status"] == 400


def test_oversized_body_answers_413_over_http(live_server):
    raw = b'{"username": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    response = live_server.request(
        "POST",
        "/api/v1/auth/register",
        raw=raw,
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 413
    assert response.getheader("Content-Type") == "application/problem+json"
