"""Bad records are skipped without blocking the stream or the queue; AWS failures, before or after AWS carried a
call out, are retried without losing an alert; a record that keeps failing is parked alone; and an alert is sent
twice only in the windows no code can close (SNS accepted it and the answer, or the process, was lost).

Most tests run in both detection modes (`either_pipeline`): the records come from the detection queue
(FrameSearch) or the detection stream (StreamProcessor), whose retry rules differ."""

import json

import boto3
import pytest
from faults import ProcessDied
from helpers import emitted_metrics


def _person(email) -> str:
    value = email["attributes"]["person_id"]
    return value.get("StringValue", value.get("Value"))


def _parked(pipeline) -> list[dict]:
    """What reached the failure queue: on the stream, Lambda's pointer to the records; on the queue, the
    records themselves (moved by the queue's redrive policy)."""
    queue_url = pipeline.stack.ref("MatchFailureQueue")
    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    if pipeline.on_stream:
        return [json.loads(message["Body"])["KinesisBatchInfo"] for message in messages]
    return [json.loads(message["Body"]) for message in messages]


def _first_delivery_failed(pipeline) -> bool:
    """The first invocation failed a record: on the stream the whole invocation fails (its first record did),
    so that Lambda retries from it; on the queue the invocation lists the failed message, or fails when every
    record did."""
    first = pipeline.source.invocations[0]
    if pipeline.on_stream or first.error is not None:
        return first.error is not None
    return bool(first.response["batchItemFailures"])


# ---------------------------------------------------------------------- records that are not usable
def test_every_class_of_malformed_record_is_logged_counted_and_skipped(either_pipeline, capsys, caplog):
    pipeline = either_pipeline
    pipeline.register("maria", "Maria Silva")
    good = pipeline.frame([("maria", 97.0)])

    def changed(change) -> dict:
        record = json.loads(json.dumps(good))
        change(record, record["InputInformation"]["KinesisVideo"], record["FaceSearchResponse"][0]["MatchedFaces"][0])
        return record

    deep = b'{"InputInformation": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    event = pipeline.event(
        b"placeholder",  # replaced below: what neither Kinesis nor SQS would hand over
        b"\x00\xff not json",
        b'{"truncated": ',
        [1, 2, 3],
        {"FaceSearchResponse": []},  # missing fields
        changed(lambda r, video, match: match.update(Similarity="very similar")),
        {"InputInformation": {"KinesisVideo": {"StreamArn": 42}}},  # unknown shape
        changed(lambda r, video, match: match.update(Similarity="97")),  # a number in a string is not a number
        changed(lambda r, video, match: video.update(ProducerTimestamp=True)),  # a boolean is not a timestamp
        json.dumps(good).replace('"ServerTimestamp": ', '"ServerTimestamp": NaN, "x": ', 1).encode(),
        json.dumps(good).replace('"ProducerTimestamp": ', '"ProducerTimestamp": 1e999, "x": ', 1).encode(),
        deep,  # nested far deeper than any face-search record
        good,  # after all of them, in the same batch: still alerts
    )
    if pipeline.on_stream:
        event["Records"][0]["kinesis"]["data"] = "%%% not base64 %%%"
    else:
        event["Records"][0]["body"] = None
    response = pipeline.app.lambda_handler(event, pipeline.source.context)

    assert response == {"batchItemFailures": []}  # nothing blocks the stream or the queue
    assert [e["subject"] for e in pipeline.emails()] == ["Greeter: Maria Silva is at the entrance (97.0%)"]
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["MalformedRecords"] == 12
    assert metrics["RecordsReceived"] == 13
    logged = [r for r in caplog.records if r.getMessage() == "skipping a record"]
    reasons = [entry.reason for entry in logged]
    assert reasons[0].startswith("not base64" if pipeline.on_stream else "no message body")
    assert reasons[1].startswith("not JSON") and reasons[2].startswith("not JSON")
    assert reasons[3] == "unknown shape: a JSON list, not an object"
    assert "InputInformation: Field required" in reasons[4]
    assert "Similarity" in reasons[5] and "Similarity" in reasons[7]
    assert "StreamArn" in reasons[6]
    assert "ProducerTimestamp" in reasons[8]
    assert reasons[9].startswith("not JSON: NaN is not a number")
    assert "ProducerTimestamp: Input should be a finite number" in reasons[10]
    assert reasons[11] == "not JSON: nested too deeply"
    assert all(entry.record for entry in logged)  # which record: its sequence number or message id


def test_malformed_records_never_stall_the_stream_or_the_queue(either_pipeline):
    pipeline = either_pipeline
    pipeline.register("maria", "Maria Silva")
    pipeline.put(b"garbage")
    pipeline.put(pipeline.frame([("maria", 97.0)]))
    pipeline.source.drain()
    assert len(pipeline.emails()) == 1
    assert len(pipeline.source.invocations) == 1  # delivered once: no retries for a bad record


# ---------------------------------------------------------------------- AWS refusing a call
def test_claim_write_failing_is_retried_and_alerts_once(faults, either_pipeline):
    pipeline = either_pipeline
    pipeline.register("maria", "Maria Silva")
    faults.fail("dynamodb.UpdateItem", "ProvisionedThroughputExceededException", times=3)  # all 3 tries allowed
    for _ in range(5):
        pipeline.put(pipeline.frame([("maria", 97.0)]))
    pipeline.source.drain()
    assert len(pipeline.emails()) == 1
    assert _first_delivery_failed(pipeline)  # its first record failed: Lambda redelivers it
    assert _parked(pipeline) == []


def test_publish_failing_after_the_claim_releases_it_and_alerts_once(faults, either_pipeline):
    pipeline = either_pipeline
    pipeline.register("maria", "Maria Silva")
    pipeline.register("joao", "João Costa")
    faults.fail("sns.Publish", "InternalError", times=3, status=500)
    pipeline.put(pipeline.frame([("joao", 92.0)]))
    for _ in range(5):
        pipeline.put(pipeline.frame([("maria", 97.0)]))
    pipeline.source.drain()

    assert sorted(_person(e) for e in pipeline.emails()) == ["joao", "maria"]
    assert _first_delivery_failed(pipeline)
    assert faults.calls["sns.Publish"] == 5  # a 500 is not retried inside the call (SNS may have taken it)
    assert _parked(pipeline) == []


def test_throttled_publish_is_retried_inside_the_call(faults, either_pipeline):
    """SNS refusing (throttling) means nothing was sent: retrying at once is safe."""
    pipeline = either_pipeline
    pipeline.register("maria", "Maria Silva")
    faults.fail("sns.Publish", "Throttling", times=2)
    pipeline.put(pipeline.frame([("maria", 97.0)]))
    pipeline.source.drain()
    assert len(pipeline.emails()) == 1
    assert faults.calls["sns.Publish"] == 3
    assert len(pipeline.source.invocations) == 1


def test_people_table_unreadable_fails_only_records_that_need_it_and_they_are_retried(faults, either_pipeline):
    pipeline = either_pipeline
    pipeline.register("maria", "Maria Silva")
    faults.fail("dynamodb.BatchGetItem", "ProvisionedThroughputExceededException", times=3)
    pipeline.put(pipeline.frame())  # an empty frame needs nothing: it succeeds
    pipeline.put(pipeline.frame([("maria", 97.0)]))
    pipeline.source.drain()
    first = pipeline.source.invocations[0].response["batchItemFailures"]
    assert len(first) == 1
    assert len(pipeline.emails()) == 1


# ---------------------------------------------------------------------- a record that keeps failing
def test_a_record_that_keeps_failing_is_parked_alone(faults, either_pipeline):
    """SNS refuses every email about one person: that record alone reaches the failure queue (on the stream
    after Lambda bisected the batch down to it); every visitor around it in the same batches is greeted."""
    pipeline = either_pipeline
    people = [f"visitor-{n:02d}" for n in range(12)]
    for person in [*people, "refused"]:
        pipeline.register(person, person.title())
    faults.fail("sns.Publish", "InvalidParameter", times=1000, when="refused")
    for n, person in enumerate(people):
        pipeline.put(pipeline.frame())  # empty frames between them
        pipeline.put(pipeline.frame([(person, 97.0)]))
        if n == 5:
            pipeline.put(pipeline.frame([("refused", 97.0)]))
    pipeline.source.drain()

    assert sorted(_person(e) for e in pipeline.emails()) == people
    [parked] = _parked(pipeline)
    if pipeline.on_stream:
        assert parked["batchSize"] == 1
        assert parked["startSequenceNumber"] == parked["endSequenceNumber"]
    else:
        assert parked["FaceSearchResponse"][0]["MatchedFaces"][0]["Face"]["ExternalImageId"] == "refused"


def test_a_refused_email_does_not_silence_the_person_for_the_cooldown(faults, either_pipeline):
    pipeline = either_pipeline
    pipeline.register("maria", "Maria Silva")
    retries = pipeline.source.max_retries
    faults.fail("sns.Publish", "InternalError", times=retries + 1, status=500)
    pipeline.put(pipeline.frame([("maria", 97.0)]))
    pipeline.source.drain()
    assert pipeline.emails() == []
    [parked] = _parked(pipeline)
    if pipeline.on_stream:
        assert parked["batchSize"] == 1 and parked["streamArn"] == pipeline.source.stream_arn
    assert faults.calls["sns.Publish"] == retries + 1  # the first delivery and every retry, then parked

    pipeline.clock.advance(10)  # she is still at the door: the released claim lets this record alert
    pipeline.put(pipeline.frame([("maria", 97.0)]))
    pipeline.source.drain()
    assert len(pipeline.emails()) == 1


# ---------------------------------------------------------------------- answers lost, processes dying
def test_a_claim_whose_answer_was_lost_is_retried_by_the_same_alert(faults, either_pipeline):
    pipeline = either_pipeline
    pipeline.register("maria", "Maria Silva")
    faults.lose_answer("dynamodb.UpdateItem", when='"PENDING"')  # the claim landed; its answer did not
    pipeline.put(pipeline.frame([("maria", 97.0)]))
    pipeline.source.drain()
    assert len(pipeline.emails()) == 1
    assert faults.injected["dynamodb.UpdateItem"] == 1


def test_mark_sent_lost_then_a_batch_mate_failing_in_a_fresh_container_sends_nothing_twice(faults, either_pipeline):
    """Maria's email goes out and recording it fails (answers lost, then refused); João's publish fails after
    her, so Lambda redelivers from João's record, in a new execution environment. Maria's record is not
    redelivered: it came before the failure, and nothing after a failure is attempted."""
    pipeline = either_pipeline
    pipeline.register("maria", "Maria Silva")
    pipeline.register("joao", "João Costa")
    pipeline.put(pipeline.frame([("maria", 97.0)]))
    pipeline.put(pipeline.frame([("joao", 92.0)]))
    faults.lose_answer("dynamodb.UpdateItem", when='"SENT"')
    faults.fail("dynamodb.UpdateItem", "InternalServerError", times=2, status=500, when='"SENT"')
    faults.fail("sns.Publish", "InternalError", status=500, when="joao")

    pipeline.source.after_failure = pipeline.recycle
    pipeline.source.drain()

    assert sorted(_person(e) for e in pipeline.emails()) == ["joao", "maria"]
    assert pipeline.source.invocations[0].response["batchItemFailures"]  # João's record, retried


def test_a_process_dying_after_the_claim_leaves_the_visit_to_its_own_retry(faults, pipeline, second_container):
    """Container A claims Maria's visit and dies before publishing. Container B (another shard) sees the claim
    in flight and stays quiet; A's record, redelivered to a new container, sends the one email."""
    pipeline.register("maria", "Maria Silva")
    faults.die("sns.Publish", after_aws_did_it=False)
    pipeline.put(pipeline.frame([("maria", 97.0)]))
    with pytest.raises(ProcessDied):
        pipeline.source.drain()

    other = pipeline.frame([("maria", 98.0)], camera="till")
    event = pipeline.event(other, camera="till", shard=1)
    assert second_container.app.lambda_handler(event, pipeline.source.context) == {"batchItemFailures": []}
    assert pipeline.emails() == []

    pipeline.recycle()
    pipeline.source.drain()  # Lambda redelivers A's record
    assert [_person(e) for e in pipeline.emails()] == ["maria"]


def test_a_claim_abandoned_by_a_dead_process_is_taken_over_later(faults, pipeline, second_container):
    pipeline.register("maria", "Maria Silva")
    faults.die("sns.Publish", after_aws_did_it=False)
    pipeline.put(pipeline.frame([("maria", 97.0)]))
    with pytest.raises(ProcessDied):
        pipeline.source.drain()  # and its record never comes back (say it aged out)

    pipeline.clock.advance(301)  # she is still there five minutes later, at the till
    event = pipeline.event(pipeline.frame([("maria", 98.0)], camera="till"), camera="till", shard=1)
    assert second_container.app.lambda_handler(event, pipeline.source.context) == {"batchItemFailures": []}
    assert [_person(e) for e in pipeline.emails()] == ["maria"]


@pytest.mark.parametrize("how", ["answer lost", "process died"])
def test_sns_accepting_and_the_news_being_lost_is_the_one_duplicate(faults, either_pipeline, how):
    """The windows no code can close: SNS took the email, and the answer (or the process) was lost before
    the visit was recorded as sent. Email can't be de-duplicated, so the retry sends it once more."""
    pipeline = either_pipeline
    pipeline.register("maria", "Maria Silva")
    if how == "answer lost":
        faults.lose_answer("sns.Publish")
        pipeline.put(pipeline.frame([("maria", 97.0)]))
        pipeline.source.drain()
    else:
        faults.die("sns.Publish", after_aws_did_it=True)
        pipeline.put(pipeline.frame([("maria", 97.0)]))
        with pytest.raises(ProcessDied):
            pipeline.source.drain()
        pipeline.recycle()
        pipeline.source.drain()
    assert [_person(e) for e in pipeline.emails()] == ["maria", "maria"]
    assert faults.calls["sns.Publish"] == 2  # exactly one more: no retry inside the call


def test_a_fresh_container_does_not_resend_an_alert_recorded_as_sent(either_pipeline):
    """The same record delivered again (a replay, a container recycled mid-batch): the visit is SENT for its alert."""
    pipeline = either_pipeline
    pipeline.register("maria", "Maria Silva")
    event = pipeline.event(pipeline.frame([("maria", 97.0)]))
    pipeline.app.lambda_handler(event, pipeline.source.context)
    pipeline.recycle()
    pipeline.app.lambda_handler(event, pipeline.source.context)
    assert len(pipeline.emails()) == 1


def test_two_containers_on_two_shards_under_lost_answers_send_one_email(faults, pipeline, second_container):
    pipeline.register("maria", "Maria Silva")
    faults.lose_answer("dynamodb.UpdateItem", times=2)
    faults.lose_answer("dynamodb.BatchGetItem")
    events = pipeline.maria_at_two_cameras_at_once()
    first = pipeline.app.lambda_handler(events[0], pipeline.source.context)
    second = second_container.app.lambda_handler(events[1], pipeline.source.context)
    assert first == second == {"batchItemFailures": []}
    assert len(pipeline.emails()) == 1


def test_undecodable_data_is_never_retried(either_pipeline):
    pipeline = either_pipeline
    event = pipeline.event(b"\xff" * 10)
    assert pipeline.app.lambda_handler(event, pipeline.source.context) == {"batchItemFailures": []}
