"""The tablets' routes: who is in the store now, and "I'm on it" (the first tap wins; an erased person is gone)."""

import sys
import time

import boto3
from fakes.appsync_events import FakeAppSyncEvents
from greeter_common.arrivals import CHANNEL

CLAIMS = {"token_use": "id", "sub": "s1", "email": "ana@example.com", "cognito:username": "s1"}
OTHER = {**CLAIMS, "sub": "s2", "email": "rui@example.com", "cognito:username": "s2"}


def _publisher():
    """The warm function's arrival publisher (its composition root is the `wiring` module)."""
    return sys.modules["wiring"].arrivals_board.publisher


def _visit(api, person_id: str, visit_id: str, *, minutes_ago: float = 1, status: str = "SENT") -> None:
    seen = time.time() - minutes_ago * 60
    boto3.resource("dynamodb").Table(api.stack.ref("VisitsTable")).put_item(
        Item={
            "person_id": person_id,
            "alert_id": visit_id,
            "alert_status": status,
            "camera": "entrance",
            "first_seen": int(seen),
            "last_seen": int(seen),
            "expires_at": int(seen) + 1800,
        }
    )


def test_open_visits_newest_first_without_ended_pending_or_erased_ones(api, photos):
    maria = api.register(photos.astronaut, name="Maria Silva").body["person_id"]
    joao = "0b7e3f6a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"  # a second person (the sample photos hold one registrable face)
    boto3.resource("dynamodb").Table(api.stack.ref("PeopleTable")).put_item(
        Item={
            "person_id": joao,
            "name": "João Costa",
            "notes": "",
            "consent": {
                "given_by": "João Costa",
                "given_at": "2026-01-15T10:30:00+00:00",
                "wording_version": "2026-01",
            },
            "created_at": "2026-01-15T10:30:00+00:00",
            "updated_at": "2026-01-15T10:30:00+00:00",
        }
    )
    _visit(api, maria, "v-maria", minutes_ago=5)
    _visit(api, joao, "v-joao", minutes_ago=1)
    assert [v["name"] for v in api.call("visits-now", claims=CLAIMS).body["visits"]] == ["João Costa", "Maria Silva"]
    _visit(api, joao, "v-joao", minutes_ago=31)  # out of view longer than the cooldown: the visit ended
    _visit(api, maria, "v-maria-2", status="PENDING")  # the email is not out yet
    assert api.call("visits-now", claims=CLAIMS).body["visits"] == []
    _visit(api, maria, "v-maria-3")
    assert api.call("erase-person", person_id=maria).status == 200
    assert api.call("visits-now", claims=CLAIMS).body["visits"] == []


def test_the_first_tap_wins_and_every_tablet_is_told(api, photos, monkeypatch):
    credentials = _publisher().credentials.get_frozen_credentials()  # the function's (moto's fake) credentials
    events = FakeAppSyncEvents(
        region="eu-west-1", secrets={credentials.access_key: credentials.secret_key}, authorize=lambda token: None
    ).start()
    try:
        maria = api.register(photos.astronaut, name="Maria Silva").body["person_id"]
        _visit(api, maria, "v1")
        # The function publishes to the stand-in (plain HTTP on 127.0.0.1).
        monkeypatch.setattr(_publisher(), "http_endpoint", events.http_endpoint)
        first = api.call("acknowledge-visit", person_id=maria, body={"visit_id": "v1"}, claims=CLAIMS)
        assert first.status == 200 and first.body["by"] == "ana@example.com"
        second = api.call("acknowledge-visit", person_id=maria, body={"visit_id": "v1"}, claims=OTHER)
        assert (second.status, second.code) == (409, "already_acknowledged")
        assert "ana@example.com" in second.body["message"]
        again = api.call("acknowledge-visit", person_id=maria, body={"visit_id": "v1"}, claims=CLAIMS)
        assert again.status == 200  # a retry of one's own tap
        ended = api.call("acknowledge-visit", person_id=maria, body={"visit_id": "an-old-visit"}, claims=CLAIMS)
        assert (ended.status, ended.code) == (404, "visit_not_found")
        assert events.published == [(CHANNEL, {"type": "ack", **first.body})]
        (visit,) = api.call("visits-now", claims=OTHER).body["visits"]
        assert visit["acknowledged_by"] == "ana@example.com"
    finally:
        events.stop()


def test_an_unreachable_channel_never_fails_the_tap(api, photos, metrics_emitted, monkeypatch):
    maria = api.register(photos.astronaut, name="Maria Silva").body["person_id"]
    _visit(api, maria, "v1")
    monkeypatch.setattr(_publisher(), "http_endpoint", "http://127.0.0.1:9/event")  # nothing listens there
    reply = api.call("acknowledge-visit", person_id=maria, body={"visit_id": "v1"}, claims=CLAIMS)
    assert reply.status == 200 and reply.body["by"] == "ana@example.com"
    assert metrics_emitted().get("ArrivalPublishFailed") == 1
