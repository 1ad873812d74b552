"""Stream benchmark: 2,000 open streams through the deploy's nginx and the relay.

    bench/run.sh stream [--streams 2000] [--per-user 20] [--uploads 200] [--rounds 3]
    (or: .venv/bin/python bench/stream/run.py ...)

uWSGI from myapp.ini (production config, 2 processes x 2 threads) on a unix
socket, the stream relay (`flask live relay`) on another, a redis-server, and
nginx running deploy/nginx/myapp.conf itself (sockets and ports moved here,
worker_connections raised). The per-user stream limit is raised to --per-user
(MYAPP_LIVE_STREAMS_PER_USER) so 2,000 streams need 100 users, not 400.
One asyncio process holds every stream (clients.py) and measures:

- upload to event: one reading at a time, users in turn, each arriving on all
  of its user's streams; ms from the upload's 201 to each arrival (an event
  may come before the 201 is read: that counts as 0), p50 and p99; target
  p50 under 100 ms.
- reads beside streams: wrk's GET /readings/?limit=10 through nginx, 8
  connections, 10 s, without streams and then with them open, back to back,
  --rounds times (3); the median of the rounds' p99 ratios; target 1.5x.
- memory per idle stream: the relay's and nginx's RSS growth while they hold
  the streams, divided by their count; the relay's CPU over 30 s of them idle
  (a comment on each every 20 s, leases renewed every 5 s, one session sweep).
Writes bench/results/stream.json and stream.md, and the section of
bench/README.md between its markers.
"""

import argparse
import asyncio
import os
import pathlib
import resource
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [HERE, os.path.dirname(HERE), ROOT]

import clients  # noqa: E402
import common  # noqa: E402
from report import report  # noqa: E402

from testing.accounts import register_over_http  # noqa: E402
from testing.http import Http  # noqa: E402
from testing.nginx import Nginx  # noqa: E402
from testing.relay import LiveRelay  # noqa: E402
from testing.servers import Redis, free_port  # noqa: E402

LUA = os.path.join(HERE, "get.lua")
IDLE_SECONDS = 30


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid):
    """User and system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def nginx_worker(nginx):
    pid = nginx.process.pid
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return int(handle.read().split()[0])


async def wrk_reads(nginx, token):
    url = f"http://127.0.0.1:{nginx.port}"
    loop = asyncio.get_running_loop()
    # In a thread: the loop keeps reading every stream meanwhile.
    return await loop.run_in_executor(
        None, lambda: common.wrk(url, LUA, [token], duration=10, connections=8)
    )


async def open_all(streams, tokens, count):
    gate = asyncio.Semaphore(32)

    async def one(token):
        async with gate:
            await streams.open(token)

    started = time.perf_counter()
    await asyncio.gather(*(one(tokens[n % len(tokens)]) for n in range(count)))
    return time.perf_counter() - started


async def measure(nginx, relay, tokens, options):
    """Rounds of reads without streams, then with them open, back to back;
    the first round with streams open also times events and weighs streams."""
    results = {"reads_without": [], "reads_with": []}
    for round_number in range(options.rounds):
        results["reads_without"].append(await wrk_reads(nginx, tokens[0]))
        relay_before = rss_kib(relay.process.pid)
        nginx_before = rss_kib(nginx_worker(nginx))
        streams = clients.Streams(nginx.port)
        opened = await open_all(streams, tokens, options.streams)
        await asyncio.sleep(6)  # the streams settle: leases renewed, idle
        if round_number == 0:
            results["open_seconds"] = opened
            relay_growth = rss_kib(relay.process.pid) - relay_before
            nginx_growth = rss_kib(nginx_worker(nginx)) - nginx_before
            results["relay_kib_per_stream"] = relay_growth / options.streams
            results["nginx_kib_per_stream"] = nginx_growth / options.streams
            results["relay_idle_cpu_percent"] = await idle_cpu(relay)
            results.update(await event_latency(nginx, tokens, streams, options))
        results["reads_with"].append(await wrk_reads(nginx, tokens[0]))
        await streams.close()
        await asyncio.sleep(2)
    return results


async def idle_cpu(relay):
    """The relay's CPU over a session-check interval: heartbeats and a sweep."""
    before = cpu_seconds(relay.process.pid)
    await asyncio.sleep(IDLE_SECONDS)
    return (cpu_seconds(relay.process.pid) - before) / IDLE_SECONDS * 100


async def event_latency(nginx, tokens, streams, options):
    """Uploads one at a time, users in turn; each timed on all its user's streams."""
    answered = {}
    for number in range(options.uploads):
        token = tokens[number % len(tokens)]
        answered[number] = await clients.upload(nginx.port, token, number)
        await asyncio.sleep(0.02)
    await asyncio.sleep(3)
    after_2xx, after_send, missing, late = [], [], 0, 0
    for number, (sent, done) in answered.items():
        arrived = streams.arrivals.get(number, [])
        missing += options.per_user - len(arrived)
        after_2xx += [max(at - done, 0) * 1000 for at in arrived]
        after_send += [(at - sent) * 1000 for at in arrived]
        # The contract: on every open stream within one second of the 201.
        late += any(at - done > 1 for at in arrived)
    return {
        "event_after_2xx": common.latencies(after_2xx),
        "event_after_send": common.latencies(after_send),
        "arrivals": len(after_2xx),
        "missing": missing,
        "late_uploads": late,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--per-user", type=int, default=20)
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = options.streams * 3 + 1024  # nginx and the relay inherit it
    if hard < needed:
        sys.exit(f"raise the hard limit of open files to {needed} (ulimit -Hn)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, needed), hard))
    started, load_before = common.utc_now(), os.getloadavg()
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="stream-bench-"))
    url = f"sqlite:///{workdir / 'stream.sqlite'}"
    common.production_app(url)
    redis = Redis(log_dir=common.RESULTS)
    env = {
        "MYAPP_CONFIG": "production",
        "SECRET_KEY": common.SECRET_KEY,
        "CORS_ORIGINS": common.CORS_ORIGINS,
        "DATABASE_URL": url,
        "REDIS_URL": redis.url,
        "MYAPP_LIVE_STREAMS_PER_USER": str(options.per_user),
        "MYAPP_REGISTER_RATE_LIMIT": "10000 per minute",
        "MYAPP_LOGIN_RATE_LIMIT": "10000 per minute",
    }
    sock, port = workdir / "uwsgi.sock", free_port()
    server = common.Server(
        "stream",
        url,
        extra_env={**env, "MYAPP_SOCKET": str(sock)},
        uwsgi_args=("--http-socket", f"127.0.0.1:{port}"),
        port=port,
    )
    relay = nginx = None
    try:
        relay = LiveRelay(env, workdir / "live.sock", name="relay-bench")
        nginx = Nginx(
            workdir,
            sock,
            relay=workdir / "live.sock",
            connections=options.streams * 2 + 512,
        )
        users = -(-options.streams // options.per_user)
        common.say(f"registering {users} users ...")
        tokens = [register_over_http(Http(nginx)).access_token for _ in range(users)]
        common.say(f"opening {options.streams} streams ...")
        results = asyncio.run(measure(nginx, relay, tokens, options))
    finally:
        for process in (nginx, relay, server, redis):
            if process is not None:
                process.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    results.update(
        started=started,
        streams=options.streams,
        per_user=options.per_user,
        uploads=options.uploads,
        load_before=load_before,
        load_after=os.getloadavg(),
        rounds=options.rounds,
        reads_p99_ratio=common.paired_ratio(
            [run["p99_ms"] for run in results["reads_with"]],
            [run["p99_ms"] for run in results["reads_without"]],
        ),
    )
    text = report(results)
    common.save("stream", results, text)
    common.say(text)
    common.publish("stream", text)


if __name__ == "__main__":
    main()
