"""The alerts worker: sends due webhooks and emails, and fires silent rules.

It also runs the jobs other features hand it (myapp.periodic: retention's
pruning), each in a thread of its own, logging the line each run returns.

Run as `flask alerts worker` (systemd: myapp-worker.service; Procfile: worker;
scripts/run.sh starts one beside the server). Any number may run, on one host
or several: claims in the database keep them from sending an attempt twice.
SIGTERM or SIGINT: attempts under way finish (each bounded by
WEBHOOK_TIMEOUT), nothing new starts, and the process exits 0.
"""

import logging
import signal
import threading
import time
from collections import Counter

import sqlalchemy as sa

from myapp import mail, periodic
from myapp.alerts import claims, emails, judge, metrics, outbox, webhooks
from myapp.alerts.models import EMAIL
from myapp.alerts.service import now_micros, resolving
from myapp.db import db

log = logging.getLogger("myapp.alerts.worker")


class Worker:
    def __init__(self, app, threads=None):
        config = app.config
        self.app = app
        self.threads = threads or config["ALERTS_WORKER_THREADS"]
        self.poll = config["ALERTS_WORKER_POLL_SECONDS"]
        self.lease = config["ALERTS_DELIVERY_LEASE_SECONDS"]
        self.silence_every = config["ALERTS_SILENCE_CHECK_SECONDS"]
        self.report_every = config["ALERTS_WORKER_REPORT_SECONDS"]
        self.metrics_at = (
            config["ALERTS_WORKER_METRICS_ADDR"],
            config["ALERTS_WORKER_METRICS_PORT"],
        )
        self.sending = {
            "allow_http": config["WEBHOOK_ALLOW_HTTP"],
            "allow_private": config["WEBHOOK_ALLOW_PRIVATE"],
            "timeout": config["WEBHOOK_TIMEOUT"],
            "ca_file": config["WEBHOOK_CA_FILE"],
        }
        # A claim must outlive the longest attempt: a name lookup, then the
        # POST; or one SMTP conversation.
        longest = config["WEBHOOK_RESOLVE_TIMEOUT"] + self.sending["timeout"]
        if mail.configured(config):
            longest = max(longest, config["SMTP_TIMEOUT"])
        if self.lease <= longest + 1:
            raise ValueError(
                "ALERTS_DELIVERY_LEASE_SECONDS must exceed WEBHOOK_RESOLVE_TIMEOUT"
                " + WEBHOOK_TIMEOUT + 1 and SMTP_TIMEOUT + 1"
            )
        # Round-robin between users: the user whose delivery was claimed last.
        self._last_user = 0
        self._turns = threading.Lock()
        self.stopping = threading.Event()
        self.counts = Counter()
        self._counting = threading.Lock()

    def stop(self, *ignored):
        self.stopping.set()

    def run(self):
        """Until stop(): senders deliver; this thread checks silence and reports."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
        senders = [
            threading.Thread(target=self._send_loop, name=f"sender-{n}")
            for n in range(self.threads)
        ]
        jobs = [
            threading.Thread(target=self._job_loop, args=(job,), name=job.name)
            for job in periodic.jobs(self.app)
        ]
        for thread in senders + jobs:
            thread.start()
        exporter = self._serve_metrics()
        log.info(
            "started: %d sending threads, polling every %g s, silence checked "
            "every %g s; jobs: %s",
            self.threads,
            self.poll,
            self.silence_every,
            ", ".join(job.name for job in periodic.jobs(self.app)) or "none",
        )
        silence_at = report_at = time.monotonic()
        report_at += self.report_every
        while not self.stopping.is_set():
            metrics.worker_loop().set(time.time())
            if time.monotonic() >= silence_at:
                self._guarded(self._check_silence)
                silence_at = time.monotonic() + self.silence_every
            if time.monotonic() >= report_at:
                self._guarded(self._report)
                report_at = time.monotonic() + self.report_every
            self.stopping.wait(max(0, min(silence_at, report_at) - time.monotonic()))
        log.info("stopping: waiting for attempts under way")
        for thread in senders + jobs:
            thread.join()
        self._guarded(self._report)
        if exporter is not None:
            exporter.shutdown()
        log.info("stopped")

    def _serve_metrics(self):
        """Its own metrics on a loopback port (the web app's /metrics has no worker)."""
        address, port = self.metrics_at
        if not port:
            return None
        from prometheus_client import start_http_server

        server, _ = start_http_server(int(port), addr=address)
        log.info("metrics on http://%s:%d/metrics", address, server.server_port)
        return server

    def _guarded(self, work):
        """Run work in an app context; a failure (database down) is logged only."""
        with self.app.app_context():
            try:
                return work()
            except Exception:
                log.exception("%s failed; retrying later", work.__name__)
                db.session.rollback()
                return None

    def _job_loop(self, job):
        """A feature's job (periodic.add): at start, then every config[job.every] s."""
        every = self.app.config[job.every]

        def run_job():
            return job.run(self.stopping)

        run_job.__name__ = job.name
        while not self.stopping.is_set():
            line = self._guarded(run_job)
            if line:
                log.info("%s", line)
            self.stopping.wait(every)

    def _send_loop(self):
        while not self.stopping.is_set():
            sent = self._guarded(self._send_one)
            if not sent:
                self.stopping.wait(self.poll if sent is False else 1.0)

    def _send_one(self):
        """Claim one due delivery and attempt it; False if none was due."""
        with self._turns:
            claimed = claims.claim(
                now=now_micros(), lease_seconds=self.lease, after_user=self._last_user
            )
            if claimed:
                self._last_user = claimed[-1].user_id
        for delivery in claimed:
            started = now_micros()
            with metrics.DELIVERY_SECONDS.labels(delivery.channel).time():
                outcome = self._attempt(delivery)
            recorded = claims.finish(delivery, outcome, at=started, now=now_micros())
            self._count(outcome, recorded, delivery.channel)
            log.info(
                "%s delivery %d (rule %d, event %d) attempt %d: %s in %d ms%s",
                delivery.channel,
                delivery.id,
                delivery.rule_id,
                delivery.event_id,
                delivery.attempts + 1,
                (
                    f"{'SMTP' if delivery.channel == EMAIL else 'HTTP'}"
                    f" {outcome.status_code}"
                    if outcome.status_code
                    else outcome.error
                ),
                (now_micros() - started) // 1000,
                "" if recorded else " (not recorded: the rule is gone)",
            )
        return bool(claimed)

    def _attempt(self, delivery):
        if delivery.channel == EMAIL:
            return emails.attempt(delivery, self.app.config, now=now_micros())
        if delivery.webhook_url is None:
            return webhooks.Outcome(None, "cancelled: the rule has no webhook now")
        headers = webhooks.signed_headers(
            secret=delivery.webhook_secret,
            message_id=claims.message_id(delivery.event_id),
            body=delivery.body,
            now=time.time(),
        )
        return webhooks.deliver(
            delivery.webhook_url,
            body=delivery.body,
            headers=headers,
            resolving=resolving(self.app.config, delivery.user_id),
            **self.sending,
        )

    def _count(self, outcome, recorded, channel):
        metrics.DELIVERY_ATTEMPTS.labels(
            channel, "delivered" if outcome.delivered else "failed"
        ).inc()
        with self._counting:
            self.counts["attempts"] += 1
            self.counts["delivered" if outcome.delivered else "failed attempts"] += 1

    def _check_silence(self):
        fired = judge.check_silence(now=now_micros())
        if fired:
            log.info("silence: %d rule(s) fired", fired)
            with self._counting:
                self.counts["silence rules fired"] += fired

    def _report(self):
        pending = db.session.execute(
            sa.select(sa.func.count()).where(
                outbox.DELIVERIES.c.next_attempt_at.is_not(None)
            )
        ).scalar()
        db.session.rollback()
        with self._counting:
            done = ", ".join(f"{n} {what}" for what, n in sorted(self.counts.items()))
        log.info("progress: %s; %d deliveries pending", done or "nothing sent", pending)
