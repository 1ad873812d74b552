"""uWSGI with MYAPP_CONFIG=production refuses unsafe settings and says why."""

import os
import subprocess
import sys
import time

import pytest

from conftest import ROOT, LiveServer, free_port
from myapp.e2e.conftest import OUTPUT

STRONG_SECRET = "a-production-secret-that-is-long-enough-0123456789"


def serve_production(tmp_path, **env_overrides):
    """Run uWSGI in production mode; (exit code or None if still serving, log)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MYAPP_") and k not in ("SECRET_KEY", "CORS_ORIGINS")
    }
    port = free_port()
    env.update(
        {
            "MYAPP_CONFIG": "production",
            "DATABASE_URL": "sqlite:///" + str(tmp_path / "prod.sqlite"),
            "MYAPP_HTTP": f"127.0.0.1:{port}",
            "MYAPP_PROCESSES": "1",
            "MYAPP_THREADS": "1",
        }
    )
    env.update(env_overrides)
    os.makedirs(OUTPUT, exist_ok=True)
    log_path = os.path.join(OUTPUT, f"uwsgi-production-{port}.log")
    uwsgi = os.path.join(os.path.dirname(sys.executable), "uwsgi")
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [uwsgi, "--ini", os.path.join(ROOT, "myapp.ini")],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        code = wait_for_exit_or_service(process, port)
        if code is None:
            process.terminate()
            process.wait(timeout=15)
    with open(log_path) as log:
        return code, log.read()


def wait_for_exit_or_service(process, port, timeout=30):
    """The exit code, or None once the server answers /api/v1/health."""
    server = LiveServer(port, process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return process.returncode
        try:
            if server.request("GET", "/api/v1/health").status == 200:
                return None
        except OSError:
            time.sleep(0.2)
    raise AssertionError("uWSGI neither exited nor served within 30 s")


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
