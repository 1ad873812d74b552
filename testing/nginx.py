"""nginx running the shipped site (deploy/nginx/myapp.conf) on loopback.

Paths and ports are moved into a temporary directory, as deploy/check.sh does:
uWSGI's socket, and the stream relay's (myapp/live/relay.py) when there is one.
"""

import os
import shutil
import socket
import subprocess

import pytest

from testing.servers import (
    OUTPUT,
    ROOT,
    Uwsgi,
    free_port,
    stop_process,
    wait_until,
)


def nginx_binary():
    path = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin")
    if path is None:
        pytest.fail("nginx is required: apt-get install -y nginx-light", pytrace=False)
    return path


class Nginx:
    """nginx serving the shipped site on a loopback port, in front of `upstream`."""

    def __init__(
        self, workdir, upstream, read_timeout="75s", relay=None, connections=512
    ):
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
            .replace("unix:/run/myapp-live/live.sock", f"unix:{relay or 'nowhere'}")
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
            f"worker_rlimit_nofile {connections * 2 + 64};\n"
            f"error_log {OUTPUT}/nginx-{self.port}.log;\n"
            f"events {{ worker_connections {connections}; }}\n"
            f"http {{ include mime.types; access_log off; {temp}\n"
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

    # One request on a new connection, as to uWSGI (testing.http.Http uses it).
    request = Uwsgi.request

    def stop(self):
        stop_process(self.process)
