"""What the web bench measures in chromium: the first load's weight, chart loads.

Debian's chromium (never a downloaded browser), driven by Playwright; every
figure comes from the page's own Performance API.
"""

import json
import os

import common

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
SENSOR, FIELD, POINTS = "bench/temp", "celsius", 10_000
REFRESH_KEY = "myapp.refresh_token"
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
CHART_ROUTE = f"#/readings/bench%2Ftemp?field={FIELD}&range=all&bucket=1m"
FIGURES = (
    "interactive_ms",
    "drawn_ms",
    "long_tasks",
    "stats_request_ms",
    "token_ms",
    "draw_after_stats_ms",
)


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


def measure(base, token, loads):
    """The first load's files, then cold loads (each after a sign-in page) and
    warm reloads of the chart, as the site at base serves them."""
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
