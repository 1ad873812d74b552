"""uWSGI's harakiri, armed by the app: a hung request is killed, a long stream is not.

uWSGI's own `harakiri` option times the whole request, so it cut every export
longer than it off mid-file. The app arms uWSGI's per-worker user harakiri
instead: every request starts with HARAKIRI seconds, and a stream re-arms it
each time it produces a chunk, so only a stream that stops making progress for
HARAKIRI seconds is killed. Outside uWSGI (tests, `flask run`) nothing happens.
"""

try:
    import uwsgi
except ImportError:  # not running under uWSGI
    uwsgi = None


def init_app(app):
    seconds = app.config["HARAKIRI"]
    if uwsgi is not None and seconds:
        app.before_request(lambda: uwsgi.set_user_harakiri(seconds))


def rearming(chunks, seconds):
    """Yield every chunk, giving the request `seconds` more before each."""
    for chunk in chunks:
        if uwsgi is not None and seconds:
            uwsgi.set_user_harakiri(seconds)
        yield chunk
