"""Accessibility (axe-core, from npm, injected locally) and layout on a 10-inch tablet, landscape and portrait."""

import json

from playwright.sync_api import expect
from staff_app_kit import ROOT, arrival, astronaut_photo, register_by_file, sign_in

AXE = ROOT / "staff-app" / "node_modules" / "axe-core" / "axe.min.js"
TABLET = {"landscape": {"width": 1280, "height": 800}, "portrait": {"width": 800, "height": 1280}}


def _serious_violations(page) -> list[dict]:
    page.add_script_tag(path=AXE)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_every_screen_has_no_serious_accessibility_violations_and_fits_a_tablet(
    browser, browser_context_args, backend, screens
):
    # The app's CSP allows no injected script; only this test's context lets axe in.
    context = browser.new_context(**browser_context_args, bypass_csp=True)
    page = context.new_page()
    backend.staff("ana@example.com")
    page.goto(backend.url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    found = {"sign-in": _serious_violations(page)}
    sign_in(page, backend, "ana@example.com")
    register_by_file(page, "Maria Silva", astronaut_photo(), notes="Likes green tea")
    arrival(backend, "Maria Silva")
    screens_to_check = {
        "arrivals": (
            "Arrivals",
            lambda: expect(page.get_by_role("listitem", name="Maria Silva arrived")).to_be_visible(),
        ),
        "register": ("Register", lambda: expect(page.get_by_role("button", name="Take photo")).to_be_enabled()),
        "people": ("People", lambda: expect(page.get_by_text("1 people registered.")).to_be_visible()),
    }
    for orientation, viewport in TABLET.items():
        page.set_viewport_size(viewport)
        for name, (link, ready) in screens_to_check.items():
            page.get_by_role("link", name=link).click()
            ready()
            found[f"{name}-{orientation}"] = _serious_violations(page)
            page.screenshot(path=screens / f"{name}-{orientation}.png", full_page=True)
            # Nothing wider than the screen: no sideways scrolling on the tablet.
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], (name, orientation)
        page.get_by_role("link", name="People").click()
        page.get_by_role("link", name="Maria Silva").click()
        expect(page.get_by_role("heading", name="Maria Silva")).to_be_visible()
        found[f"person-{orientation}"] = _serious_violations(page)
        page.screenshot(path=screens / f"person-{orientation}.png", full_page=True)
    assert {name: v for name, v in found.items() if v} == {}, json.dumps(found, indent=1)
    context.close()
