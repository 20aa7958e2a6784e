"""The visit history on the template's own table: writes the match function makes, reads the staff API and the
weekly summary make, by store-time day across a clock change, by person, who is in now, and erasure."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import boto3
import pytest
from greeter_common.visit_history import BadPageToken, VisitHistory, iso
from stack import Stack

LONDON = ZoneInfo("Europe/London")
MARIA, JOAO = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"


def at(text: str) -> float:
    """A store-time (London) moment as epoch seconds."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON).timestamp()


@pytest.fixture
def table(aws):
    stack = Stack({"AlertEmails": "staff@example.com", "VisitRetentionDays": "90"})
    return boto3.resource("dynamodb", region_name="eu-west-1").Table(stack.ref("VisitHistoryTable"))


@pytest.fixture
def history(table) -> VisitHistory:
    return VisitHistory(table, LONDON, retention_days=90)


def test_a_visit_is_one_item_with_its_dwell_cameras_alert_and_expiry(history, table):
    first = at("2026-12-01T10:05:03.120")
    history.opened(MARIA, first, "entrance", alerted_at=first + 0.8)
    history.seen_again(MARIA, first, first + 40 * 60, ["till"])
    history.seen_again(MARIA, first, first + 10 * 60, ["entrance"])  # a late, older sighting never moves it back

    [item] = table.scan()["Items"]
    assert item["first_seen"] == "2026-12-01T10:05:03.120Z" and item["store_day"] == "2026-12-01"
    assert item["cameras"] == {"entrance", "till"}
    assert int(item["expires_at"]) == int(first + 40 * 60 + 90 * 86400) + 1  # retention after the visit ended
    [visit], _ = history.between(date(2026, 12, 1), date(2026, 12, 1))
    assert visit.dwell_seconds == pytest.approx(40 * 60) and visit.alerted_at == pytest.approx(first + 0.8)


def test_opening_the_same_visit_again_changes_nothing(history, table):
    first = at("2026-12-01T10:05:03.120")
    history.opened(MARIA, first, "entrance", alerted_at=first + 1)
    history.seen_again(MARIA, first, first + 600, [])
    history.opened(MARIA, first, "entrance")  # a redelivered record
    [item] = table.scan()["Items"]
    assert item["last_seen"] == iso(first + 600) and "alerted_at" in item


def test_a_day_boundary_is_the_stores_across_the_clock_change(history):
    # 25 October 2026: London goes from BST (UTC+1) to GMT at 02:00. 00:30 local on the 25th is 23:30 UTC on the
    # 24th: it belongs to the store's 25th. 23:30 local on the 25th is 23:30 UTC: still the 25th.
    history.opened(MARIA, at("2026-10-25T00:30:00"), "entrance")
    history.opened(JOAO, at("2026-10-25T23:30:00"), "entrance")
    history.opened(MARIA, at("2026-10-24T23:59:00"), "entrance")
    history.opened(JOAO, at("2026-10-26T00:00:01"), "entrance")
    day, _ = history.between(date(2026, 10, 25), date(2026, 10, 25))
    assert [(v.person_id, datetime.fromtimestamp(v.first_seen, LONDON).strftime("%d %H:%M")) for v in day] == [
        (JOAO, "25 23:30"),
        (MARIA, "25 00:30"),
    ]


def test_a_date_range_pages_newest_first_without_losing_or_repeating_a_visit(history):
    starts = [at(f"2026-11-{day:02d}T{hour:02d}:00:00") for day in (28, 29, 30) for hour in range(9, 18)]
    for n, start in enumerate(starts):
        history.opened(MARIA if n % 2 else JOAO, start, "entrance")
    seen, token, pages = [], None, 0
    while True:
        page, token = history.between(date(2026, 11, 28), date(2026, 11, 30), limit=4, token=token)
        seen += [v.first_seen for v in page]
        pages += 1
        if token is None:
            break
    assert seen == sorted(starts, reverse=True)
    assert pages == 7  # 27 visits, 4 a page


def test_a_page_token_from_elsewhere_is_refused(history):
    history.opened(MARIA, at("2026-11-28T10:00:00"), "entrance")
    _, token = history.between(date(2026, 11, 28), date(2026, 11, 28), limit=1)
    for bad in ("not-a-token", "eyJwIjogMX0", token or "x"):
        with pytest.raises(BadPageToken):
            history.between(date(2026, 12, 1), date(2026, 12, 2), token=bad)


def test_one_persons_visits_newest_first_and_paginated(history):
    for day in range(1, 8):
        history.opened(MARIA, at(f"2026-11-{day:02d}T12:00:00"), "entrance")
    history.opened(JOAO, at("2026-11-03T12:00:00"), "entrance")
    first, token = history.of_person(MARIA, limit=5)
    rest, end = history.of_person(MARIA, limit=5, token=token)
    assert [datetime.fromtimestamp(v.first_seen, UTC).day for v in first + rest] == [7, 6, 5, 4, 3, 2, 1]
    assert end is None
    with pytest.raises(BadPageToken):
        history.of_person(JOAO, token=token)


def test_in_the_store_now_is_who_was_seen_within_the_cooldown_even_across_midnight(history):
    now = at("2026-12-02T00:10:00")
    history.opened(MARIA, at("2026-12-01T23:50:00"), "entrance")
    history.seen_again(MARIA, at("2026-12-01T23:50:00"), now - 60, ["till"])
    history.opened(JOAO, at("2026-12-01T22:00:00"), "entrance")  # last seen 22:00: gone
    assert [v.person_id for v in history.in_store_now(now, cooldown_seconds=30 * 60)] == [MARIA]


def test_erasure_removes_every_visit_of_the_person_and_counts_them(history, table):
    for day in range(1, 30):
        history.opened(MARIA, at(f"2026-11-{day:02d}T12:00:00"), "entrance")
    history.opened(JOAO, at("2026-11-03T12:00:00"), "entrance")
    assert history.erase(MARIA) == 29
    assert [item["person_id"] for item in table.scan()["Items"]] == [JOAO]
    assert history.erase(MARIA) == 0


def test_an_acknowledgement_is_kept_once_and_only_on_a_visit_that_exists(history):
    first = at("2026-12-01T10:05:03.120")
    history.opened(MARIA, first, "entrance")
    assert history.acknowledged(MARIA, iso(first), "ana@example.com", first + 5)
    assert history.acknowledged(MARIA, iso(first), "rui@example.com", first + 6)  # the first one stands
    assert history.visit(MARIA, iso(first)).acknowledged_by == "ana@example.com"
    assert not history.acknowledged(MARIA, iso(first + 1), "ana@example.com", first + 5)


def test_the_keys_of_one_instant_are_the_same_however_it_was_rounded():
    assert iso(1764583503.12) == iso(1764583503.1199999) == iso(1764583503.120000001) == "2025-12-01T10:05:03.120Z"
