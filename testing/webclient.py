"""A browser tab on the web client (/app/) for tests: JavaScript errors and
CSP violations recorded, axe-core checks, screenshots at desktop and phone
widths in test-output/web-<page>-<width>.png."""

import os

from testing.accounts import PASSWORD
from testing.browser import TIMEOUT_MS
from testing.servers import OUTPUT

AXE = os.path.join(
    os.path.dirname(os.path.dirname(__file__)),
    "myapp",
    "web",
    "testing",
    "axe",
    "axe.min.js",
)
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
REFRESH_KEY = "myapp.refresh_token"
# Table cells whose text is cut: wider than the cell, or outside the visible
# part of the table's scroll region ("10 m ag"). A visually hidden header row
# (a phone's stacked table) is skipped: its cells are read, not seen.
CLIPPED_CELLS = """() => [...document.querySelectorAll('main td, main th')]
  .filter(c => c.getClientRects().length)
  .filter(c => getComputedStyle(c.closest('thead') || c).position !== 'absolute')
  .filter(c => {
    const cell = c.getBoundingClientRect();
    const wrap = c.closest('.table-wrap') || document.documentElement;
    const box = wrap.getBoundingClientRect();
    return cell.left < box.left - 1 || cell.right > box.right + 1
      || c.scrollWidth > c.clientWidth + 1;
  })
  .map(c => c.innerText.trim().slice(0, 40))"""
# The settings the client is tried in: Berlin time, British English.
BERLIN = {"locale": "en-GB", "timezone_id": "Europe/Berlin"}


class WebClient:
    """One browser tab on /app/, recording every JavaScript error it shows."""

    def __init__(self, browser, server, **context_options):
        """context_options go to Playwright's new_context (locale, bypass_csp...)."""
        self.base = f"http://127.0.0.1:{server.port}"
        self.context = browser.new_context(
            viewport=DESKTOP, accept_downloads=True, **context_options
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.errors = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", self._console)

    def _console(self, message):
        # 4xx answers the test provokes are logged by the network layer, not by code.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.errors.append(message.text)

    def open(self, route=""):
        self.page.goto(f"{self.base}/app/{route}")
        self.page.locator("main h1").first.wait_for()

    def field(self, label):
        return self.page.get_by_label(label, exact=True)

    def sign_in(self, username, password=PASSWORD):
        self.open("#/signin")
        self.field("Username or email").fill(username)
        self.field("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.get_by_text(f"Signed in as {username}").wait_for()

    def sign_in_at(self, username, route, title):
        """Sign in, then open route and wait for its heading."""
        self.sign_in(username)
        self.go(route)
        self.heading(title)

    def go(self, route):
        """Navigate inside the app (no reload), as a link would."""
        self.page.evaluate("(route) => { location.hash = route; }", route)

    def heading(self, text):
        self.page.get_by_role("heading", level=1, name=text).wait_for()

    def check_page(self, name):
        """Screenshots at both widths, no sideways scrolling on a phone, axe clean."""
        os.makedirs(OUTPUT, exist_ok=True)
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            self.page.set_viewport_size(size)
            self.settle()
            width = self.page.evaluate(
                "() => document.documentElement.scrollWidth - innerWidth"
            )
            assert width <= 0, f"{name} scrolls sideways by {width}px at {label} width"
            clipped = self.page.evaluate(CLIPPED_CELLS)
            assert clipped == [], f"{name} cuts cells at {label} width: {clipped}"
            self.page.screenshot(
                path=os.path.join(OUTPUT, f"web-{name}-{label}.png"), full_page=True
            )
        self.page.set_viewport_size(DESKTOP)
        self.settle()
        shown = self.page.evaluate(
            "() => [...document.querySelectorAll('[hidden]')]"
            ".filter(e => e.getClientRects().length).map(e => e.outerHTML)"
        )
        assert shown == [], f"{name} shows elements marked hidden: {shown}"
        assert_accessible(self.page, name)

    def settle(self):
        """Two animation frames: layout and the chart's resize are done."""
        self.page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() =>"
            " requestAnimationFrame(r)))"
        )

    def assert_no_errors(self):
        assert self.errors == [], self.errors

    def close(self):
        self.context.close()


def assert_accessible(page, name):
    """axe-core (vendored, injected by the test only): no serious or critical issue."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        with open(AXE) as handle:
            page.evaluate(handle.read() + "\n;0")
    found = page.evaluate("""async () => {
          const result = await axe.run(document, {resultTypes: ["violations"]});
          return result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
          }));
        }""")
    bad = [v for v in found if v["impact"] in ("serious", "critical")]
    assert bad == [], f"axe on {name}: {bad}"


def error_of(page, control):
    """The message shown at a control (the element its aria-describedby names last)."""
    ids = control.get_attribute("aria-describedby").split()
    return page.locator(f"#{ids[-1]}")
