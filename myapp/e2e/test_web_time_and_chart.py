"""The web client's times, charts, deep links, tabs and settings in chromium.

Every tab runs with Berlin time and British English (testing.webclient.BERLIN),
as the client is tried; pages are checked with axe-core and screenshots land in
test-output/web-<page>-<width>.png.
"""

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from testing.accounts import register_over_http
from testing.http import Http
from testing.webclient import BERLIN, PHONE, REFRESH_KEY, WebClient

# en-GB writes "7 Dec 2026, 14:05"; the US style ("12/7/26", "3am") must not appear.
GB_MINUTE = r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}"
GB_TICK = re.compile(r"^(\d{2}:\d{2}|\d{1,2} [A-Z][a-z]{2}( \d{4})?)$")


@pytest.fixture
def tab(browser, live_server):
    """Opens Berlin/en-GB tabs on /app/ (of live_server, or another server)."""
    clients = []

    def open_tab(server=live_server):
        clients.append(WebClient(browser, server, **BERLIN))
        return clients[-1]

    yield open_tab
    for client in clients:
        client.close()


def utc(text):
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


def upload(account, sensor, values, times):
    readings = [
        {"sensor": sensor, "recorded_at": iso(t), "data": value}
        for value, t in zip(values, times)
    ]
    answer = account.request("POST", "/api/v1/readings/batch", {"readings": readings})
    assert answer.status == 201, answer.body


def recent(count, step=timedelta(minutes=1)):
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    return [now - step * (count - i) for i in range(count)]


def chart_ready(page):
    page.locator(".chart[data-points]").wait_for()


def chart_eval(page, script):
    page.locator(".chart[data-points]").wait_for()
    chart = "document.querySelector('.chart').chart"
    return page.evaluate(f"() => {{ const chart = {chart}; return {script}; }}")


def set_zone(account, name):
    answer = account.request("PATCH", "/api/v1/users/me", {"time_zone": name})
    assert answer.status == 200, answer.body


def test_one_time_format_from_the_locale_in_the_users_zone_named_once(tab, user):
    set_zone(user, "Europe/Berlin")
    times = recent(180)
    upload(user, "kitchen/temp", [{"celsius": 20 + i % 5} for i in range(180)], times)
    client = tab()
    page = client.page
    client.sign_in_at(
        user.username, "#/readings/kitchen%2Ftemp?range=24h&bucket=15m", "kitchen/temp"
    )

    ticks = chart_eval(page, "chart.axes[0]._values")
    assert ticks and all(GB_TICK.match(tick) for tick in ticks), ticks
    assert chart_eval(page, "chart.axes[1].label") == "avg of celsius (°C)"
    caption = page.locator("figcaption").inner_text()
    assert re.search(f"from {GB_MINUTE} to {GB_MINUTE}", caption), caption
    newest = page.locator("tr[data-id] time").first.inner_text()
    berlin = times[-1].astimezone(ZoneInfo("Europe/Berlin"))
    assert newest == f"{berlin.day} {berlin:%b %Y}, {berlin:%H:%M:%S}"
    main = page.locator("main").inner_text()
    assert main.count("Europe/Berlin") == 1, main
    client.check_page("sensor-times")
    client.assert_no_errors()


def test_settings_propose_the_browsers_zone_and_days_then_start_at_berlin_midnight(
    tab, user, live_server
):
    # 22:30 and 23:30 UTC on 1 Dec are one UTC day but two Berlin days.
    times = [utc("2026-12-01T22:30:00"), utc("2026-12-01T23:30:00")]
    upload(user, "steps", [{"steps": 1000}, {"steps": 500}], times)
    client = tab()
    page = client.page
    client.sign_in_at(user.username, "#/settings", "Settings")
    assert "Times are in UTC" in page.locator(".zone-note").inner_text()
    page.get_by_role("button", name="Use this device's zone, Europe/Berlin").click()
    page.get_by_role("button", name="Save time zone").click()
    page.locator("main .saved", has_text="now shown in Europe/Berlin").wait_for()
    assert "Europe/Berlin" in page.locator(".zone-note").inner_text()
    assert (
        Http(live_server)
        .request("GET", "/api/v1/users/me", token=user.access_token)
        .json["time_zone"]
        == "Europe/Berlin"
    )
    client.check_page("settings")

    client.go("#/readings/steps?field=steps&agg=sum&range=all&bucket=1d")
    client.heading("steps")
    page.wait_for_function(
        "() => document.querySelector('.chart')?.chart?.data[0].length === 2"
    )
    starts = chart_eval(page, "chart.data[0]")
    assert starts == [
        utc("2026-11-30T23:00:00").timestamp(),
        utc("2026-12-01T23:00:00").timestamp(),
    ]
    assert chart_eval(page, "chart.data[1]") == [1000, 500]
    client.assert_no_errors()


def test_daily_totals_offer_sum_and_the_pick_stays_in_the_url(tab, user):
    set_zone(user, "Europe/Berlin")
    times = recent(6, step=timedelta(minutes=5))
    upload(user, "walk", [{"steps": 100 * (i + 1)} for i in range(6)], times)
    client = tab()
    page = client.page
    client.sign_in_at(user.username, "#/readings/walk?range=all&bucket=1d", "walk")
    chart_ready(page)
    client.field("Per bucket").select_option("sum")
    page.wait_for_function("() => location.hash.includes('agg=sum')")
    page.wait_for_function(
        "() => document.querySelector('.chart')?.chart?.series[1].label === 'sum'"
    )
    assert sum(chart_eval(page, "chart.data[1]")) == 2100
    assert chart_eval(page, "chart.axes[1].label") == "sum of steps"
    assert "sum per bucket" in page.locator("figcaption").inner_text()

    page.reload()
    client.heading("walk")
    assert client.field("Per bucket").input_value() == "sum"
    assert chart_eval(page, "chart.series[1].label") == "sum"
    client.assert_no_errors()


def test_drag_zooms_with_a_hint_a_reset_and_a_caption_that_follows(tab, user):
    upload(user, "hall/temp", [{"celsius": 20 + i % 3} for i in range(60)], recent(60))
    client = tab()
    page = client.page
    client.sign_in_at(
        user.username,
        "#/readings/hall%2Ftemp?field=celsius&range=6h&bucket=1m",
        "hall/temp",
    )
    chart_ready(page)
    page.get_by_text("Drag across the chart to zoom in").wait_for()
    reset = page.get_by_role("button", name="Reset zoom")
    assert not reset.is_visible()
    assert "60 buckets" in page.locator("figcaption").inner_text()

    drag_across(page, 0.3, 0.6)
    reset.wait_for()
    caption = page.locator("figcaption").inner_text()
    assert "(zoomed)" in caption
    zoomed = int(re.match(r"(\d+) buckets", caption).group(1))
    assert 0 < zoomed < 60
    reset.click()
    page.wait_for_function(
        "() => !document.querySelector('figcaption').textContent.includes('zoomed')"
    )
    assert "60 buckets" in page.locator("figcaption").inner_text()
    assert not reset.is_visible()
    client.assert_no_errors()


def drag_across(page, start, end):
    """Drag over the chart from one share of its width to another."""
    box = page.locator(".chart .u-over").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * start, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * end, y, steps=5)
    page.mouse.up()


def test_a_zoomed_chart_stays_zoomed_as_readings_arrive(tab, uwsgi):
    server = uwsgi({"MYAPP_LIVE_HEARTBEAT_SECONDS": "1"}, processes=1, threads=3)
    person = register_over_http(Http(server))
    upload(person, "shed", [{"celsius": 9 + i % 4} for i in range(30)], recent(30))
    client = tab(server)
    page = client.page
    route = "#/readings/shed?field=celsius&range=1h&bucket=1m"
    client.sign_in_at(person.username, route, "shed")
    chart_ready(page)
    drag_across(page, 0.2, 0.5)
    page.get_by_role("button", name="Reset zoom").wait_for()
    shown = chart_eval(page, "[chart.scales.x.min, chart.scales.x.max]")

    now = {"sensor": "shed", "data": {"celsius": 12}}
    assert person.request("POST", "/api/v1/readings/", now).status == 201
    page.wait_for_function(
        "() => document.querySelector('.chart').chart.data[0].length === 31"
    )
    assert chart_eval(page, "[chart.scales.x.min, chart.scales.x.max]") == shown
    assert page.get_by_role("button", name="Reset zoom").is_visible()
    assert "(zoomed)" in page.locator("figcaption").inner_text()
    client.assert_no_errors()


def test_an_alert_threshold_is_drawn_and_the_rules_state_follows_the_stream(tab, uwsgi):
    server = uwsgi({"MYAPP_LIVE_HEARTBEAT_SECONDS": "1"}, processes=1, threads=3)
    person = register_over_http(Http(server))
    upload(person, "oven", [{"celsius": 20 + i % 3} for i in range(10)], recent(10))
    rule = {
        "name": "Too hot",
        "sensor": "oven",
        "condition": {"type": "threshold", "field": "celsius", "above": 30},
    }
    created = person.request("POST", "/api/v1/alerts/", rule)
    assert created.status == 201, created.body
    rule_id = created.json["id"]
    client = tab(server)
    page = client.page
    client.sign_in_at(
        person.username, "#/readings/oven?field=celsius&range=1h&bucket=1m", "oven"
    )
    chart_ready(page)
    # The line at 30 is inside the drawn range although every value is at most 22.
    assert chart_eval(page, "chart.scales.y.max") > 30
    state = page.locator(f".chart-rules li[data-rule-id='{rule_id}'] .state")
    assert state.inner_text() == "OK"
    points = chart_eval(page, "chart.data[0].length")

    hot = {"sensor": "oven", "data": {"celsius": 35}}
    assert person.request("POST", "/api/v1/readings/", hot).status == 201
    page.locator(
        f".chart-rules li[data-rule-id='{rule_id}'] .state", has_text="Firing"
    ).wait_for()
    page.wait_for_function(
        "(n) => document.querySelector('.chart').chart.data[0].length >= n", arg=points
    )

    client.go(f"#/alerts/{rule_id}")
    client.heading("Too hot")
    page.locator("dl.facts .state", has_text="Firing").wait_for()
    cool = {"sensor": "oven", "data": {"celsius": 21}}
    assert person.request("POST", "/api/v1/readings/", cool).status == 201
    page.locator("dl.facts .state", has_text="OK").wait_for()

    client.go("#/alerts")
    client.heading("Alerts")
    listed = page.locator(f"tr[data-rule-id='{rule_id}'] .state")
    listed.filter(has_text="OK").wait_for()
    assert person.request("POST", "/api/v1/readings/", hot).status == 201
    listed.filter(has_text="Firing").wait_for()
    assert person.request("POST", "/api/v1/readings/", cool).status == 201
    listed.filter(has_text="OK").wait_for()

    client.go("#/readings/oven?field=celsius&range=1h&bucket=1m")
    client.heading("oven")
    page.locator(
        f".chart-rules li[data-rule-id='{rule_id}'] .state", has_text="OK"
    ).wait_for()
    assert person.request("POST", "/api/v1/readings/", hot).status == 201
    page.locator(
        f".chart-rules li[data-rule-id='{rule_id}'] .state", has_text="Firing"
    ).wait_for()
    assert person.request("POST", "/api/v1/readings/", cool).status == 201
    page.locator(
        f".chart-rules li[data-rule-id='{rule_id}'] .state", has_text="OK"
    ).wait_for()
    client.assert_no_errors()


def test_on_a_phone_the_header_is_compact_the_chart_high_and_a_tap_shows_a_value(
    browser, live_server, user
):
    upload(user, "desk", [{"celsius": 21.5}] * 30, recent(30))
    client = WebClient(browser, live_server, has_touch=True, **BERLIN)
    try:
        page = client.page
        client.sign_in(user.username)
        page.set_viewport_size(PHONE)
        client.go("#/readings/desk?field=celsius&range=1h&bucket=1m")
        client.heading("desk")
        chart_ready(page)
        header = page.locator("header.top").bounding_box()
        assert header["height"] <= 60, header
        chart = page.locator(".chart canvas").bounding_box()
        assert chart["y"] + chart["height"] <= PHONE["height"], chart

        menu = page.get_by_role("button", name="Menu")
        assert not page.get_by_role("link", name="Devices").is_visible()
        menu.click()
        page.get_by_role("link", name="Devices").wait_for()
        assert menu.get_attribute("aria-expanded") == "true"
        menu.click()

        over = page.locator(".chart .u-over").bounding_box()
        page.touchscreen.tap(
            over["x"] + over["width"] / 2, over["y"] + over["height"] / 2
        )
        readout = page.locator(".chart-readout")
        page.wait_for_function(
            "() => document.querySelector('.chart-readout').textContent !== ''"
        )
        assert re.fullmatch(
            f"{GB_MINUTE}: min 21.5, avg 21.5, max 21.5", readout.inner_text()
        )
        client.assert_no_errors()
    finally:
        client.close()


def test_a_deep_link_opened_signed_out_lands_there_after_sign_in(tab, user):
    upload(user, "garden", [{"celsius": 10, "rain": 2}] * 3, recent(3))
    client = tab()
    page = client.page
    client.open("#/readings/garden?field=rain&agg=max")
    client.heading("Sign in")
    client.field("Username or email").fill(user.username)
    client.field("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    client.heading("garden")
    assert client.field("Field").input_value() == "rain"
    assert client.field("Per bucket").input_value() == "max"
    client.assert_no_errors()


def test_a_link_opened_in_a_new_tab_shares_the_open_tabs_session(
    tab, user, live_server
):
    upload(user, "porch", [{"celsius": 5}] * 3, recent(3))
    client = tab()
    client.sign_in(user.username)
    second = client.context.new_page()
    errors = []
    second.on("pageerror", lambda error: errors.append(str(error)))
    second.goto(f"{client.base}/app/#/readings/porch?field=celsius")
    second.get_by_role("heading", level=1, name="porch").wait_for()
    second.locator(".chart[data-points]").wait_for()
    # One rotation for both: each tab's stored token is the newest and still works.
    first_token = client.page.evaluate(
        "(key) => sessionStorage.getItem(key)", REFRESH_KEY
    )
    second_token = second.evaluate("(key) => sessionStorage.getItem(key)", REFRESH_KEY)
    assert first_token == second_token
    client.go("#/readings")
    client.heading("Readings")
    client.page.get_by_role("link", name="porch").wait_for()
    refreshed = Http(live_server).request(
        "POST", "/api/v1/auth/refresh", token=first_token
    )
    assert refreshed.status == 200, "the shared session is alive and unrotated since"
    assert errors == []
    client.assert_no_errors()


def test_a_title_focused_after_a_click_shows_no_ring_but_after_a_key_it_does(tab, user):
    client = tab()
    page = client.page
    client.sign_in(user.username)
    assert title_outline(page, "Readings") == "none"
    page.reload()
    assert title_outline(page, "Readings") == "none", "a load focuses it too"
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Devices").click()
    assert title_outline(page, "Devices") == "none"
    nav.get_by_role("link", name="Alerts").focus()
    page.keyboard.press("Enter")
    assert title_outline(page, "Alerts") == "solid"
    client.assert_no_errors()


def title_outline(page, title):
    """The outline of the page title once the app has focused it."""
    page.get_by_role("heading", level=1, name=title).wait_for()
    page.wait_for_function("() => document.activeElement.tagName === 'H1'")
    return page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")


def test_a_rate_limited_sign_in_says_when_to_try_again(tab, uwsgi):
    server = uwsgi({"MYAPP_LOGIN_RATE_LIMIT": "2 per minute"}, processes=1)
    person = register_over_http(Http(server))
    client = tab(server)
    page = client.page
    client.open("#/signin")
    for _ in range(3):
        client.field("Username or email").fill(person.username)
        client.field("Password").fill("wrong password")
        page.get_by_role("button", name="Sign in").click()
        page.locator(".problem").wait_for()
    problem = page.locator(".problem")
    problem.filter(has_text="Too Many Requests").wait_for()
    assert re.search(
        r"Try again in \d+ seconds\.", problem.inner_text()
    ), problem.inner_text()
    client.check_page("sign-in-429")


def test_an_unknown_sensor_or_field_is_said_and_real_fields_offered(tab, user):
    upload(user, "attic", [{"celsius": 12, "humidity": 60}] * 3, recent(3))
    client = tab()
    page = client.page
    client.sign_in_at(user.username, "#/readings/cellar", "cellar")
    page.get_by_text("There is no sensor named “cellar”").wait_for()
    assert page.locator(".chart").count() == 0
    client.check_page("sensor-unknown")

    client.go("#/readings/attic?field=pressure")
    client.heading("attic")
    note = page.get_by_role("alert").filter(has_text="pressure")
    note.wait_for()
    assert "celsius, humidity" in note.inner_text()
    options = page.locator("select[name=field] option").all_inner_texts()
    assert options == ["celsius", "humidity"]
    chart_ready(page)
    assert "field=celsius" in page.url
    client.check_page("sensor-unknown-field")
    client.assert_no_errors()


def test_uwsgi_sends_the_clients_text_files_gzipped(live_server):
    http = Http(live_server)
    page = http.request("GET", "/app/")
    names = re.findall(r'src="(/app/assets/[^"]+\.js)"', page.body.decode())
    assert names
    for name in names:
        packed = http.request("GET", name, headers={"Accept-Encoding": "gzip"})
        assert packed.status == 200
        assert packed.headers["Content-Encoding"] == "gzip", name
        assert "Accept-Encoding" in packed.headers["Vary"]


def test_a_boot_script_arriving_after_the_app_refreshed_sends_no_second_refresh(
    tab, user
):
    client = tab()
    page = client.page
    client.sign_in(user.username)
    held = []
    page.route("**/boot.*.js", lambda route: held.append(route))
    refreshes = []
    page.on(
        "request",
        lambda request: request.url.endswith("/auth/refresh")
        and refreshes.append(request.url),
    )
    page.reload(wait_until="commit")
    client.heading("Readings")
    assert len(refreshes) == 1, "the app refreshed by itself"
    held[0].continue_()
    page.wait_for_load_state("load")
    page.evaluate("async () => { await window.myappEarlyRefresh; }")
    assert len(refreshes) == 1, "two refreshes of one token end the session"
    client.go("#/settings")
    client.heading("Settings")
    page.get_by_role("button", name="Save time zone").wait_for()
    client.assert_no_errors()


def test_tabs_share_rotations_outlive_the_leading_tab_and_sign_out_together(tab, uwsgi):
    """Access tokens live 2 s: every page below needs a refresh, from one tab only."""
    server = uwsgi({"MYAPP_JWT_ACCESS_TOKEN_EXPIRES": "2"}, processes=1)
    person = register_over_http(Http(server))
    client = tab(server)
    first = client.page
    client.sign_in(person.username)
    second = client.context.new_page()
    second.goto(f"{client.base}/app/#/goals")
    second.get_by_role("heading", level=1, name="Goals").wait_for()

    for page, route, loaded in (
        (second, "#/devices", "No devices yet."),
        (first, "#/goals", "No goals yet."),
        (second, "#/alerts", "No alert rules yet."),
    ):
        page.wait_for_timeout(2500)  # the access token expires meanwhile
        page.evaluate("(route) => { location.hash = route; }", route)
        # Loaded: the leading tab has rotated and told the other the new tokens.
        page.get_by_text(loaded).wait_for()
        assert page.locator(".problem").count() == 0

    first.close()  # the leading tab goes; the other takes over the rotation
    second.wait_for_timeout(2500)
    second.evaluate("() => { location.hash = '#/settings'; }")
    second.get_by_role("button", name="Save time zone").wait_for()

    third = client.context.new_page()
    third.goto(f"{client.base}/app/#/readings")
    third.get_by_role("heading", level=1, name="Readings").wait_for()
    second.get_by_role("button", name="Sign out").click()
    third.get_by_text("You signed out.").wait_for()
    token = third.evaluate("(key) => sessionStorage.getItem(key)", REFRESH_KEY)
    assert token is None
    client.assert_no_errors()
