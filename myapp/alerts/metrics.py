"""The alerts feature's metrics (myapp/metrics.py serves them)."""

import functools

from prometheus_client import Counter, Gauge, Histogram

ALERT_EVENTS = Counter(
    "myapp_alert_events_total",
    "Alert events committed, by the state they enter (firing, resolved)",
    ["state"],
)
DELIVERY_ATTEMPTS = Counter(
    "myapp_alert_delivery_attempts_total",
    "Webhook and email delivery attempts, by channel and outcome",
    ["channel", "outcome"],
)
DELIVERY_SECONDS = Histogram(
    "myapp_alert_delivery_duration_seconds",
    "Time one delivery attempt took, by channel",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


@functools.cache
def worker_loop():
    """The alerts worker's loop gauge, made by the worker only: a web process
    would otherwise publish it as 0, a loop that never ran."""
    return Gauge(
        "myapp_alerts_worker_last_loop_timestamp_seconds",
        "When the alerts worker's main loop last ran (its lag: time() minus this)",
        multiprocess_mode="max",
    )
