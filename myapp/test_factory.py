"""The factory: config layering and refusing unsafe production settings."""

import pytest

from default_config import DEV_SECRET_KEY
from myapp import create_app
from myapp.config import UnsafeConfigError

STRONG = "s" * 40


def production(**overrides):
    config = {"ENV_NAME": "production", "SECRET_KEY": STRONG, "CORS_ORIGINS": ""}
    config.update(overrides)
    return create_app(config)


def test_testing_config_is_applied():
    app = create_app({"ENV_NAME": "testing"})
    assert app.testing
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024


def test_unknown_config_name_is_refused(monkeypatch):
    monkeypatch.setenv("MYAPP_CONFIG", "staging")
    with pytest.raises(RuntimeError, match="MYAPP_CONFIG"):
        create_app()


def test_environment_sets_any_config_key_with_the_myapp_prefix(monkeypatch):
    monkeypatch.setenv("MYAPP_PAGE_LIMIT_DEFAULT", "25")
    monkeypatch.setenv("MYAPP_JWT_ACCESS_TOKEN_EXPIRES", "60")
    app = create_app({"ENV_NAME": "testing"})
    assert app.config["PAGE_LIMIT_DEFAULT"] == 25
    assert app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds() == 60


def test_database_url_postgres_scheme_uses_psycopg(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@127.0.0.1/db")
    app = create_app({"ENV_NAME": "testing"})
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_default_database_is_sqlite_in_instance_folder(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"ENV_NAME": "development"})
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.instance_path in app.config["SQLALCHEMY_DATABASE_URI"]


def test_production_starts_with_safe_settings():
    assert production().config["ENV_NAME"] == "production"


@pytest.mark.parametrize(
    "overrides, reason",
    [
        ({"SECRET_KEY": None}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": DEV_SECRET_KEY}, "development default"),
        ({"SECRET_KEY": "short-secret"}, "shorter than 32 bytes"),
        ({"DEBUG": True}, "DEBUG is on"),
        ({"CORS_ORIGINS": "*"}, "allows every origin"),
        ({"CORS_ORIGINS": "https://a.example, *"}, "allows every origin"),
        ({"ARGON2_MEMORY_COST": 1024}, "19 MiB"),
        ({"ARGON2_TIME_COST": 1}, "minimum of 2"),
    ],
)
def test_production_refuses_unsafe_setting(overrides, reason):
    with pytest.raises(UnsafeConfigError, match=reason):
        production(**overrides)


def test_production_reads_secret_from_environment(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 8)
    with pytest.raises(UnsafeConfigError, match="shorter"):
        create_app({"ENV_NAME": "production", "CORS_ORIGINS": ""})


def test_the_api_has_no_cookie_session_to_write_to():
    from flask import session

    app = create_app({"ENV_NAME": "testing"})
    with app.test_request_context("/api/v1/health"):
        with pytest.raises(RuntimeError, match="session is unavailable"):
            session["user_id"] = 1
    assert "Set-Cookie" not in app.test_client().get("/api/v1/health").headers


def _pragma_synchronous(app):
    from myapp.db import db

    with app.app_context():
        with db.engine.connect() as conn:
            level = conn.exec_driver_sql("PRAGMA synchronous").scalar()
        db.engine.dispose()
    return level


def test_production_on_sqlite_syncs_every_commit(tmp_path):
    """Readings answered 201 must survive a power loss: synchronous=FULL (2)."""
    url = f"sqlite:///{tmp_path / 'durable.sqlite'}"
    assert _pragma_synchronous(production(SQLALCHEMY_DATABASE_URI=url)) == 2
    testing = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    assert _pragma_synchronous(testing) == 1


def _failing_statement_text(app, secret):
    import sqlalchemy as sa

    from myapp.db import db

    with app.app_context():
        with pytest.raises(sa.exc.DBAPIError) as failure:
            with db.engine.connect() as conn:
                query = sa.text("SELECT * FROM nowhere WHERE x = :e")
                conn.execute(query, {"e": secret})
        db.engine.dispose()
    return str(failure.value)


def test_production_logs_no_sql_parameters_of_a_failing_statement(tmp_path):
    """Emails, hashes and token ids must not reach the log with a traceback."""
    url = f"sqlite:///{tmp_path / 'quiet.sqlite'}"
    secret = "mallory@example.com"
    hidden = _failing_statement_text(production(SQLALCHEMY_DATABASE_URI=url), secret)
    assert secret not in hidden and "hidden" in hidden
    testing = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    assert secret in _failing_statement_text(testing, secret)
