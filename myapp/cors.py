"""CORS for browser frontends: exactly the configured origins.

Only requests with an Origin header are CORS requests (browsers always send it
on cross-origin calls and preflights). Flask-CORS is told so (always_send off),
and its after_request hook is skipped for the rest, the phones and scripts that
make most calls, where it cost about 35 us a request to add nothing.
"""

import functools

from flask import request
from flask_cors import CORS

EXPOSED_HEADERS = [
    "Location",
    "Retry-After",
    "WWW-Authenticate",
    "Content-Disposition",
    "X-Total-Count",
]


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
        always_send=False,
    )
    hooks = app.after_request_funcs[None]
    # StopIteration here means Flask-CORS renamed its hook: fail at start-up.
    index = next(i for i, f in enumerate(hooks) if _name(f) == "cors_after_request")
    hooks[index] = _only_with_origin(hooks[index])


def _name(function):
    return getattr(function, "__name__", None)


def _only_with_origin(after_request):
    @functools.wraps(after_request)
    def hook(response):
        if "Origin" not in request.headers:
            return response
        return after_request(response)

    return hook
