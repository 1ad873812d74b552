"""Reads the contract's environment variables and refuses unsafe production setups."""

import os
from datetime import timedelta

from default_config import DEV_SECRET_KEY

MIN_SECRET_BYTES = 32
OWASP_MIN_ARGON2_MEMORY_KIB = 19456
OWASP_MIN_ARGON2_TIME_COST = 2


class UnsafeConfigError(RuntimeError):
    """Production configuration that must not serve traffic."""


class IncompleteConfigError(RuntimeError):
    """Configuration that cannot work in any environment (email half set up)."""


def apply_environment(config, environ):
    """Map DATABASE_URL, SECRET_KEY, CORS_ORIGINS and REDIS_URL onto config keys."""
    if environ.get("DATABASE_URL"):
        config["SQLALCHEMY_DATABASE_URI"] = environ["DATABASE_URL"]
    if "SECRET_KEY" in environ:
        config["SECRET_KEY"] = environ["SECRET_KEY"]
    if "CORS_ORIGINS" in environ:
        config["CORS_ORIGINS"] = environ["CORS_ORIGINS"]
    if environ.get("REDIS_URL"):
        config["REDIS_URL"] = environ["REDIS_URL"]


def finalize(app):
    """Derive dependent settings and validate them."""
    config = app.config
    uri = config.get("SQLALCHEMY_DATABASE_URI")
    if not uri:
        os.makedirs(app.instance_path, exist_ok=True)
        uri = "sqlite:///" + os.path.join(app.instance_path, "myapp.sqlite")
    config["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(uri)
    config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(config)
    if config.get("REDIS_URL"):
        config["RATELIMIT_STORAGE_URI"] = config["REDIS_URL"]
    for key in ("JWT_ACCESS_TOKEN_EXPIRES", "JWT_REFRESH_TOKEN_EXPIRES"):
        if isinstance(config[key], (int, float)):
            config[key] = timedelta(seconds=config[key])
    config["JWT_SECRET_KEY"] = config.get("SECRET_KEY")
    config["CORS_ORIGIN_LIST"] = parse_origins(config.get("CORS_ORIGINS"))
    problem = mail_problem(config)
    if problem:
        raise IncompleteConfigError(f"Refusing to start: {problem}")
    if config["ENV_NAME"] == "production":
        problem = production_problem(config)
        if problem:
            raise UnsafeConfigError(f"Refusing to start in production: {problem}")


def normalize_database_url(uri):
    """Use psycopg 3 for PostgreSQL URLs given in the common short forms."""
    for prefix in ("postgres://", "postgresql://"):
        if uri.startswith(prefix):
            return "postgresql+psycopg://" + uri[len(prefix) :]
    return uri


def engine_options(config):
    """Engine options: bounded connect and statement time on PostgreSQL, and no
    SQL parameters (emails, hashes, token ids) in production's error logs."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.setdefault("hide_parameters", config["ENV_NAME"] == "production")
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A file connection never goes stale: skip the SELECT 1 on every checkout.
        options["pool_pre_ping"] = False
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("connect_timeout", config["DATABASE_CONNECT_TIMEOUT"])
        milliseconds = int(config["DATABASE_STATEMENT_TIMEOUT"] * 1000)
        connect_args.setdefault("options", f"-c statement_timeout={milliseconds}")
        connect_args.update(dead_connection_args(config["DATABASE_DEAD_AFTER"]))
        options["connect_args"] = connect_args
    return options


def dead_connection_args(seconds):
    """libpq settings that notice a vanished server within about `seconds`.

    tcp_user_timeout bounds a request or commit the server never acknowledges;
    keepalive probes, one a second after a second of silence, bound a wait for
    an answer that never comes (a primary cut off mid-query). The failure is a
    disconnect, so the pool is emptied, and a multi-host URL's next connection
    finds the new primary.
    """
    probes = max(1, int(seconds) - 1)
    return {
        "keepalives": 1,
        "keepalives_idle": 1,
        "keepalives_interval": 1,
        "keepalives_count": probes,
        "tcp_user_timeout": int(seconds * 1000),
    }


def parse_origins(value):
    """'*' means any origin; otherwise a comma-separated list of exact origins."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [origin.strip() for origin in value.split(",") if origin.strip()]


def production_problem(config):
    """The first reason this config is unsafe for production, or None."""
    secret = config.get("SECRET_KEY")
    if not secret:
        return "SECRET_KEY is not set"
    if secret == DEV_SECRET_KEY:
        return "SECRET_KEY is the development default"
    if len(secret.encode()) < MIN_SECRET_BYTES:
        return f"SECRET_KEY is shorter than {MIN_SECRET_BYTES} bytes"
    if config.get("DEBUG"):
        return "DEBUG is on"
    if "*" in config["CORS_ORIGIN_LIST"]:
        return "CORS_ORIGINS='*' allows every origin"
    if config["ARGON2_MEMORY_COST"] < OWASP_MIN_ARGON2_MEMORY_KIB:
        return "ARGON2_MEMORY_COST is below OWASP's 19 MiB minimum"
    if config["ARGON2_TIME_COST"] < OWASP_MIN_ARGON2_TIME_COST:
        return "ARGON2_TIME_COST is below OWASP's minimum of 2"
    return None


def mail_problem(config):
    """Why the email settings cannot work, or None (no SMTP_URL: no email)."""
    from myapp.mail import parse_smtp_url

    if not config.get("SMTP_URL"):
        return None
    try:
        parse_smtp_url(config["SMTP_URL"])
    except ValueError as error:
        return f"MYAPP_SMTP_URL {error}"
    for key in ("MAIL_FROM", "PUBLIC_URL"):
        if not config.get(key):
            return f"MYAPP_{key} is required with MYAPP_SMTP_URL"
    if not str(config["PUBLIC_URL"]).startswith(("https://", "http://")):
        return "MYAPP_PUBLIC_URL must start with https:// (or http://)"
    config["PUBLIC_URL"] = str(config["PUBLIC_URL"]).rstrip("/")
    return None
