"""WSGI entry point for uWSGI: module = wsgi:app."""

from myapp import create_app

app = create_app()
