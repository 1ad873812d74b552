"""Prometheus metrics: what each process counts, and GET /metrics for all of them.

Under uWSGI every worker is a process of its own: prometheus_client's
multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set and emptied by myapp.ini or
the systemd unit before any worker starts) keeps a file per process, and
/metrics adds them up, so a scrape answered by any worker counts them all.
Without the variable (tests in one process, `flask run`) a process counts for
itself. The core counts requests and the pool; each feature defines its own
metrics (myapp/<feature>/metrics.py) and counts on commit with
count_after_commit(); values read from the database (the outbox) are
computed at scrape time by functions the features hand in with on_scrape().
"""

import ipaddress
import logging
import os
import time

import sqlalchemy as sa
from flask import Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from werkzeug.exceptions import Forbidden

from myapp import committed
from myapp.db import db

log = logging.getLogger(__name__)
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
LOOPBACK = "127.0.0.0/8,::1/128"

REQUESTS = Counter(
    "myapp_http_requests_total",
    "HTTP requests answered, by method, route and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "myapp_http_request_duration_seconds",
    "Time from the request reaching the app to its answer's head, by route",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
POOL_CHECKED_OUT = Gauge(
    "myapp_db_pool_checked_out",
    "Database connections checked out of the pools of live processes",
    multiprocess_mode="livesum",
)


def count_after_commit(counter, amount=1, **labels):
    """Count amount once the current transaction commits; never if it rolls back."""
    committed.later(_METRICS, (counter.labels(**labels) if labels else counter, amount))


def _count(pending):
    for counter, amount in pending:
        counter.inc(amount)


_METRICS = "metrics"
committed.on_commit(_METRICS, _count)


def _checked_out(*ignored):
    POOL_CHECKED_OUT.inc()


def _checked_in(*ignored):
    POOL_CHECKED_OUT.dec()


def on_scrape(app, func):
    """func() -> [(name, help, value)]: gauges read (in an app context) per scrape."""
    app.extensions.setdefault("metrics_on_scrape", []).append(func)


class _ScrapeGauges:
    def __init__(self, funcs):
        self.funcs = funcs

    def collect(self):
        """Each func's gauges; one the database cannot answer now is left out.

        The counters matter most while the database is down, so its outage
        must not turn the whole scrape into a 503.
        """
        for func in self.funcs:
            try:
                gauges = func()
            except sa.exc.SQLAlchemyError:
                log.warning("metrics: %s failed; left out", func.__qualname__)
                db.session.rollback()
                continue
            for name, text, value in gauges:
                yield GaugeMetricFamily(name, text, value=value)


def allowed_networks(text):
    """MYAPP_METRICS_ALLOW: comma-separated addresses or networks."""
    return [ipaddress.ip_network(p.strip(), strict=False) for p in text.split(",")]


def _allowed(address, networks):
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def metrics_view():
    """The Prometheus text format; 403 unless the caller's address is allowed."""
    if not _allowed(request.remote_addr, current_app.extensions["metrics_allow"]):
        raise Forbidden("Metrics are served only to the addresses allowed.")
    registry = REGISTRY
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    read = CollectorRegistry()
    read.register(_ScrapeGauges(current_app.extensions.get("metrics_on_scrape", [])))
    try:
        body = generate_latest(registry) + generate_latest(read)
    finally:
        db.session.rollback()
    return Response(body, content_type=CONTENT_TYPE_LATEST)


def _started():
    g.metrics_started = time.perf_counter()


def _answered(response):
    rule = request.url_rule.rule if request.url_rule else "unmatched"
    started = g.pop("metrics_started", None)
    if started is not None:
        LATENCY.labels(request.method, rule).observe(time.perf_counter() - started)
    REQUESTS.labels(request.method, rule, str(response.status_code)).inc()
    return response


def _mark_dead_at_exit():
    """uWSGI calls this as a worker exits: its live gauges stop counting."""
    try:
        import uwsgi
    except ImportError:
        return
    before = getattr(uwsgi, "atexit", None)

    def at_exit():
        multiprocess.mark_process_dead(os.getpid())
        if before:
            before()

    uwsgi.atexit = at_exit


def init_app(app):
    app.extensions["metrics_allow"] = allowed_networks(app.config["METRICS_ALLOW"])
    app.before_request(_started)
    app.after_request(_answered)
    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])
    for event, listener in (("checkout", _checked_out), ("checkin", _checked_in)):
        if not sa.event.contains(sa.pool.Pool, event, listener):
            sa.event.listen(sa.pool.Pool, event, listener)
    if MULTIPROCESS:
        _mark_dead_at_exit()
