"""Every error a client can get through the shipped nginx site is problem+json.

A real nginx runs deploy/nginx/myapp.conf (paths and ports moved into a
temporary directory, as deploy/check.sh does) in front of uWSGI on a unix
socket: nginx's own refusals (body, URI or head too large, a malformed
request), its 502 while no worker listens and its 504 when one never answers
come as RFC 9457 problems, and the app's own answers pass through untouched.
"""

import socket
import threading

import pytest

from testing.nginx import Nginx
from testing.servers import Uwsgi, env_for_tests, wait_until

PROBLEM = "application/problem+json"


def assert_problem(answer, status):
    import json

    code, headers, body = answer
    assert code == status, body[:300]
    assert headers["content-type"] == PROBLEM, headers
    problem = json.loads(body)
    assert problem["status"] == status and problem["title"] and problem["detail"]
    return headers, problem


@pytest.fixture(scope="module")
def front(app, database_url, tmp_path_factory):
    """nginx in front of uWSGI (2 workers) on a unix socket."""
    workdir = tmp_path_factory.mktemp("nginx")
    sock = workdir / "uwsgi.sock"
    env = env_for_tests(database_url, MYAPP_SOCKET=str(sock))
    server = Uwsgi(env, processes=2, name="uwsgi-nginx")
    nginx = Nginx(workdir, sock)
    try:
        wait_until(lambda: nginx.get(b"/api/v1/health")[0] == 200, timeout=30)
        yield nginx
    finally:
        nginx.stop()
        server.stop()


def test_the_apps_own_answers_pass_through_nginx_untouched(front):
    code, headers, _ = front.get(b"/api/v1/health")
    assert code == 200 and headers["content-type"] == "application/json"
    _, problem = assert_problem(front.get(b"/api/v1/nope"), 404)
    assert problem["detail"] != "The server could not handle the request."
    goal = front.get(b"/api/v1/goals/", body=b"{}", method=b"POST")
    headers, problem = assert_problem(goal, 401)
    assert headers["www-authenticate"].startswith("Bearer")
    assert "retry-after" not in headers, str(headers)


@pytest.mark.parametrize(
    "name, request_args, status",
    [
        (
            "body over client_max_body_size",
            {"body": b"[" + b" " * (2 << 20) + b"]"},
            413,
        ),
        ("URI over the head buffers", {"path": b"/api/v1/" + b"a" * 9000}, 414),
        (
            "header over the head buffers",
            {"extra": b"X-Big: " + b"a" * 9000 + b"\r\n"},
            431,
        ),
        ("malformed header line", {"extra": b"no colon here\r\n"}, 400),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_nginx_refusals_are_problems(front, name, request_args, status):
    args = {"path": b"/api/v1/auth/login", "method": b"POST"} | request_args
    headers, _ = assert_problem(front.get(**args), status)
    assert "<html" not in str(headers)


def test_no_worker_listening_is_a_502_problem_with_retry_after(tmp_path):
    nginx = Nginx(tmp_path, tmp_path / "nobody-listens.sock")
    try:
        headers, _ = assert_problem(nginx.get(b"/api/v1/health"), 502)
        assert headers["retry-after"] == "5"
    finally:
        nginx.stop()


def test_a_worker_that_never_answers_is_a_504_problem(tmp_path):
    path = tmp_path / "silent.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(8)
    held = []
    thread = threading.Thread(
        target=lambda: held.append(listener.accept()), daemon=True
    )
    thread.start()
    nginx = Nginx(tmp_path, path, read_timeout="1s")
    try:
        headers, _ = assert_problem(nginx.get(b"/api/v1/health"), 504)
        assert headers["retry-after"] == "5"
        assert held, "nginx never reached the silent upstream"
    finally:
        nginx.stop()
        listener.close()
