"""Faults on the frame-search function's one write, SendMessage to the detection queue, through the whole
pipeline (crop -> frame-search function -> detection queue -> match function -> email), on the template's wiring:
  - SQS stores the record but the answer is lost: the SDK sends it again, the queue holds it twice, and the
    match function's claim on the visit still makes one email;
  - SQS refuses it: the invocation fails (its event goes to the frame-search failure queue), no record is
    sent and the crop stays, so the event sent again finds the crop and searches it."""

import json
import threading
import time

import boto3
import pytest
from botocore.exceptions import ClientError
from event_source import sent_emails
from frame_search_kit import PERSON_ID, astronaut_crop

from local.event_sources import EventBridgeDelivery, FunctionError


def _queue_depth(stack, queue: str) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.ref(queue),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def test_a_send_whose_answer_was_lost_leaves_the_record_twice_and_still_one_email(faults, store, rekognition):
    frame_search, detections = store()
    faults.lose_answer("sqs.SendMessage")

    assert frame_search.send(astronaut_crop())["outcome"] == "CropsMatched"

    # SQS stored the record, the answer never came back, and the SDK sent it again.
    assert faults.injected_kinds[("sqs.SendMessage", "answer lost")] == 1
    assert faults.calls["sqs.SendMessage"] == 2
    first, second = frame_search.records()
    assert first == second and first.FaceSearchResponse[0].best_match().Face.ExternalImageId == PERSON_ID
    assert rekognition.call_count("SearchFacesByImage") == 1  # searched (and paid for) once
    assert frame_search.crop_keys() == []

    detections.drain()

    # Both copies reached the match function, and the visit's claim let one of them through.
    assert sum(len(invocation.records) for invocation in detections.invocations) == 2
    assert [invocation.error for invocation in detections.invocations] == [None] * len(detections.invocations)
    [email] = sent_emails(frame_search.stack)
    assert email["subject"].startswith("Greeter: Eileen Collins is at the entrance (")
    assert _queue_depth(frame_search.stack, "DetectionQueue") == 0
    assert _queue_depth(frame_search.stack, "MatchFailureQueue") == 0


@pytest.mark.parametrize(
    ("code", "status", "attempts"),
    [("AccessDenied", 403, 1), ("InternalError", 500, 4)],
    ids=["refused", "failing-beyond-the-retries"],
)
def test_a_refused_send_fails_the_invocation_and_keeps_the_crop_for_the_event_sent_again(
    faults, store, rekognition, code, status, attempts
):
    frame_search, detections = store()
    key = frame_search.upload(astronaut_crop())
    faults.fail("sqs.SendMessage", code, times=attempts, status=status)

    with pytest.raises(ClientError) as failure:
        frame_search.invoke(key)

    assert failure.value.response["Error"]["Code"] == code
    assert faults.calls["sqs.SendMessage"] == attempts  # a 5xx is retried (4 attempts in all), a 403 is not
    assert frame_search.records() == []
    assert frame_search.crop_keys() == [key]  # not deleted: nothing was sent for it
    detections.drain()
    assert sent_emails(frame_search.stack) == []

    # The same event again (the failure queue's message, sent back while the crop is fresh) searches it again.
    assert frame_search.invoke(key)["outcome"] == "CropsMatched"

    # The failed attempt's search happened: Rekognition was asked twice, and the camera's cap counts both.
    assert rekognition.call_count("SearchFacesByImage") == 2
    [record] = frame_search.records()
    assert record.FaceSearchResponse[0].best_match().Face.ExternalImageId == PERSON_ID
    assert frame_search.crop_keys() == []
    detections.drain()
    assert len(sent_emails(frame_search.stack)) == 1


def test_with_snapshots_on_a_refused_send_leaves_the_snapshot_the_event_sent_again_rewrites(faults, store):
    """The snapshot is copied before the record names it; when the send fails, the copy stays (under the key
    a retry writes again, expiring with the snapshots/ lifecycle rule) and the crop stays too."""
    frame_search, detections = store(MatchSnapshotDays=1)
    key = frame_search.upload(astronaut_crop())
    snapshot = key.replace("crops/", f"snapshots/{PERSON_ID}/", 1)
    faults.fail("sqs.SendMessage", "AccessDenied", status=403)

    with pytest.raises(ClientError):
        frame_search.invoke(key)
    assert sorted(frame_search.crop_keys("")) == sorted([key, snapshot])

    assert frame_search.invoke(key)["outcome"] == "CropsMatched"
    assert frame_search.crop_keys("") == [snapshot]
    [record] = frame_search.records()
    assert record.Greeter.SnapshotKey == snapshot
    detections.drain()
    [email] = sent_emails(frame_search.stack)
    assert snapshot in email["message"]


def test_a_refused_send_puts_the_crop_event_on_the_frame_search_failure_queue(faults, store):
    """On the template's wiring: S3's event reaches the function through the EventBridge rule, the invocation
    fails, and Lambda (no async retries) sends the event to the function's on-failure destination."""
    frame_search, _ = store()
    failed = threading.Event()

    def invoke(event: dict) -> dict:
        try:
            return frame_search.app.lambda_handler(event, frame_search.context)
        except Exception as error:
            failed.set()
            raise FunctionError({"errorType": type(error).__name__, "errorMessage": str(error)}) from error

    delivery = EventBridgeDelivery(frame_search.stack, "FrameSearchFunction", invoke)
    uninstall = delivery.install()
    faults.fail("sqs.SendMessage", "AccessDenied", status=403)
    try:
        key = frame_search.upload(astronaut_crop())
        assert failed.wait(30), "the crop's event never reached the function"
        deadline = time.monotonic() + 30
        while _queue_depth(frame_search.stack, "FrameSearchFailureQueue") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        uninstall()

    assert (delivery.delivered, delivery.failed) == (0, 1)
    sqs = boto3.client("sqs")
    [message] = sqs.receive_message(QueueUrl=frame_search.stack.ref("FrameSearchFailureQueue"))["Messages"]
    parked = json.loads(message["Body"])
    assert parked["requestPayload"]["detail"]["object"]["key"] == key
    assert parked["responsePayload"]["errorType"] == "ClientError" and "AccessDenied" in str(parked["responsePayload"])
    assert frame_search.records() == []
    assert frame_search.crop_keys() == [key]
    # The parked event, sent again while the crop is fresh, is searched as the first delivery would have been.
    assert frame_search.app.lambda_handler(parked["requestPayload"], frame_search.context)["outcome"] == "CropsMatched"
    assert len(frame_search.records()) == 1
