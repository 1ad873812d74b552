"""Flask-Limiter, shared; storage is in-process unless REDIS_URL is set."""

from flask import request
from flask_limiter import Limiter


def client_address():
    """The client's address (ProxyFix makes it the real one behind nginx)."""
    return request.remote_addr or "unknown"


limiter = Limiter(key_func=client_address, default_limits=[])


def init_app(app):
    limiter.init_app(app)
