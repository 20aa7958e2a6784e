"""The visit history through the staff API: a date range (store-time days, newest first, pages), who is in the
store now, one person's visits, a CSV a spreadsheet opens, "I'm on it", and erasure reaching the history."""

import csv
import io
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from greeter_common.visit_history import iso

LONDON = ZoneInfo("Europe/London")  # the template's default StoreTimeZone


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON).timestamp()


def test_a_date_range_lists_visits_newest_first_with_names_and_store_times(api, history, maria):
    history.opened(maria, at("2026-11-24T10:00:00"), "entrance", alerted_at=at("2026-11-24T10:00:01"))
    history.seen_again(maria, at("2026-11-24T10:00:00"), at("2026-11-24T10:40:00"), ["till"])
    history.opened(maria, at("2026-11-26T17:30:00"), "entrance")
    history.opened(maria, at("2026-11-27T09:00:00"), "entrance")  # outside the range

    reply = api.call("list-visits", query={"from": "2026-11-24", "to": "2026-11-26"})

    assert reply.status == 200, reply.body
    first, second = reply.body["visits"]
    assert first["arrived"] == "2026-11-26T17:30:00+00:00" and first["name"] == "Maria Silva"
    assert second["arrived"] == "2026-11-24T10:00:00+00:00" and second["left"] == "2026-11-24T10:40:00+00:00"
    assert second["minutes"] == 40 and second["cameras"] == ["entrance", "till"]
    assert second["alerted_at"] == "2026-11-24T10:00:01+00:00" and first["alerted_at"] is None
    assert reply.body["next_token"] is None


def test_pages_follow_each_other_and_a_foreign_token_or_range_is_refused(api, history, maria):
    for hour in range(9, 19):
        history.opened(maria, at(f"2026-11-24T{hour:02d}:00:00"), "entrance")
    query = {"from": "2026-11-24", "to": "2026-11-24", "limit": "4"}
    arrived, token = [], None
    while True:
        page = api.call("list-visits", query=query | ({"next_token": token} if token else {}))
        arrived += [visit["arrived"][11:13] for visit in page.body["visits"]]
        token = page.body["next_token"]
        if not token:
            break
    assert arrived == [f"{hour:02d}" for hour in range(18, 8, -1)]
    assert api.call("list-visits", query=query | {"next_token": "garbage"}).code == "invalid_page_token"
    assert api.call("list-visits", query={"from": "2026-11-25", "to": "2026-11-24"}).code == "invalid_date_range"
    assert api.call("list-visits", query={"from": "2026-01-01", "to": "2026-11-24"}).code == "invalid_date_range"
    assert api.call("list-visits", query={"from": "24/11/2026"}).code == "validation_error"


def test_in_the_store_now_lists_open_visits_only(api, history, maria):
    joao = "0b8f2a6e-3c4d-4e5f-8a9b-1c2d3e4f5a6b"
    now = datetime.now(LONDON).timestamp()
    history.opened(maria, now - 600, "entrance")
    history.opened(joao, now - 3 * 3600, "entrance")  # long gone (the cooldown is 30 minutes)
    reply = api.call("visits-now")
    assert reply.status == 200
    assert [(v["name"], v["in_store"]) for v in reply.body["visits"]] == [("Maria Silva", True)]


def test_one_persons_visits_and_an_unknown_person(api, history, maria):
    for day in (3, 10, 17):
        history.opened(maria, at(f"2026-11-{day:02d}T12:00:00"), "entrance")
    reply = api.call("person-visits", person_id=maria)
    assert [v["arrived"][:10] for v in reply.body["visits"]] == ["2026-11-17", "2026-11-10", "2026-11-03"]
    unknown = api.call("person-visits", person_id="0b8f2a6e-3c4d-4e5f-8a9b-1c2d3e4f5a6b")
    assert (unknown.status, unknown.code) == (404, "person_not_found")


def test_the_csv_export_has_a_header_row_and_opens_in_a_spreadsheet(api, history, photos):
    sneaky = api.register(photos.astronaut, name='=HYPERLINK("http://x")').body["person_id"]
    history.opened(sneaky, at("2026-11-02T10:00:00"), "entrance", alerted_at=at("2026-11-02T10:00:01"))
    history.seen_again(sneaky, at("2026-11-02T10:00:00"), at("2026-11-02T10:25:00"), ["till"])
    history.opened(sneaky, at("2026-11-01T09:00:00"), "entrance")

    event = api.event("export-visits")
    event["requestContext"]["requestId"] = "export-1"
    response = api.module.lambda_handler(event, api.context)

    assert response["statusCode"] == 200
    headers = response.get("headers") or {k: v[-1] for k, v in response["multiValueHeaders"].items()}
    assert headers["Content-Type"].startswith("text/csv")
    assert 'filename="greeter-visits-2026-11-01-to-2026-11-30.csv"' in headers["Content-Disposition"]
    text = response["body"]
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == [
        "date",
        "arrived",
        "left",
        "minutes",
        "name",
        "person_id",
        "cameras",
        "alerted_at",
        "acknowledged_by",
    ]
    assert [row[:4] for row in rows[1:]] == [
        ["2026-11-01", "09:00", "09:00", "0.0"],
        ["2026-11-02", "10:00", "10:25", "25.0"],
    ]
    assert rows[2][4] == '\'=HYPERLINK("http://x")'  # a name is never run as a formula
    assert rows[2][6] == "entrance till"


def test_im_on_it_records_the_first_staff_member_and_refuses_an_unknown_visit(api, history, maria):
    first = at("2026-12-01T10:05:03.120")
    history.opened(maria, first, "entrance")
    body = {"person_id": maria, "visit_id": iso(first)}
    mine = api.call("acknowledge-visit", body=body)
    assert mine.status == 200 and mine.body["acknowledged_by"] == "maria@example.com"
    claims = api.event("acknowledge-visit")["requestContext"]["authorizer"]["claims"] | {"email": "rui@example.com"}
    theirs = api.call("acknowledge-visit", body=body, claims=claims)
    assert theirs.body["acknowledged_by"] == "maria@example.com"  # the first one stands
    missing = api.call("acknowledge-visit", body=body | {"visit_id": iso(first + 1)})
    assert (missing.status, missing.code) == (404, "visit_not_found")
    assert api.call("acknowledge-visit", body=body | {"visit_id": "yesterday"}).code == "validation_error"


def test_erasure_removes_the_visit_history_and_the_receipt_counts_it(api, history, maria, everything):
    for day in range(1, 6):
        history.opened(maria, at(f"2026-11-{day:02d}T12:00:00"), "entrance")
    assert len(everything().visit_history) == 5
    reply = api.call("erase-person", person_id=maria)
    assert reply.status == 200 and reply.body["visits_erased"] == 5
    after = everything()
    assert after.visit_history == []
    (entry,) = after.audit
    assert entry["visits_erased"] == 5 and "name" not in entry
    assert api.call("list-visits", query={"from": "2026-11-01", "to": "2026-11-05"}).body["visits"] == []


def _meanwhile(write):
    """A fault that never fires: it makes `write` happen at the moment of the call it listens to."""

    def listen(params) -> bool:
        write(params)
        return False

    return listen


def test_a_visit_recorded_while_the_person_is_erased_is_removed_or_unreachable(api, history, maria, everything, faults):
    """A match-function container that read the person just before erasure began still claims and marks its alert
    sent: a history row may land while the erasure runs (it is swept and counted) or after its sweep (it is left,
    and no route shows it: the person is gone from the moment erasure starts)."""
    now = time.time()
    history.opened(maria, now - 2 * 86400, "entrance")
    during, late = now - 120, now - 30
    # While the photos are deleted (after the person was marked erased, before the history is swept).
    faults.fail("s3", "DeleteObjects", only_if=_meanwhile(lambda _: history.opened(maria, during, "entrance")))
    # After the sweep, as the erasure's audit entry is written.
    audit_table = api.stack.ref("ErasureAuditTable")
    faults.fail(
        "dynamodb",
        "PutItem",
        only_if=_meanwhile(
            lambda params: (
                params.get("TableName") == audit_table and history.opened(maria, late, "entrance", alerted_at=late)
            )
        ),
    )

    reply = api.call("erase-person", person_id=maria)

    assert reply.status == 200 and reply.body["visits_erased"] == 2  # the earlier visit and the one during
    (entry,) = everything().audit
    assert entry["visits_erased"] == 2
    (left,) = everything().visit_history
    assert left["first_seen"] == iso(late)
    # Unreachable: no list, page, video or "I'm on it" shows it.
    assert api.call("list-visits").body["visits"] == [] and api.call("visits-now").body["visits"] == []
    assert api.call("person-visits", person_id=maria).code == "person_not_found"
    assert api.call("visit-video", person_id=maria, first_seen=iso(late)).code == "person_not_found"
    acknowledged = api.call("acknowledge-visit", body={"person_id": maria, "visit_id": iso(late)})
    assert acknowledged.code == "visit_not_found"
    assert "acknowledged_by" not in everything().visit_history[0]
    export = api.call("export-visits").body
    assert maria not in export


def test_visit_routes_refuse_an_anonymous_request(api):
    for route in ("list-visits", "visits-now", "export-visits"):
        assert api.call(route, claims=None).status == 401
