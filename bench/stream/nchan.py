"""What nginx's nchan module would give instead of the relay: ids, replay, memory.

    .venv/bin/python bench/stream/nchan.py [--subscribers 2000]

Debian's libnginx-mod-nchan, for the nginx this machine has: the installed
module if there is one, else `apt-get download` unpacked into bench/results
(nothing installed). nginx loads it with a subscriber and a publisher location
(memory store, buffer 1,000 messages, 10 minutes, as the contract's store;
a new subscriber starts at the newest message, as the contract's does);
two messages are published, then: the ids nchan gives, how many messages a
subscriber gets with no Last-Event-ID, an unknown one and a trimmed-looking
one (the contract wants `event: reset` for those), and the RSS growth of
nginx's worker per idle subscriber. Writes the section "stream: nchan" of
bench/README.md between its markers.
"""

import argparse
import asyncio
import glob
import http.client
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [HERE, os.path.dirname(HERE), ROOT]

import common  # noqa: E402
from run import nginx_worker, rss_kib  # noqa: E402

from testing.servers import free_port, stop_process, wait_until  # noqa: E402

INSTALLED = "/usr/lib/nginx/modules/ngx_nchan_module.so"
SITE = """load_module {module};
{user} worker_processes 1; pid {dir}/nginx.pid; daemon off;
worker_rlimit_nofile {files};
error_log {dir}/error.log;
events {{ worker_connections {connections}; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi; uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location ~ /sub/(\\w+)$ {{
      nchan_subscriber eventsource;
      nchan_channel_id $1;
      nchan_eventsource_ping_interval 25;
      nchan_subscriber_first_message newest;
      nchan_message_buffer_length 1000;
      nchan_message_timeout 10m;
    }}
    location ~ /pub/(\\w+)$ {{
      nchan_publisher;
      nchan_channel_id $1;
    }}
  }}
}}
"""


def module():
    if os.path.exists(INSTALLED):
        return INSTALLED
    folder = os.path.join(common.RESULTS, "nchan")
    found = glob.glob(f"{folder}/root/**/ngx_nchan_module.so", recursive=True)
    if found:
        return found[0]
    os.makedirs(folder, exist_ok=True)
    subprocess.run(
        ["apt-get", "download", "libnginx-mod-nchan"], cwd=folder, check=True
    )
    (package,) = glob.glob(f"{folder}/libnginx-mod-nchan_*.deb")
    subprocess.run(["dpkg", "-x", package, f"{folder}/root"], check=True)
    return glob.glob(f"{folder}/root/**/ngx_nchan_module.so", recursive=True)[0]


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def request(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body)
    try:
        return conn.getresponse().read().decode()
    finally:
        conn.close()


def replayed(port, last_event_id):
    """The ids a new subscriber gets within a second."""
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    conn.request("GET", "/sub/someone", headers=headers)
    response = conn.getresponse()
    text = b""
    try:
        while chunk := response.read1(65536):
            text += chunk
    except TimeoutError:
        pass
    conn.close()
    return [line[4:] for line in text.decode().splitlines() if line.startswith("id: ")]


async def idle_growth(port, worker, count):
    before = rss_kib(worker)
    held = []
    for n in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"GET /sub/user%d HTTP/1.0\r\n" % (n % 100)
            + b"Accept: text/event-stream\r\n\r\n"
        )
        await reader.readuntil(b"\r\n\r\n")
        held.append(writer)
    await asyncio.sleep(3)
    grown = (rss_kib(worker) - before) / count
    for writer in held:
        writer.close()
    return grown


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=2000)
    options = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(
        resource.RLIMIT_NOFILE, (min(hard, options.subscribers * 3 + 1024), hard)
    )
    started, load_before = common.utc_now(), os.getloadavg()
    folder = tempfile.mkdtemp(prefix="nchan-bench-")
    port = free_port()
    with open(os.path.join(folder, "nginx.conf"), "w") as handle:
        handle.write(
            SITE.format(
                module=module(),
                user="user root;" if os.geteuid() == 0 else "",
                dir=folder,
                port=port,
                connections=options.subscribers + 512,
                files=options.subscribers * 2 + 1024,
            )
        )
    nginx = subprocess.Popen(
        ["/usr/sbin/nginx", "-p", folder, "-c", f"{folder}/nginx.conf"]
    )

    class Listening:
        process = nginx

    try:
        wait_until(lambda: listening(port), 15, what="nginx with nchan")
        for n in (1, 2):
            request(port, "POST", "/pub/someone", body=f'{{"n": {n}}}')
        oldest = replayed(port, "0:0")
        results = {
            "ids": oldest,
            "no_last_event_id": len(replayed(port, None)),
            "unknown_id": len(replayed(port, "99999")),
            "oldest_possible_id": len(oldest),
            "after_first": len(replayed(port, oldest[0])) if oldest else None,
            "kib_per_idle_subscriber": asyncio.run(
                idle_growth(port, nginx_worker(Listening), options.subscribers)
            ),
        }
    finally:
        stop_process(nginx)
        shutil.rmtree(folder, ignore_errors=True)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    before = ", ".join(f"{value:.2f}" for value in load_before)
    text = (
        f"`.venv/bin/python bench/stream/nchan.py`, run of {started}: nchan "
        f"(Debian's libnginx-mod-nchan, memory store) in this machine's nginx; "
        f"load average at the start {before}, at the end {load}.\n\n"
        "| probe | nchan | the contract (the relay) |\n|---|---|---|\n"
        f"| ids of two messages | `{'`, `'.join(results['ids'])}` | 1, 2 (a per-user "
        "counter) |\n"
        f"| messages replayed with no Last-Event-ID | {results['no_last_event_id']} "
        "| 0 (only what comes next) |\n"
        f"| ... with an unknown id (`99999`) | {results['unknown_id']} | "
        "`event: reset` |\n"
        f"| ... with `0:0` (older than anything kept) | "
        f"{results['oldest_possible_id']} | `event: reset` |\n"
        f"| ... with the first message's id | {results['after_first']} | 1 |\n"
        f"| nginx worker's RSS growth per idle subscriber "
        f"({options.subscribers}) | {results['kib_per_idle_subscriber']:.1f} KiB | "
        "see the stream bench above (relay and nginx) |\n"
    )
    common.save("stream-nchan", results, text)
    common.say(text)
    common.publish("stream: nchan", text)


if __name__ == "__main__":
    main()
