"""The two-host test's machinery: namespaces on a bridge, and what runs beside them.

Everything here is created by the test and removed by it, also when it fails:
a private bridge in the root namespace with an address in 198.18.0.0/15 (the
range set aside for network tests, never routed), one network namespace per
app host on a veth pair, a second subnet on the same link in 10.0.0.0/8 (one
no address or route here overlaps) for what the app must treat as a private
network (a webhook receiver), a PostgreSQL (scripts/pg-throwaway.sh), a Redis and an
nginx (the shipped deploy/nginx/myapp-hosts.conf) in the root namespace.
"""

import ipaddress
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time

from testing.servers import stop_process

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREFIX = "myapph"  # namespaces myapph-<pid>-<host>, bridge mh<pid>
# nginx's fail_timeout per host (max_fails=1): after a failure the host gets no
# request for this long, counted in whole seconds, so up to a second more.
FAIL_TIMEOUT = 3


def ip(*args, check=True):
    return subprocess.run(
        ["ip", *args], capture_output=True, text=True, check=check
    ).stdout


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def kill_everything_in(name):
    """SIGKILL every process in a namespace, until none is left (2 s at most)."""
    for _ in range(20):
        pids = [int(p) for p in ip("netns", "pids", name, check=False).split()]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)


def kill_namespace(name):
    """SIGKILL every process in a namespace, then delete it."""
    kill_everything_in(name)
    ip("netns", "del", name, check=False)


def sweep_leftovers():
    """Namespaces and bridges of earlier runs whose process is gone (killed hard)."""
    for line in ip("netns", "list").splitlines():
        name = line.split()[0]
        found = re.fullmatch(rf"{PREFIX}-(\d+)-\w+", name)
        if found and not alive(int(found[1])):
            kill_namespace(name)
    for line in ip("-o", "link", "show", "type", "bridge").splitlines():
        found = re.search(r"\d+: mh(\d+):", line)
        if found and not alive(int(found[1])):
            ip("link", "del", f"mh{found[1]}", check=False)


def unused_private_subnet():
    """A 10.x.y.0/24 that no address, route or gateway of this machine is in."""
    text = ip("-4", "-o", "addr") + ip("-4", "route")
    taken = [
        ipaddress.ip_network(found, strict=False)
        for found in re.findall(r"\b\d+\.\d+\.\d+\.\d+(?:/\d+)?", text)
    ]
    while True:
        subnet = ipaddress.ip_network(
            f"10.{random.randrange(200, 255)}.{random.randrange(256)}.0/24"
        )
        if not any(subnet.overlaps(network) for network in taken):
            return subnet


class Network:
    """A bridge: the root namespace at .1, one namespace per host at .2, .3 ...

    The same in a private subnet too: `private_gateway`, `private[name]`.
    """

    def __init__(self, names):
        sweep_leftovers()
        pid = os.getpid()
        self.bridge = f"mh{pid}"
        used = ip("-4", "-o", "addr")
        self.subnet = random.choice(
            [f"198.18.{n}" for n in range(256) if f"198.18.{n}." not in used]
        )
        self.gateway = f"{self.subnet}.1"
        hosts = list(unused_private_subnet().hosts())
        self.private_gateway = str(hosts[0])
        self.namespaces = {}
        self.addresses = {}
        self.private = {}
        try:
            ip("link", "add", self.bridge, "type", "bridge")
            ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
            ip("addr", "add", f"{self.private_gateway}/24", "dev", self.bridge)
            ip("link", "set", self.bridge, "up")
            for number, name in enumerate(names):
                address = f"{self.subnet}.{number + 2}"
                self._add(name, address, str(hosts[number + 1]), f"mh{pid}{name}")
        except Exception:
            self.remove()
            raise

    def _add(self, name, address, private, veth):
        namespace = f"{PREFIX}-{os.getpid()}-{name}"
        ip("netns", "add", namespace)
        self.namespaces[name] = namespace
        self.addresses[name] = address
        self.private[name] = private
        ip("link", "add", veth, "type", "veth", "peer", "name", veth + "p")
        ip("link", "set", veth + "p", "netns", namespace)
        ip("link", "set", veth, "master", self.bridge)
        ip("link", "set", veth, "up")
        ip("-n", namespace, "link", "set", veth + "p", "name", "eth0")
        ip("-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
        ip("-n", namespace, "addr", "add", f"{private}/24", "dev", "eth0")
        ip("-n", namespace, "link", "set", "eth0", "up")
        ip("-n", namespace, "link", "set", "lo", "up")

    def prefix(self, name, mount=None):
        """The command prefix that runs a command in host `name`'s namespace.

        With mount=(directory, at): also in a mount namespace of its own where
        `directory` is seen at `at`, so every host has its app at the same path.
        """
        command = ["ip", "netns", "exec", self.namespaces[name]]
        if mount:
            command += ["unshare", "--mount", "--propagation", "private", "sh", "-c"]
            command += ['mount --bind "$1" "$2" && shift 2 && exec "$@"', "sh", *mount]
        return command

    def pids(self, name):
        return [int(p) for p in ip("netns", "pids", self.namespaces[name]).split()]

    def remove(self):
        for namespace in self.namespaces.values():
            kill_namespace(namespace)
        ip("link", "del", self.bridge, check=False)


def wait_port(address, port, process, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            socket.create_connection((address, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {address}:{port}")


class Postgres:
    """scripts/pg-throwaway.sh, reachable from the bridge; stops when stdin closes."""

    def __init__(self, network, log_path):
        env = dict(
            os.environ,
            PG_LISTEN=f"127.0.0.1,{network.gateway}",
            PG_TRUST_NET=f"{network.subnet}.0/24",
        )
        env.pop("PG_CONF", None)
        env.pop("PG_DATA_DIR", None)
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(
            [
                os.path.join(ROOT, "scripts", "pg-throwaway.sh"),
                "sh",
                "-c",
                'echo "URL $TEST_DATABASE_URL"; exec cat >/dev/null',
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=env,
        )
        for line in self.process.stdout:
            if line.startswith("URL "):
                self.url = line.split()[1]
                break
        else:
            raise RuntimeError(f"PostgreSQL did not start; see {log_path}")
        # What the hosts use: the same server on the bridge address.
        self.host_url = self.url.replace("@127.0.0.1:", f"@{network.gateway}:")

    def stop(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)
        self.log.close()


class Redis:
    """redis-server on the bridge address with a password, no persistence."""

    def __init__(self, network, port, log_path):
        self.password = os.urandom(12).hex()
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", network.gateway]
            + ["--requirepass", self.password, "--save", "", "--appendonly", "no"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_port(network.gateway, port, self.process, "redis-server")
        self.url = f"redis://:{self.password}@{network.gateway}:{port}/0"

    def stop(self):
        stop_process(self.process)
        self.log.close()


NGINX_MAIN = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 512; }}
http {{
    log_format hosts '$msec $status "$upstream_addr" "$upstream_status" '
                     '$request_method $uri $request_time';
    access_log {dir}/access.log hosts;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/site.conf;
}}
"""


class Nginx:
    """nginx running the shipped multi-host site, on a loopback port."""

    def __init__(self, directory, port, addresses, app_port, relay_port=8001):
        self.dir = directory
        self.port = port
        os.makedirs(directory, exist_ok=True)
        self.upstream = os.path.join(directory, "upstream.conf")
        relays = os.path.join(directory, "live-upstream.conf")
        for path, served in ((self.upstream, app_port), (relays, relay_port)):
            with open(path, "w") as out:
                for address in addresses:
                    out.write(
                        f"server {address}:{served} max_fails=1"
                        f" fail_timeout={FAIL_TIMEOUT}s;\n"
                    )
        with open(os.path.join(ROOT, "deploy", "nginx", "myapp-hosts.conf")) as site:
            text = site.read()
        text = text.replace("/etc/nginx/myapp-upstream.conf", self.upstream)
        text = text.replace("/etc/nginx/myapp-live-upstream.conf", relays)
        text = text.replace("    listen [::]:80;\n", "")
        text = text.replace("listen 80;", f"listen 127.0.0.1:{port};")
        with open(os.path.join(directory, "site.conf"), "w") as out:
            out.write(text)
        self.conf = os.path.join(directory, "nginx.conf")
        with open(self.conf, "w") as out:
            out.write(NGINX_MAIN.format(dir=directory))
        self.pid_file = os.path.join(directory, "nginx.pid")
        self.access_log = os.path.join(directory, "access.log")
        self.process = subprocess.Popen(
            ["nginx", "-c", self.conf],
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(directory, "stderr.log"), "w"),
        )
        wait_port("127.0.0.1", port, self.process, "nginx")

    def hook(self, action):
        """deploy.sh's --drain-cmd / --undrain-cmd for this nginx."""
        return (
            f"{ROOT}/deploy/upstream.sh --file {self.upstream}"
            f" --nginx 'nginx -c {self.conf}' --pid {self.pid_file} {action}"
        )

    def log_offset(self):
        return os.path.getsize(self.access_log)

    def entries(self, offset=0):
        """(time, status, upstream addresses, method, uri) per request since offset."""
        with open(self.access_log) as handle:
            handle.seek(offset)
            lines = handle.read().splitlines()
        found = []
        for line in lines:
            match = re.match(r'(\S+) (\d+) "([^"]*)" "[^"]*" (\S+) (\S+)', line)
            if match:
                upstreams = [u.strip() for u in match[3].split(",") if u.strip()]
                found.append(
                    (float(match[1]), int(match[2]), upstreams, match[4], match[5])
                )
        return found

    def stop(self):
        stop_process(self.process)


def require_tools(test, tools, packages):
    """Fail (never skip) a namespace test whose tools are missing, or not root."""
    import pytest

    for tool in tools:
        if not shutil.which(tool):
            pytest.fail(
                f"{tool} is missing: the {test} test needs {packages}"
                " (.ci/run installs them)",
                pytrace=False,
            )
    if os.geteuid() != 0:
        pytest.fail(f"the {test} test makes network namespaces: run it as root")
