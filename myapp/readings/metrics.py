"""The readings feature's metrics (myapp/metrics.py serves them)."""

from prometheus_client import Counter, Histogram

READINGS_STORED = Counter(
    "myapp_readings_stored_total",
    "Readings stored and committed (a repeated client_id is not stored again)",
)
ROLLUP_SECONDS = Histogram(
    "myapp_readings_rollup_duration_seconds",
    "Time an upload spent adding its readings to the rollups",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
READINGS_PRUNED = Counter(
    "myapp_readings_pruned_total",
    "Raw readings retention removed, counted as each batch commits",
)
