"""Content-hashed names for the client's files, computed once at start-up.

No build step: the app reads myapp/web/static/ when it starts, names each file
after a hash of its content and renders index.html from that manifest. A
module's hash covers its text after its own imports were renamed, so a change
renames the changed file and every module that imports it, and nothing else.
"""

import gzip
import hashlib
import os
import posixpath
import re
from dataclasses import dataclass

import jinja2

URL_PREFIX = "/app/assets/"
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
# Static module specifiers: import ... from "./x.js", import "./x.js", export ... from.
RELATIVE_IMPORT = re.compile(r"""(\b(?:from|import)\s*)(["'])(\.\.?/[^"']+)\2""")
HASH_LENGTH = 16
# Text compresses to a quarter or less; SVG too. Compressed once, here, at start.
COMPRESSIBLE = {".js", ".css", ".svg", ".txt"}


@dataclass(frozen=True)
class Asset:
    """One servable file: its hashed name, final bytes, content type and gzip form."""

    name: str
    body: bytes
    content_type: str
    gzipped: bytes = None


@dataclass(frozen=True)
class Manifest:
    """Logical name -> hashed name, the files by hashed name, and the index page."""

    names: dict
    files: dict
    index: bytes
    index_etag: str


def build(static_dir, template_dir):
    """Hash every servable file under static_dir and render index.html."""
    sources = _read_sources(static_dir)
    names, files = {}, {}
    for logical in sorted(sources):
        _hash_file(logical, sources, names, files, visiting=())
    html = _render_index(template_dir, names).encode()
    return Manifest(names, files, html, hashlib.sha256(html).hexdigest()[:32])


def _read_sources(static_dir):
    sources = {}
    for folder, _, filenames in os.walk(static_dir):
        for filename in filenames:
            if os.path.splitext(filename)[1] not in CONTENT_TYPES:
                continue
            path = os.path.join(folder, filename)
            logical = os.path.relpath(path, static_dir).replace(os.sep, "/")
            with open(path, "rb") as handle:
                sources[logical] = handle.read()
    return sources


def _hash_file(logical, sources, names, files, visiting):
    """The hashed name of logical, hashing the modules it imports first."""
    if logical in names:
        return names[logical]
    if logical in visiting:
        cycle = " -> ".join(visiting + (logical,))
        raise RuntimeError(f"import cycle in the web client: {cycle}")
    if logical not in sources:
        raise RuntimeError(f"the web client imports a missing file: {logical}")
    body = sources[logical]
    if logical.endswith(".js"):
        body = _rename_imports(logical, sources, names, files, visiting)
    stem, ext = os.path.splitext(logical)
    digest = hashlib.sha256(body).hexdigest()[:HASH_LENGTH]
    hashed = f"{stem}.{digest}{ext}"
    names[logical] = hashed
    files[hashed] = Asset(hashed, body, CONTENT_TYPES[ext], _gzipped(ext, body))
    return hashed


def _gzipped(ext, body):
    """The gzip form of a text file (no timestamp, so it is the same on every host)."""
    if ext not in COMPRESSIBLE:
        return None
    packed = gzip.compress(body, compresslevel=9, mtime=0)
    return packed if len(packed) < len(body) else None


def _rename_imports(logical, sources, names, files, visiting):
    folder = posixpath.dirname(logical)

    def rename(match):
        prefix, quote, specifier = match.groups()
        target = posixpath.normpath(posixpath.join(folder, specifier))
        hashed = _hash_file(target, sources, names, files, visiting + (logical,))
        return f"{prefix}{quote}{URL_PREFIX}{hashed}{quote}"

    return RELATIVE_IMPORT.sub(rename, sources[logical].decode()).encode()


def _render_index(template_dir, names):
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dir),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )

    def asset(logical):
        return URL_PREFIX + names[logical]

    # Every module up front: the browser need not discover imports level by level.
    modules = [asset(name) for name in sorted(names) if name.startswith("js/")]
    return environment.get_template("index.html").render(asset=asset, modules=modules)
