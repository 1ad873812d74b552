"""Helpers of the web client's browser tests: a tab in Berlin reading British
English, uploads at chosen local times, button names checked on a page."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

BERLIN = {"timezone_id": "Europe/Berlin", "locale": "en-GB"}
BERLIN_ZONE = ZoneInfo("Europe/Berlin")
BERLIN_USER = {"time_zone": "Europe/Berlin"}


def berlin_tab(web, **options):
    """A WebClient tab in Europe/Berlin reading en-GB (options: bypass_csp...)."""
    return web(**BERLIN, **options)


def upload(account, sensor, recorded_at=None, **data):
    """One reading of sensor with data, uploaded with the account's token."""
    body = {"sensor": sensor, "data": data}
    if recorded_at:
        body["recorded_at"] = recorded_at.isoformat()
    answer = account.request("POST", "/api/v1/readings/", body)
    assert answer.status == 201, answer.body


def options_of(select, last):
    """The texts of a <select>'s options, in order, once its option `last` is
    there: the pickers fill their options after the user's sensors arrive."""
    select.locator("option", has_text=last).first.wait_for(state="attached")
    return select.locator("option").all_inner_texts()


def berlin_midnight(days_ago):
    """A minute past local midnight in Berlin, days_ago days back: in the past."""
    today = datetime.now(BERLIN_ZONE).date()
    day = today - timedelta(days=days_ago)
    return datetime.combine(day, time(0, 1), tzinfo=BERLIN_ZONE)


BUTTON_NAMES = """() => [...document.querySelectorAll('button')].map(b => ({
  name: (b.getAttribute('aria-label') || b.textContent).trim().replace(/\\s+/g, ' '),
  shown: b.getClientRects().length > 0,
}))"""


def assert_sensible_button_names(page, where):
    """Every button, shown or not, has a name; shown ones differ from each other."""
    buttons = page.evaluate(BUTTON_NAMES)
    names = [b["name"] for b in buttons]
    assert all(names), f"{where}: a button without a name"
    assert not [n for n in names if n.startswith("More your")], (where, names)
    shown = [b["name"] for b in buttons if b["shown"]]
    assert len(shown) == len(set(shown)), f"{where}: buttons share a name: {shown}"
    return names
