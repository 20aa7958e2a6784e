"""Arrivals on the counter tablets over the AppSync Events channel: two tablets, "I'm on it", reconnecting."""

from playwright.sync_api import expect
from staff_app_kit import arrival, astronaut_photo, photos_from_moto, register_by_file, sign_in


def _tablet(browser, browser_context_args, backend, email):
    context = browser.new_context(**browser_context_args)
    page = context.new_page()
    sign_in(page, backend, email)
    expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
    return page


def test_an_arrival_reaches_two_tablets_and_im_on_it_shows_on_the_other(
    page, browser, browser_context_args, backend, screens
):
    """Ana (who registers customers) at her desk, and the counter tablet (an account in the tablet role)."""
    backend.staff("ana@example.com")
    backend.staff("counter@example.com", role="tablet")
    photos_from_moto(page.context, backend)
    sign_in(page, backend, "ana@example.com")
    register_by_file(page, "Maria Silva", astronaut_photo(), notes="Likes green tea")
    page.get_by_role("link", name="Arrivals").click()
    expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
    counter = _tablet(browser, browser_context_args, backend, "counter@example.com")

    arrival(backend, "Maria Silva", camera="entrance", similarity=97.5)
    for tablet in (page, counter):
        card = tablet.get_by_role("listitem", name="Maria Silva arrived")
        expect(card).to_contain_text("Likes green tea")
        expect(card).to_contain_text("At the entrance")
        expect(card).to_contain_text("97.5 % match")
    photo = page.get_by_role("img", name="Registered photo of Maria Silva")
    expect(photo).to_be_visible()
    # Loaded, so the page's content security policy (the template's) lets the photos bucket's links in.
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=photo.element_handle())
    page.screenshot(path=screens / "arrivals.png")

    # The counter tablet, which may only see arrivals and acknowledge them, takes this customer.
    counter.get_by_role("button", name="I'm on it").click()
    expect(counter.get_by_text("You are looking after them.")).to_be_visible()
    expect(page.get_by_text("counter@example.com is on it.")).to_be_visible()
    expect(page.get_by_role("button", name="I'm on it")).to_have_count(0)
    page.screenshot(path=screens / "arrivals-taken.png")
    counter.context.close()


def test_a_tablet_that_lost_its_connection_says_so_reconnects_and_shows_what_it_missed(page, backend, screens):
    backend.staff("ana@example.com")
    sign_in(page, backend, "ana@example.com")
    register_by_file(page, "Maria Silva", astronaut_photo())
    page.get_by_role("link", name="Arrivals").click()
    expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()

    backend._call("POST", "/_test/events/pause")  # the shop's Wi-Fi drops
    expect(page.get_by_role("status").filter(has_text="Offline")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("This tablet is offline")
    page.screenshot(path=screens / "arrivals-offline.png")
    assert arrival(backend, "Maria Silva")["delivered"]  # published to the channel; this tablet missed it
    expect(page.get_by_role("listitem", name="Maria Silva arrived")).to_have_count(0)

    backend._call("POST", "/_test/events/resume")
    expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
    expect(page.get_by_role("listitem", name="Maria Silva arrived")).to_be_visible()
