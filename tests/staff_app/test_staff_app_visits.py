"""Visits in the staff app: who is in the store now, a day's visits picked by date and paged, a CSV of a date range
downloaded with the staff member's token, a person's visits, and a visit's page with its video (or why not).
The visits are written to the visit history as the match function writes them."""

import csv
import importlib.util
import io
import re
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from greeter_common.visit_history import epoch
from playwright.sync_api import expect
from staff_app_kit import ROOT, astronaut_photo, register_by_file, sign_in, visits
from test_staff_app_accessibility import TABLET, _serious_violations


def _yesterday_at(backend, hour: int, minute: int) -> float:
    zone = ZoneInfo(backend.config["storeTimeZone"])
    day = datetime.now(zone).date() - timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).timestamp()


def _seed(backend) -> dict:
    """Maria: in the store now (since 5 minutes), 25 visits yesterday (10:00, 10:10 ...), one three days ago."""
    now = time.time()
    yesterday = [
        (_yesterday_at(backend, 10 + n // 6, (n % 6) * 10), _yesterday_at(backend, 10 + n // 6, (n % 6) * 10 + 4))
        for n in range(25)
    ]
    old = (now - 3 * 86400, now - 3 * 86400 + 600)
    return visits(backend, "Maria Silva", (now - 300, now - 30), *yesterday, old)


def test_visits_now_a_day_paged_and_a_csv_of_two_days(page, backend, screens):
    backend.staff("maria@example.com")
    sign_in(page, backend, "maria@example.com")
    register_by_file(page, "Maria Silva", astronaut_photo())
    _seed(backend)

    page.get_by_role("link", name="Visits").click()
    now = page.get_by_role("table", name="In the store now")
    expect(now.get_by_role("row")).to_have_count(2)  # the header and Maria
    expect(now).to_contain_text("Maria Silva")
    expect(now).to_contain_text("in the store now")
    expect(page.get_by_role("table", name=re.compile("^Visits on "))).to_contain_text("Maria Silva")
    page.screenshot(path=screens / "visits.png", full_page=True)

    zone = ZoneInfo(backend.config["storeTimeZone"])
    yesterday = (datetime.now(zone).date() - timedelta(days=1)).isoformat()
    page.get_by_label("Pick a day").fill(yesterday)
    day = page.get_by_role("table", name=f"Visits on {yesterday}")
    expect(day.get_by_role("row")).to_have_count(21)  # a page of 20
    expect(page.get_by_role("status").filter(has_text="20 visits so far.")).to_be_visible()
    page.get_by_role("button", name="Show more").click()
    expect(day.get_by_role("row")).to_have_count(26)
    expect(page.get_by_role("button", name="Show more")).to_be_hidden()
    # Newest first, in the store's time: 14:00 (the 25th) at the top, 10:00 at the bottom.
    expect(day.get_by_role("row").nth(1)).to_contain_text("14:00")
    expect(day.get_by_role("row").nth(25)).to_contain_text("10:00")
    expect(day.get_by_role("row").nth(1)).to_contain_text("4 min")
    page.screenshot(path=screens / "visits-yesterday.png", full_page=True)

    page.get_by_label("From", exact=True).fill(yesterday)
    page.get_by_label("To", exact=True).fill(datetime.now(zone).date().isoformat())
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    file = download.value
    assert file.suggested_filename == f"greeter-visits-{yesterday}-to-{datetime.now(zone).date().isoformat()}.csv"
    rows = list(csv.reader(io.StringIO(Path(file.path()).read_text(encoding="utf-8-sig"))))
    assert rows[0][:5] == ["date", "arrived", "left", "minutes", "name"]
    assert len(rows) == 1 + 26 and {row[4] for row in rows[1:]} == {"Maria Silva"}
    expect(page.get_by_role("status").filter(has_text=f"Downloaded {file.suggested_filename}.")).to_be_visible()


def _email_link(monkeypatch, app_url: str, person_id: str, first_seen: float) -> str:
    """The visit page's link in the alert email: the match function's own visit_page()."""
    match = ROOT / "functions" / "match"
    monkeypatch.syspath_prepend(str(match))
    had_sightings = "sightings" in sys.modules
    spec = importlib.util.spec_from_file_location("match_alert_email", match / "alert_email.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not had_sightings:  # the match function's module, imported by it: gone again for the next test
        sys.modules.pop("sightings", None)
    return module.visit_page(app_url, person_id, first_seen)


def test_a_persons_visits_and_a_visits_page_with_its_video(page, backend, screens, monkeypatch):
    backend.staff("maria@example.com")
    sign_in(page, backend, "maria@example.com")
    register_by_file(page, "Maria Silva", astronaut_photo())
    seeded = _seed(backend)

    page.get_by_role("link", name="People").click()
    page.get_by_role("link", name="Maria Silva").click()
    mine = page.get_by_role("table", name="Visits of Maria Silva")
    expect(mine.get_by_role("row")).to_have_count(11)  # ten a page, newest first
    page.get_by_role("button", name="Show more visits").click()
    expect(mine.get_by_role("row")).to_have_count(21)
    page.screenshot(path=screens / "person-visits.png", full_page=True)

    # The visit now: the alert email's link is this page (the first sighting, URL-encoded).
    mine.get_by_role("row").nth(1).get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"#/people/[0-9a-f-]{36}/visits/\d{4}-\d\d-\d\dT\d\d%3A\d\d%3A\d\d\.\d{3}Z$"))
    expect(page.get_by_role("heading", name=re.compile("^Maria Silva — "))).to_be_visible()
    watch = page.get_by_role("link", name="Watch (entrance)")
    expect(watch).to_have_attribute("href", re.compile(r"getHLSMasterPlaylist\.m3u8"))
    expect(watch).to_have_attribute("target", "_blank")
    # An HLS link plays only where the browser plays HLS itself: the page names those browsers.
    expect(
        page.get_by_text(re.compile(r"plays in Safari \(Mac, iPhone, iPad\) and in Chrome on Android"))
    ).to_be_visible()
    page.screenshot(path=screens / "visit.png", full_page=True)

    # The link in the alert email, as the match function writes it, opens the same page.
    person_id, old = seeded["person_id"], seeded["visit_ids"][-1]
    page.goto(_email_link(monkeypatch, backend.url, person_id, epoch(seeded["visit_ids"][0])))
    expect(page.get_by_role("link", name="Watch (entrance)")).to_be_visible()

    # Three days ago: the stream keeps 24 hours of video.
    page.goto(f"{backend.url}/#/people/{person_id}/visits/{old.replace(':', '%3A')}")
    expect(page.get_by_text("The video has expired: the cameras keep video for 24 hours.")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("^Watch"))).to_have_count(0)
    page.screenshot(path=screens / "visit-expired.png", full_page=True)

    # A visit that is not in the history (e.g. erased with the person).
    page.goto(f"{backend.url}/#/people/{person_id}/visits/2020-01-01T10%3A00%3A00.000Z")
    expect(page.get_by_role("alert")).to_contain_text("no longer in the history")


def test_an_assistant_sees_who_is_in_the_store_but_not_past_days(page, browser, browser_context_args, backend):
    backend.staff("maria@example.com")
    backend.staff("ana@example.com", role="assistant")
    sign_in(page, backend, "maria@example.com")
    register_by_file(page, "Maria Silva", astronaut_photo())
    _seed(backend)
    page = browser.new_context(**browser_context_args).new_page()  # Ana's own tablet
    sign_in(page, backend, "ana@example.com")
    page.get_by_role("link", name="Visits").click()
    expect(page.get_by_role("table", name="In the store now")).to_contain_text("Maria Silva")
    expect(page.get_by_text("A manager can see past days' visits and export them.")).to_be_visible()
    expect(page.get_by_role("button", name="Download CSV")).to_have_count(0)


def test_the_visits_screens_have_no_serious_accessibility_violations(browser, browser_context_args, backend, screens):
    context = browser.new_context(**browser_context_args, bypass_csp=True)  # lets axe in
    page = context.new_page()
    backend.staff("maria@example.com")
    sign_in(page, backend, "maria@example.com")
    register_by_file(page, "Maria Silva", astronaut_photo())
    seeded = _seed(backend)
    visit = f"#/people/{seeded['person_id']}/visits/{seeded['visit_ids'][0].replace(':', '%3A')}"
    found = {}
    for orientation, viewport in TABLET.items():
        page.set_viewport_size(viewport)
        page.get_by_role("link", name="Visits").click()
        expect(page.get_by_role("table", name="In the store now")).to_be_visible()
        found[f"visits-{orientation}"] = _serious_violations(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], orientation
        page.goto(f"{backend.url}/{visit}")
        expect(page.get_by_role("link", name="Watch (entrance)")).to_be_visible()
        found[f"visit-{orientation}"] = _serious_violations(page)
        page.screenshot(path=screens / f"visit-{orientation}.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], orientation
    assert {name: v for name, v in found.items() if v} == {}
    context.close()
