"""The sample events in events/ (for `sam local invoke MatchFunction -e ...`) are real shapes the function handles:
match-queue-* as the detection queue delivers them (FrameSearch mode), the others as the stream does."""

import base64
import json
from pathlib import Path

import pytest
from helpers import emitted_metrics

EVENTS = sorted((Path(__file__).parents[2] / "events").glob("match-*.json"))
PEOPLE = {"4f1c2a9e-0b7d-4e0a-9a51-2c7b1d1e9f10": "Maria Silva", "9b2d6c1e-5a3f-4c8b-8e7d-0f1a2b3c4d5e": "João Costa"}
EXPECTED_EMAILS = {
    "match-visit.json": 1,
    "match-empty-frames.json": 0,
    "match-multi-face.json": 2,
    "match-malformed.json": 1,
    "match-queue-visit.json": 1,
    "match-queue-malformed.json": 1,
}


def test_every_match_event_has_an_expectation():
    assert {path.name for path in EVENTS} == set(EXPECTED_EMAILS)


@pytest.mark.parametrize("path", EVENTS, ids=lambda path: path.name)
def test_sample_event_is_handled_without_failures(path, pipeline_factory, capsys):
    pipeline = pipeline_factory(AlertEmails="staff@example.com")
    for person_id, name in PEOPLE.items():
        pipeline.register(person_id, name)
    event = json.loads(path.read_text())
    arrivals = []
    for record in event["Records"]:  # the samples come from a stack named "greeter"; the test's has its own name
        if record["eventSource"] == "aws:sqs":
            record["body"] = record["body"].replace(":stream/greeter-", f":stream/{pipeline.stack.name}-")
            arrivals.append(int(record["attributes"]["SentTimestamp"]) / 1000)
            continue
        arrivals.append(record["kinesis"]["approximateArrivalTimestamp"])
        try:
            data = base64.b64decode(record["kinesis"]["data"], validate=True)
        except ValueError:
            continue  # the malformed sample's deliberately broken record
        ours = data.replace(b":stream/greeter-", f":stream/{pipeline.stack.name}-".encode())
        if ours != data:
            record["kinesis"]["data"] = base64.b64encode(ours).decode()
    pipeline.clock.now = max(arrivals) + 0.5
    response = pipeline.app.lambda_handler(event, pipeline.source.context)
    assert response == {"batchItemFailures": []}
    assert len(pipeline.emails()) == EXPECTED_EMAILS[path.name]
    assert emitted_metrics(capsys.readouterr().out)["RecordsReceived"] == len(event["Records"])
