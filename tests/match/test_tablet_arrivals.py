"""The match function tells the staff tablets: each visit's arrival is published once on the arrivals channel
(AppSync Events stand-in) with the visit history's id; a channel that fails never costs the email a retry."""

import pytest
from fakes.appsync_events import FakeAppSyncEvents
from greeter_common.arrivals import CHANNEL
from greeter_common.visit_history import iso
from helpers import emitted_metrics


def _publisher(pipeline):
    (tablets,) = [
        listener for listener in pipeline.app.greeter.listeners if type(listener).__name__ == "TabletArrivals"
    ]
    return tablets._publisher


@pytest.fixture
def channel(pipeline, monkeypatch):
    credentials = _publisher(pipeline).credentials.get_frozen_credentials()
    events = FakeAppSyncEvents(
        region="eu-west-1", secrets={credentials.access_key: credentials.secret_key}, authorize=lambda token: None
    ).start()
    monkeypatch.setattr(_publisher(pipeline), "http_endpoint", events.http_endpoint)  # plain HTTP on 127.0.0.1
    yield events
    events.stop()


def test_one_arrival_per_visit_with_what_the_card_shows(pipeline, channel):
    pipeline.register("maria", "Maria Silva", notes="Likes green tea")
    start = pipeline.clock()
    pipeline.visit("maria", seconds=30, camera="till")
    assert len(pipeline.emails()) == 1
    ((channel_path, arrival),) = channel.published
    assert channel_path == CHANNEL
    assert arrival["type"] == "arrival" and arrival["person_id"] == "maria" and arrival["name"] == "Maria Silva"
    assert arrival["notes"] == "Likes green tea" and arrival["camera"] == "till"
    assert arrival["similarity"] >= 85
    assert start <= pipeline.clock() and arrival["visit_id"] >= iso(start)  # the visit history's id for it


def test_a_failing_channel_is_counted_and_the_email_still_goes_once(pipeline, monkeypatch, capsys):
    monkeypatch.setattr(_publisher(pipeline), "http_endpoint", "http://127.0.0.1:9/event")  # nothing listens
    pipeline.register("maria", "Maria Silva")
    pipeline.visit("maria", seconds=10)
    assert len(pipeline.emails()) == 1
    assert emitted_metrics(capsys.readouterr().out).get("ArrivalPublishFailed") == 1
