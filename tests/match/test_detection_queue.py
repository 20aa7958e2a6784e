"""FrameSearch mode's detection queue as the match function meets it: a failed message comes back on the
function's short backoff rather than the queue's 3-minute visibility timeout, the backoff failing costs only
that wait, a record on the queue twice is one alert, and messages that keep failing are parked whole in the
failure queue by the template's redrive policy."""

import json

import boto3
import pytest
from faults import ProcessDied
from helpers import emitted_metrics


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


def test_records_are_left_for_their_retry_when_the_invocation_runs_short_of_time(pipeline):
    """A failing service can make each record take seconds: the records the invocation has no time left for
    fail unattempted and come back on the backoff, rather than the whole batch timing out. A batch whose every
    record failed is an invocation error, which the function's errors alarm sees."""
    pipeline.register("maria", "Maria Silva")
    pipeline.put(pipeline.frame([("maria", 97.0)]))
    pipeline.source.context.remaining_ms = 9_000
    pipeline.source.deliver_visible()
    assert pipeline.source.invocations[0].error is not None and pipeline.emails() == []
    pipeline.source.context.remaining_ms = 30_000
    pipeline.source.drain()
    assert len(pipeline.emails()) == 1
    assert _waited(pipeline, [2])


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
    pipeline.clock.advance(181)  # the queue returns it after its visibility timeout; she is still there
    event = pipeline.event(first, pipeline.frame([("maria", 97.0)]))  # the first keeps its message id
    event["Records"].reverse()
    assert pipeline.app.lambda_handler(event, pipeline.source.context) == {"batchItemFailures": []}
    assert len(pipeline.emails()) == 1


def test_two_copies_of_one_message_handled_at_once_send_one_email(pipeline, second_container):
    """A standard queue delivers at least once: container B gets a copy of the message container A is handling,
    while A's email is going out. B's copy finds its own alert's claim taken by another attempt and fails; when
    it comes back the visit is SENT, and it stays quiet."""
    pipeline.register("maria", "Maria Silva")
    event = pipeline.event(pipeline.frame([("maria", 97.0)]))
    copy = json.loads(json.dumps(event))
    copy["Records"][0]["receiptHandle"] = "another-receipt-for-the-same-message"
    b_failed = []

    def meanwhile_b_gets_its_copy(**_):
        if not b_failed:
            with pytest.raises(Exception, match="all 1 records failed") as failure:
                second_container.app.lambda_handler(copy, pipeline.source.context)
            b_failed.append(failure.value)

    pipeline.app._sns.meta.events.register("before-call.sns.Publish", meanwhile_b_gets_its_copy)
    assert pipeline.app.lambda_handler(event, pipeline.source.context) == {"batchItemFailures": []}
    assert b_failed and len(pipeline.emails()) == 1

    pipeline.clock.advance(2)  # B's copy comes back on the backoff
    assert second_container.app.lambda_handler(copy, pipeline.source.context) == {"batchItemFailures": []}
    assert len(pipeline.emails()) == 1


def test_a_record_that_waited_over_an_hour_on_the_queue_sends_nothing(pipeline, capsys):
    """As the stream's mapping gives up on records older than an hour: an event source mapping paused for a
    night must not greet the day's visitors when it resumes."""
    pipeline.register("maria", "Maria Silva")
    pipeline.put(pipeline.frame([("maria", 97.0)]))
    pipeline.clock.advance(3601)
    pipeline.source.drain()
    assert pipeline.emails() == []
    assert emitted_metrics(capsys.readouterr().out)["StaleSightings"] == 1


def test_the_match_functions_time_rules_fit_its_timeout(pipeline):
    """An attempt claimed longer ago than the function's timeout is over; a record is started only with time to
    finish it; the queue's visibility timeout covers a whole invocation."""
    import greeting

    match = pipeline.stack.resources["MatchFunction"]["Properties"]
    timeout = int(match.get("Timeout", pipeline.stack.template["Globals"]["Function"]["Timeout"]))
    assert timeout < greeting.INVOCATION_OVER_SECONDS
    assert timeout * 1000 > greeting.MIN_REMAINING_MS
    assert _visibility_timeout(pipeline) >= 6 * timeout  # Lambda's guidance for a queue it polls
