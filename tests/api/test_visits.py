""" "I'm on it" reaches every tablet: the acknowledgement the visit history records is published on the arrivals
channel (AppSync Events stand-in); a channel that cannot be reached never fails the tap, it is counted."""

import time
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import boto3
import pytest
from fakes.appsync_events import FakeAppSyncEvents
from greeter_common.arrivals import CHANNEL
from greeter_common.visit_history import VisitHistory, iso


def _publisher(api):
    """The warm function's arrival publisher, as its "I'm on it" route sees it."""
    routes = api.module.visit_router._routes.values()
    functions = [route if callable(route) else route[0] for route in routes]
    return next(f for f in functions if f.__name__ == "acknowledge").__globals__["arrivals"]


@pytest.fixture
def open_visit(api, photos) -> dict:
    person_id = api.register(photos.astronaut, name="Maria Silva").body["person_id"]
    table = boto3.resource("dynamodb", region_name="eu-west-1").Table(api.stack.ref("VisitHistoryTable"))
    first_seen = time.time() - 60
    VisitHistory(table, ZoneInfo("Europe/London"), retention_days=90).opened(person_id, first_seen, "entrance")
    return {"person_id": person_id, "visit_id": iso(first_seen)}


def test_im_on_it_is_published_to_every_tablet(api, open_visit, monkeypatch):
    credentials = _publisher(api).credentials.get_frozen_credentials()  # the function's (moto's fake) credentials
    events = FakeAppSyncEvents(
        region="eu-west-1", secrets={credentials.access_key: credentials.secret_key}, authorize=lambda token: None
    ).start()
    try:
        monkeypatch.setattr(_publisher(api), "http_endpoint", events.http_endpoint)  # plain HTTP on 127.0.0.1
        reply = api.call("acknowledge-visit", body=open_visit)
        assert reply.status == 200
        claims = api.event("acknowledge-visit")["requestContext"]["authorizer"]["claims"] | {"email": "rui@example.com"}
        assert api.call("acknowledge-visit", body=open_visit, claims=claims).status == 200
    finally:
        events.stop()
    ack = {
        "type": "ack",
        "visit_id": open_visit["visit_id"],
        "person_id": open_visit["person_id"],
        "by": reply.body["acknowledged_by"],
        "at": reply.body["acknowledged_at"],
    }
    # The second tap changes nothing: every tablet is told, twice, who was first.
    assert events.published == [(CHANNEL, ack), (CHANNEL, ack)]


def test_an_unreachable_channel_never_fails_the_tap(api, open_visit, metrics_emitted, monkeypatch):
    monkeypatch.setattr(_publisher(api), "http_endpoint", "http://127.0.0.1:9/event")  # nothing listens there
    reply = api.call("acknowledge-visit", body=open_visit)
    assert reply.status == 200 and reply.body["acknowledged_by"] == "maria@example.com"
    assert metrics_emitted().get("ArrivalPublishFailed") == 1


def test_in_the_store_now_gives_the_counter_tablet_the_cards_notes_and_photo_and_records_the_read(
    api, photos, everything
):
    person_id = api.register(photos.astronaut, name="Maria Silva", notes="Likes green tea").body["person_id"]
    table = boto3.resource("dynamodb", region_name="eu-west-1").Table(api.stack.ref("VisitHistoryTable"))
    VisitHistory(table, ZoneInfo("Europe/London"), retention_days=90).opened(person_id, time.time() - 60, "entrance")

    tablet = api.event("visits-now")["requestContext"]["authorizer"]["claims"] | {
        "cognito:groups": "tablet",
        "email": "counter@example.com",
    }
    reply = api.call("visits-now", claims=tablet)
    assert reply.status == 200
    [visit] = reply.body["visits"]
    assert (visit["name"], visit["notes"]) == ("Maria Silva", "Likes green tea")
    # A presigned link to the person's own first photo, on the photos bucket.
    [key] = next(p for p in everything().people if p["person_id"] == person_id)["photo_keys"]
    link = urlsplit(visit["photo_url"])
    assert link.path.endswith(f"/{key}") and "X-Amz-Signature" in parse_qs(link.query)
    assert api.stack.ref("PhotosBucket") in link.netloc + link.path
    # The counter tablet saw the photo: the audit trail says who, of whom.
    reads = [entry for entry in everything().staff_audit if entry["action"] == "read_photos"]
    assert [(entry["staff"], entry["subject"], entry["role"]) for entry in reads] == [
        ("counter@example.com", person_id, "tablet")
    ]
