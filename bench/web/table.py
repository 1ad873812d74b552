"""The web run's report: the table of its figures and the first load's files."""

import statistics

from pages import POINTS

WEIGHT_LIMIT_KB, CHART_LIMIT_MS = 150, 1000


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
