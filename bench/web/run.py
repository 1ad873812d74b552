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
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.dirname(HERE), ROOT]

import common  # noqa: E402
import flask_migrate  # noqa: E402

from myapp import create_app  # noqa: E402
from testing.servers import Uwsgi, free_port  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
NGINX = "/usr/sbin/nginx"
SENSOR, FIELD, POINTS = "bench/temp", "celsius", 10_000
PASSWORD = "correct horse battery"
REFRESH_KEY = "myapp.refresh_token"
WEIGHT_LIMIT_KB, CHART_LIMIT_MS = 150, 1000
# Long tasks from the very start of each load (an observer set before any script).
WATCH_LONG_TASKS = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    window.__longTasks.push([entry.startTime, entry.duration]);
  }
}).observe({ type: "longtask" });
"""
INTERACTIVE = """
async () => {
  const drawn = performance.getEntriesByName("chart-drawn")[0].startTime;
  // Let a frame and a task pass, so long tasks that follow the draw are seen.
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 100)));
  const ends = window.__longTasks.map(([start, duration]) => start + duration);
  const resources = performance.getEntriesByType("resource");
  const stats = resources.find((e) => e.name.includes("/readings/stats"));
  const timeline = resources.map((e) => [
    e.name.replace(location.origin, "").slice(0, 60),
    Math.round(e.startTime),
    Math.round(e.responseEnd),
  ]);
  const nav = performance.getEntriesByType("navigation")[0];
  timeline.push(["domContentLoaded", Math.round(nav.domContentLoadedEventEnd), 0]);
  const refresh = resources.find((e) => e.name.includes("/auth/refresh"));
  return {
    timeline,
    token_ms: refresh.responseEnd,
    draw_after_stats_ms: drawn - stats.responseEnd,
    drawn_ms: drawn,
    interactive_ms: Math.max(drawn, ...ends),
    long_tasks: window.__longTasks.length,
    stats_request_ms: stats.responseEnd - stats.startTime,
    stats_bytes: stats.encodedBodySize,
  };
}
"""
WEIGHT = """
() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const files = [nav, ...performance.getEntriesByType("resource")];
  return files.map((e) => ({
    url: e.name, transfer: e.transferSize, decoded: e.decodedBodySize,
  }));
}
"""


def nginx_site(sock, port, health_port):
    """deploy/nginx/myapp.conf with its socket and ports moved into this run."""
    with open(os.path.join(ROOT, "deploy", "nginx", "myapp.conf")) as handle:
        site = handle.read()
    replacements = {
        "unix:/run/myapp/uwsgi.sock": f"unix:{sock}",
        "listen 80;": f"listen 127.0.0.1:{port};",
        "listen [::]:80;": "",
        "listen 127.0.0.1:8081;": f"listen 127.0.0.1:{health_port};",
    }
    for old, new in replacements.items():
        assert old in site, f"deploy/nginx/myapp.conf no longer has {old!r}"
        site = site.replace(old, new)
    return site


def start_nginx(workdir, sock):
    port = free_port()
    folder = os.path.join(workdir, "nginx")
    os.makedirs(os.path.join(folder, "tmp"))
    shutil.copy("/etc/nginx/uwsgi_params", folder)
    shutil.copy("/etc/nginx/mime.types", folder)
    with open(os.path.join(folder, "site.conf"), "w") as handle:
        handle.write(nginx_site(sock, port, free_port()))
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
            status, _ = common.request(_At(port), "GET", "/api/v1/health")
            if status == 200:
                return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"nginx did not serve; see {folder}/error.log")


class _At:
    """Requests to a port, as common.request makes them to a server of its own."""

    request = Uwsgi.request

    def __init__(self, port):
        self.port = port


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
    for first in range(0, POINTS, 1000):
        batch = [
            {
                "sensor": SENSOR,
                "recorded_at": (now - timedelta(minutes=POINTS - n))
                .isoformat()
                .replace("+00:00", "Z"),
                "data": {FIELD: 20 + (n % 120) / 10, "humidity": 40 + n % 9},
            }
            for n in range(first, first + 1000)
        ]
        status, body = common.request(
            server, "POST", "/api/v1/readings/batch", {"readings": batch}, headers
        )
        assert status == 201, body
    return tokens["refresh_token"]


def first_load_weight(browser, base):
    context = browser.new_context()
    page = context.new_page()
    encodings = {}
    page.on(
        "response",
        lambda r: encodings.__setitem__(r.url, r.headers.get("content-encoding", "")),
    )
    page.goto(f"{base}/app/", wait_until="networkidle")
    page.get_by_role("heading", name="Sign in").wait_for()
    files = page.evaluate(WEIGHT)
    context.close()
    for entry in files:
        entry["encoding"] = encodings.get(entry["url"], "")
        entry["url"] = entry["url"].replace(base, "")
    return files


CHART_ROUTE = f"#/readings/bench%2Ftemp?field={FIELD}&range=all&bucket=1m"
FIGURES = (
    "interactive_ms",
    "drawn_ms",
    "long_tasks",
    "stats_request_ms",
    "token_ms",
    "draw_after_stats_ms",
)


def signed_in_context(browser, refresh_token):
    """A fresh browser (empty cache) whose tab starts with this refresh token."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(WATCH_LONG_TASKS)
    key, token = json.dumps(REFRESH_KEY), json.dumps(refresh_token)
    # Only into an empty tab: a reload keeps the token the page rotated to.
    context.add_init_script(
        f"if (!sessionStorage.getItem({key})) sessionStorage.setItem({key}, {token})"
    )
    return context


def chart_figures(page):
    """Wait for the 10,000-point chart; the page's own timings of this load."""
    try:
        page.locator(f'.chart[data-points="{POINTS}"]').wait_for(timeout=30000)
    except Exception:
        common.say(page.locator("main").inner_text()[:2000])
        raise
    figures = page.evaluate(INTERACTIVE)
    if os.environ.get("BENCH_TIMELINE"):
        common.say(json.dumps(figures, indent=1))
    return figures


def refresh_token_of(page):
    return page.evaluate(f"() => sessionStorage.getItem({json.dumps(REFRESH_KEY)})")


def cold_chart_load(browser, base, refresh_token):
    """One load in a new browser (nothing cached); (figures, the rotated token)."""
    context = signed_in_context(browser, refresh_token)
    page = context.new_page()
    page.goto(f"{base}/app/{CHART_ROUTE}")
    figures = chart_figures(page)
    token = refresh_token_of(page)
    context.close()
    return figures, token


def warm_chart_loads(browser, base, refresh_token, loads):
    """A load, then `loads` reloads of the same tab (hashed files from cache)."""
    context = signed_in_context(browser, refresh_token)
    page = context.new_page()
    page.goto(f"{base}/app/{CHART_ROUTE}")
    chart_figures(page)
    found = []
    for _ in range(loads):
        page.reload()
        found.append(chart_figures(page))
    token = refresh_token_of(page)
    context.close()
    return found, token


def load_sign_in(browser, base):
    """The baseline: a cold load of the sign-in page until its form is there."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(WATCH_LONG_TASKS)
    page = context.new_page()
    page.goto(f"{base}/app/#/signin")
    page.get_by_role("button", name="Sign in").wait_for()
    ready = page.evaluate("""async () => {
          const ready = performance.now();
          await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 100)));
          const ends = window.__longTasks.map(([s, d]) => s + d);
          return Math.max(ready, ...ends);
        }""")
    context.close()
    return ready


def report(results):
    weight, chart = results["weight"], results["chart"]
    cold, warm = chart["cold"], chart["warm"]

    def median(runs, key):
        return statistics.median(runs[key])

    def spread(runs):
        times = runs["interactive_ms"]
        return (
            f"{median(runs, 'interactive_ms'):.0f} ms"
            f" (range {min(times):.0f} to {max(times):.0f})"
        )

    lines = [
        "| measurement | figure | baseline (same run) | target |",
        "|---|---|---|---|",
        "| /app/ first load, bytes transferred (HTML, JS, CSS, icon; gzip by nginx)"
        f" | {weight['transferred_kb']:.1f} KB in {weight['files']} files"
        f" ({weight['decoded_kb']:.1f} KB uncompressed) | | < {WEIGHT_LIMIT_KB} KB |",
        f"| sensor page with a {POINTS:,}-point chart, cold (new browser, empty"
        " cache): navigation start to chart drawn and no long task after it,"
        f" median of {len(cold['interactive_ms'])} | {spread(cold)}"
        f" | sign-in page ready: {median(cold, 'baseline_ms'):.0f} ms"
        f" | < {CHART_LIMIT_MS} ms |",
        f"|   same, warm (reloads of the tab, files cached), median of"
        f" {len(warm['interactive_ms'])} | {spread(warm)} | | < {CHART_LIMIT_MS} ms |",
        f"|   GET /readings/stats within those loads ({chart['stats_kb']:.0f} KB JSON)"
        f" | cold {median(cold, 'stats_request_ms'):.0f} ms,"
        f" warm {median(warm, 'stats_request_ms'):.0f} ms | | |",
        f"|   access token in hand (POST /auth/refresh answered), from navigation"
        f" start | cold {median(cold, 'token_ms'):.0f} ms,"
        f" warm {median(warm, 'token_ms'):.0f} ms | | |",
        f"|   stats answer to chart drawn (JSON parse, uPlot draw)"
        f" | cold {median(cold, 'draw_after_stats_ms'):.0f} ms,"
        f" warm {median(warm, 'draw_after_stats_ms'):.0f} ms | | |",
        f"|   long tasks (>= 50 ms) per load | cold {median(cold, 'long_tasks'):.0f},"
        f" warm {median(warm, 'long_tasks'):.0f} | | |",
        "",
        f"Run of {results['started']}; 1-minute load average at its end:"
        f" {results['load_average_1m_at_end']:.1f} (2 cores).",
        "",
        "First-load files (transferred / uncompressed bytes, Content-Encoding):",
        "",
    ]
    for entry in weight["by_file"]:
        lines.append(
            f"- `{entry['url']}`: {entry['transfer']} / {entry['decoded']}"
            f" {entry['encoding'] or '(identity)'}"
        )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5)
    options = parser.parse_args()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for tool in (CHROMIUM, NGINX):
        if not os.access(tool, os.X_OK):
            sys.exit(f"{tool} is required (apt-get install -y chromium nginx-light)")
    workdir = tempfile.mkdtemp(prefix="web-bench-")
    url = "sqlite:///" + os.path.join(workdir, "web.sqlite")
    app = create_app(
        {
            "ENV_NAME": "production",
            "SECRET_KEY": common.SECRET_KEY,
            "SQLALCHEMY_DATABASE_URI": url,
        }
    )
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
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
        common.say(f"seeding {POINTS} readings ...")
        token = seed_readings(server)
        nginx, nginx_port = start_nginx(workdir, sock)
        base = f"http://127.0.0.1:{nginx_port}"
        results = measure(base, token, options.loads)
    finally:
        if nginx:
            nginx.terminate()
            nginx.wait()
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    results["started"] = started
    # The machine is shared: say how busy it was.
    results["load_average_1m_at_end"] = os.getloadavg()[0]
    os.makedirs(common.RESULTS, exist_ok=True)
    with open(os.path.join(common.RESULTS, "web.json"), "w") as handle:
        json.dump(results, handle, indent=2)
    text = report(results)
    with open(os.path.join(common.RESULTS, "web.md"), "w") as handle:
        handle.write(text)
    common.say(text)


def measure(base, token, loads):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        files = first_load_weight(browser, base)
        _, token = cold_chart_load(browser, base, token)  # warms the server up
        cold = {key: [] for key in FIGURES + ("baseline_ms",)}
        for _ in range(loads):
            cold["baseline_ms"].append(load_sign_in(browser, base))
            figures, token = cold_chart_load(browser, base, token)
            for key in FIGURES:
                cold[key].append(figures[key])
        reloads, token = warm_chart_loads(browser, base, token, loads)
        warm = {key: [figures[key] for figures in reloads] for key in FIGURES}
        stats_kb = figures["stats_bytes"] / 1024
        browser.close()
    return {
        "weight": {
            "transferred_kb": sum(f["transfer"] for f in files) / 1024,
            "decoded_kb": sum(f["decoded"] for f in files) / 1024,
            "files": len(files),
            "by_file": files,
        },
        "chart": {"cold": cold, "warm": warm, "stats_kb": stats_kb},
    }


if __name__ == "__main__":
    main()
