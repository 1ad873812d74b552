"""The web client at /app/ in a real browser: Debian's chromium, real uWSGI.

Every test watches the page for JavaScript errors and CSP violations (the
network's own "Failed to load resource" lines for 4xx answers are expected where
a test provokes one), checks the pages it visits with axe-core (no serious or
critical violations) and saves screenshots at desktop and phone widths in
test-output/web-<page>-<width>.png.
"""

import csv
import io
import re
from datetime import datetime, timedelta, timezone

from testing.accounts import PASSWORD, register_over_http
from testing.http import Http
from testing.mail import MailServer
from testing.servers import env_for_tests, free_port, start_uwsgi
from testing.webclient import REFRESH_KEY, error_of


def test_register_shows_the_apis_message_at_the_field_then_signs_in_and_out(
    web, live_server
):
    client = web()
    page = client.page
    client.open()
    client.heading("Sign in")
    assert page.url.endswith("#/signin")
    client.check_page("sign-in")

    page.get_by_role("link", name="Register").click()
    client.heading("Register")
    client.field("Username").fill("ab")
    client.field("Email").fill("ab@example.com")
    client.field("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    username = client.field("Username")
    message = error_of(page, username)
    message.wait_for()
    assert (
        message.inner_text() == "3 to 32 letters, digits, dots, dashes or underscores"
    )
    assert username.get_attribute("aria-invalid") == "true"
    assert page.evaluate("() => document.activeElement.name") == "username"
    assert "Check the form" in page.get_by_role("alert").inner_text()
    client.check_page("register-error")

    username.fill("web_person")
    page.get_by_role("button", name="Create account").click()
    page.get_by_text("Signed in as web_person").wait_for()
    token = page.evaluate("(key) => sessionStorage.getItem(key)", REFRESH_KEY)
    assert token

    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("You signed out.").wait_for()
    assert page.evaluate("(key) => sessionStorage.getItem(key)", REFRESH_KEY) is None
    refreshed = Http(live_server).request("POST", "/api/v1/auth/refresh", token=token)
    assert refreshed.status == 401, "signing out must end the session on the server"

    client.field("Username or email").fill("web_person")
    client.field("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    alert = page.locator(".problem")
    alert.wait_for()
    assert "Sign in again" in alert.inner_text()
    client.sign_in("web_person")
    client.assert_no_errors()


def upload_readings(account, sensor, count):
    """count readings a minute apart, the newest a minute ago; ids newest first."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    times = [now - timedelta(minutes=count - i) for i in range(count)]
    readings = [
        {
            "sensor": sensor,
            "recorded_at": t.isoformat().replace("+00:00", "Z"),
            "data": {"celsius": 20 + i % 7, "humidity": 40.5, "ok": True, "label": "x"},
        }
        for i, t in enumerate(times)
    ]
    answer = account.request("POST", "/api/v1/readings/batch", {"readings": readings})
    assert answer.status == 201, answer.body
    return list(reversed(answer.json["ids"])), times


def buckets(times, seconds):
    return len({int(t.timestamp()) // seconds for t in times})


def chart_points(page):
    """What the uPlot instance on the page holds, once it has drawn."""
    page.locator(".chart[data-points]").wait_for()
    return page.evaluate("() => document.querySelector('.chart').chart.data[0].length")


def wait_for_points(page, expected):
    page.wait_for_function(
        "(n) => document.querySelector('.chart')?.chart?.data[0].length === n",
        arg=expected,
    )
    return chart_points(page)


def table_ids(page):
    rows = page.locator("tr[data-id]")
    rows.first.wait_for()
    return [int(i) for i in rows.evaluate_all("(rows) => rows.map(r => r.dataset.id)")]


def test_the_sign_in_page_says_what_the_app_is_and_prints_no_stray_null(web):
    client = web()
    client.open("#/signin")
    client.heading("Sign in")
    text = client.page.locator("main").inner_text()
    assert "null" not in text
    # A first visitor learns what it is for before being asked to sign in.
    assert "readings" in text and "alerted" in text and "goals" in text


def test_sensor_page_charts_buckets_pages_the_table_and_exports(web, user):
    ids, times = upload_readings(user, "kitchen/temp", 120)
    client = web()
    page = client.page
    client.sign_in_at(user.username, "#/readings/kitchen%2Ftemp", "kitchen/temp")

    assert chart_points(page) == buckets(times, 3600)
    fields = page.locator("select[name=field] option").all_inner_texts()
    assert fields == ["celsius", "humidity"]

    client.field("Time range").select_option(label="Last 6 hours")
    assert client.field("Bucket").input_value() == "5m"
    assert wait_for_points(page, buckets(times, 300)) == buckets(times, 300)
    client.field("Bucket").select_option("1m")
    assert wait_for_points(page, 120) == 120
    assert (
        "120 buckets of 1m (120 values of celsius)"
        in page.locator("figcaption").inner_text()
    )
    assert "field=celsius" in page.url and "bucket=1m" in page.url

    assert table_ids(page) == ids[:50]
    older = page.get_by_role("button", name="Older")
    older.click()
    page.get_by_text("Readings 51 to 100").wait_for()
    assert table_ids(page) == ids[50:100]
    older.click()
    page.get_by_text("Readings 101 to 120").wait_for()
    assert table_ids(page) == ids[100:]
    assert older.is_disabled()
    page.get_by_role("button", name="Newer").click()
    page.get_by_text("Readings 51 to 100").wait_for()
    client.check_page("sensor")

    with page.expect_download() as caught:
        page.get_by_role("button", name="Download CSV").click()
    download = caught.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), newline="") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read())))
    assert sorted(int(row["id"]) for row in rows) == sorted(ids)
    client.assert_no_errors()


def goal_row(page, name):
    return page.locator("li.goal", has=page.get_by_text(name, exact=True)).first


def progress_of(page, name):
    return float(page.get_by_label(f"Progress of {name}").get_attribute("value"))


def test_goal_tree_three_levels_completion_cascades_moves_and_cycles(web, user):
    client = web()
    page = client.page
    client.sign_in_at(user.username, "#/goals", "Goals")

    page.get_by_label("Name", exact=True).fill("Trip")
    page.get_by_role("button", name="Add goal").click()
    add_sub_goal(page, "Trip", "Book")
    add_sub_goal(page, "Book", "Flights")
    add_sub_goal(page, "Book", "Hotel")
    assert page.locator("ul.goals ul.goals ul.goals li.goal").count() == 2

    page.get_by_label("Flights", exact=True).check()
    page.get_by_text("Completed Flights").wait_for()
    assert progress_of(page, "Book") == 0.5
    assert progress_of(page, "Trip") == 0.5

    page.get_by_label("Book", exact=True).check()
    page.get_by_text("Completed Book").wait_for()
    assert page.get_by_label("Hotel", exact=True).is_checked(), "completing cascades"
    assert progress_of(page, "Trip") == 1.0

    page.get_by_label("Hotel", exact=True).uncheck()
    page.get_by_text("Reopened Hotel").wait_for()
    assert not page.get_by_label("Book", exact=True).is_checked(), "reopening cascades"
    assert progress_of(page, "Trip") == 0.5

    toggle = page.get_by_role("button", name="Sub-goals of Trip")
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not page.get_by_label("Book", exact=True).is_visible()
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert page.get_by_label("Book", exact=True).is_visible()
    client.check_page("goals")

    page.get_by_role("button", name="Actions for Trip").click()
    page.get_by_role("button", name="Move Trip to another place").click()
    page.get_by_label("Move Trip under").select_option(label="Trip › Book › Flights")
    page.get_by_role("form", name="Move Trip").get_by_role(
        "button", name="Move"
    ).click()
    problem = goal_row(page, "Trip").locator(".problem")
    problem.wait_for()
    assert "clashes with what is already there" in problem.inner_text()
    assert "descendant" in problem.inner_text() or "itself" in problem.inner_text()

    page.get_by_role("button", name="Actions for Hotel").click()
    page.get_by_role("button", name="Move Hotel to another place").click()
    page.get_by_label("Move Hotel under").select_option(label="Top level")
    page.get_by_role("form", name="Move Hotel").get_by_role(
        "button", name="Move"
    ).click()
    page.get_by_text("Moved Hotel").wait_for()
    top_level = page.locator(".goal-tree > ul.goals > li.goal > .goal-row label")
    assert top_level.all_inner_texts() == ["Trip", "Hotel"]
    assert progress_of(page, "Trip") == 1.0
    client.assert_no_errors()


def test_a_measured_goal_is_set_in_the_form_and_fills_up_with_readings(web, user):
    client = web()
    page = client.page
    client.sign_in_at(user.username, "#/goals", "Goals")
    page.get_by_label("Name", exact=True).fill("Walk 100 km")
    page.get_by_role("checkbox", name="Measure with readings").check()
    page.get_by_label("Sensor name", exact=True).fill("pedometer")
    page.get_by_label("Use this name anyway", exact=True).check()
    page.get_by_label("Field name", exact=True).fill("km")
    page.get_by_label("Aggregate", exact=True).select_option("sum")
    comparison = page.get_by_label("Comparison", exact=True)
    comparison.select_option("<=")
    page.get_by_label("Target value", exact=True).fill("100")
    page.get_by_role("button", name="Add goal").click()
    message = error_of(page, comparison)
    message.wait_for()
    assert "needs a period" in message.inner_text()  # the API's 400 at /target/op

    comparison.select_option(">=")
    page.get_by_role("button", name="Add goal").click()
    page.get_by_label("Walk 100 km", exact=True).wait_for()
    walks = [{"sensor": "pedometer", "data": {"km": km}} for km in (20, 22.5)]
    answer = user.request("POST", "/api/v1/readings/batch", {"readings": walks})
    assert answer.status == 201, answer.body
    page.reload()
    measured = goal_row(page, "Walk 100 km").locator(".measured")
    measured.wait_for()
    assert measured.text_content() == (
        "Measured: Total km from pedometer of at least 100: 42.5 so far, not met yet"
    )
    assert progress_of(page, "Walk 100 km") == 0.425
    client.check_page("goals-measured")
    client.assert_no_errors()


def add_sub_goal(page, parent, name):
    page.get_by_role("button", name=f"Actions for {parent}").click()
    page.get_by_role("button", name=f"Add sub-goal to {parent}").click()
    page.get_by_label("Sub-goal name").fill(name)
    page.get_by_role("button", name="Add sub-goal", exact=True).click()
    page.get_by_label(name, exact=True).wait_for()


def test_a_session_ended_elsewhere_is_said_plainly(web, user, live_server):
    client = web()
    page = client.page
    client.sign_in_at(user.username, "#/readings/nothing-yet", "nothing-yet")

    # Elsewhere: the refresh token is used (and rotated), then that login logs out.
    token = page.evaluate("(key) => sessionStorage.getItem(key)", REFRESH_KEY)
    http = Http(live_server)
    rotated = http.request("POST", "/api/v1/auth/refresh", token=token)
    assert rotated.status == 200
    http.request("POST", "/api/v1/auth/logout", token=rotated.json["access_token"])

    page.get_by_role("link", name="Goals").click()
    notice = page.get_by_role("alert").filter(has_text="Your session ended elsewhere")
    notice.wait_for()
    client.heading("Sign in")
    assert not page.locator("#nav").is_visible()
    client.check_page("session-ended")
    client.assert_no_errors()


def test_an_expired_access_token_is_refreshed_silently(web, uwsgi):
    server = uwsgi({"MYAPP_JWT_ACCESS_TOKEN_EXPIRES": "2"}, processes=1)
    account = register_over_http(Http(server))
    client = web(server)
    page = client.page
    client.sign_in(account.username)
    first = page.evaluate("(key) => sessionStorage.getItem(key)", REFRESH_KEY)
    page.wait_for_timeout(2500)

    client.go("#/goals")
    client.heading("Goals")
    page.get_by_text("No goals yet").wait_for()
    assert not page.locator(".problem").count()
    second = page.evaluate("(key) => sessionStorage.getItem(key)", REFRESH_KEY)
    assert second and second != first, "the refresh token was rotated"
    client.assert_no_errors()


def test_the_keyboard_alone_signs_in_in_a_sensible_focus_order(web, user):
    client = web()
    page = client.page
    client.open("#/signin")

    def focused():
        return page.evaluate(
            "() => document.activeElement.name || document.activeElement.textContent"
        )

    assert focused() == "Sign in", "the page's heading has focus after navigation"
    page.keyboard.press("Shift+Tab")
    assert focused() == "Skip to content"
    page.keyboard.press("Enter")
    assert focused() == "Sign in" and page.url.endswith("#/signin")
    page.keyboard.press("Tab")
    assert focused() == "username"
    page.keyboard.type(user.username)
    page.keyboard.press("Tab")
    assert focused() == "password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_text(f"Signed in as {user.username}").wait_for()
    client.assert_no_errors()


def test_a_reload_keeps_the_tab_signed_in_with_one_rotation_each_time(web, user):
    client = web()
    page = client.page
    client.sign_in(user.username)
    seen = [page.evaluate("(key) => sessionStorage.getItem(key)", REFRESH_KEY)]
    refreshes = []
    page.on(
        "request",
        lambda r: refreshes.append(r.url) if r.url.endswith("/auth/refresh") else None,
    )
    for _ in range(2):
        page.reload()
        page.get_by_text(f"Signed in as {user.username}").wait_for()
        seen.append(page.evaluate("(key) => sessionStorage.getItem(key)", REFRESH_KEY))
    # Two rotated tokens, none reused (a reuse would have ended the session).
    assert len(set(seen)) == 3 and len(refreshes) == 2
    client.go("#/goals")
    page.get_by_text("No goals yet").wait_for()
    client.assert_no_errors()


def test_an_alert_rule_is_made_judged_and_changed_in_the_browser(web, user):
    client = web()
    page = client.page
    client.sign_in_at(user.username, "#/alerts/new", "New alert rule")
    client.field("Name").fill("Too warm")
    client.field("Sensor name").fill("kitchen/temp")
    client.field("Use this name anyway").check()
    client.field("Field name").fill("celsius")
    client.field("Fires above").fill("30")
    webhook = client.field("Webhook URL")
    webhook.fill("https://does-not-exist.invalid/hook")
    page.get_by_role("button", name="Create rule").click()
    error_of(page, webhook).filter(has_text="does not resolve").wait_for()
    webhook.fill("")
    page.get_by_role("button", name="Create rule").click()
    client.heading("Too warm")
    rule_id = int(page.url.rsplit("/", 1)[1])

    warm = {"sensor": "kitchen/temp", "data": {"celsius": 35}}
    assert user.request("POST", "/api/v1/readings/", warm).status == 201
    client.go("#/alerts")
    client.heading("Alerts")
    assert rule_state_in_list(page, rule_id) == "Firing"
    client.go(f"#/alerts/{rule_id}")
    client.heading("Too warm")
    page.locator("tr[data-event-id]").first.wait_for()
    assert page.locator("tr[data-event-id]").count() == 1
    assert "Firing" in page.locator("dl.facts").inner_text()

    page.get_by_role("link", name="Edit rule").click()
    client.heading("Edit alert rule")
    client.field("Fires above").fill("40")
    page.get_by_role("button", name="Save rule").click()
    client.heading("Too warm")
    page.locator("tr[data-event-id]").nth(1).wait_for()
    assert "OK" in page.locator("dl.facts").inner_text()
    events = user.request("GET", f"/api/v1/alerts/events?rule_id={rule_id}").json
    assert [e["state"] for e in events["items"]] == ["resolved", "firing"]
    shown = page.locator("tr[data-event-id] .state").all_inner_texts()
    assert shown == ["Resolved", "Fired"], "an event says what happened"
    client.check_page("alert-rule")
    client.go("#/alerts")
    client.heading("Alerts")
    assert rule_state_in_list(page, rule_id) == "OK", "resolved reads as OK"
    client.assert_no_errors()


def test_an_email_switch_waits_for_the_verified_address_and_deliveries_say_why(
    web, app, database_url
):
    """The message's link opened in the browser verifies the address; then the
    switch works, and a superseded email is said plainly on the rule's page."""
    mail_server = MailServer()
    port = free_port()
    env = env_for_tests(
        database_url,
        MYAPP_SMTP_URL=mail_server.url(),
        MYAPP_MAIL_FROM="alerts@myapp.example",
        MYAPP_PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    server = start_uwsgi(env, port=port, processes=1, threads=2, name="uwsgi-web-mail")
    try:
        account = register_over_http(Http(server))
        client = web(server)
        page = client.page
        client.open("#/verify-email?token=not-a-token")  # signed out: still shown
        client.heading("Verify your email address")
        assert "not a valid link" in page.locator(".problem").inner_text()
        client.sign_in_at(account.username, "#/alerts/new", "New alert rule")
        assert client.field("Email me").is_disabled()
        page.get_by_role("button", name="Send the link again").click()
        page.get_by_text("Sent to ").wait_for()
        link, *_ = [
            url
            for message in mail_server.wait_for(2)
            for url in message.links()
            if "verify-email" in url
        ]
        page.goto(link)
        client.heading("Verify your email address")
        page.get_by_text("Your email address is verified").wait_for()

        client.go("#/alerts/new")
        client.heading("New alert rule")
        client.field("Name").fill("Too warm")
        client.field("Sensor name").fill("kitchen/temp")
        client.field("Use this name anyway").check()
        client.field("Field name").fill("celsius")
        client.field("Fires above").fill("30")
        client.field("Email me").check()
        page.get_by_role("button", name="Create rule").click()
        client.heading("Too warm")
        assert "on: each state change" in page.locator("dl.facts").inner_text()
        rule_id = int(page.url.rsplit("/", 1)[1])
        for celsius in (35, 20):  # no worker runs: the first email is superseded
            reading = {"sensor": "kitchen/temp", "data": {"celsius": celsius}}
            assert account.request("POST", "/api/v1/readings/", reading).status == 201
        client.go("#/alerts")
        client.heading("Alerts")
        client.go(f"#/alerts/{rule_id}")
        client.heading("Too warm")
        row = page.locator("tr[data-channel=email]").first
        row.wait_for()
        assert "Superseded: a newer event was recorded" in row.inner_text()
        client.check_page("alert-rule-email")
        client.assert_no_errors()
    finally:
        server.stop()
        mail_server.stop()


def test_a_rules_state_and_a_sensors_chart_change_live_from_the_stream(web, uwsgi):
    """Nothing is reloaded or navigated: the page reads GET /stream with fetch()."""
    server = uwsgi({"MYAPP_LIVE_HEARTBEAT_SECONDS": "1"}, processes=1, threads=3)
    person = register_over_http(Http(server))
    rule = {
        "name": "Too warm",
        "sensor": "kitchen/temp",
        "condition": {"type": "threshold", "field": "celsius", "above": 30},
    }
    created = person.request("POST", "/api/v1/alerts/", rule)
    assert created.status == 201, created.body
    rule_id = created.json["id"]
    client = web(server)
    page = client.page
    client.sign_in_at(person.username, "#/alerts", "Alerts")
    assert rule_state_in_list(page, rule_id) == "OK"
    warm = {"sensor": "kitchen/temp", "data": {"celsius": 35}}
    assert person.request("POST", "/api/v1/readings/", warm).status == 201
    row = page.locator(f"tr[data-rule-id='{rule_id}']")
    row.locator(".state", has_text="Firing").wait_for()
    assert row.count() == 1, "the list is reloaded in place, not appended to"

    upload_readings(person, "hall/temp", 3)  # a minute apart, the newest 1 min ago
    client.go("#/readings/hall%2Ftemp?field=celsius&bucket=1m")
    client.heading("hall/temp")
    before = chart_points(page)
    now = {"sensor": "hall/temp", "data": {"celsius": 22}}
    assert person.request("POST", "/api/v1/readings/", now).status == 201
    assert wait_for_points(page, before + 1) == before + 1
    client.assert_no_errors()


def rule_state_in_list(page, rule_id):
    """The State column of a rule's row in the list of rules."""
    row = page.locator(f"tr[data-rule-id='{rule_id}']")
    return row.locator(".state").inner_text()


def device_upload(live_server, key, sensor, **data):
    """One reading posted with a device key, as the device itself would: the status."""
    body = {"sensor": sensor, "data": data or {"celsius": 21}}
    answer = Http(live_server).request("POST", "/api/v1/readings/", body, token=key)
    return answer.status


def shown_key(page, title, replacing=None):
    """The key in the panel named title, once it no longer shows replacing."""
    panel = page.get_by_role("region", name=title)
    if replacing:
        panel = panel.filter(has_not_text=replacing)
    panel.wait_for()
    assert "Shown only once" in panel.inner_text()
    key = panel.locator(".secret-value").inner_text()
    assert re.fullmatch(r"mdk_[A-Za-z0-9_-]{43}", key), key
    return key


def device_row(page, name):
    return page.locator(
        "tr[data-device-id]", has=page.get_by_role("rowheader", name=name)
    )


def rotate_key(page, device, grace, replacing=None):
    page.get_by_role("button", name=f"Rotate key of {device}").click()
    form = page.get_by_role("form", name=f"Rotate the key of {device}")
    form.get_by_label("The old key keeps working for").select_option(label=grace)
    form.get_by_role("button", name="Rotate key").click()
    return shown_key(page, f"Rotated: key of {device}", replacing)


def test_a_device_key_is_shown_once_uploads_rotates_and_dies_with_the_device(
    web, user, live_server
):
    client = web()
    page = client.page
    client.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=client.base
    )
    client.sign_in_at(user.username, "#/devices", "Devices")
    page.get_by_text("No devices yet.").wait_for()

    create = page.get_by_role("form", name="New device")
    create.get_by_label("Name", exact=True).fill("Kitchen box")
    create.get_by_label("Sensors it may write").fill("kitchen/*\n\n  hall/temp  \n")
    create.get_by_role("button", name="Create device").click()
    key = shown_key(page, "New device: key of Kitchen box")
    row = device_row(page, "Kitchen box")
    assert row.locator("td").nth(0).inner_text().split() == ["kitchen/*", "hall/temp"]
    assert f"{key[:12]}…" == row.locator("td").nth(1).inner_text()
    assert row.locator("td").nth(3).inner_text() == "never"
    client.check_page("devices-new-key")
    copy = page.get_by_role("button", name="Copy", exact=True)
    copy.click()
    page.get_by_role("button", name="Copied").wait_for()
    assert page.evaluate("() => navigator.clipboard.readText()") == key
    page.get_by_role("button", name="I have stored it").click()
    assert key not in page.content()

    # The key the page showed uploads as its device, inside its scope only.
    assert device_upload(live_server, key, "kitchen/temp") == 201
    assert device_upload(live_server, key, "garage/door") == 403
    answers = []
    page.on("response", lambda r: answers.append(r) if "/api/v1/" in r.url else None)
    page.reload()
    last_used = device_row(page, "Kitchen box").locator("td").nth(3).locator("time")
    last_used.wait_for()
    assert seconds_ago(last_used.get_attribute("datetime")) < 60
    assert key not in page.content(), "the key is shown only once"
    assert not any(key in r.text() for r in answers), "no later answer carries it"
    assert key not in page.evaluate("() => JSON.stringify({...sessionStorage})")

    # A rotation with a grace window: both keys upload; then one without: only
    # the newest (rotating again ends any earlier grace).
    second = rotate_key(page, "Kitchen box", "1 hour")
    assert second != key
    assert device_upload(live_server, key, "kitchen/temp") == 201
    assert device_upload(live_server, second, "kitchen/temp") == 201
    third = rotate_key(page, "Kitchen box", "none: the old key stops now", second)
    assert key not in page.content() and second not in page.content()
    assert device_upload(live_server, second, "kitchen/temp") == 401
    assert device_upload(live_server, key, "kitchen/temp") == 401
    assert device_upload(live_server, third, "kitchen/temp") == 201

    # Rename and change its sensors: the API's 400 for a bad pattern at the field.
    page.get_by_role("button", name="Edit Kitchen box").click()
    edit = page.get_by_role("form", name="Edit Kitchen box")
    edit.get_by_label("Name", exact=True).fill("Hall box")
    sensors = edit.get_by_label("Sensors it may write")
    # A blank line is dropped as sent, so the error names the line it is on now.
    sensors.fill("hall/*\n\n" + "x" * 65)
    edit.get_by_role("button", name="Save").click()
    message = error_of(page, sensors)
    message.wait_for()
    assert message.inner_text().startswith("Line 2: must be at most 64 characters")
    assert sensors.input_value() == "hall/*\n" + "x" * 65
    assert sensors.get_attribute("aria-invalid") == "true"
    assert "Check the form" in edit.get_by_role("alert").inner_text()
    client.check_page("devices-edit-error")
    sensors.fill("hall/*")
    edit.get_by_role("button", name="Save").click()
    row = device_row(page, "Hall box")
    row.wait_for()
    assert row.locator("td").nth(0).inner_text() == "hall/*"
    assert device_upload(live_server, third, "kitchen/temp") == 403
    assert device_upload(live_server, third, "hall/temp") == 201

    # Deleting asks first: dismissed, nothing happens; accepted, the row and key go.
    asked = []

    def answer_with(accept):
        def on_dialog(dialog):
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        page.once("dialog", on_dialog)

    answer_with(False)
    page.get_by_role("button", name="Delete Hall box").click()
    assert asked and "Delete Hall box?" in asked[0]
    assert row.is_visible()
    assert device_upload(live_server, third, "hall/temp") == 201
    answer_with(True)
    page.get_by_role("button", name="Delete Hall box").click()
    page.get_by_text("No devices yet.").wait_for()
    assert row.count() == 0
    assert device_upload(live_server, third, "hall/temp") == 401
    page.reload()
    page.get_by_text("No devices yet.").wait_for()
    client.assert_no_errors()


def seconds_ago(iso):
    then = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (datetime.now(timezone.utc) - then).total_seconds()


# A sensor name with what a hash route must encode: space, "#", "?" and "%".
ODD_SENSOR = "shed #2 ?50%"


def iso_minutes_ago(minutes):
    then = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(
        minutes=minutes
    )
    return then.isoformat().replace("+00:00", "Z")


def overview_rows(page):
    """The overview's rows as the user reads them: sensor, values, when, sent by."""
    page.locator("tr[data-sensor]").first.wait_for()
    return page.locator("tr[data-sensor]").evaluate_all(
        "(rows) => rows.map(r => [...r.cells].map(c => c.innerText.trim())"
        ".concat(r.querySelector('time').dateTime))"
    )


def test_the_sensors_overview_lists_each_sensors_newest_reading(web, user, live_server):
    client = web()
    page = client.page
    client.sign_in_at(user.username, "#/readings", "Readings")
    page.get_by_text("No readings yet.").wait_for()
    assert page.locator("tr[data-sensor]").count() == 0
    # An empty page says where readings come from, with a link to go there.
    empty = page.locator("main section p", has_text="No readings yet.")
    assert empty.get_by_role("link", name="Devices").get_attribute("href") == (
        "#/devices"
    )
    client.check_page("readings-empty")

    box = user.request("POST", "/api/v1/devices/", {"name": "Hall box"}).json
    readings = [
        ("kitchen/temp", 5, {"celsius": 21.5}),
        ("kitchen/temp", 30, {"celsius": 18}),  # uploaded later, recorded earlier
        ("garden/soil", 100, {"moisture": 0.31, "ok": True}),
        (ODD_SENSOR, 3, {"volts": 12.6}),
        ("door/count", 4, {"opened": 25500}),
    ]
    for sensor, minutes, data in readings:
        body = {"sensor": sensor, "recorded_at": iso_minutes_ago(minutes), "data": data}
        assert user.request("POST", "/api/v1/readings/", body).status == 201
    for minutes, celsius in ((20, 19), (2, 22)):
        body = {"sensor": "hall/temp", "recorded_at": iso_minutes_ago(minutes)}
        body["data"] = {"celsius": celsius}
        answer = Http(live_server).request(
            "POST", "/api/v1/readings/", body, token=box["key"]
        )
        assert answer.status == 201

    page.reload()
    rows = overview_rows(page)
    # PostgreSQL's jsonb keeps an object's members in its own order.
    rows[1][1] = ", ".join(sorted(rows[1][1].split(", ")))
    assert [row[:4] for row in rows] == [
        ["door/count", "opened: 25,500", "4 minutes ago", "No device"],
        ["garden/soil", "moisture: 0.31, ok: true", "2 hours ago", "No device"],
        ["hall/temp", "celsius: 22", "2 minutes ago", "Hall box"],
        ["kitchen/temp", "celsius: 21.5", "5 minutes ago", "No device"],
        [ODD_SENSOR, "volts: 12.6", "3 minutes ago", "No device"],
    ]
    assert [round(seconds_ago(row[4]) / 60) for row in rows] == [4, 100, 2, 5, 3]
    client.check_page("readings")

    page.get_by_role("link", name=ODD_SENSOR).click()
    client.heading(ODD_SENSOR)
    page.get_by_text("Readings 1 to 1").wait_for()
    page.go_back()
    client.heading("Readings")

    body = {"sensor": "attic/temp", "data": {"celsius": 30}}
    assert user.request("POST", "/api/v1/readings/", body).status == 201
    page.reload()
    assert [row[0] for row in overview_rows(page)] == [
        "attic/temp",
        "door/count",
        "garden/soil",
        "hall/temp",
        "kitchen/temp",
        ODD_SENSOR,
    ]
    client.assert_no_errors()


def test_data_retention_rules_preview_in_words_and_undo_during_the_grace(web, user):
    for minutes in (30 * 1440, 30 * 1440 - 1, 30 * 1440 - 2, 1):
        body = {"sensor": "kitchen/temp", "recorded_at": iso_minutes_ago(minutes)}
        body["data"] = {"celsius": 20}
        assert user.request("POST", "/api/v1/readings/", body).status == 201
    client = web()
    page = client.page
    client.sign_in_at(user.username, "#/retention", "Data retention")
    page.get_by_text("No rules: every reading is kept.").wait_for()
    page.get_by_text("Nothing: no reading is old enough for your rules.").wait_for()

    page.get_by_role("button", name="Add a rule").click()
    client.field("Sensors").fill("kitchen/*")
    client.field("Keep raw readings for (days)").fill("0")
    page.get_by_role("button", name="Save rules").click()
    days = client.field("Keep raw readings for (days)")
    error_of(page, days).wait_for()
    assert "1" in error_of(page, days).inner_text()

    days.fill("7")
    page.get_by_role("button", name="Save rules").click()
    page.get_by_text("Grace period: nothing the earlier rules kept").wait_for()
    sentence = page.get_by_text(
        re.compile(r"^3 readings of kitchen/temp recorded up to")
    )
    sentence.wait_for()
    assert " will be removed from " in sentence.inner_text()
    assert user.request("GET", "/api/v1/readings/retention").json["rules"] == [
        {"sensors": ["kitchen/*"], "keep_days": 7}
    ]
    client.check_page("retention")

    page.get_by_role("button", name="Undo the change").click()
    page.get_by_text("No rules: every reading is kept.").wait_for()
    page.get_by_text("Nothing: no reading is old enough for your rules.").wait_for()
    assert user.request("GET", "/api/v1/readings/retention").json["rules"] == []
    client.assert_no_errors()
