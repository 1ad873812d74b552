"""Names made of markup in the web client: shown as text on every page, with
the page's CSP and with it bypassed, so Trusted Types is not the only guard."""

from datetime import datetime, timedelta
from urllib.parse import quote

import pytest

from testing.webforms import (
    BERLIN_ZONE,
    assert_sensible_button_names,
    berlin_tab,
    upload,
)

MARKUP = '<img src=x onerror="window.__xss=1">'
# A goal's field may not hold a double quote: the same markup, unquoted.
MARKUP_FIELD = "<img src=x onerror=window.__xss=2>"
# Anything the page made of a name as HTML: an element, a handler, a handler's mark.
INERT = """() => ({
  xss: window.__xss === undefined ? null : window.__xss,
  made: document.querySelectorAll('main img, [onerror]').length,
  problems: [...document.querySelectorAll('main .problem')].map(p => p.innerText),
})"""
SAFE = {"xss": None, "made": 0, "problems": []}


def name_everything_with_markup(user):
    """A device, a sensor (and a field), a goal, an alert rule and a retention
    preview, each named with markup; the routes that show them."""
    device = {"name": MARKUP, "sensors": [MARKUP]}
    assert user.request("POST", "/api/v1/devices/", device).status == 201
    old = datetime.now(BERLIN_ZONE) - timedelta(days=30)
    upload(user, MARKUP, old, celsius=20, **{MARKUP_FIELD: 1})
    upload(user, MARKUP, celsius=21, **{MARKUP_FIELD: 2})
    target = {"sensor": MARKUP, "field": MARKUP_FIELD, "aggregate": "sum"}
    target.update({"op": ">=", "value": 5, "period": "day"})
    goal = {"name": MARKUP, "target": target}
    assert user.request("POST", "/api/v1/goals/", goal).status == 201
    rule = {"name": MARKUP, "sensor": MARKUP}
    rule["condition"] = {"type": "threshold", "field": MARKUP_FIELD, "above": 30}
    rule_id = user.request("POST", "/api/v1/alerts/", rule).json["id"]
    rules = {"rules": [{"sensors": None, "keep_days": 7}]}
    assert user.request("PUT", "/api/v1/readings/retention", rules).status == 200
    return [
        "#/readings",
        f"#/readings/{quote(MARKUP, safe='')}",
        "#/devices",
        "#/alerts",
        f"#/alerts/{rule_id}",
        f"#/alerts/{rule_id}/edit",
        "#/alerts/new",
        "#/goals",
        "#/retention",
    ]


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["csp", "csp-bypassed"])
def test_names_made_of_markup_show_as_text_on_every_page(web, user, bypass_csp):
    """Trusted Types is not the only guard: with the CSP bypassed no page turns
    a name into HTML either."""
    routes = name_everything_with_markup(user)
    client = berlin_tab(web, bypass_csp=bypass_csp)
    page = client.page
    client.sign_in(user.username)
    policy = page.evaluate("() => typeof window.trustedTypes?.createPolicy")
    assert policy == "function"
    for route in routes:
        client.go(route)
        page.locator("main h1").first.wait_for()
        shown = page.locator("main").get_by_text(MARKUP)
        shown.first.wait_for(state="attached")
        assert page.evaluate(INERT) == SAFE, route
        assert_sensible_button_names(page, route)
    client.go("#/goals")
    page.locator("ol.streak-calendar").wait_for()
    page.get_by_label(f"Progress of {MARKUP}").wait_for()
    assert page.evaluate(INERT) == SAFE
    client.assert_no_errors()
