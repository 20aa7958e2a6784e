"""End to end in frame-search mode: a camera's face crop -> the frame-search function -> the detection
queue -> the match function (through Lambda's SQS event source mapping, played on moto) -> email."""

import time
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from event_source import sent_emails
from frame_search_kit import PERSON_ID, astronaut_crop, stranger_crop
from helpers import email_time, emf_blobs


def test_a_registered_persons_crops_become_one_alert_email(store):
    frame_search, detections = store()

    # She walks in (two crops, as the camera sends them) and a stranger comes in behind her.
    outcomes = [frame_search.send(astronaut_crop(), captured_at=time.time() - s)["outcome"] for s in (11, 1)]
    outcomes.append(frame_search.send(stranger_crop())["outcome"])
    detections.drain()

    assert outcomes == ["CropsMatched", "CropsMatched", "CropsUnknownFace"]
    [email] = sent_emails(frame_search.stack)
    assert email["subject"].startswith("Greeter: Eileen Collins is at the entrance (")
    assert "Eileen Collins is at the entrance of Casa Lisboa." in email["message"]
    assert "  Likes the window seat." in email["message"]
    assert f"Person id: {PERSON_ID}" in email["message"]
    assert "The face the camera saw" not in email["message"]  # snapshots are off by default
    assert [invocation.error for invocation in detections.invocations] == [None]
    # The three records came through the template's queue mapping, in one batch.
    [invocation] = detections.invocations
    assert [record["eventSource"] for record in invocation.records] == ["aws:sqs"] * 3
    assert {record["eventSourceARN"] for record in invocation.records} == {
        frame_search.stack.get_att("DetectionQueue", "Arn")
    }


def test_with_snapshots_on_the_email_links_to_the_crop_for_an_hour(store):
    frame_search, detections = store(MatchSnapshotDays=1)
    key = frame_search.upload(astronaut_crop())

    frame_search.invoke(key)
    detections.drain()

    [email] = sent_emails(frame_search.stack)
    link = next(line.strip() for line in email["message"].splitlines() if "snapshots/" in line)
    url = urlparse(link)
    assert url.path.endswith(key.replace("crops/", f"snapshots/{PERSON_ID}/", 1))
    assert frame_search.bucket in url.netloc + url.path
    query = parse_qs(url.query)
    assert url.netloc == f"{frame_search.bucket}.s3.eu-west-1.amazonaws.com"  # the regional endpoint
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]  # SigV4: SigV2 links fail in newer regions
    assert query["X-Amz-Expires"] == ["3600"]
    assert frame_search.crop_keys("") == [key.replace("crops/", f"snapshots/{PERSON_ID}/", 1)]


@pytest.mark.parametrize("camera_clock", [-45 * 60, 45 * 60], ids=["45-min-behind", "45-min-ahead"])
def test_a_camera_whose_clock_is_off_greets_once_per_visit_at_the_right_time(store, camera_clock, capsys):
    """A Pi that booted with a wrong clock: its crops are searched, each visit gets one email timed by AWS's
    clock (S3's event time), and the camera is reported for its clock."""
    frame_search, detections = store()
    start = float(int(time.time()))
    outcomes = []
    with time_machine.travel(start, tick=False) as traveller:
        # She stays 40 s, a crop every 10 s as the camera sends them; she comes back 40 minutes later.
        for pause in (0, 10, 10, 10, 10, 2360, 10):
            traveller.shift(pause)
            outcomes.append(frame_search.send(astronaut_crop(), captured_at=time.time() + camera_clock)["outcome"])
            detections.drain()

    assert set(outcomes) == {"CropsMatched"}
    emails = sent_emails(frame_search.stack)
    assert len(emails) == 2  # two visits, one email each
    assert f"Seen:        {email_time(start, 'Europe/Lisbon')}" in emails[0]["message"]
    assert f"Seen:        {email_time(start + 2400, 'Europe/Lisbon')}" in emails[1]["message"]
    skew = [blob for blob in emf_blobs(capsys.readouterr().out) if "CameraClockSkew" in blob]
    assert {blob["camera"] for blob in skew} == {"entrance"}
    # The camera's clock minus AWS's (S3's event time is to the second, so within a second of it).
    assert all(abs(value - camera_clock) <= 1 for blob in skew for value in blob["CameraClockSkew"])
