"""Swagger UI and CORS in a real browser: Debian's chromium driven by Playwright.

No browser is ever downloaded: Playwright drives /usr/bin/chromium (CI installs
the chromium package; a missing binary fails the run).
"""

import functools
import json
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from testing.accounts import PASSWORD, register_over_http
from testing.http import Http
from testing.browser import TIMEOUT_MS
from testing.servers import OUTPUT

# A frontend on another origin: log in, create a goal, list goals, with fetch.
FRONTEND = """<!doctype html>
<title>frontend</title>
<script>
async function runFlow(api, username, password) {
  const out = {};
  try {
    let r = await fetch(api + "/api/v1/auth/login", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({username, password}),
    });
    out.login = r.status;
    const tokens = await r.json();
    const headers = {
      "Authorization": "Bearer " + tokens.access_token,
      "Content-Type": "application/json",
    };
    r = await fetch(api + "/api/v1/goals/", {
      method: "POST", headers, body: JSON.stringify({name: "from the browser"}),
    });
    out.create = r.status;
    out.location = r.headers.get("Location");
    r = await fetch(api + "/api/v1/goals/", {headers});
    out.list = r.status;
    out.names = (await r.json()).items.map((goal) => goal.name);
  } catch (error) {
    out.error = String(error);
  }
  return out;
}
</script>
"""


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


def operation(page, operation_id, tag):
    """Open an operation in Swagger UI and press Try it out."""
    block = page.locator(f"#operations-{tag}-{operation_id}")
    block.locator(".opblock-summary").first.click()
    block.locator("button.try-out__btn").click()
    return block


def execute(block, body=None):
    """Send the operation from Swagger UI; (status, response body text)."""
    if body is not None:
        block.locator("textarea.body-param__text").fill(json.dumps(body))
    block.locator("button.execute").click()
    status = block.locator(".live-responses-table .response .response-col_status")
    status.first.wait_for()
    text = block.locator(".live-responses-table .response-col_description pre")
    return int(status.first.inner_text().strip()), text.first.inner_text()


def test_swagger_ui_registers_logs_in_authorizes_and_uses_readings(page, live_server):
    page.goto(f"http://127.0.0.1:{live_server.port}/docs")
    page.locator(".opblock").first.wait_for()

    register = operation(page, "register", "auth")
    account = {"username": "swaggerui", "email": "ui@example.com"}
    status, _ = execute(register, dict(account, password=PASSWORD))
    assert status == 201

    login = operation(page, "login", "auth")
    status, text = execute(login, {"username": "swaggerui", "password": PASSWORD})
    assert status == 200
    token = json.loads(text)["access_token"]

    page.locator("button.authorize").first.click()
    page.locator(".modal-ux input[type=text]").fill(f"Bearer {token}")
    page.locator(".modal-ux button.authorize").click()
    page.locator(".modal-ux button.btn-done").click()

    create = operation(page, "createReading", "readings")
    reading = {"sensor": "swagger/ui", "data": {"celsius": 20.5}}
    status, text = execute(create, reading)
    assert status == 201, text
    created = json.loads(text)

    listing = operation(page, "listReadings", "readings")
    status, text = execute(listing)
    assert status == 200
    assert [r["id"] for r in json.loads(text)["items"]] == [created["id"]]
    listing.scroll_into_view_if_needed()
    os.makedirs(OUTPUT, exist_ok=True)
    page.screenshot(path=os.path.join(OUTPUT, "swagger-ui.png"), full_page=False)


class StaticSite:
    """The frontend page, served by http.server from its own loopback port."""

    def __init__(self, directory):
        with open(os.path.join(directory, "index.html"), "w") as handle:
            handle.write(FRONTEND)
        handler = functools.partial(QuietHandler, directory=str(directory))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def sites(tmp_path):
    """Two frontends: one origin the API allows, one it does not."""
    made = []
    for name in ("allowed", "other"):
        (tmp_path / name).mkdir()
        made.append(StaticSite(tmp_path / name))
    yield made
    for site in made:
        site.close()


def goal_names(in_app, user_id):
    from myapp.goals.models import Goal

    return in_app(lambda: [g.name for g in Goal.query.filter_by(user_id=user_id)])


def test_cors_lets_the_allowed_origin_use_the_api_and_the_browser_blocks_others(
    page, sites, uwsgi, in_app
):
    allowed, other = sites
    server = uwsgi({"CORS_ORIGINS": allowed.origin})
    api = f"http://127.0.0.1:{server.port}"
    user = register_over_http(Http(server))

    page.goto(allowed.origin + "/index.html")
    result = page.evaluate(
        "([api, u, p]) => runFlow(api, u, p)", [api, user.username, PASSWORD]
    )
    assert result == {
        "login": 200,
        "create": 201,
        "location": result["location"],
        "list": 200,
        "names": ["from the browser"],
    }, result
    assert result["location"].startswith("/api/v1/goals/")

    page.goto(other.origin + "/index.html")
    blocked = page.evaluate(
        "([api, u, p]) => runFlow(api, u, p)", [api, user.username, PASSWORD]
    )
    assert "Failed to fetch" in blocked.get("error", ""), blocked
    assert "login" not in blocked
    assert goal_names(in_app, user.id) == ["from the browser"]
