"""uWSGI with MYAPP_CONFIG=production refuses unsafe settings and says why."""

import os

import pytest

from testing.servers import Uwsgi, wait_until

STRONG_SECRET = "a-production-secret-that-is-long-enough-0123456789"


def serve_production(tmp_path, **env_overrides):
    """Run uWSGI in production mode; (exit code or None if it serves, log)."""
    env = {
        k: None
        for k in os.environ
        if k.startswith("MYAPP_") or k in ("SECRET_KEY", "CORS_ORIGINS")
    }
    env["MYAPP_CONFIG"] = "production"
    env["DATABASE_URL"] = "sqlite:///" + str(tmp_path / "prod.sqlite")
    env.update(env_overrides)
    server = Uwsgi(env, processes=1, threads=1, name="uwsgi-production")
    code = wait_for_exit_or_service(server)
    if code is None:
        server.stop()
    with open(server.log_path) as log:
        return code, log.read()


def wait_for_exit_or_service(server, timeout=30):
    """The exit code, or None once the server answers /api/v1/health."""

    def settled():
        if server.process.poll() is not None:
            return ("exited", server.process.returncode)
        try:
            served = server.request("GET", "/api/v1/health").status == 200
        except OSError:
            return None
        return ("serving", None) if served else None

    try:
        return wait_until(settled, timeout, what="uWSGI exited or served")[1]
    except AssertionError:
        server.stop()
        raise


@pytest.mark.parametrize(
    "env, reason",
    [
        ({}, "SECRET_KEY is not set"),
        (
            {"SECRET_KEY": "dev-only-secret-key-do-not-use-in-production"},
            "SECRET_KEY is the development default",
        ),
        ({"SECRET_KEY": "short"}, "SECRET_KEY is shorter than 32 bytes"),
        ({"SECRET_KEY": STRONG_SECRET, "MYAPP_DEBUG": "true"}, "DEBUG is on"),
        (
            {"SECRET_KEY": STRONG_SECRET, "CORS_ORIGINS": "*"},
            "CORS_ORIGINS='*' allows every origin",
        ),
        (
            {"SECRET_KEY": STRONG_SECRET, "CORS_ORIGINS": "https://a.example,*"},
            "CORS_ORIGINS='*' allows every origin",
        ),
    ],
    ids=["no secret", "default secret", "short secret", "debug", "any origin", "star"],
)
def test_production_refuses_to_start_with_unsafe_config_and_says_why(
    tmp_path, env, reason
):
    code, log = serve_production(tmp_path, **env)
    assert code not in (None, 0), "uWSGI kept serving an unsafe production config"
    assert f"Refusing to start in production: {reason}" in log


def test_production_starts_with_a_strong_secret_and_named_origins(tmp_path):
    """The control case: the refusals above are about the config, not the mode."""
    code, log = serve_production(
        tmp_path, SECRET_KEY=STRONG_SECRET, CORS_ORIGINS="https://app.example"
    )
    assert code is None, log
    assert "Refusing" not in log
