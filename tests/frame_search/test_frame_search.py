"""The frame-search function on moto with the shared Rekognition fake: real faces in, records out."""

import time

import boto3
import pytest
from botocore.exceptions import ClientError
from frame_search_kit import PERSON_ID, astronaut_crop, faceless_crop, stranger_crop
from helpers import emitted_metrics


def test_crop_of_a_registered_person_becomes_a_stream_processor_record(frame_search, registered, rekognition, capsys):
    captured_at = time.time() - 2
    key = frame_search.upload(astronaut_crop(), captured_at=captured_at)

    result = frame_search.invoke(key)

    assert result["outcome"] == "CropsMatched"
    [record] = frame_search.records()  # on the detection queue the template gives the function
    video = record.InputInformation.KinesisVideo
    entrance = boto3.client("kinesisvideo").describe_stream(StreamName=f"{frame_search.stack.name}-entrance")
    assert video.StreamArn == entrance["StreamInfo"]["StreamARN"]
    assert video.stream_name == f"{frame_search.stack.name}-entrance"
    assert video.ProducerTimestamp == pytest.approx(captured_at, abs=0.001)
    assert record.StreamProcessorInformation.Status == "RUNNING"
    [face] = record.FaceSearchResponse
    assert face.DetectedFace.Confidence > 80
    assert 0 < face.DetectedFace.BoundingBox.Width <= 1
    best = face.best_match()
    assert best.Face.ExternalImageId == registered == PERSON_ID
    assert best.Similarity >= 85
    assert best.Face.FaceId == rekognition.faces_of(frame_search.stack.ref("FaceCollection"), PERSON_ID)[0].face_id
    assert record.Greeter.Source == "FrameSearch" and record.Greeter.SnapshotKey is None
    # Rekognition read the crop from S3 itself, with the template's collection and threshold.
    [(_, search)] = [call for call in rekognition.calls if call[0] == "SearchFacesByImage"]
    assert search["Image"] == {"S3Object": {"Bucket": frame_search.bucket, "Name": key}}
    assert search["CollectionId"] == frame_search.stack.ref("FaceCollection")
    assert search["FaceMatchThreshold"] == 85
    assert frame_search.crop_keys() == []  # searched, so deleted
    assert emitted_metrics(capsys.readouterr().out) == {"SearchesMade": 1}


def test_a_face_nobody_registered_is_written_without_matches(frame_search, registered, capsys):
    assert frame_search.send(stranger_crop())["outcome"] == "CropsUnknownFace"

    [record] = frame_search.records()
    [face] = record.FaceSearchResponse
    assert face.MatchedFaces == [] and face.best_match() is None
    assert face.DetectedFace.Confidence > 80
    assert frame_search.crop_keys() == []
    assert emitted_metrics(capsys.readouterr().out) == {"SearchesMade": 1}


def test_a_crop_without_a_face_is_counted_and_dropped(frame_search, registered, rekognition, capsys):
    assert frame_search.send(faceless_crop())["outcome"] == "CropsNoFace"

    assert rekognition.call_count("SearchFacesByImage") == 1  # Rekognition said InvalidParameterException
    assert frame_search.records() == []
    assert frame_search.crop_keys() == []
    assert emitted_metrics(capsys.readouterr().out) == {"SearchesMade": 1}


def test_a_corrupt_image_is_counted_and_dropped(frame_search, registered, capsys):
    truncated = astronaut_crop()[:300]  # a JPEG cut off by a failed write
    assert frame_search.send(truncated)["outcome"] == "CropsUnreadable"
    assert frame_search.send(b"GIF89a this is not a face crop")["outcome"] == "CropsUnreadable"

    assert frame_search.records() == []
    assert frame_search.crop_keys() == []
    assert emitted_metrics(capsys.readouterr().out) == {"SearchesMade": 2}


@pytest.mark.parametrize("error", ["ThrottlingException", "ProvisionedThroughputExceededException"])
def test_a_throttled_search_is_retried_and_then_succeeds(frame_search, registered, rekognition, no_retry_sleep, error):
    rekognition.fail("SearchFacesByImage", error, times=2)

    assert frame_search.send(astronaut_crop())["outcome"] == "CropsMatched"

    assert rekognition.call_count("SearchFacesByImage") == 3
    assert len(no_retry_sleep) == 2  # botocore backed off twice
    [record] = frame_search.records()
    assert record.FaceSearchResponse[0].best_match().Face.ExternalImageId == PERSON_ID


def test_throttling_beyond_the_retries_fails_the_invocation_and_keeps_the_crop(
    frame_search, registered, rekognition, no_retry_sleep, capsys
):
    rekognition.fail("SearchFacesByImage", "ThrottlingException", times=4)
    key = frame_search.upload(astronaut_crop())

    with pytest.raises(ClientError) as failure:
        frame_search.invoke(key)

    assert failure.value.response["Error"]["Code"] == "ThrottlingException"
    assert rekognition.call_count("SearchFacesByImage") == 4  # standard retry mode, 4 attempts in all
    assert frame_search.records() == []
    assert frame_search.crop_keys() == [key]  # still there for Lambda's retry of the event
    assert emitted_metrics(capsys.readouterr().out) == {}  # a Lambda error (AWS/Lambda Errors), not a metric of ours
    # Lambda's retry (a minute later) finds it stale and drops it, counted, without searching again.
    retried_later = frame_search.app.crop_search.handle(key, uploaded_at=time.time(), now=time.time() + 60)
    assert retried_later.value == "CropsStale"
    assert rekognition.call_count("SearchFacesByImage") == 4
    assert frame_search.crop_keys() == []


def test_a_stale_crop_is_dropped_without_a_search(frame_search, registered, rekognition, capsys):
    # S3 stored it 31 s ago (the limit is 30 s): the event reached the function late.
    outcome = frame_search.send(astronaut_crop(), uploaded_at=time.time() - 31)["outcome"]

    assert outcome == "CropsStale"
    assert rekognition.call_count("SearchFacesByImage") == 0
    assert frame_search.records() == []
    assert frame_search.crop_keys() == []
    assert emitted_metrics(capsys.readouterr().out) == {"CropsNotSearched": 1}


def test_the_age_limit_is_the_templates(frame_search_factory, registered_factory, rekognition):
    frame_search = frame_search_factory(CropMaxAgeSeconds=120)
    registered_factory(frame_search)

    assert frame_search.send(astronaut_crop(), uploaded_at=time.time() - 90)["outcome"] == "CropsMatched"
    assert frame_search.send(astronaut_crop(), uploaded_at=time.time() - 125)["outcome"] == "CropsStale"


@pytest.mark.parametrize("camera_clock", [-45 * 60, 45 * 60], ids=["45-min-behind", "45-min-ahead"])
def test_a_camera_whose_clock_is_off_still_has_its_crops_searched(frame_search, registered, camera_clock):
    """A Raspberry Pi has no real-time clock: the key's time is the camera's, S3's event time is AWS's."""
    uploaded_at = time.time()
    key = frame_search.upload(astronaut_crop(), captured_at=uploaded_at + camera_clock)

    assert frame_search.invoke(key, uploaded_at=uploaded_at)["outcome"] == "CropsMatched"
    [record] = frame_search.records()
    video = record.InputInformation.KinesisVideo
    assert video.ServerTimestamp == pytest.approx(uploaded_at, abs=1)  # EventBridge's time, to the second
    assert video.ProducerTimestamp == pytest.approx(uploaded_at + camera_clock, abs=0.001)


def test_no_search_while_detection_is_stopped(frame_search, registered, rekognition, capsys):
    frame_search.set_detection("STOPPED")
    assert frame_search.send(astronaut_crop())["outcome"] == "CropsDetectionStopped"
    assert rekognition.call_count("SearchFacesByImage") == 0
    assert frame_search.records() == []
    assert frame_search.crop_keys() == []

    frame_search.set_detection("RUNNING")  # the store opens
    assert frame_search.send(astronaut_crop())["outcome"] == "CropsMatched"
    assert rekognition.call_count("SearchFacesByImage") == 1
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics == {"CropsNotSearched": 1, "SearchesMade": 1}


def test_detection_state_is_per_camera(frame_search_factory, registered_factory, rekognition):
    frame_search = frame_search_factory(Cameras="entrance,till")
    registered_factory(frame_search)
    frame_search.set_detection("STOPPED", camera="entrance")

    assert frame_search.send(astronaut_crop(), camera="entrance")["outcome"] == "CropsDetectionStopped"
    assert frame_search.send(astronaut_crop(), camera="till")["outcome"] == "CropsMatched"
    [record] = frame_search.records()
    assert record.video.stream_name == f"{frame_search.stack.name}-till"


def test_the_searches_per_minute_cap_drops_and_counts_the_excess(
    frame_search_factory, registered_factory, rekognition, capsys
):
    frame_search = frame_search_factory(SearchesPerMinutePerCamera=2, Cameras="entrance,till")
    registered_factory(frame_search)
    if time.time() % 60 > 55:  # keep the three crops inside one minute
        time.sleep(60 - time.time() % 60 + 0.1)

    outcomes = [frame_search.send(astronaut_crop())["outcome"] for _ in range(3)]

    assert outcomes == ["CropsMatched", "CropsMatched", "CropsOverCap"]
    assert rekognition.call_count("SearchFacesByImage") == 2
    assert len(frame_search.records()) == 2
    assert frame_search.crop_keys() == []
    # The counter is an item per camera and minute, expiring by TTL.
    table = frame_search.stack.ref("FrameSearchStateTable")
    [quota] = [
        item
        for item in boto3.client("dynamodb").scan(TableName=table)["Items"]
        if item["pk"]["S"].startswith("quota#entrance#")
    ]
    assert quota["searches"] == {"N": "2"}
    assert int(quota["expires_at"]["N"]) > time.time()
    # Another camera has its own cap.
    assert frame_search.send(astronaut_crop(), camera="till")["outcome"] == "CropsMatched"
    assert emitted_metrics(capsys.readouterr().out) == {"SearchesMade": 3, "CropsOverCap": 1}


def test_snapshots_are_off_by_default(frame_search, registered):
    frame_search.send(astronaut_crop())

    [record] = frame_search.records()
    assert record.Greeter.SnapshotKey is None
    assert frame_search.crop_keys("") == []  # nothing of the face is kept
    assert frame_search.stack.function_environment("MatchFunction")["SNAPSHOTS_BUCKET"] == ""


def test_snapshots_on_keep_only_the_crops_of_recognised_faces(frame_search_factory, registered_factory):
    frame_search = frame_search_factory(MatchSnapshotDays=2)
    person_id = registered_factory(frame_search)
    key = frame_search.upload(astronaut_crop())

    frame_search.invoke(key)
    frame_search.send(stranger_crop())

    [matched, stranger] = frame_search.records()
    assert matched.Greeter.SnapshotKey == key.replace("crops/", f"snapshots/{person_id}/", 1)  # filed by person
    assert stranger.Greeter.SnapshotKey is None
    assert frame_search.crop_keys("") == [matched.Greeter.SnapshotKey]
    kept = boto3.client("s3").get_object(Bucket=frame_search.bucket, Key=matched.Greeter.SnapshotKey)
    assert kept["Body"].read() == astronaut_crop()
    # The match function is told where to find them, and may read only them.
    assert frame_search.stack.function_environment("MatchFunction")["SNAPSHOTS_BUCKET"] == frame_search.bucket


def test_a_key_that_is_not_a_cameras_crop_is_rejected_and_counted(frame_search, rekognition, capsys):
    key = f"crops/{frame_search.stack.name}-backdoor/{int(time.time() * 1000)}-3f1d3c6e-8a0b-4d8e-9c61-2b7f0a4e9d15.jpg"
    boto3.client("s3").put_object(Bucket=frame_search.bucket, Key=key, Body=astronaut_crop())

    assert frame_search.invoke(key)["outcome"] == "CropsBadKey"  # no camera "backdoor" in this stack

    assert rekognition.call_count("SearchFacesByImage") == 0
    assert frame_search.crop_keys() == []
    assert emitted_metrics(capsys.readouterr().out) == {"CropsNotSearched": 1}


def test_an_event_for_another_bucket_fails(frame_search):
    event = frame_search.event(frame_search.upload(astronaut_crop()))
    event["detail"]["bucket"]["name"] = "someone-elses-bucket"

    with pytest.raises(ValueError, match="not the crops bucket"):
        frame_search.app.lambda_handler(event, frame_search.context)


def test_a_repeated_event_for_a_crop_already_handled_is_counted_not_searched_twice(
    frame_search, registered, rekognition, capsys
):
    key = frame_search.upload(astronaut_crop())
    frame_search.invoke(key)

    assert frame_search.invoke(key)["outcome"] == "CropsGone"  # EventBridge delivers at least once

    assert len(frame_search.records()) == 1
    assert emitted_metrics(capsys.readouterr().out)["CropsNotSearched"] == 1


def test_a_crop_rekognition_cannot_read_although_it_exists_fails_loudly(frame_search, registered, rekognition):
    rekognition.fail("SearchFacesByImage", "InvalidS3ObjectException", message="Unable to get object metadata from S3.")
    key = frame_search.upload(astronaut_crop())

    with pytest.raises(RuntimeError, match="Unable to get object metadata"):
        frame_search.invoke(key)

    assert frame_search.crop_keys() == [key]


def test_the_sample_events_run_through_the_handler(frame_search, rekognition):
    """events/frame-search-*.json are real EventBridge shapes; pointed at this stack's bucket they parse."""
    import json

    from stack import ROOT

    bad = json.loads((ROOT / "events" / "frame-search-bad-key.json").read_text())
    bad["detail"]["bucket"]["name"] = frame_search.bucket
    assert frame_search.app.lambda_handler(bad, frame_search.context)["outcome"] == "CropsBadKey"
    sample = json.loads((ROOT / "events" / "frame-search-crop.json").read_text())
    sample["detail"]["bucket"]["name"] = frame_search.bucket
    # The sample's crop was filmed in 2026-11 by camera "entrance" of stack "greeter": stale or foreign here.
    assert frame_search.app.lambda_handler(sample, frame_search.context)["outcome"] in ("CropsBadKey", "CropsStale")
    assert rekognition.call_count("SearchFacesByImage") == 0
