"""The arrival publisher (greeter_common.arrivals) against the AppSync Events stand-in: IAM-signed HTTP publish
checked with the documented SigV4 algorithm, delivery to a WebSocket subscriber, and failures that never raise."""

import base64
import contextlib
import json
import time

import botocore.session
import pytest
from botocore.credentials import Credentials
from fakes.appsync_events import SUBPROTOCOL, FakeAppSyncEvents, sigv4_problem
from greeter_common.arrivals import CHANNEL, ArrivalPublisher
from helpers import emitted_metrics
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

STAFF_TOKEN = "staff-id-token"  # noqa: S105 - what the stand-in's authorizer accepts


@pytest.fixture
def events():
    fake = FakeAppSyncEvents(
        region="eu-west-1",
        secrets={"AKIDGREETER": "greeter-secret"},
        authorize=lambda token: {"email": "a@example.com"} if token == STAFF_TOKEN else None,
    ).start()
    yield fake
    fake.stop()


def _publisher(events, secret="greeter-secret", region="eu-west-1") -> ArrivalPublisher:
    return ArrivalPublisher(events.http_endpoint, region, Credentials("AKIDGREETER", secret))


@contextlib.contextmanager
def _subscribe(events, token=STAFF_TOKEN, channel="/arrivals/*"):
    header = base64.urlsafe_b64encode(json.dumps({"host": events.http_host, "Authorization": token}).encode())
    with connect(
        f"ws://{events.realtime_host}/event/realtime",
        subprotocols=[SUBPROTOCOL, f"header-{header.decode().rstrip('=')}"],
    ) as socket:
        yield socket, _open(socket, token, channel)


def _open(socket, token, channel) -> dict:
    socket.send(json.dumps({"type": "connection_init"}))
    assert json.loads(socket.recv(5))["type"] == "connection_ack"
    socket.send(
        json.dumps(
            {"type": "subscribe", "id": "tablet-1", "channel": channel, "authorization": {"Authorization": token}}
        )
    )
    return json.loads(socket.recv(5))


ARRIVAL = {"type": "arrival", "visit_id": "v1", "person_id": "p1", "name": "Maria Silva", "camera": "entrance"}


def test_a_signed_publish_reaches_a_subscribed_tablet(events):
    with _subscribe(events) as (socket, answer):
        assert answer == {"type": "subscribe_success", "id": "tablet-1"}
        assert _publisher(events).publish([ARRIVAL]) is True
        message = json.loads(socket.recv(5))
    assert message["type"] == "data" and message["id"] == "tablet-1"
    assert json.loads(message["event"]) == ARRIVAL
    assert events.published == [(CHANNEL, ARRIVAL)]


def test_the_request_is_signed_as_appsync_documents(events):
    request = _publisher(events).signed_request(CHANNEL, [ARRIVAL])
    headers = dict(request.headers.items()) | {"host": events.http_host}  # urllib3 adds Host when sending
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDGREETER/")
    assert "/eu-west-1/appsync/aws4_request" in headers["Authorization"]
    assert json.loads(request.body) == {"channel": CHANNEL, "events": [json.dumps(ARRIVAL)]}
    secrets = {"AKIDGREETER": "greeter-secret"}
    assert sigv4_problem("POST", "/event", headers, request.body, secrets, "eu-west-1", time.time()) is None
    # The verifier is not a rubber stamp: a changed body, another region or an old date fail it.
    assert sigv4_problem("POST", "/event", headers, request.body + b" ", secrets, "eu-west-1", time.time())
    assert sigv4_problem("POST", "/event", headers, request.body, secrets, "us-east-1", time.time())
    assert sigv4_problem("POST", "/event", headers, request.body, secrets, "eu-west-1", time.time() + 3600)


@pytest.mark.parametrize(
    "publisher",
    [
        pytest.param(lambda e: _publisher(e, secret="wrong"), id="wrong secret"),
        pytest.param(lambda e: _publisher(e, region="us-east-1"), id="wrong region"),
        pytest.param(
            lambda e: ArrivalPublisher("http://127.0.0.1:9/event", "eu-west-1", Credentials("A", "B")), id="unreachable"
        ),
    ],
)
def test_a_failed_publish_is_counted_and_never_raises(events, publisher, capsys):
    started = time.monotonic()
    assert publisher(events).publish([ARRIVAL]) is False
    assert time.monotonic() - started < 3.5  # one short try: the email never waits long
    from greeter_common.observability import metrics

    metrics.flush_metrics()
    assert emitted_metrics(capsys.readouterr().out).get("ArrivalPublishFailed") == 1
    assert events.published == []


def test_tablets_may_not_publish_and_need_a_staff_token(events):
    with _subscribe(events) as (socket, _):
        socket.send(
            json.dumps(
                {
                    "type": "publish",
                    "id": "p",
                    "channel": CHANNEL,
                    "events": ["{}"],
                    "authorization": {"Authorization": STAFF_TOKEN},
                }
            )
        )
        assert json.loads(socket.recv(5))["type"] == "publish_error"
    with pytest.raises(InvalidStatus, match="401"), _subscribe(events, token="not-a-token"):
        pass


def test_the_publisher_uses_the_sessions_credentials_provider(events, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDGREETER")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "greeter-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    credentials = botocore.session.Session().get_credentials()
    assert ArrivalPublisher(events.http_endpoint, "eu-west-1", credentials).publish([ARRIVAL]) is True


def test_the_arrival_event_carries_what_the_card_shows():
    from greeter_common.arrivals import arrival_event

    event = arrival_event(
        visit_id="v1", person_id="p1", name="Maria", notes="tea", camera="entrance", seen_at=0, similarity=97.46
    )
    assert event == {
        "type": "arrival",
        "visit_id": "v1",
        "person_id": "p1",
        "name": "Maria",
        "notes": "tea",
        "camera": "entrance",
        "seen_at": "1970-01-01T00:00:00+00:00",
        "similarity": 97.5,
    }
