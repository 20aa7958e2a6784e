import pytest
from greeter_camera import detection_settings
from greeter_camera.detection_settings import (
    AUTO_WIDTH,
    DetectionSettings,
    DetectionSettingsError,
    detection_width_for,
    smallest_face_seen,
)

REQUIRED = {
    "GREETER_CROPS_BUCKET": "acme-greeter-crops",
    "GREETER_STREAM_NAME": "front-door",
    "AWS_REGION": "eu-west-1",
}


def test_only_the_bucket_stream_and_region_are_required_the_rest_has_defaults():
    settings = DetectionSettings.from_env(REQUIRED)

    assert (settings.crops_bucket, settings.stream_name, settings.region) == (
        "acme-greeter-crops",
        "front-door",
        "eu-west-1",
    )
    assert settings == DetectionSettings(
        crops_bucket="acme-greeter-crops", stream_name="front-door", region="eu-west-1"
    )
    assert settings.detector == "auto"
    assert settings.detection_width == AUTO_WIDTH  # the smallest width that sees GREETER_MIN_FACE_PX
    assert DetectionSettings.from_env(REQUIRED | {"GREETER_DETECTION_WIDTH": "Auto"}).detection_width == AUTO_WIDTH
    assert settings.fps == 5  # frames a second from the camera to the detector


def test_every_key_is_read_from_its_greeter_variable_and_others_are_ignored():
    env = REQUIRED | {
        "GREETER_DETECTION_FPS": "3",
        "GREETER_DETECTOR": "haar",
        "GREETER_DETECTION_WIDTH": "640",
        "GREETER_DETECTION_SCORE": "0.85",
        "GREETER_MIN_FACE_PX": "64",
        "GREETER_CROP_MARGIN": "0.25",
        "GREETER_JPEG_QUALITY": "80",
        "GREETER_CONFIRM_FRAMES": "3",
        "GREETER_RESEND_SECONDS": "5",
        "GREETER_RESEND_MAX_SECONDS": "60",
        "GREETER_TRACK_FORGET_SECONDS": "1.5",
        "GREETER_SEARCH_MEMORY_MINUTES": "30",
        "GREETER_MAX_CROPS_PER_MINUTE": "12",
        "GREETER_QUEUE_SIZE": "20",
        "GREETER_MAX_CROP_AGE_SECONDS": "15",
        "GREETER_UPLOAD_BACKOFF_SECONDS": "0.25",
        "GREETER_UPLOAD_BACKOFF_MAX_SECONDS": "4",
        "GREETER_STOP_TIMEOUT_SECONDS": "2",
        "GREETER_HEARTBEAT_SECONDS": "30",
        "GREETER_STREAM_VIDEO": "true",  # a video setting, not ours
    }

    settings = DetectionSettings.from_env(env)

    assert settings == DetectionSettings(
        crops_bucket="acme-greeter-crops",
        stream_name="front-door",
        region="eu-west-1",
        fps=3,
        detector="haar",
        detection_width=640,
        score_threshold=0.85,
        min_face_px=64,
        crop_margin=0.25,
        jpeg_quality=80,
        confirm_frames=3,
        resend_seconds=5.0,
        resend_max_seconds=60.0,
        track_forget_seconds=1.5,
        search_memory_minutes=30.0,
        max_crops_per_minute=12,
        queue_size=20,
        max_crop_age_seconds=15.0,
        upload_backoff_seconds=0.25,
        upload_backoff_max_seconds=4.0,
        stop_timeout_seconds=2.0,
        heartbeat_seconds=30.0,
    )
    assert set(DetectionSettings.env_keys().values()) == {key for key in env if key != "GREETER_STREAM_VIDEO"}


def test_missing_required_keys_are_all_named_in_one_error():
    with pytest.raises(DetectionSettingsError) as raised:
        DetectionSettings.from_env({"GREETER_STREAM_NAME": "  "})

    assert raised.value.problems == [
        "GREETER_CROPS_BUCKET is missing: the bucket frame-search mode uploads face crops to (the CropsBucketName "
        "output of the Greeter stack).",
        "GREETER_STREAM_NAME is missing: this camera's name, the name of its Kinesis video stream (<stack>-<camera>).",
        "AWS_REGION is missing: the AWS region of the Greeter stack, e.g. eu-west-1.",
    ]


def test_a_value_of_the_wrong_type_names_its_key_and_value():
    with pytest.raises(DetectionSettingsError, match=r"GREETER_QUEUE_SIZE='lots' is not a whole number"):
        DetectionSettings.from_env(REQUIRED | {"GREETER_QUEUE_SIZE": "lots"})


def test_unreadable_missing_and_out_of_range_values_are_all_reported_together():
    with pytest.raises(DetectionSettingsError) as raised:
        DetectionSettings.from_env(
            {
                "GREETER_CROPS_BUCKET": "acme-greeter-crops",
                "GREETER_STREAM_NAME": "front-door",
                "GREETER_QUEUE_SIZE": "lots",
                "GREETER_RESEND_SECONDS": "soon",
                "GREETER_RESEND_MAX_SECONDS": "1",  # not compared with an unreadable GREETER_RESEND_SECONDS
                "GREETER_JPEG_QUALITY": "20",
            }
        )

    assert raised.value.problems == [
        "AWS_REGION is missing: the AWS region of the Greeter stack, e.g. eu-west-1.",
        "GREETER_RESEND_SECONDS='soon' is not a number.",
        "GREETER_QUEUE_SIZE='lots' is not a whole number.",
        "GREETER_JPEG_QUALITY=20: must be between 50 and 100",
    ]


def test_keys_checked_elsewhere_are_left_to_the_caller():
    settings, problems = DetectionSettings.check_env(
        REQUIRED | {"GREETER_STREAM_NAME": "front door", "GREETER_QUEUE_SIZE": "0"},
        checked_elsewhere={"GREETER_STREAM_NAME", "AWS_REGION"},
    )
    assert settings is None
    assert problems == ["GREETER_QUEUE_SIZE=0: must be at least 1"]

    settings, problems = DetectionSettings.check_env({**REQUIRED, "AWS_REGION": ""}, checked_elsewhere={"AWS_REGION"})
    assert (settings, problems) == (None, [])


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("GREETER_CROPS_BUCKET", "Acme_Crops", "not a valid S3 bucket name"),
        ("GREETER_STREAM_NAME", "front door/1", "a-z A-Z 0-9 _ . -"),
        ("AWS_REGION", "Ireland", "not an AWS region name"),
        ("GREETER_DETECTION_FPS", "31", "between 1 and 30 frames per second"),
        ("GREETER_DETECTOR", "dlib", "one of auto, yunet, haar"),
        ("GREETER_DETECTION_WIDTH", "40", "between 80 and 1920"),
        ("GREETER_DETECTION_SCORE", "1.5", "between 0 and 1"),
        ("GREETER_MIN_FACE_PX", "30", "at least 40: Rekognition detects no smaller face"),
        ("GREETER_CROP_MARGIN", "-0.1", "between 0 and 2"),
        ("GREETER_JPEG_QUALITY", "101", "between 50 and 100"),
        ("GREETER_CONFIRM_FRAMES", "0", "between 1 and 25"),
        ("GREETER_RESEND_SECONDS", "0", "more than 0"),
        ("GREETER_RESEND_MAX_SECONDS", "5", "at least GREETER_RESEND_SECONDS (10.0)"),
        ("GREETER_MAX_CROPS_PER_MINUTE", "0", "at least 1"),
        ("GREETER_QUEUE_SIZE", "0", "at least 1"),
        ("GREETER_MAX_CROP_AGE_SECONDS", "nan", "more than 0"),
        ("GREETER_UPLOAD_BACKOFF_MAX_SECONDS", "0.1", "at least GREETER_UPLOAD_BACKOFF_SECONDS (0.5)"),
        ("GREETER_STOP_TIMEOUT_SECONDS", "-1", "must not be negative"),
    ],
)
def test_out_of_range_values_are_refused_with_the_key_and_the_rule(key, value, message):
    with pytest.raises(DetectionSettingsError) as raised:
        DetectionSettings.from_env(REQUIRED | {key: value})

    assert len(raised.value.problems) == 1
    assert raised.value.problems[0].startswith(f"{key}=")
    assert message in raised.value.problems[0]


def test_building_it_in_code_checks_types_too():
    with pytest.raises(DetectionSettingsError, match=r"GREETER_QUEUE_SIZE='60': must be a whole number"):
        DetectionSettings(crops_bucket="acme-greeter-crops", stream_name="cam", region="eu-west-1", queue_size="60")


def test_every_key_is_documented_in_the_module_docstring():
    for key in DetectionSettings.env_keys().values():
        assert f"    {key} " in detection_settings.__doc__, f"{key} is not documented"


@pytest.mark.parametrize(
    ("frame_width", "min_face_px", "width", "smallest"),
    [
        (1280, 50, 512, 50.0),  # the default camera: 50 px faces are 20 px at 512
        (640, 50, 256, 50.0),
        (640, 40, 320, 40.0),  # a 40 px face in 640x480 is 20 px at 320
        (1920, 40, 960, 40.0),
        (640, 200, 80, 160.0),  # never below 80 px wide
    ],
)
def test_auto_picks_the_smallest_width_that_still_sees_the_minimum_face(frame_width, min_face_px, width, smallest):
    settings = DetectionSettings.from_env(REQUIRED | {"GREETER_MIN_FACE_PX": str(min_face_px)})

    assert detection_width_for(frame_width, settings) == width
    assert smallest_face_seen(frame_width, width) == smallest
