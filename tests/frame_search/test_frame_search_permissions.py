"""Every AWS call the frame-search function makes (Rekognition's read of the crop included) is allowed by
its policies in template.yaml."""

import pytest
from frame_search_kit import astronaut_crop, faceless_crop, stranger_crop
from iam import Call, denied


def _recording(recorder, frame_search):
    frame_search.app.lambda_handler = recorder.recording(frame_search.app.lambda_handler)


@pytest.mark.parametrize("snapshot_days", [0, 1])
def test_frame_search_calls_are_all_allowed_by_its_template_policies(
    recorder, frame_search_factory, registered_factory, snapshot_days
):
    frame_search = frame_search_factory(MatchSnapshotDays=snapshot_days, SearchesPerMinutePerCamera=4)
    registered_factory(frame_search)
    _recording(recorder, frame_search)

    key = frame_search.upload(astronaut_crop())
    frame_search.invoke(key)  # matched (and kept as a snapshot when on)
    frame_search.invoke(key)  # a repeated event: gone
    frame_search.send(stranger_crop())
    frame_search.send(faceless_crop())
    frame_search.send(astronaut_crop(), uploaded_at=0)  # stale
    frame_search.send(astronaut_crop())
    frame_search.send(astronaut_crop())  # over the cap
    frame_search.set_detection("STOPPED")
    frame_search.send(astronaut_crop())

    actions = {call.action for call in recorder.calls}
    assert {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "rekognition:SearchFacesByImage",
        "s3:GetObject",
        "s3:DeleteObject",
        "sqs:SendMessage",
        "kinesisvideo:DescribeStream",
    } <= actions
    # The records went to the detection queue, and nowhere else.
    queue = frame_search.stack.get_att("DetectionQueue", "Arn")
    assert {call.resource for call in recorder.calls if call.action == "sqs:SendMessage"} == {queue}
    assert ("s3:PutObject" in actions) is bool(snapshot_days)
    # Rekognition fetched the crop from S3 with the function's own permissions.
    assert Call("s3:GetObject", f"arn:aws:s3:::{frame_search.bucket}/{key}") in recorder.calls
    assert denied(frame_search.stack, "FrameSearchFunction", recorder.calls) == []


def test_the_check_sees_rekognitions_read_of_the_crop(frame_search):
    """Guard against a vacuous check: Rekognition reads crops with the function's permissions, so a crop
    outside crops/ (or in another bucket) would be denied."""
    outside = Call("s3:GetObject", f"arn:aws:s3:::{frame_search.bucket}/snapshots/x.jpg")
    elsewhere = Call("s3:GetObject", "arn:aws:s3:::someone-elses-bucket/crops/x.jpg")
    assert set(denied(frame_search.stack, "FrameSearchFunction", [outside, elsewhere])) == {elsewhere, outside}
