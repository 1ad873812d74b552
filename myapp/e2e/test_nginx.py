"""Every error a client can get through the shipped nginx site is problem+json.

A real nginx runs deploy/nginx/myapp.conf (paths and ports moved into a
temporary directory, as deploy/check.sh does) in front of uWSGI on a unix
socket: nginx's own refusals (body, URI or head too large, a malformed
request), its 502 while no worker listens and its 504 when one never answers
come as RFC 9457 problems, and the app's own answers pass through untouched.
"""

import os
import shutil
import socket
import subprocess
import threading

import pytest

from testing.servers import (
    OUTPUT,
    ROOT,
    Uwsgi,
    env_for_tests,
    free_port,
    stop_process,
    wait_until,
)

PROBLEM = "application/problem+json"


def nginx_binary():
    path = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin")
    if path is None:
        pytest.fail("nginx is required: apt-get install -y nginx-light", pytrace=False)
    return path


class Nginx:
    """nginx serving the shipped site on a loopback port, in front of `upstream`."""

    def __init__(self, workdir, upstream, read_timeout="75s"):
        self.port = free_port()
        os.makedirs(workdir / "tmp", exist_ok=True)
        for name in ("uwsgi_params", "mime.types"):
            shutil.copy(f"/etc/nginx/{name}", workdir / name)
        with open(os.path.join(ROOT, "deploy", "nginx", "myapp.conf")) as handle:
            site = handle.read()
        site = (
            site.replace("listen 80;", f"listen 127.0.0.1:{self.port};")
            .replace("listen [::]:80;", "")
            .replace("listen 127.0.0.1:8081;", f"listen 127.0.0.1:{free_port()};")
            .replace("unix:/run/myapp/uwsgi.sock", f"unix:{upstream}")
            .replace("uwsgi_read_timeout 75s;", f"uwsgi_read_timeout {read_timeout};")
        )
        assert f"unix:{upstream}" in site and str(self.port) in site
        (workdir / "site.conf").write_text(site)
        user = "user root;" if os.geteuid() == 0 else ""
        temp = " ".join(
            f"{kind}_temp_path {workdir}/tmp/{kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (workdir / "nginx.conf").write_text(
            f"{user} worker_processes 1; pid {workdir}/nginx.pid; daemon off;\n"
            f"error_log {OUTPUT}/nginx-{self.port}.log;\n"
            f"events {{}} http {{ include mime.types; access_log off; {temp}\n"
            "include site.conf; }\n"
        )
        self.process = subprocess.Popen(
            [nginx_binary(), "-p", str(workdir), "-c", str(workdir / "nginx.conf")],
            stderr=subprocess.STDOUT,
            stdout=open(os.path.join(OUTPUT, f"nginx-{self.port}.out"), "w"),
        )
        wait_until(self._listening, timeout=15, interval=0.05)

    def _listening(self):
        assert self.process.poll() is None, "nginx exited; see test-output"
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def raw(self, request):
        """Send raw bytes; the status, headers (lower-case names) and body."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(request)
            data = bytearray()
            while chunk := sock.recv(65536):
                data += chunk
        head, _, body = bytes(data).partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(
            (name.strip().lower(), value.strip())
            for name, _, value in (line.partition(":") for line in lines[1:])
        )
        return int(lines[0].split()[1]), headers, body

    def get(self, path, extra=b"", body=b"", method=b"GET"):
        request = method + b" " + path + b" HTTP/1.1\r\nHost: localhost\r\n"
        request += b"Connection: close\r\n" + extra
        if body:
            request += b"Content-Type: application/json\r\n"
            request += b"Content-Length: %d\r\n" % len(body)
        return self.raw(request + b"\r\n" + body)

    def stop(self):
        stop_process(self.process)


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
