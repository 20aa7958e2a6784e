"""Bad records are skipped without blocking the shard; transient AWS failures are retried, and an alert
is neither lost nor sent twice whichever step fails."""

import json

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from helpers import emitted_metrics


def test_every_class_of_malformed_record_is_logged_counted_and_skipped(pipeline, capsys, caplog):
    pipeline.register("maria", "Maria Silva")
    good = pipeline.frame([("maria", 97.0)])
    missing_fields = {"FaceSearchResponse": []}
    wrong_types = json.loads(json.dumps(good))
    wrong_types["FaceSearchResponse"][0]["MatchedFaces"][0]["Similarity"] = "very similar"
    unknown_shape = {"InputInformation": {"KinesisVideo": {"StreamArn": 42}}}
    event = pipeline.event(
        b"placeholder",  # replaced below: Kinesis itself only hands over base64
        b"\x00\xff not json",
        b'{"truncated": ',
        [1, 2, 3],
        missing_fields,
        wrong_types,
        unknown_shape,
        good,  # after all of them, in the same batch: still alerts
    )
    event["Records"][0]["kinesis"]["data"] = "%%% not base64 %%%"
    response = pipeline.app.lambda_handler(event, pipeline.source.context)

    assert response == {"batchItemFailures": []}  # nothing blocks the shard
    assert [e["subject"] for e in pipeline.emails()] == ["Greeter: Maria Silva is at the entrance (97.0%)"]
    out = capsys.readouterr().out
    metrics = emitted_metrics(out)
    assert metrics["MalformedRecords"] == 7
    assert metrics["RecordsReceived"] == 8
    logged = [r for r in caplog.records if r.getMessage() == "skipping a malformed record"]
    reasons = [entry.reason for entry in logged]
    assert reasons[0].startswith("not base64")
    assert reasons[1].startswith("not JSON") and reasons[2].startswith("not JSON")
    assert reasons[3] == "unknown shape: a JSON list, not an object"
    assert "InputInformation: Field required" in reasons[4]
    assert "Similarity" in reasons[5]
    assert "StreamArn" in reasons[6]
    assert all(entry.sequence_number for entry in logged)


def test_malformed_records_on_the_stream_never_stall_it(pipeline):
    pipeline.register("maria", "Maria Silva")
    pipeline.put(b"garbage")
    pipeline.put(pipeline.frame([("maria", 97.0)]))
    pipeline.source.drain()
    assert len(pipeline.emails()) == 1
    assert len(pipeline.source.invocations) == 1  # delivered once: no retries for a bad record


def test_claim_write_failing_is_retried_and_alerts_once(faults, pipeline):
    pipeline.register("maria", "Maria Silva")
    faults.fail(
        "dynamodb.UpdateItem", "ProvisionedThroughputExceededException", times=3
    )  # all 3 tries the function allows
    for _ in range(5):
        pipeline.put(pipeline.frame([("maria", 97.0)]))
    pipeline.source.drain()
    assert len(pipeline.emails()) == 1
    assert len(pipeline.source.invocations) == 2  # first failed the record, Lambda redelivered it


def test_publish_failing_after_the_claim_is_retried_and_alerts_once(faults, pipeline, capsys):
    pipeline.register("maria", "Maria Silva")
    pipeline.register("joao", "João Costa")
    faults.fail("sns.Publish", "InternalError", times=3, status=500)
    pipeline.put(pipeline.frame([("joao", 92.0)]))
    for _ in range(5):
        pipeline.put(pipeline.frame([("maria", 97.0)]))
    pipeline.source.drain()

    assert sorted(_person(e) for e in pipeline.emails()) == ["joao", "maria"]
    failures = [i.response["batchItemFailures"] for i in pipeline.source.invocations if i.response]
    assert failures[0] and failures[-1] == []


def test_marking_sent_failing_never_sends_twice_even_when_the_batch_is_redelivered(faults, pipeline, capsys):
    pipeline.register("maria", "Maria Silva")
    pipeline.register("joao", "João Costa")
    # Maria's alert goes out, then marking it SENT fails; João's publish fails, so the batch (Maria's
    # record included, as Kinesis redelivers from the first failure) comes back.
    pipeline.put(pipeline.frame([("joao", 92.0)]))
    pipeline.put(pipeline.frame([("maria", 97.0)]))

    original = pipeline.app.visits.mark_sent
    calls = []

    def mark_sent_failing_once(person_id, alert_id):
        calls.append(person_id)
        if len(calls) == 1:
            faults.fail("dynamodb.UpdateItem", "InternalServerError", times=3, status=500)
        return original(person_id, alert_id)

    pipeline.app.visits.mark_sent = mark_sent_failing_once
    faults.fail("sns.Publish", "InternalError", times=3, status=500)  # João's first publish fails
    pipeline.source.drain()

    assert sorted(_person(e) for e in pipeline.emails()) == ["joao", "maria"]
    assert emitted_metrics(capsys.readouterr().out)["AlertMarkFailures"] == 1


def test_people_table_unreadable_fails_only_records_that_need_it_and_they_are_retried(faults, pipeline):
    pipeline.register("maria", "Maria Silva")
    faults.fail("dynamodb.BatchGetItem", "ProvisionedThroughputExceededException", times=3)
    pipeline.put(pipeline.frame())  # an empty frame needs nothing: it succeeds
    pipeline.put(pipeline.frame([("maria", 97.0)]))
    pipeline.source.drain()
    first = pipeline.source.invocations[0].response["batchItemFailures"]
    assert len(first) == 1
    assert len(pipeline.emails()) == 1


def test_records_given_up_on_go_to_the_failure_queue_not_nowhere(faults, pipeline):
    pipeline.register("maria", "Maria Silva")
    retries = int(pipeline.source.settings["MaximumRetryAttempts"])
    faults.fail("sns.Publish", "InternalError", times=3 * (retries + 1), status=500)
    pipeline.put(pipeline.frame([("maria", 97.0)]))
    pipeline.source.drain()

    assert pipeline.emails() == []
    queue_url = pipeline.stack.ref("MatchFailureQueue")
    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    [message] = messages
    batch = json.loads(message["Body"])["KinesisBatchInfo"]
    assert batch["batchSize"] == 1 and batch["streamArn"] == pipeline.source.stream_arn


def test_concurrent_alert_in_flight_elsewhere_is_not_duplicated_by_this_container(faults, pipeline, second_container):
    """Container A claims Maria's visit and its publish fails; container B sees the claim and stays
    quiet; A's redelivered record then sends the one email."""
    pipeline.register("maria", "Maria Silva")
    faults.fail("sns.Publish", "InternalError", times=3, status=500)
    pipeline.put(pipeline.frame([("maria", 97.0)]))
    pipeline.source._read()
    shard, pending = next((s, p) for s, p in pipeline.source._pending.items() if p)
    first_try = [pipeline.source._lambda_record(shard, pending[0])]
    with pytest.raises(BatchProcessingError):  # its only record failed: the invocation fails, Lambda retries
        pipeline.app.lambda_handler({"Records": first_try}, pipeline.source.context)
    assert pipeline.emails() == []

    other = pipeline.frame([("maria", 98.0)], camera="till")
    event = pipeline.event(other, camera="till", shard=1)
    assert second_container.app.lambda_handler(event, pipeline.source.context) == {"batchItemFailures": []}
    assert pipeline.emails() == []

    pipeline.source.drain()  # Lambda redelivers A's record
    assert [_person(e) for e in pipeline.emails()] == ["maria"]


def _person(email) -> str:
    value = email["attributes"]["person_id"]
    return value.get("StringValue", value.get("Value"))


def test_a_failing_video_endpoint_costs_the_link_not_the_email(faults, pipeline, capsys):
    pipeline.register("maria", "Maria Silva")
    faults.fail("kinesis-video-archived-media.GetHLSStreamingSessionURL", "InternalServerError", times=5, status=503)
    pipeline.put(pipeline.frame([("maria", 97.0)]))
    pipeline.source.drain()

    [email] = pipeline.emails()
    assert "No video link" in email["message"]
    assert faults.calls["kinesis-video-archived-media.GetHLSStreamingSessionURL"] == 2  # two quick tries, no more
    assert len(pipeline.source.invocations) == 1  # the record succeeded: nothing retried, nothing lost
    assert emitted_metrics(capsys.readouterr().out)["VideoLinkMissing"] == 1
