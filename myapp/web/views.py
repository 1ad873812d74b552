"""GET /app/ (the page) and /app/assets/<hashed name> (its immutable files)."""

import os

from flask import Blueprint, Response, current_app, redirect, request, url_for

from myapp.errors import not_found
from myapp.web import assets

HERE = os.path.dirname(os.path.abspath(__file__))
STATIC_DIR = os.path.join(HERE, "static")
TEMPLATE_DIR = os.path.join(HERE, "templates")

# Only files from this origin; no inline script or style; no framing, no plugins;
# Trusted Types: no page script may turn strings into HTML or script.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
ASSET_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "same-origin",
}

blueprint = Blueprint("web", __name__, url_prefix="/app")


@blueprint.record_once
def build_manifest(state):
    """Hash the files once, when the app is made; a bad client fails start-up."""
    state.app.extensions["web"] = assets.build(STATIC_DIR, TEMPLATE_DIR)


def manifest():
    return current_app.extensions["web"]


@blueprint.get("", strict_slashes=True)
def app_without_slash():
    """The page's relative URLs need the trailing slash."""
    return redirect(url_for("web.page"), 308)


@blueprint.get("/")
def page():
    """The single page; revalidated every time so a deploy's new names reach users."""
    found = manifest()
    response = Response(found.index, mimetype="text/html", headers=PAGE_HEADERS)
    response.set_etag(found.index_etag)
    return response.make_conditional(request)


@blueprint.get("/assets/<path:name>")
def asset(name):
    """A file by its hashed name: the same bytes forever, cached for a year."""
    found = manifest().files.get(name)
    if found is None:
        raise not_found("file")
    response = Response(found.body, content_type=found.content_type)
    response.headers.update(ASSET_HEADERS)
    if found.gzipped is not None:
        # Caches keep both forms apart; uWSGI alone then sends a quarter of the bytes.
        response.vary.add("Accept-Encoding")
        if request.accept_encodings["gzip"]:
            response.set_data(found.gzipped)
            response.headers["Content-Encoding"] = "gzip"
    return response
