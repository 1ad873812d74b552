"""WSGI entry point for uWSGI: module = wsgi:app."""

from myapp import create_app, nodelay

app = create_app()
# Answers over 4 KiB through uWSGI's HTTP router without a delayed-ACK stall.
nodelay.set_on_inherited_listeners()
