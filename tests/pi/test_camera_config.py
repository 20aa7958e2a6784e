"""camera.env parsing and validation: good files give typed settings, every bad value a plain message."""

from __future__ import annotations

import os
import re
import tempfile

import pytest
from camera_settings import ACCESS_KEYS, FRAME_SEARCH, PI_DIR, VALID_IOT, settings_with
from greeter_camera.config import (
    KNOWN_KEYS,
    AccessKeyCredentials,
    ConfigError,
    IotCertificateCredentials,
    check_environment,
    config_from_values,
    load_config,
    parse_env_text,
)
from greeter_camera.detection_settings import DetectionSettings


def problems_for(**settings: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config_from_values(settings_with(**settings))
    return caught.value.problems


def test_minimal_file_gets_the_documented_defaults(make_config):
    config = make_config()

    assert (config.camera.kind, config.camera.device, config.camera.usb_format) == ("usb", "/dev/video0", "mjpeg")
    assert (config.camera.width, config.camera.height, config.camera.framerate) == (1280, 720, 30)
    assert (config.encoder.name, config.encoder.bitrate_kbps, config.encoder.keyframe_interval_s) == ("auto", 3000, 2)
    assert config.kvs.stream_video is True
    assert config.kvs.storage_mb == 128
    assert config.detection is None and not config.frame_search
    assert config.warnings == ()


def test_iot_thing_name_defaults_to_the_stream_name(make_config):
    credentials = make_config().credentials

    assert isinstance(credentials, IotCertificateCredentials)
    assert credentials.thing_name == "greeter-entrance"
    assert credentials.cert_path == "/etc/greeter/certs/certificate.pem.crt"
    assert credentials.ca_path == "/etc/ssl/certs/Amazon_Root_CA_1.pem"  # from Debian's ca-certificates


def test_access_keys_are_read_and_kept_out_of_repr(make_config):
    config = make_config(**ACCESS_KEYS)

    assert isinstance(config.credentials, AccessKeyCredentials)
    assert config.credentials.secret_access_key == ACCESS_KEYS["AWS_SECRET_ACCESS_KEY"]
    assert ACCESS_KEYS["AWS_SECRET_ACCESS_KEY"] not in repr(config)


def test_frame_search_settings_become_the_detectors_own_settings(make_config):
    config = make_config(
        **FRAME_SEARCH,
        GREETER_DETECTION_FPS="3",
        GREETER_STREAM_VIDEO="false",
        GREETER_RESEND_SECONDS="30",
        GREETER_QUEUE_SIZE="8",
        GREETER_DETECTOR="haar",
    )

    assert config.frame_search and config.kvs.stream_video is False
    # One settings type, DetectionSettings, built from the same file; the stream name and region are shared.
    assert config.detection == DetectionSettings(
        crops_bucket="greeter-crops-123456789012",
        stream_name="greeter-entrance",
        region="eu-west-1",
        fps=3,
        resend_seconds=30.0,
        queue_size=8,
        detector="haar",
    )
    assert config.warnings == ()  # every key above is known: no "not a setting this camera knows"


def test_frame_search_problems_are_listed_with_the_video_problems_in_one_error():
    problems = problems_for(
        **FRAME_SEARCH,
        GREETER_FRAMERATE="100",
        GREETER_QUEUE_SIZE="lots",
        GREETER_JPEG_QUALITY="101",
        GREETER_RESEND_SECONDS="0",
        GREETER_DETECTOR="dlib",
    )

    assert problems == [
        "GREETER_FRAMERATE=100 is outside 5-30 frames per second: Rekognition needs at least 5 fps and the "
        "encoders stop at 30.",
        "GREETER_QUEUE_SIZE='lots' is not a whole number.",
        "GREETER_DETECTOR='dlib': must be one of auto, yunet, haar",
        "GREETER_JPEG_QUALITY=101: must be between 50 and 100",
        "GREETER_RESEND_SECONDS=0.0: must be more than 0",
    ]


def test_a_key_both_halves_read_is_checked_once():
    problems = problems_for(**FRAME_SEARCH, **ACCESS_KEYS, GREETER_STREAM_NAME="shop entrance", AWS_REGION="")

    assert problems == [
        "GREETER_STREAM_NAME='shop entrance' is not a valid stream name (letters, digits, '.', '_', '-').",
        "AWS_REGION is missing: the AWS region of the Greeter stack, e.g. eu-west-1.",
    ]


def test_frame_search_keys_while_detection_is_off_are_a_warning(make_config):
    config = make_config(GREETER_RESEND_SECONDS="5", GREETER_CROPS_BUCKET="greeter-crops-123456789012")

    assert config.detection is None
    assert config.warnings == (
        "GREETER_CROPS_BUCKET, GREETER_RESEND_SECONDS: frame-search settings are ignored while GREETER_DETECTION=off.",
    )


def test_a_thing_name_unlike_the_stream_name_is_a_warning(make_config):
    config = make_config(GREETER_IOT_THING_NAME="front-door")

    assert config.warnings == (
        "GREETER_IOT_THING_NAME=front-door is not GREETER_STREAM_NAME=greeter-entrance: the Greeter stack's camera "
        "role lets a thing write only the stream and crops named like it, so AWS will refuse them.",
    )


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"GREETER_STREAM_NAME": ""}, "GREETER_STREAM_NAME is missing: the name of this camera's Kinesis video stream"),
        ({"GREETER_STREAM_NAME": "shop entrance"}, "GREETER_STREAM_NAME='shop entrance' is not a valid stream name"),
        ({"AWS_REGION": ""}, "AWS_REGION is missing"),
        ({"AWS_REGION": "Ireland"}, "AWS_REGION='Ireland' is not an AWS region name"),
        ({"GREETER_CAMERA": "ipcam"}, "GREETER_CAMERA='ipcam' is not one of: usb, picam."),
        ({"GREETER_DEVICE": "video0"}, "GREETER_DEVICE='video0' should be a device path such as /dev/video0."),
        ({"GREETER_USB_FORMAT": "h264"}, "GREETER_USB_FORMAT='h264' is not one of: mjpeg, yuyv."),
        ({"GREETER_RESOLUTION": "720p"}, "GREETER_RESOLUTION='720p' should look like 1280x720"),
        (
            {"GREETER_RESOLUTION": "3840x2160"},
            "GREETER_RESOLUTION=3840x2160 is not supported: the largest is 1920x1080",
        ),
        ({"GREETER_RESOLUTION": "320x240"}, "GREETER_RESOLUTION=320x240 is not supported: below 640x480"),
        ({"GREETER_RESOLUTION": "1281x721"}, "H.264 encoders need an even width and height"),
        ({"GREETER_FRAMERATE": "60"}, "GREETER_FRAMERATE=60 is outside 5-30 frames per second"),
        ({"GREETER_FRAMERATE": "2"}, "Rekognition needs at least 5 fps"),
        ({"GREETER_FRAMERATE": "thirty"}, "GREETER_FRAMERATE='thirty' is not a whole number"),
        ({"GREETER_ENCODER": "omxh264enc"}, "GREETER_ENCODER='omxh264enc' is not one of: auto, v4l2h264enc, x264enc."),
        ({"GREETER_BITRATE_KBPS": "50000"}, "GREETER_BITRATE_KBPS=50000 is outside 500-10000 kbit/s"),
        ({"GREETER_KEYFRAME_INTERVAL_S": "30"}, "GREETER_KEYFRAME_INTERVAL_S=30 is outside 1-10 seconds"),
        ({"GREETER_STREAM_VIDEO": "maybe"}, "GREETER_STREAM_VIDEO='maybe' should be true or false."),
        ({"GREETER_CREDENTIALS": "root-keys"}, "GREETER_CREDENTIALS='root-keys' is not one of: iot-certificate"),
        ({"GREETER_IOT_CREDENTIALS_ENDPOINT": ""}, "aws iot describe-endpoint --endpoint-type iot:CredentialProvider"),
        (
            {"GREETER_IOT_CREDENTIALS_ENDPOINT": "a1b2c3-ats.iot.eu-west-1.amazonaws.com"},
            "That is the MQTT data endpoint",
        ),
        (
            {"GREETER_IOT_CREDENTIALS_ENDPOINT": "https://c1.credentials.iot.eu-west-1.amazonaws.com"},
            "give the host name only, without https://",
        ),
        ({"GREETER_IOT_ROLE_ALIAS": ""}, "GREETER_IOT_ROLE_ALIAS is missing"),
        ({"GREETER_IOT_ROLE_ALIAS": "greeter camera"}, "GREETER_IOT_ROLE_ALIAS='greeter camera' is not a valid"),
        ({"GREETER_IOT_THING_NAME": "shop/door"}, "GREETER_IOT_THING_NAME='shop/door' is not a valid IoT thing name"),
        ({"GREETER_IOT_CERT": "certs/cert.pem"}, "GREETER_IOT_CERT='certs/cert.pem' should be an absolute path"),
        ({"GREETER_IOT_KEY": "/etc/greeter/my key.pem"}, "kvssink cannot take a path containing commas"),
        ({"GREETER_CREDENTIALS": "access-keys"}, "AWS_ACCESS_KEY_ID is missing"),
        ({**ACCESS_KEYS, "AWS_ACCESS_KEY_ID": "not-a-key"}, "does not look like an access key id"),
        ({**ACCESS_KEYS, "AWS_SECRET_ACCESS_KEY": "short"}, "AWS_SECRET_ACCESS_KEY is 5 characters long"),
        ({"GREETER_DETECTION": "rekognition"}, "GREETER_DETECTION='rekognition' is not one of: off, frame-search."),
        (
            {"GREETER_DETECTION": "frame-search"},
            "GREETER_CROPS_BUCKET is missing: the bucket frame-search mode uploads face crops to (the "
            "CropsBucketName output of the Greeter stack).",
        ),
        ({**FRAME_SEARCH, "GREETER_CROPS_BUCKET": "My_Bucket"}, "GREETER_CROPS_BUCKET='My_Bucket': not a valid S3"),
        ({**FRAME_SEARCH, "GREETER_DETECTION_FPS": "0"}, "GREETER_DETECTION_FPS=0: must be between 1 and 30"),
        ({**FRAME_SEARCH, "GREETER_DETECTION_FPS": "25", "GREETER_FRAMERATE": "15"}, "more than the camera's"),
        ({"GREETER_STREAM_VIDEO": "false"}, "leaves the camera nothing to do"),
        ({"GREETER_KVS_STORAGE_MB": "4096"}, "GREETER_KVS_STORAGE_MB=4096 is outside 16-1024 MB"),
        ({"GREETER_STALL_TIMEOUT_S": "0"}, "GREETER_STALL_TIMEOUT_S=0 is outside 1-300 seconds"),
    ],
)
def test_each_bad_value_gets_a_message_naming_the_setting(settings, expected):
    problems = problems_for(**settings)

    assert any(expected in problem for problem in problems), problems


def test_all_problems_are_reported_at_once():
    problems = problems_for(GREETER_STREAM_NAME="", GREETER_RESOLUTION="8K", GREETER_FRAMERATE="100")

    assert len(problems) == 3


def test_low_bitrate_and_typos_are_warnings_not_errors(make_config):
    config = make_config(GREETER_BITRATE_KBPS="800", GREETER_RESOLUTON="1920x1080")

    assert any("below the 1500 kbit/s Rekognition asks for" in w for w in config.warnings)
    assert any(
        "GREETER_RESOLUTON is not a setting" in w and "Did you mean GREETER_RESOLUTION?" in w for w in config.warnings
    )


def test_frame_search_video_defaults_to_the_replay_bitrate_and_only_a_stream_processor_wants_more(make_config):
    frame_search = make_config(GREETER_DETECTION="frame-search", GREETER_CROPS_BUCKET="greeter-crops")
    low = make_config(
        GREETER_DETECTION="frame-search", GREETER_CROPS_BUCKET="greeter-crops", GREETER_BITRATE_KBPS="800"
    )

    assert frame_search.encoder.bitrate_kbps == 1000  # replay only: bench/video_bitrate.py
    assert make_config().encoder.bitrate_kbps == 3000  # detection off: Rekognition's stream processor reads it
    assert not any("kbit/s" in w for w in low.warnings)


def test_env_file_syntax_quotes_comments_and_export():
    values, problems = parse_env_text(
        '# comment\n\nexport AWS_REGION=eu-west-1\nGREETER_STREAM_NAME="greeter-entrance"\n'
        "GREETER_LIBCAMERA_NAME='/base/soc/i2c0mux/i2c@1/imx708@1a'\n"
    )

    assert problems == []
    assert values == {
        "AWS_REGION": "eu-west-1",
        "GREETER_STREAM_NAME": "greeter-entrance",
        "GREETER_LIBCAMERA_NAME": "/base/soc/i2c0mux/i2c@1/imx708@1a",
    }


def test_env_file_syntax_errors_name_the_line():
    _, problems = parse_env_text(
        'AWS_REGION=eu-west-1\nthis is not a setting\nGREETER_DEVICE="/dev/video0\nAWS_REGION=x\n'
    )

    assert problems == [
        "line 2: expected KEY=value, got 'this is not a setting'",
        "line 3: GREETER_DEVICE has an opening quote but no closing one",
        "line 4: AWS_REGION is set twice (the first value was 'eu-west-1')",
    ]


def test_load_config_reports_a_missing_file(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "camera.env")

    assert "does not exist. Copy /opt/greeter/camera/camera.env.example there" in caught.value.problems[0]


def test_load_config_combines_syntax_and_value_problems(tmp_path):
    path = tmp_path / "camera.env"
    path.write_text("GREETER_STREAM_NAME=greeter-entrance\nAWS_REGION=eu-west-1\nnonsense\nGREETER_FRAMERATE=99\n")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    text = str(caught.value)
    assert "line 3: expected KEY=value" in text
    assert "GREETER_FRAMERATE=99 is outside 5-30" in text
    assert "GREETER_IOT_CREDENTIALS_ENDPOINT is missing" in text


def test_the_shipped_example_is_a_valid_configuration():
    config = load_config(PI_DIR / "camera.env.example")

    assert config.kvs.stream_name == "greeter-entrance"
    assert (config.camera.width, config.camera.height, config.camera.framerate) == (1280, 720, 30)
    assert config.warnings == ()


def test_the_example_documents_every_setting_and_its_frame_search_defaults_are_the_codes():
    text = (PI_DIR / "camera.env.example").read_text()
    documented = {match for match in re.findall(r"^#?([A-Z][A-Z0-9_]+)=", text, re.MULTILINE)}
    assert documented == set(KNOWN_KEYS)

    # Switch frame search on and uncomment every frame-search line, as an installer would.
    section = text[text.index("# ---- frame-search mode") : text.index("# ---- housekeeping")]
    uncommented = re.sub(r"^#(GREETER_[A-Z0-9_]+=)", r"\1", section, flags=re.MULTILINE)
    uncommented = uncommented.replace("GREETER_DETECTION=off", "GREETER_DETECTION=frame-search").replace(
        "GREETER_CROPS_BUCKET=\n", "GREETER_CROPS_BUCKET=greeter-crops-123456789012\n"
    )
    values, problems = parse_env_text(text.replace(section, uncommented))
    config = config_from_values(values)

    assert problems == [] and config.warnings == ()
    assert config.detection == DetectionSettings(
        crops_bucket="greeter-crops-123456789012", stream_name="greeter-entrance", region="eu-west-1"
    )


# ---- what only the Pi can tell ---------------------------------------------------------------------


def everything_installed(_name: str) -> bool:
    return True


def test_environment_check_names_a_missing_camera(make_config):
    config = make_config(GREETER_DEVICE="/dev/video-greeter-test-missing")

    problems = check_environment(config, everything_installed, "x264enc")

    assert any("GREETER_DEVICE=/dev/video-greeter-test-missing: there is no such camera device" in p for p in problems)


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="needs /dev/shm to put a plain file under /dev")
def test_environment_check_refuses_a_file_that_is_not_a_device(make_config):
    with tempfile.NamedTemporaryFile(dir="/dev/shm", prefix="video") as plain_file:
        config = make_config(GREETER_DEVICE=plain_file.name)

        problems = check_environment(config, everything_installed, "x264enc")

    assert f"GREETER_DEVICE={plain_file.name} is not a camera device (not a character device)." in problems


def test_environment_check_reads_the_certificates(make_config, tmp_path):
    cert = tmp_path / "certificate.pem.crt"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    key = tmp_path / "private.pem.key"
    key.write_text("secret")
    config = make_config(
        GREETER_CAMERA="picam",
        GREETER_IOT_CERT=str(cert),
        GREETER_IOT_KEY=str(key),
        GREETER_IOT_CA=str(tmp_path / "AmazonRootCA1.pem"),
    )

    problems = check_environment(config, everything_installed, "x264enc")

    assert problems == [
        f"GREETER_IOT_CA: the root CA certificate {tmp_path}/AmazonRootCA1.pem does not exist "
        "(see pi/provision-camera.sh)."
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file; the unreadable case cannot be shown as root")
def test_environment_check_notices_an_unreadable_key(make_config, tmp_path):
    key = tmp_path / "private.pem.key"
    key.write_text("secret")
    key.chmod(0)
    config = make_config(GREETER_CAMERA="picam", GREETER_IOT_KEY=str(key))

    problems = check_environment(config, everything_installed, "x264enc")

    assert any("is not readable by this user" in p for p in problems)


def test_environment_check_names_the_missing_gstreamer_pieces(make_config):
    config = make_config(GREETER_CAMERA="picam", **ACCESS_KEYS)
    installed = {"x264enc"}

    problems = check_environment(config, installed.__contains__, "v4l2h264enc")

    assert problems == [
        "GREETER_CAMERA=picam needs GStreamer's libcamerasrc (apt install gstreamer1.0-libcamera), "
        "which is not installed.",
        "The H.264 encoder v4l2h264enc is not available (apt install gstreamer1.0-plugins-good).",
        "kvssink (the Kinesis Video Streams GStreamer plugin) is not found; run pi/install.sh again, "
        "or check GST_PLUGIN_PATH.",
    ]


def test_frame_search_without_video_needs_no_encoder_or_kvssink(make_config):
    config = make_config(GREETER_CAMERA="picam", GREETER_STREAM_VIDEO="false", **FRAME_SEARCH, **ACCESS_KEYS)

    assert check_environment(config, {"libcamerasrc"}.__contains__, "x264enc") == []


def test_an_empty_value_means_the_default_not_an_open_quote(tmp_path):
    values, problems = parse_env_text("GREETER_LIBCAMERA_NAME=\nGREETER_CROPS_BUCKET=\nGREETER_DEVICE=''\n")

    assert problems == []
    assert values == {"GREETER_LIBCAMERA_NAME": "", "GREETER_CROPS_BUCKET": "", "GREETER_DEVICE": ""}
    path = tmp_path / "camera.env"
    path.write_text(
        "".join(f"{k}={v}\n" for k, v in VALID_IOT.items()) + "GREETER_CAMERA=picam\nGREETER_LIBCAMERA_NAME=\n"
    )
    assert load_config(path).camera.libcamera_name is None  # the first camera


def test_an_empty_required_value_is_missing_not_a_quote(tmp_path):
    path = tmp_path / "camera.env"
    path.write_text(
        "".join(f"{k}={v}\n" for k, v in {**VALID_IOT, **FRAME_SEARCH}.items()).replace(
            "GREETER_CROPS_BUCKET=greeter-crops-123456789012", "GREETER_CROPS_BUCKET="
        )
    )

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert caught.value.problems == [
        "GREETER_CROPS_BUCKET is missing: the bucket frame-search mode uploads face crops to (the CropsBucketName "
        "output of the Greeter stack)."
    ]


def test_a_typo_in_a_required_key_is_named_next_to_the_missing_key():
    settings = {key: value for key, value in VALID_IOT.items() if key != "GREETER_STREAM_NAME"}

    with pytest.raises(ConfigError) as caught:
        config_from_values({**settings, "GREETER_STREAM_NAM": "greeter-entrance"})

    [problem] = caught.value.problems
    assert problem.startswith("GREETER_STREAM_NAME is missing: the name of this camera's Kinesis video stream.")
    assert problem.endswith("GREETER_STREAM_NAM is set: a typo for GREETER_STREAM_NAME?")
    # The warnings travel with the errors (and `check` prints both).
    assert caught.value.warnings == (
        "GREETER_STREAM_NAM is not a setting this camera knows; it is ignored. Did you mean GREETER_STREAM_NAME?",
    )
    assert "warning: GREETER_STREAM_NAM is not a setting" in str(caught.value)


def test_both_credential_methods_filled_in_is_an_error_naming_what_to_remove():
    with pytest.raises(ConfigError) as caught:
        config_from_values({**VALID_IOT, **{k: v for k, v in ACCESS_KEYS.items() if k != "GREETER_CREDENTIALS"}})

    assert caught.value.problems == [
        "Both credential methods are filled in (GREETER_IOT_CREDENTIALS_ENDPOINT, GREETER_IOT_ROLE_ALIAS, "
        "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY): the camera uses one identity. GREETER_CREDENTIALS=iot-certificate, "
        "so remove AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (or set GREETER_CREDENTIALS=access-keys)."
    ]
    with pytest.raises(ConfigError) as caught:
        config_from_values({**VALID_IOT, **ACCESS_KEYS})
    assert (
        "GREETER_CREDENTIALS=access-keys, so remove GREETER_IOT_CREDENTIALS_ENDPOINT, GREETER_IOT_ROLE_ALIAS"
        in (caught.value.problems[0])
    )


def test_access_keys_without_the_method_say_which_setting_is_missing():
    stream = {"GREETER_STREAM_NAME": "greeter-entrance", "AWS_REGION": "eu-west-1"}
    keys = {k: v for k, v in ACCESS_KEYS.items() if k != "GREETER_CREDENTIALS"}

    with pytest.raises(ConfigError) as caught:
        config_from_values({**stream, **keys})

    assert caught.value.problems == [
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set but GREETER_CREDENTIALS is not: add "
        "GREETER_CREDENTIALS=access-keys to use the IAM user's key (or remove the key and fill in the GREETER_IOT_* "
        "settings for an IoT certificate, the preferred way)."
    ]


def test_no_credentials_at_all_names_both_ways_to_give_the_camera_an_identity():
    with pytest.raises(ConfigError) as caught:
        config_from_values({"GREETER_STREAM_NAME": "greeter-entrance", "AWS_REGION": "eu-west-1"})

    [endpoint, role_alias] = caught.value.problems
    assert endpoint.startswith("GREETER_IOT_CREDENTIALS_ENDPOINT is missing")
    assert "or, without IoT, use an IAM user's key: GREETER_CREDENTIALS=access-keys with AWS_ACCESS_KEY_ID" in endpoint
    assert role_alias.startswith("GREETER_IOT_ROLE_ALIAS is missing")


def test_a_detection_width_too_small_to_see_the_minimum_face_is_refused_with_the_width_that_would(make_config):
    assert make_config(**FRAME_SEARCH).detection.detection_width == 0  # auto
    assert make_config(**FRAME_SEARCH, GREETER_DETECTION_WIDTH="512").detection.detection_width == 512

    assert problems_for(**FRAME_SEARCH, GREETER_DETECTION_WIDTH="320") == [
        "GREETER_DETECTION_WIDTH=320 finds no face under 80 px in 1280-pixel-wide frames, but GREETER_MIN_FACE_PX=50: "
        "use GREETER_DETECTION_WIDTH=auto (512 here) or raise GREETER_MIN_FACE_PX to 80."
    ]
    # The same width is fine where it does see the minimum: 640x480 frames, 40 px faces.
    small_frames = {"GREETER_RESOLUTION": "640x480", "GREETER_MIN_FACE_PX": "40", "GREETER_DETECTION_WIDTH": "320"}
    assert make_config(**FRAME_SEARCH, **small_frames).detection.detection_width == 320
