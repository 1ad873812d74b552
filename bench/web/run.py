"""Web client benchmark: /app/ through nginx (as deployed) in headless chromium.

    bench/run.sh web [--loads 5]
    (or: .venv/bin/python bench/web/run.py [--loads 5])

uWSGI from myapp.ini (production config, 2 processes) listens on a unix socket
as in production, and nginx runs deploy/nginx/myapp.conf itself, only its
socket path and ports rewritten (so its gzip settings are the deployed ones).
Debian's chromium (never a downloaded browser), driven by Playwright, measures:

- weight: the first load of /app/ in a fresh browser (empty cache), the bytes
  transferred for the page and every file it loads (HTML, JS, CSS, icon), from
  the Performance API's transferSize; target under 150 KB.
- chart: a sensor page whose chart holds 10,000 points (10,000 readings a
  minute apart, bucket 1m, all time), each load in a fresh browser signed in
  by its refresh token: milliseconds from navigation start until the chart has
  drawn and no long task (>= 50 ms) runs after it; median of --loads loads,
  target under 1000 ms. Baseline in the same run: the sign-in page, ready.
Writes bench/results/web.json and web.md, and prints the table.

nginx is nginx_site.py's, the browser's loads pages.py's, the report table.py's.
"""

import argparse
import os
import shutil
import sys
import tempfile
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [HERE, os.path.dirname(HERE), ROOT]

import common  # noqa: E402
import nginx_site  # noqa: E402
import pages  # noqa: E402
from table import report  # noqa: E402

from testing.servers import free_port  # noqa: E402

PASSWORD = "correct horse battery"


def seed_readings(server):
    """A user with POINTS readings of SENSOR a minute apart; their refresh token."""
    account = {"username": "bench_web", "email": "bench_web@example.com"}
    status, body = common.request(
        server, "POST", "/api/v1/auth/register", dict(account, password=PASSWORD)
    )
    assert status == 201, body
    status, tokens = common.request(
        server,
        "POST",
        "/api/v1/auth/login",
        {"username": account["username"], "password": PASSWORD},
    )
    assert status == 200, tokens
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    for first in range(0, pages.POINTS, 1000):
        batch = [
            {
                "sensor": pages.SENSOR,
                "recorded_at": (now - timedelta(minutes=pages.POINTS - n))
                .isoformat()
                .replace("+00:00", "Z"),
                "data": {pages.FIELD: 20 + (n % 120) / 10, "humidity": 40 + n % 9},
            }
            for n in range(first, first + 1000)
        ]
        status, body = common.request(
            server, "POST", "/api/v1/readings/batch", {"readings": batch}, headers
        )
        assert status == 201, body
    return tokens["refresh_token"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5)
    options = parser.parse_args()
    started = common.utc_now()
    for tool in (pages.CHROMIUM, nginx_site.NGINX):
        if not os.access(tool, os.X_OK):
            sys.exit(f"{tool} is required (apt-get install -y chromium nginx-light)")
    workdir = tempfile.mkdtemp(prefix="web-bench-")
    url = "sqlite:///" + os.path.join(workdir, "web.sqlite")
    common.production_app(url)
    sock = os.path.join(workdir, "uwsgi.sock")
    port = free_port()
    server = common.Server(
        "web",
        url,
        extra_env={"MYAPP_SOCKET": sock},
        uwsgi_args=("--http-socket", f"127.0.0.1:{port}"),
        port=port,
    )
    nginx = None
    try:
        common.say(f"seeding {pages.POINTS} readings ...")
        token = seed_readings(server)
        nginx, nginx_port = nginx_site.start(workdir, sock)
        base = f"http://127.0.0.1:{nginx_port}"
        results = pages.measure(base, token, options.loads)
    finally:
        if nginx:
            nginx.terminate()
            nginx.wait()
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    results["started"] = started
    # The machine is shared: say how busy it was.
    results["load_average_1m_at_end"] = os.getloadavg()[0]
    text = report(results)
    common.save("web", results, text)
    common.say(text)


if __name__ == "__main__":
    main()
