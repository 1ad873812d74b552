"""The web client's forms, goals, first run and safety, in Debian's chromium.

Every tab here is a person in Berlin reading British English (the context's
timezone_id and locale), at desktop width, checked at phone width too by
check_page (no sideways scrolling, no clipped table cell, axe clean).
"""

from testing.accounts import PASSWORD
from testing.webclient import error_of

BERLIN = {"timezone_id": "Europe/Berlin", "locale": "en-GB"}


def berlin_tab(web, **options):
    return web(**BERLIN, **options)


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

    client.go("#/signin")
    client.heading("Sign in")
    client.field("Username or email").fill(user.username)
    client.field("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    text = banner(page)
    assert text.startswith("Sign in again")
    assert "Unauthorized" not in text
    assert "username or password is incorrect" in text
    client.assert_no_errors()
