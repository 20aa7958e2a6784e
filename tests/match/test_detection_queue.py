"""FrameSearch mode's detection queue as the match function meets it: a failed message comes back on the
function's short backoff rather than the queue's 3-minute visibility timeout, the backoff failing costs only
that wait, a record on the queue twice is one alert, and messages that keep failing are parked whole in the
failure queue by the template's redrive policy."""

import json

import boto3
import pytest
from faults import ProcessDied


def _waited(pipeline, expected: list[int]) -> bool:
    """The waits drain() skipped, as set (each less the moments that passed before it was skipped)."""
    return pipeline.source.waits == pytest.approx(expected, abs=5)


def _visibility_timeout(pipeline) -> int:
    return int(pipeline.stack.resolve(pipeline.stack.resources["DetectionQueue"]["Properties"])["VisibilityTimeout"])


def test_a_failed_message_comes_back_on_the_functions_backoff(faults, pipeline):
    pipeline.register("maria", "Maria Silva")
    faults.fail("sns.Publish", "InternalError", times=3, status=500)
    pipeline.put(pipeline.frame([("maria", 97.0)]))
    pipeline.source.drain()
    assert len(pipeline.emails()) == 1
    assert _waited(pipeline, [2, 4, 8])  # seconds before each retry, set by the function
    assert faults.calls["sqs.ChangeMessageVisibilityBatch"] == 3


def test_a_message_that_keeps_failing_is_parked_whole_after_nine_receives(faults, pipeline):
    pipeline.register("maria", "Maria Silva")
    faults.fail("sns.Publish", "InvalidParameter", times=1000)
    record = pipeline.frame([("maria", 97.0)])
    pipeline.put(record)
    pipeline.source.drain()
    assert pipeline.emails() == []
    assert _waited(pipeline, [2, 4, 8, 16, 32, 60, 60, 60, 60])  # about four minutes, then parked
    assert faults.calls["sns.Publish"] == 9
    sqs = boto3.client("sqs")
    parked = sqs.receive_message(QueueUrl=pipeline.stack.ref("MatchFailureQueue"), MaxNumberOfMessages=10)
    assert [json.loads(m["Body"]) for m in parked["Messages"]] == [record]  # the record itself, to redrive


def test_the_backoff_failing_costs_only_the_wait(faults, pipeline):
    pipeline.register("maria", "Maria Silva")
    faults.fail("sns.Publish", "InternalError", times=1, status=500)
    faults.fail("sqs.ChangeMessageVisibilityBatch", "InternalError", times=10, status=500)
    pipeline.put(pipeline.frame([("maria", 97.0)]))
    pipeline.source.drain()
    assert len(pipeline.emails()) == 1
    assert _waited(pipeline, [_visibility_timeout(pipeline)])


def test_a_record_whose_invocation_died_comes_back_after_the_visibility_timeout(faults, pipeline):
    pipeline.register("maria", "Maria Silva")
    faults.die("sns.Publish", after_aws_did_it=False)
    pipeline.put(pipeline.frame([("maria", 97.0)]))
    with pytest.raises(ProcessDied):
        pipeline.source.drain()
    pipeline.recycle()
    pipeline.source.drain()
    assert len(pipeline.emails()) == 1
    assert _waited(pipeline, [_visibility_timeout(pipeline)])


def test_a_record_on_the_queue_twice_is_one_alert(pipeline):
    """The frame-search function's SendMessage whose answer was lost is retried by the SDK: the same record is
    then on the queue twice, as two messages, possibly in two concurrent invocations."""
    pipeline.register("maria", "Maria Silva")
    record = pipeline.frame([("maria", 97.0)])
    pipeline.put(record)
    pipeline.put(record)
    pipeline.source.drain()
    assert len(pipeline.emails()) == 1


def test_a_failed_message_does_not_hold_back_the_rest_of_its_batch(faults, pipeline):
    """Unlike the stream, the queue returns each message on its own: the visitors after a failed record are
    greeted in the same invocation."""
    for person in ("maria", "joao", "ana"):
        pipeline.register(person, person.title())
    faults.fail("sns.Publish", "InternalError", status=500, when="maria")
    for person in ("maria", "joao", "ana"):
        pipeline.put(pipeline.frame([(person, 97.0)]))
    pipeline.source.drain()
    first = pipeline.source.invocations[0]
    assert len(first.records) == 3 and len(first.response["batchItemFailures"]) == 1
    assert len(pipeline.emails()) == 3


def test_a_visit_whose_invocation_died_is_greeted_when_its_message_returns(faults, pipeline):
    """The claim is in flight while its message waits out the visibility timeout; the person's later records
    meanwhile stay quiet but do not take the visit as open, so the returning message still sends the email."""
    pipeline.register("maria", "Maria Silva")
    faults.die("sns.Publish", after_aws_did_it=False)
    pipeline.put(pipeline.frame([("maria", 97.0)]))
    with pytest.raises(ProcessDied):
        pipeline.source.drain()
    pipeline.recycle()
    for _ in range(3):  # she is still at the door: her new frames find the claim in flight
        pipeline.clock.advance(2)
        pipeline.put(pipeline.frame([("maria", 97.0)]))
        pipeline.source.deliver_visible()
    assert pipeline.emails() == []
    pipeline.source.drain()  # the first message returns after the visibility timeout
    assert len(pipeline.emails()) == 1


def test_the_returning_message_takes_its_visit_back_even_after_a_later_record_in_its_batch(faults, pipeline):
    """On the queue a batch has no order: the later frame may come first and find the claim in flight."""
    pipeline.register("maria", "Maria Silva")
    first = pipeline.frame([("maria", 97.0)])
    faults.die("sns.Publish", after_aws_did_it=False)
    with pytest.raises(ProcessDied):
        pipeline.app.lambda_handler(pipeline.event(first), pipeline.source.context)
    pipeline.recycle()
    pipeline.clock.advance(3)
    event = pipeline.event(first, pipeline.frame([("maria", 97.0)]))  # the first keeps its message id
    event["Records"].reverse()
    assert pipeline.app.lambda_handler(event, pipeline.source.context) == {"batchItemFailures": []}
    assert len(pipeline.emails()) == 1
