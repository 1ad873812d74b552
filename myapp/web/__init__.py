"""The web client for people: static files at /app/, hashed names, strict CSP."""

from myapp.web.views import blueprint

__all__ = ["blueprint"]
