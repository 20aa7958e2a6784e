"""The Store screen: each camera's state and today's hours; a manager's "Close now" runs the store-hours state
machine (moto executing the template's ASL, the real store-hours function) and the screen follows it until the
camera is off; "Resume the schedule" hands the cameras back to the hours. An assistant sees it read-only."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from staff_app_kit import sign_in, store_hours_runs
from test_staff_app_accessibility import TABLET, _serious_violations

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _todays_hours(backend) -> str:
    """Today's hours by the stack's weekday parameters, in the store's time zone, as the screen says them."""
    today = datetime.now(ZoneInfo(backend.config["storeTimeZone"]))
    hours = backend.config["hours"][DAYS[today.weekday()]]
    return "Closed today" if hours == "closed" else "Open " + hours.replace("-", "–").replace(",", ", ")


def test_a_manager_closes_the_store_now_and_resumes_the_schedule(page, backend, screens):
    backend.staff("maria@example.com")
    sign_in(page, backend, "maria@example.com")
    page.get_by_role("link", name="Store").click()

    camera = page.get_by_role("listitem", name=re.compile("^Camera entrance"))
    # The local runtime's store is open around the clock and nobody has overridden it: frame search searches.
    expect(camera).to_contain_text("Watching for customers")
    expect(page.get_by_text(_todays_hours(backend))).to_be_visible()
    expect(page.get_by_text("None: the cameras follow the store hours.")).to_be_visible()
    expect(page.get_by_role("button", name="Resume the schedule…")).to_be_disabled()
    page.screenshot(path=screens / "store.png", full_page=True)

    page.get_by_role("button", name="Close now…").click()
    dialog = page.get_by_role("dialog", name="Close now?")
    expect(dialog).to_contain_text("Customers will not be recognised")
    # The reason is kept in the state machine's history and logs: the field says no customer names.
    expect(dialog.get_by_label("Reason (optional)")).to_have_accessible_description(re.compile("customer's name"))
    dialog.get_by_label("Reason (optional)").fill("stocktaking")
    page.screenshot(path=screens / "store-close-confirmation.png")
    dialog.get_by_role("button", name="Close now").click()

    expect(page.get_by_role("status").filter(has_text="Closing now until")).to_be_visible()
    # The state machine ran: the camera is off, the override kept, and the screen followed it there.
    expect(camera).to_contain_text("Off — closed by a manager")
    expect(page.get_by_text(re.compile(r"A manager closed the store until .* \(stocktaking\)\."))).to_be_visible()
    expect(page.get_by_text(re.compile(r"Last request: Close now at .* — done\."))).to_be_visible()
    (run,) = store_hours_runs(backend)
    assert run["input"] == {"action": "close", "reason": "stocktaking"} and run["status"] == "SUCCEEDED"
    page.screenshot(path=screens / "store-closed.png", full_page=True)

    page.get_by_role("button", name="Resume the schedule…").click()
    page.get_by_role("dialog", name="Resume the schedule?").get_by_role("button", name="Resume the schedule").click()
    expect(page.get_by_text("None: the cameras follow the store hours.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Last request: Resume the schedule at .* — done\."))).to_be_visible()
    open_now = page.get_by_text(re.compile("^Open now by the hours")).count() == 1
    expect(camera).to_contain_text("Watching for customers" if open_now else "Off — store closed")
    assert [run["input"] for run in store_hours_runs(backend)][0] == {"action": "resume"}


def test_an_assistant_sees_the_store_but_no_override_buttons(page, backend):
    backend.staff("ana@example.com", role="assistant")
    sign_in(page, backend, "ana@example.com")
    page.get_by_role("link", name="Store").click()
    expect(page.get_by_role("listitem", name=re.compile("^Camera entrance"))).to_contain_text("Watching for customers")
    expect(page.get_by_text("Only a manager can open or close the store outside its hours.")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Close now|Open now|Resume"))).to_have_count(0)
    assert store_hours_runs(backend) == []


def test_the_store_screen_has_no_serious_accessibility_violations(browser, browser_context_args, backend, screens):
    context = browser.new_context(**browser_context_args, bypass_csp=True)  # lets axe in
    page = context.new_page()
    backend.staff("maria@example.com")
    sign_in(page, backend, "maria@example.com")
    found = {}
    for orientation, viewport in TABLET.items():
        page.set_viewport_size(viewport)
        page.get_by_role("link", name="Store").click()
        expect(page.get_by_role("listitem", name=re.compile("^Camera entrance"))).to_be_visible()
        found[orientation] = _serious_violations(page)
        page.screenshot(path=screens / f"store-{orientation}.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], orientation
        page.get_by_role("button", name="Close now…").click()
        found[f"dialog-{orientation}"] = _serious_violations(page)
        page.get_by_role("button", name="Cancel").click()
    assert {name: v for name, v in found.items() if v} == {}
    context.close()
