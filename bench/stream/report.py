"""The stream bench's report: one table, published into bench/README.md."""


def _load(figures):
    return ", ".join(f"{value:.2f}" for value in figures)


def _reads(runs):
    return "; ".join(
        f"{run['requests_per_s']:.0f} req/s, p99 {run['p99_ms']:.1f} ms" for run in runs
    )


def report(results):
    latency = results["event_after_2xx"]
    sent = results["event_after_send"]
    lines = [
        f"`bench/run.sh stream`, run of {results['started']}: "
        f"{results['streams']} streams through deploy/nginx/myapp.conf and the "
        f"relay, {results['per_user']} per user (MYAPP_LIVE_STREAMS_PER_USER "
        f"raised for the bench); load average (1, 5, 15 min) at the start "
        f"{_load(results['load_before'])}, at the end {_load(results['load_after'])}.",
        "",
        "| measurement | figure | baseline (same run) | ratio | target |",
        "|---|---|---|---|---|",
        f"| upload's 201 to its event on each of its user's streams "
        f"({results['uploads']} uploads, {results['arrivals']} arrivals, "
        f"{results['missing']} missing) | p50 {latency['p50_ms']:.1f} ms, "
        f"p99 {latency['p99_ms']:.1f} ms | from sending the upload: "
        f"p50 {sent['p50_ms']:.1f} ms, p99 {sent['p99_ms']:.1f} ms |  | "
        "p50 < 100 ms |",
        f"| uploads whose event reached one of its streams more than 1 s "
        f"after the 201 | {results['late_uploads']} of {results['uploads']} |  "
        "|  | 0 (the contract's one second) |",
        f"| GET /readings/?limit=10 through nginx, 8 connections, "
        f"{results['streams']} streams open ({results['rounds']} rounds) | "
        f"{_reads(results['reads_with'])} | no stream open, just before each: "
        f"{_reads(results['reads_without'])} | p99 "
        f"{results['reads_p99_ratio']:.2f}x (median of the rounds' ratios) | "
        "<= 1.5x |",
        f"| memory per idle stream | relay "
        f"{results['relay_kib_per_stream']:.1f} KiB, nginx "
        f"{results['nginx_kib_per_stream']:.1f} KiB (RSS growth / streams) |  |  |  |",
        "| the relay's CPU holding them idle (30 s: a comment every 20 s, "
        "leases renewed every 5 s, one session check) | "
        f"{results['relay_idle_cpu_percent']:.1f}% of a core |  |  |  |",
        f"| opening all the streams (32 at a time) | "
        f"{results['open_seconds']:.1f} s |  |  |  |",
        "",
    ]
    return "\n".join(lines)
