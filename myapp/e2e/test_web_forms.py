"""The web client's forms, goals and first run, in Debian's chromium.

Every tab here is a person in Berlin reading British English (the context's
timezone_id and locale), at desktop width, checked at phone width too by
check_page (no sideways scrolling, no cut table cell, axe clean).
"""

import json
import subprocess

from testing.accounts import PASSWORD
from testing.webclient import PHONE, error_of
from testing.webforms import (
    BERLIN_USER,
    assert_sensible_button_names,
    berlin_midnight,
    berlin_tab,
    options_of,
    upload,
)


def banner(page):
    box = page.locator(".problem")
    box.wait_for()
    return box.inner_text()


def test_error_banners_say_what_happened_in_words_not_http_phrases(web, user):
    client = berlin_tab(web)
    page = client.page
    client.open("#/register")
    client.heading("Register")
    client.field("Email").fill("someone@example.com")
    client.field("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    username = client.field("Username")
    error_of(page, username).wait_for()
    assert error_of(page, username).inner_text() == "required"
    text = banner(page)
    assert text.startswith("Check the form")
    assert "Bad Request" not in text

    username.fill("two words")
    page.get_by_role("button", name="Create account").click()
    page.locator(".field-error", has_text="letters").wait_for()
    message = error_of(page, username).inner_text()
    assert message == "3 to 32 letters, digits, dots, dashes or underscores"
    client.check_page("forms-register-error")
    assert_sensible_button_names(page, "register")

    client.go("#/signin")
    client.heading("Sign in")
    client.field("Username or email").fill(user.username)
    client.field("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    text = banner(page)
    assert text.startswith("Sign in again")
    assert "Unauthorized" not in text
    assert "username or password is incorrect" in text
    assert_sensible_button_names(page, "sign in")
    client.assert_no_errors()


def test_alert_and_goal_forms_offer_the_users_sensors_and_their_numeric_fields(
    web, user
):
    upload(user, "livingroom/temp", celsius=21.5, humidity=40, ok=True, label="x")
    upload(user, "garden/soil", moisture=0.31)
    client = berlin_tab(web)
    page = client.page
    client.sign_in_at(user.username, "#/alerts/new", "New alert rule")
    sensor = client.field("Sensor")
    assert options_of(sensor, "livingroom/temp") == [
        "garden/soil",
        "livingroom/temp",
        "A sensor that has not sent yet…",
    ]
    sensor.select_option("livingroom/temp")
    fields = client.field("Field of data")
    assert options_of(fields, "humidity") == [
        "celsius",
        "humidity",
        "Another field…",
    ]
    assert not client.field("Sensor name").is_visible()

    # The misspelt sensor of the report: typed, warned about, refused unticked.
    client.field("Name").fill("Too warm")
    sensor.select_option(label="A sensor that has not sent yet…")
    client.field("Sensor name").fill("livingroom/tmp")
    page.get_by_text('"livingroom/tmp" has sent no reading yet').wait_for()
    client.field("Field name").fill("celsius")
    client.field("Fires above").fill("30")
    page.get_by_role("button", name="Create rule").click()
    confirm = client.field("Use this name anyway")
    error_of(page, confirm).wait_for()
    assert "has not sent a reading yet" in error_of(page, confirm).inner_text()
    assert confirm.get_attribute("aria-invalid") == "true"
    assert user.request("GET", "/api/v1/alerts/").json["items"] == []
    client.check_page("forms-alert-unknown-sensor")

    sensor.select_option("livingroom/temp")
    fields.select_option("celsius")
    page.get_by_role("button", name="Create rule").click()
    client.heading("Too warm")
    (rule,) = user.request("GET", "/api/v1/alerts/").json["items"]
    assert rule["sensor"] == "livingroom/temp"
    assert rule["condition"]["field"] == "celsius"

    page.get_by_role("link", name="Edit rule").click()
    client.heading("Edit alert rule")
    assert client.field("Sensor").is_disabled()
    assert client.field("Field of data").input_value() == "celsius"
    client.check_page("forms-alert-edit")

    client.go("#/goals")
    client.heading("Goals")
    page.get_by_role("checkbox", name="Measure with readings").check()
    sensors = options_of(client.field("Sensor"), "livingroom/temp")
    assert sensors[:2] == ["garden/soil", "livingroom/temp"]
    client.field("Sensor").select_option("garden/soil")
    fields = options_of(client.field("Field of data"), "moisture")
    assert fields == ["moisture", "Another field…"]

    # A saved goal's sensor that has still not sent was accepted once: an edit
    # of its name is not asked to confirm it again.
    target = {"sensor": "cellar/temp", "field": "celsius", "aggregate": "max"}
    target.update({"op": ">=", "value": 10, "period": None})
    goal = {"name": "Warm cellar", "target": target}
    assert user.request("POST", "/api/v1/goals/", goal).status == 201
    page.reload()
    page.get_by_role("button", name="Actions for Warm cellar").click()
    page.get_by_role("button", name="Edit Warm cellar").click()
    form = page.get_by_role("form", name="Edit Warm cellar")
    assert form.get_by_label("Sensor name").input_value() == "cellar/temp"
    assert not form.get_by_label("Use this name anyway").is_visible()
    form.get_by_label("Name", exact=True).fill("Warmer cellar")
    form.get_by_role("button", name="Save").click()
    page.get_by_label("Warmer cellar", exact=True).wait_for()
    client.assert_no_errors()


def test_numbers_are_read_as_people_type_them_and_shown_with_separators(web, user):
    upload(user, "phone/steps", steps=10000)
    client = berlin_tab(web)
    page = client.page
    client.sign_in_at(user.username, "#/alerts/new", "New alert rule")
    client.field("Name").fill("Odd steps")
    client.field("Sensor").select_option("phone/steps")
    above = client.field("Fires above")
    above.fill("lots")
    client.field("Fires below").fill("25,5")
    page.get_by_role("button", name="Create rule").click()
    error_of(page, above).wait_for()
    assert error_of(page, above).inner_text() == "a number, such as 10000 or 25.5"
    above.fill("10,000")
    page.get_by_role("button", name="Create rule").click()
    client.heading("Odd steps")
    (rule,) = user.request("GET", "/api/v1/alerts/").json["items"]
    assert rule["condition"]["above"] == 10000
    assert rule["condition"]["below"] == 25.5
    condition = page.locator("dl.facts dd").nth(2).inner_text()
    assert condition == "steps above 10,000 or steps below 25.5"
    client.check_page("forms-alert-rule-numbers")

    client.go("#/goals")
    client.heading("Goals")
    client.field("Name").fill("Walk")
    page.get_by_role("checkbox", name="Measure with readings").check()
    client.field("Sensor").select_option("phone/steps")
    client.field("Target value").fill("10,000")
    client.field("Period").select_option("day")
    page.get_by_role("button", name="Add goal").click()
    measured = page.locator("li.goal .measured")
    measured.wait_for()
    (goal,) = user.request("GET", "/api/v1/goals/").json["items"]
    assert goal["target"]["value"] == 10000
    for steps in (10000, 15500):
        upload(user, "phone/steps", steps=steps)
    page.reload()
    measured.wait_for()
    assert measured.text_content() == (
        "Measured: Total steps from phone/steps of at least 10,000 a day: "
        "25,500 today, met · 1-day streak"
    )

    client.go("#/retention")
    client.heading("Data retention")
    page.get_by_role("button", name="Add a rule").click()
    days = client.field("Keep raw readings for (days)")
    days.fill("a year")
    page.get_by_role("button", name="Save rules").click()
    error_of(page, days).wait_for()
    assert error_of(page, days).inner_text() == "a whole number, such as 42"
    days.fill("1,000")
    page.get_by_role("button", name="Save rules").click()
    page.get_by_text("Rules saved").wait_for(state="attached")
    saved = user.request("GET", "/api/v1/readings/retention").json["rules"]
    assert saved == [{"sensors": None, "keep_days": 1000}]
    client.assert_no_errors()


def test_a_habit_is_met_per_day_with_a_streak_calendar_never_ticked(web, user):
    assert user.request("PATCH", "/api/v1/users/me", BERLIN_USER).status == 200
    habit = {
        "name": "Walk daily",
        "started_at": berlin_midnight(5).isoformat(),
        "target": {
            "sensor": "phone/steps",
            "field": "steps",
            "aggregate": "sum",
            "op": ">=",
            "value": 10000,
            "period": "day",
        },
    }
    assert user.request("POST", "/api/v1/goals/", habit).status == 201
    for days_ago, steps in ((0, 10000), (0, 15500), (1, 12000), (3, 5000)):
        upload(user, "phone/steps", berlin_midnight(days_ago), steps=steps)
    client = berlin_tab(web)
    page = client.page
    client.sign_in_at(user.username, "#/goals", "Goals")
    row = page.locator("li.goal", has_text="Walk daily")
    calendar = row.locator("ol.streak-calendar li")
    calendar.first.wait_for()
    assert row.get_by_role("checkbox").count() == 0, "a habit is never ticked"
    assert row.locator(".habit-status").inner_text() == "Met today"
    assert "completed" not in row.locator(".goal-name").get_attribute("class")
    assert (
        row.locator(".measured")
        .text_content()
        .endswith("25,500 today, met · 2-day streak")
    )
    days = calendar.evaluate_all("(items) => items.map(i => i.title)")
    assert len(days) == 14
    said = [text.split(": ", 1)[1] for text in days[-7:]]
    assert said == [
        "before the goal started",
        "0, not met",
        "0, not met",
        "5,000, not met",
        "0, not met",
        "12,000, met",
        "25,500, met",
    ]
    today = berlin_midnight(0)
    assert days[-1].startswith(f"{today:%a} {today.day} {today:%b}")
    assert all(text.endswith("before the goal started") for text in days[:8])
    assert not days[8].endswith("before the goal started")
    client.check_page("forms-habit")
    client.assert_no_errors()


def test_a_parent_with_every_sub_goal_done_offers_to_complete_itself(web, user):
    parent = user.request("POST", "/api/v1/goals/", {"name": "Trip"}).json
    for name in ("Flights", "Hotel"):
        child = {"name": name, "parent_id": parent["id"]}
        child_id = user.request("POST", "/api/v1/goals/", child).json["id"]
        done = user.request("PATCH", f"/api/v1/goals/{child_id}", {"completed": True})
        assert done.status == 200
    client = berlin_tab(web)
    page = client.page
    client.sign_in_at(user.username, "#/goals", "Goals")
    trip = page.get_by_label("Trip", exact=True)
    trip.wait_for()
    assert not trip.is_checked()
    row = page.locator("li.goal", has=trip).locator(".goal-row").first
    assert "All sub-goals done." in row.inner_text()
    assert "100%" in row.inner_text()

    # One button per row on a phone: the rest sits behind it.
    page.set_viewport_size(PHONE)
    for goal_row in page.locator(".goal-row").all():
        shown = goal_row.locator(".goal-actions button:visible")
        assert shown.count() == 1
        assert shown.text_content().startswith("Actions for ")
    more = page.get_by_role("button", name="Actions for Trip")
    assert more.get_attribute("aria-expanded") == "false"
    more.click()
    assert more.get_attribute("aria-expanded") == "true"
    for name in ("Add sub-goal to Trip", "Move Trip to another place", "Delete Trip"):
        assert page.get_by_role("button", name=name).is_visible()
    client.check_page("forms-goals-all-done")
    page.get_by_role("button", name="Move Trip to another place").focus()
    page.keyboard.press("Escape")
    assert more.get_attribute("aria-expanded") == "false"
    assert (
        page.evaluate("() => document.activeElement.textContent") == "Actions for Trip"
    )

    page.get_by_role("button", name="Complete Trip").click()
    page.get_by_text("Completed Trip").wait_for()
    assert page.get_by_label("Trip", exact=True).is_checked()
    assert "All sub-goals done." not in page.locator(".goal-tree").inner_text()
    client.assert_no_errors()


def run_example(argv, text):
    done = subprocess.run(argv + [text], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_first_run_pages_say_what_to_do_and_a_new_key_comes_with_examples(web, user):
    client = berlin_tab(web)
    page = client.page
    client.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=client.base
    )
    client.sign_in_at(user.username, "#/alerts", "Alerts")
    page.get_by_text("No alert rules yet.").wait_for()
    client.check_page("forms-alerts-empty")
    page.get_by_role("link", name="Create a rule").click()
    client.heading("New alert rule")
    assert_sensible_button_names(page, "new rule")
    client.go("#/goals")
    client.heading("Goals")
    page.get_by_text("No goals yet.").wait_for()
    assert page.locator(".goal-tree a[href='#/devices']").count() == 1
    client.check_page("forms-goals-empty")
    client.go("#/devices")
    client.heading("Devices")
    empty = page.get_by_text("No devices yet.")
    empty.wait_for()
    assert "More devices" in assert_sensible_button_names(page, "devices")
    client.check_page("forms-devices-empty")

    create = page.get_by_role("form", name="New device")
    create.get_by_label("Name", exact=True).fill("Garage box")
    create.get_by_label("Sensors it may write").fill("garage/*")
    create.get_by_role("button", name="Create device").click()
    panel = page.get_by_role("region", name="New device: key of Garage box")
    panel.wait_for()
    key = panel.locator(".secret-value").inner_text()
    examples = {
        label: panel.locator(f"[data-example={label}] code").inner_text()
        for label in ("curl", "Python", "MicroPython")
    }
    for text in examples.values():
        assert key in text and f"{client.base}/api/v1/readings/" in text
        assert "garage/temp" in text
    assert_sensible_button_names(page, "devices with a new key")
    client.check_page("forms-devices-examples")
    panel.get_by_role("button", name="Copy the curl example").click()
    page.get_by_role("button", name="Copied").wait_for()
    assert page.evaluate("() => navigator.clipboard.readText()") == examples["curl"]

    # The examples work as pasted: curl and Python upload over loopback.
    stored = json.loads(run_example(["sh", "-c"], examples["curl"]))
    assert stored["sensor"] == "garage/temp" and stored["device_id"] is not None
    assert run_example(["python3", "-c"], examples["Python"]).startswith("201 ")
    compile(examples["MicroPython"], "main.py", "exec")
    readings = user.request("GET", "/api/v1/readings/?sensor=garage/temp").json
    assert len(readings["items"]) == 2
    assert {r["data"]["celsius"] for r in readings["items"]} == {21.5}
    client.assert_no_errors()
