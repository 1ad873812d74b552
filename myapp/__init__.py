"""Application factory."""

import os

from flask import Flask
from flask.sessions import SessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from default_config import CONFIGS
from myapp import alerts, api, auth, cli, committed
from myapp import config as config_checks
from myapp import (
    cors,
    db,
    devices,
    errors,
    goals,
    jsonio,
    limiter,
    live,
    metrics,
    primary,
    readings,
    roundtrips,
    users,
    watchdog,
    web,
)

# Each hands the core its loaders and connects to the signals it hears.
FEATURES = (users, readings, devices, goals, alerts, live)


def create_app(test_config=None):
    """Build the app: config, extensions, API, error handlers and CLI."""
    app = Flask(__name__, instance_relative_config=True)
    app.session_interface = NoCookieSessions()
    load_config(app, test_config)
    config_checks.finalize(app)
    metrics.init_app(app)  # first: its before_request runs before any other's
    jsonio.init_app(app)
    db.init_app(app)
    committed.init_app(app)
    roundtrips.init_app(app)
    limiter.init_app(app)
    auth.init_app(app)
    for feature in FEATURES:
        feature.init_app(app)
    cors.init_app(app)
    errors.init_app(app)
    api.init_app(app)
    app.register_blueprint(web.blueprint)
    cli.init_app(app)
    watchdog.init_app(app)
    primary.init_app(app)

    if app.config["PROXY_FIX_X_FOR"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"])
    return app


def load_config(app, test_config):
    """Defaults, then the environment's class, instance/config.py, env, tests."""
    name = (test_config or {}).get("ENV_NAME") or os.environ.get(
        "MYAPP_CONFIG", "development"
    )
    if name not in CONFIGS:
        raise RuntimeError(
            f"MYAPP_CONFIG={name!r} is not one of {', '.join(sorted(CONFIGS))}"
        )
    app.config["ENV_NAME"] = name
    app.config.from_object(CONFIGS[name])
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("MYAPP")
    config_checks.apply_environment(app.config, os.environ)
    if test_config:
        app.config.update(test_config)


class NoCookieSessions(SessionInterface):
    """Bearer tokens authenticate every request, so Flask's cookie session is off.

    Flask then hands out a NullSession, which refuses writes, instead of building
    a signing serializer on every request to read a cookie nobody sends.
    """

    def open_session(self, app, request):
        return None

    def save_session(self, app, session, response):
        """Nothing to save: the session is always Flask's NullSession."""
