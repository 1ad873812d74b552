"""Configuration classes; the factory picks one by ``MYAPP_CONFIG``."""

from datetime import timedelta

DEV_SECRET_KEY = "dev-only-secret-key-do-not-use-in-production"


class Config:
    """Settings shared by every environment."""

    VERSION = "1.0.0"
    SECRET_KEY = DEV_SECRET_KEY
    SQLALCHEMY_DATABASE_URI = None  # the factory defaults to instance/myapp.sqlite
    # No ping on every checkout: myapp/roundtrips.py pings idle connections only.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": False}
    # Seconds a pooled PostgreSQL connection may sit idle before it is pinged
    # (0: before every use). Above 0 a busy pool sends no ping, but a connection
    # an outage broke silently may then fail one request with a 503.
    DATABASE_PING_IDLE_SECONDS = 0
    # Seconds to wait for a PostgreSQL connection (libpq connect_timeout): a
    # database that is down or hung answers 503 instead of hanging a worker.
    DATABASE_CONNECT_TIMEOUT = 5
    # Seconds a PostgreSQL statement may run (statement_timeout) before it is
    # cancelled and the request answers 503: below harakiri and nginx's timeout.
    DATABASE_STATEMENT_TIMEOUT = 30
    # Seconds a PostgreSQL connection may leave data unacknowledged, or stay
    # silent through keepalive probes, before it counts as dead (libpq's
    # tcp_user_timeout and keepalives): a primary whose network is cut is left
    # within seconds, not after the kernel's 15 minutes of retransmissions.
    DATABASE_DEAD_AFTER = 5
    # Seconds a request failed by the database before any COMMIT is run again
    # (myapp/primary.py), so a moving primary holds requests instead of failing
    # them: 0 (off) on one server, about 10 with a multi-host DATABASE_URL.
    DATABASE_PRIMARY_WAIT = 0
    # SQLite: sync the WAL on every commit, so an acknowledged write survives a
    # power loss (clients never resend a reading answered 201).
    SQLITE_SYNCHRONOUS = "FULL"
    MAX_CONTENT_LENGTH = 1024 * 1024
    # Seconds a request may go without progress before uWSGI kills its worker
    # (myapp/watchdog.py); a streamed export re-arms it with every chunk.
    HARAKIRI = 60

    # Live updates (myapp/live): a comment at least this often on every stream
    # (a departed client's slot frees within two of them), the login session
    # checked this often (a stream ends this soon after logout), streams per
    # user, and the replay store's bounds per user. STREAMS_PER_PROCESS (set by
    # MYAPP_STREAMS_PER_PROCESS): None is uWSGI's threads - 1.
    LIVE_HEARTBEAT_SECONDS = 5
    LIVE_SESSION_CHECK_SECONDS = 30
    LIVE_STREAMS_PER_USER = 5
    LIVE_REPLAY_SECONDS = 600
    LIVE_REPLAY_EVENTS = 1000
    LIVE_REPLAY_BYTES = 1024 * 1024
    LIVE_RETRY_MS = 2000
    STREAMS_PER_PROCESS = None
    # Behind nginx the relay (`flask live relay`) holds the streams; these
    # threads of its pool ask the app to open a stream and check sessions.
    LIVE_RELAY_THREADS = 4
    # The relay's comment on an idle stream: the contract asks for one at least
    # every 25 s; fewer wake-ups of thousands of streams than the app's 5 s.
    LIVE_RELAY_COMMENT_SECONDS = 20

    # Lists: default and ceiling of ?limit=
    PAGE_LIMIT_DEFAULT = 100
    PAGE_LIMIT_MAX = 1000

    # JWT: HS256 only, both ways; no leeway on expiry.
    JWT_ALGORITHM = "HS256"
    JWT_DECODE_ALGORITHMS = ["HS256"]
    JWT_DECODE_LEEWAY = 0
    JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=15)
    JWT_REFRESH_TOKEN_EXPIRES = timedelta(days=30)

    # Argon2id at OWASP's minimum (19 MiB, 2 iterations, 1 lane).
    ARGON2_TIME_COST = 2
    ARGON2_MEMORY_COST = 19456
    ARGON2_PARALLELISM = 1

    # Flask-Limiter; the factory points storage at REDIS_URL when it is set.
    LOGIN_RATE_LIMIT = "10 per minute"
    REGISTER_RATE_LIMIT = "20 per hour"
    PASSWORD_CHECK_RATE_LIMIT = "5 per 15 minutes"
    # In-process unless REDIS_URL is set (myapp.limiter: no timer thread per hit).
    RATELIMIT_STORAGE_URI = "memory-inline://"
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_ENABLED = True
    # If Redis is unreachable, keep limiting per worker instead of failing logins.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # Number of reverse proxies in front of the app whose X-Forwarded-For to trust.
    PROXY_FIX_X_FOR = 0

    CORS_ORIGINS = "*"

    # Goals: per-user limits. Keep the depth well below ~450: the nested JSON
    # answer is encoded recursively and deeper trees exhaust Python's stack.
    GOALS_MAX_PER_USER = 10000
    GOALS_MAX_DEPTH = 100

    # Readings: most buckets one stats answer may hold (more is a 400), and the
    # rows per keyset batch (and per streamed chunk) of an export.
    READINGS_STATS_MAX_BUCKETS = 10000
    READINGS_EXPORT_BATCH = 1000

    # Retention: hours before a change that prunes more takes effect; how
    # often the worker prunes; readings per pruning transaction (at most
    # 10000); after each, a wait of this many times its length (uploads
    # waiting for SQLite's write lock get it).
    RETENTION_GRACE_HOURS = 24
    RETENTION_PRUNE_SECONDS = 3600
    RETENTION_PRUNE_BATCH = 1000
    RETENTION_PRUNE_PAUSE = 1.0
    # Each pruning batch sized to take about this long (0: always _BATCH).
    RETENTION_PRUNE_BATCH_SECONDS = 0.025

    # Devices: how many one user may have (more is a 409), and uploads per
    # device, all its keys together (a batch counts as one; 429 beyond).
    DEVICES_MAX_PER_USER = 1000
    DEVICE_RATE_LIMIT = "120 per minute"
    # Uploads per user with the user's token (a batch counts once); None: no
    # limit (myapp/readings/limits.py says why that is the default).
    UPLOAD_RATE_LIMIT = None

    # Alerts: per-user rule limit, events kept per rule (the oldest beyond are
    # pruned), the shortest silence a rule may wait for.
    ALERT_RULES_MAX_PER_USER = 100
    ALERTS_EVENTS_KEPT_PER_RULE = 1000
    ALERTS_SILENCE_MIN_SECONDS = 60
    # Webhooks: seconds one attempt may take (connect, send, answer); http://,
    # loopback and private addresses only where the operator allows (tests,
    # closed networks; link-local never); a CA bundle instead of the system's.
    WEBHOOK_TIMEOUT = 5
    WEBHOOK_ALLOW_HTTP = False
    WEBHOOK_ALLOW_PRIVATE = False
    WEBHOOK_CA_FILE = None
    # Name lookups of webhook hosts: seconds each may take (its own deadline,
    # apart from WEBHOOK_TIMEOUT), and how many one user may have under way in
    # a process, so one user's slow DNS server never delays another's.
    WEBHOOK_RESOLVE_TIMEOUT = 2
    WEBHOOK_RESOLVES_PER_USER = 2
    # Seconds before each retry of a failed delivery (each stretched by up to
    # 25% jitter): 27.7 hours in all, then the delivery is given up.
    ALERTS_RETRY_DELAYS = [5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200]
    # The worker (flask alerts worker): sending threads, how often an idle one
    # looks for due deliveries, how long a claim holds (longer than any
    # attempt), how often silence rules are checked and progress is logged.
    ALERTS_WORKER_THREADS = 4
    ALERTS_WORKER_POLL_SECONDS = 0.2
    ALERTS_DELIVERY_LEASE_SECONDS = 60
    ALERTS_SILENCE_CHECK_SECONDS = 15
    ALERTS_WORKER_REPORT_SECONDS = 60

    # Email (MYAPP_SMTP_URL): unset sends none. smtp://[user:pass@]host[:port]
    # (STARTTLS when the server offers it) or smtps:// (TLS from the start);
    # MAIL_FROM and PUBLIC_URL (links in emails) are then required. APP_NAME
    # starts every subject; SMTP_TIMEOUT bounds one conversation (seconds);
    # SMTP_CA_FILE replaces the system's CA bundle for the server's certificate.
    SMTP_URL = None
    MAIL_FROM = None
    PUBLIC_URL = None
    APP_NAME = "myapp"
    SMTP_TIMEOUT = 10
    SMTP_CA_FILE = None
    # Alert emails per user and local day (the user's time_zone); past it a
    # delivery is recorded as "daily email limit" and not sent.
    ALERT_EMAILS_PER_DAY = 50
    # POST /users/me/verify-email: messages a user may ask for again.
    VERIFY_EMAIL_RATE_LIMIT = "5 per hour"

    # GET /metrics answers only these addresses or networks (comma-separated;
    # MYAPP_METRICS_ALLOW), anyone else a 403. The alerts worker serves its own
    # metrics on ALERTS_WORKER_METRICS_ADDR:PORT when the port is set.
    METRICS_ALLOW = "127.0.0.0/8,::1/128"
    ALERTS_WORKER_METRICS_PORT = None
    ALERTS_WORKER_METRICS_ADDR = "127.0.0.1"

    # flask-restx
    RESTX_MASK_SWAGGER = False
    RESTX_ERROR_404_HELP = False
    SWAGGER_UI_DOC_EXPANSION = "list"


class DevelopmentConfig(Config):
    DEBUG = False


class TestingConfig(Config):
    TESTING = True
    # Argon2's minimum cost keeps the suite fast; production never uses this.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8
    # High enough for the suites (the contract fuzzer registers many users).
    LOGIN_RATE_LIMIT = "1000 per minute"
    REGISTER_RATE_LIMIT = "10000 per minute"
    PASSWORD_CHECK_RATE_LIMIT = "1000 per minute"
    # Throwaway databases: durability across power loss does not matter.
    SQLITE_SYNCHRONOUS = "NORMAL"


class ProductionConfig(Config):
    SECRET_KEY = None
    CORS_ORIGINS = ""
    PROXY_FIX_X_FOR = 1


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
