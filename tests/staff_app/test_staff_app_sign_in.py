"""Signing in to the staff app against the stack's Cognito user pool (SRP, first-time password, TOTP)."""

import re

from playwright.sync_api import expect
from staff_app_kit import PASSWORD, POOL, sign_in, totp


def test_first_sign_in_sets_a_password_and_two_step_sign_in_as_the_pool_requires(page, backend, screens):
    backend.staff("new.assistant@example.com", "Temporary-Passw0rd", confirmed=False)
    page.goto(backend.url)
    page.screenshot(path=screens / "sign-in.png")
    page.get_by_label("Email").fill("new.assistant@example.com")
    page.get_by_label("Password").fill("Temporary-Passw0rd")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Choose your password")).to_be_visible()
    page.get_by_label("New password").fill("short")
    page.get_by_role("button", name="Save password").click()
    expect(page.get_by_role("alert")).to_contain_text("not allowed")
    page.get_by_label("New password").fill(PASSWORD)
    page.get_by_role("button", name="Save password").click()

    if POOL.get("MfaConfiguration") == "ON":
        expect(page.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()
        secret = page.locator("#totp-secret").inner_text()
        page.screenshot(path=screens / "sign-in-two-step-setup.png")
        page.get_by_label("6-digit code from the app").fill("000000" if totp(secret) != "000000" else "111111")
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("alert")).to_contain_text("code is not right")
        page.get_by_label("6-digit code from the app").fill(totp(secret))
        page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()


def test_two_step_sign_in_asks_for_the_authenticator_code(page, backend, screens):
    secret = backend.staff("manager@example.com", two_step=True)
    page.goto(backend.url)
    page.get_by_label("Email").fill("manager@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Two-step sign-in")).to_be_visible()
    page.get_by_label("6-digit code").fill("000000" if totp(secret) != "000000" else "111111")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not right.")
    page.screenshot(path=screens / "sign-in-two-step.png")
    page.get_by_label("6-digit code").fill(totp(secret))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()


def test_wrong_password_is_a_plain_sentence(page, backend):
    backend.staff("assistant@example.com")
    page.goto(backend.url)
    page.get_by_label("Email").fill("nobody@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")


def test_the_session_survives_a_reload_and_sign_out_ends_it(page, backend):
    backend.staff("assistant@example.com")
    sign_in(page, backend, "assistant@example.com")
    page.reload()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    tokens = page.evaluate("Object.keys(localStorage).filter(k => /idToken|refreshToken/.test(k))")
    assert tokens == []


def test_an_expired_id_token_is_refreshed_without_signing_in_again(page, backend):
    backend.staff("assistant@example.com")
    sign_in(page, backend, "assistant@example.com")
    before = page.evaluate("Object.entries(localStorage).find(([k]) => k.endsWith('.idToken'))[1]")
    # Two hours on: the one-hour ID token has expired; the refresh token (12 h) gets a new one.
    page.clock.install()
    page.clock.fast_forward("02:00:00")
    page.get_by_role("link", name="People").click()
    expect(page.get_by_text(re.compile(r"\d+ people registered"))).to_be_visible()
    after = page.evaluate("Object.entries(localStorage).find(([k]) => k.endsWith('.idToken'))[1]")
    assert after != before


def test_a_counter_tablet_account_sees_arrivals_only(page, backend):
    backend.staff("counter@example.com", role="tablet")
    sign_in(page, backend, "counter@example.com")
    expect(page.get_by_role("heading", name="Arrivals")).to_be_visible()
    expect(page.get_by_role("link", name="Arrivals")).to_be_visible()
    expect(page.get_by_role("link", name="Register")).to_be_hidden()
    expect(page.get_by_role("link", name="People")).to_be_hidden()
    page.goto(f"{backend.url}/#/register")
    expect(page.get_by_role("heading", name="Arrivals")).to_be_visible()
