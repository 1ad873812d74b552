"""The web client's server side: redirect, cache headers, hashed names, CSP."""

import gzip
import hashlib
import re

import pytest

from myapp.web import assets

ASSET_URL = re.compile(r'(?:src|href)="(/app/assets/[^"]+)"')
HASHED = re.compile(r"\.([0-9a-f]{16})\.[a-z]+$")


@pytest.fixture
def page(client):
    return client.get("/app/")


def test_app_without_a_slash_is_a_permanent_redirect_to_app_slash(client):
    response = client.get("/app")
    assert response.status_code == 308
    assert response.headers["Location"] == "/app/"


def test_the_page_is_html_revalidated_on_every_load(page, client):
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert page.headers["Cache-Control"] == "no-cache"
    again = client.get("/app/", headers={"If-None-Match": page.headers["ETag"]})
    assert again.status_code == 304


# Every directive the page's policy must have, and nothing else: a weakened
# source list, a dropped directive or an added one fails the comparison.
EXPECTED_POLICY = {
    "default-src": ["'none'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'"],
    "connect-src": ["'self'"],
    "base-uri": ["'none'"],
    "form-action": ["'none'"],
    "frame-ancestors": ["'none'"],
    "object-src": ["'none'"],
    "require-trusted-types-for": ["'script'"],
    "trusted-types": ["'none'"],
}


def parse_policy(header):
    """Directive name -> its source list; a repeated directive is a failure."""
    policy = {}
    for directive in header.split(";"):
        name, *sources = directive.split()
        assert name not in policy, f"{name} appears twice"
        policy[name] = sources
    return policy


def test_the_page_sends_exactly_the_expected_content_security_policy(page):
    policy = parse_policy(page.headers["Content-Security-Policy"])
    assert policy == EXPECTED_POLICY
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"


def test_the_page_has_no_inline_script_or_style(page):
    html = page.get_data(as_text=True)
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))
    assert re.search(r"<style|\sstyle=|\son[a-z]+=", html) is None


def test_every_asset_the_page_names_is_hashed_and_cached_for_a_year(page, client):
    urls = ASSET_URL.findall(page.get_data(as_text=True))
    assert any(url.endswith(".js") for url in urls)
    assert any(url.endswith(".css") for url in urls)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data()
        assert HASHED.search(url).group(1) == hashlib.sha256(body).hexdigest()[:16]
        assert (
            response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        )
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_modules_import_each_other_by_hashed_name(app, client):
    manifest = app.extensions["web"]
    modules = [f for f in manifest.files.values() if f.name.startswith("js/")]
    assert len(modules) > 5
    for module in modules:
        text = module.body.decode()
        assert module.content_type == "text/javascript; charset=utf-8"
        for specifier in re.findall(r"""\b(?:from|import)\s*["']([^"']+)["']""", text):
            assert HASHED.search(specifier), (module.name, specifier)
            assert client.get(specifier).status_code == 200
        assert ".innerHTML" not in text, "the page enforces Trusted Types"


@pytest.mark.parametrize(
    "path",
    [
        "/app/assets/js/app.js",
        "/app/assets/js/app.0000000000000000.js",
        "/app/assets/nothing.css",
        "/app/assets/",
    ],
)
def test_an_unknown_asset_is_a_problem_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 404


def write(folder, files):
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def site(tmp_path):
    static, templates = tmp_path / "static", tmp_path / "templates"
    write(templates, {"index.html": "{{ asset('js/a.js') }} {{ modules|join(',') }}"})
    write(
        static,
        {
            "js/a.js": 'import { b } from "./lib/b.js";\n',
            "js/lib/b.js": 'export const b = 1;\nimport "../c.js";\n',
            "js/c.js": "export const c = 1;\n",
            "js/d.js": "export const d = 1;\n",
            "notes.md": "not served",
        },
    )
    return static, templates


def test_a_change_renames_the_file_and_its_importers_only(site):
    static, templates = site
    before = assets.build(static, templates).names
    (static / "js/c.js").write_text("export const c = 2;\n")
    after = assets.build(static, templates).names
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"js/c.js", "js/lib/b.js", "js/a.js"}
    assert "notes.md" not in after


def test_the_index_is_rendered_from_the_manifest(site):
    static, templates = site
    manifest = assets.build(static, templates)
    a = manifest.names["js/a.js"]
    assert manifest.index.decode().startswith(f"/app/assets/{a} ")
    assert (
        manifest.files[a]
        .body.decode()
        .startswith(
            f'import {{ b }} from "/app/assets/{manifest.names["js/lib/b.js"]}"'
        )
    )


def test_an_import_cycle_or_a_missing_module_fails_at_start_up(site):
    static, templates = site
    (static / "js/c.js").write_text('import "./a.js";\n')
    with pytest.raises(RuntimeError, match="import cycle"):
        assets.build(static, templates)
    (static / "js/c.js").write_text('import "./gone.js";\n')
    with pytest.raises(RuntimeError, match="missing file: js/gone.js"):
        assets.build(static, templates)


def test_text_assets_go_out_gzipped_when_asked_with_vary(page, client):
    urls = ASSET_URL.findall(page.get_data(as_text=True))
    plain_bytes = packed_bytes = 0
    for url in urls:
        plain = client.get(url)
        packed = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert plain.headers.get("Content-Encoding") is None, url
        assert packed.headers["Content-Encoding"] == "gzip", url
        assert "Accept-Encoding" in plain.headers["Vary"], url
        assert "Accept-Encoding" in packed.headers["Vary"], url
        assert gzip.decompress(packed.get_data()) == plain.get_data(), url
        assert packed.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        plain_bytes += len(plain.get_data())
        packed_bytes += len(packed.get_data())
    assert packed_bytes < plain_bytes / 2


def test_an_encoding_refused_with_q0_gets_the_plain_file(page, client):
    urls = ASSET_URL.findall(page.get_data(as_text=True))
    style = next(url for url in urls if url.endswith(".css"))
    refused = client.get(style, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert refused.headers.get("Content-Encoding") is None
