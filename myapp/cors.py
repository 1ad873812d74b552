"""CORS for browser frontends: exactly the configured origins."""

from flask_cors import CORS

EXPOSED_HEADERS = ["Location", "Retry-After", "WWW-Authenticate", "Content-Disposition"]


def init_app(app):
    origins = app.config["CORS_ORIGIN_LIST"]
    if not origins:
        return
    CORS(
        app,
        origins="*" if "*" in origins else origins,
        allow_headers=["Authorization", "Content-Type"],
        expose_headers=EXPOSED_HEADERS,
        methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
        max_age=600,
    )
