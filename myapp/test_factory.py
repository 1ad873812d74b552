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
