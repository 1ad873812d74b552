"""nginx in front of the web bench's uWSGI, running deploy/nginx/myapp.conf itself.

Only its socket path and ports are rewritten, so its gzip and cache settings
are the deployed ones; it listens on loopback alone.
"""

import os
import shutil
import subprocess
import time

import common
from testing.servers import ROOT, Uwsgi, free_port

NGINX = "/usr/sbin/nginx"


def site(sock, port, health_port):
    """deploy/nginx/myapp.conf with its socket and ports moved into this run."""
    with open(os.path.join(ROOT, "deploy", "nginx", "myapp.conf")) as handle:
        text = handle.read()
    replacements = {
        "unix:/run/myapp/uwsgi.sock": f"unix:{sock}",
        "listen 80;": f"listen 127.0.0.1:{port};",
        "listen [::]:80;": "",
        "listen 127.0.0.1:8081;": f"listen 127.0.0.1:{health_port};",
    }
    for old, new in replacements.items():
        assert old in text, f"deploy/nginx/myapp.conf no longer has {old!r}"
        text = text.replace(old, new)
    return text


class At:
    """Requests to a port, as common.request makes them to a server of its own."""

    request = Uwsgi.request

    def __init__(self, port):
        self.port = port


def start(workdir, sock):
    """nginx serving the uWSGI socket; (its process, its port) once it answers."""
    port = free_port()
    folder = os.path.join(workdir, "nginx")
    os.makedirs(os.path.join(folder, "tmp"))
    shutil.copy("/etc/nginx/uwsgi_params", folder)
    shutil.copy("/etc/nginx/mime.types", folder)
    with open(os.path.join(folder, "site.conf"), "w") as handle:
        handle.write(site(sock, port, free_port()))
    temp = os.path.join(folder, "tmp")
    with open(os.path.join(folder, "nginx.conf"), "w") as handle:
        handle.write(f"""{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
daemon off;
events {{}}
http {{
    include mime.types;
    default_type application/octet-stream;
    access_log {folder}/access.log;
    sendfile on;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include site.conf;
}}
""")
    process = subprocess.Popen([NGINX, "-p", folder, "-c", f"{folder}/nginx.conf"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            status, _ = common.request(At(port), "GET", "/api/v1/health")
            if status == 200:
                return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"nginx did not serve; see {folder}/error.log")
