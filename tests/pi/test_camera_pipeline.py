"""Pipeline construction for every camera, encoder and detection combination."""

from __future__ import annotations

import itertools
import re

import pytest
from camera_settings import ACCESS_KEYS, FRAME_SEARCH
from greeter_camera.pipeline import build_pipeline, printable, read_board_model, resolve_encoder

CAMERAS = {
    "usb-mjpeg": {"GREETER_CAMERA": "usb", "GREETER_USB_FORMAT": "mjpeg"},
    "usb-yuyv": {"GREETER_CAMERA": "usb", "GREETER_USB_FORMAT": "yuyv"},
    "picam": {"GREETER_CAMERA": "picam"},
}
MODES = {
    "video": {},
    "video+frame-search": FRAME_SEARCH,
    "frame-search-only": {**FRAME_SEARCH, "GREETER_STREAM_VIDEO": "false"},
}
ENCODERS = ("x264enc", "v4l2h264enc")


def element_chain(description: str) -> list[str]:
    """Factory names (or caps media types) in link order, per branch, ignoring properties."""
    branches = re.split(r"\s{2}", description)
    return [" ! ".join(part.split()[0] for part in branch.split(" ! ")) for branch in branches]


@pytest.mark.parametrize(("camera", "mode", "encoder"), list(itertools.product(CAMERAS, MODES, ENCODERS)), ids="-".join)
def test_every_combination_builds_the_expected_branches(make_config, camera, mode, encoder):
    config = make_config(**CAMERAS[camera], **MODES[mode], GREETER_DEVICE="/dev/video2")

    spec = build_pipeline(config, encoder)
    chains = element_chain(spec.description)

    source = {
        "usb-mjpeg": "v4l2src ! image/jpeg,width=1280,height=720,framerate=30/1 ! jpegdec ! capsfilter",
        "usb-yuyv": "v4l2src ! capsfilter",
        "picam": "libcamerasrc ! capsfilter",
    }[camera]
    video = (
        "videoconvert ! video/x-raw,format=I420 ! x264enc ! h264parse ! video/x-h264,stream-format=avc,alignment=au"
        if encoder == "x264enc"
        else "videoconvert ! video/x-raw,format=I420,colorimetry=bt601 ! v4l2h264enc ! video/x-h264,level=(string)4 "
        "! h264parse ! video/x-h264,stream-format=avc,alignment=au"
    ) + " ! kvssink"
    detect = "queue ! videorate ! video/x-raw,framerate=5/1 ! videoconvert ! video/x-raw,format=BGR ! appsink"
    expected = {
        "video": [f"{source} ! queue ! {video}"],
        "video+frame-search": [f"{source} ! tee", f"raw. ! queue ! {video}", f"raw. ! {detect}"],
        "frame-search-only": [f"{source} ! {detect}"],
    }[mode]
    assert chains == expected
    assert spec.streams_video == (mode != "frame-search-only")
    assert spec.encoder == (None if mode == "frame-search-only" else encoder)
    assert spec.detect_sink == (None if mode == "video" else "detect")
    if camera != "picam":
        assert spec.description.startswith("v4l2src name=camera device=/dev/video2 do-timestamp=true ! ")


def test_size_and_rate_reach_the_camera_caps(make_config):
    config = make_config(GREETER_RESOLUTION="1920x1080", GREETER_FRAMERATE="15", GREETER_USB_FORMAT="yuyv")

    description = build_pipeline(config, "x264enc").description

    assert 'caps="video/x-raw,format=YUY2,width=1920,height=1080,framerate=15/1"' in description


def test_picam_can_pick_one_camera_by_name(make_config):
    config = make_config(GREETER_CAMERA="picam", GREETER_LIBCAMERA_NAME="/base/axi/pcie@120000/rp1/i2c@88000/imx708@1a")

    description = build_pipeline(config, "x264enc").description

    assert description.startswith(
        'libcamerasrc name=camera camera-name="/base/axi/pcie@120000/rp1/i2c@88000/imx708@1a" ! '
    )


def test_x264_is_tuned_for_latency_with_a_key_frame_per_interval(make_config):
    config = make_config(GREETER_FRAMERATE="25", GREETER_KEYFRAME_INTERVAL_S="2", GREETER_BITRATE_KBPS="2500")

    description = build_pipeline(config, "x264enc").description

    assert "x264enc tune=zerolatency speed-preset=ultrafast bitrate=2500 key-int-max=50 bframes=0" in description


def test_hardware_encoder_gets_bitrate_and_key_frames_as_v4l2_controls(make_config):
    config = make_config(GREETER_FRAMERATE="30", GREETER_KEYFRAME_INTERVAL_S="1", GREETER_BITRATE_KBPS="3000")

    description = build_pipeline(config, "v4l2h264enc").description

    assert (
        'v4l2h264enc extra-controls="encode,video_bitrate=3000000,h264_i_frame_period=30,repeat_sequence_header=1"'
        in description
    )


def test_iot_credentials_go_to_kvssink_as_one_structure(make_config):
    config = make_config(GREETER_IOT_THING_NAME="greeter-entrance", GREETER_KVS_STORAGE_MB="256")

    description = build_pipeline(config, "x264enc").description

    assert (
        "kvssink name=kvs stream-name=greeter-entrance aws-region=eu-west-1 storage-size=256 "
        "log-config=/etc/greeter/kvs_log_configuration "
        'iot-certificate="iot-certificate,endpoint=c1abcdefghijkl.credentials.iot.eu-west-1.amazonaws.com,'
        "cert-path=/etc/greeter/certs/certificate.pem.crt,key-path=/etc/greeter/certs/private.pem.key,"
        'ca-path=/etc/ssl/certs/Amazon_Root_CA_1.pem,role-aliases=greeter-camera,iot-thing-name=greeter-entrance"'
    ) in description


def test_access_keys_never_appear_in_the_description(make_config):
    config = make_config(**ACCESS_KEYS)

    spec = build_pipeline(config, "x264enc")

    assert ACCESS_KEYS["AWS_ACCESS_KEY_ID"] not in spec.description
    assert ACCESS_KEYS["AWS_SECRET_ACCESS_KEY"] not in spec.description
    assert "iot-certificate" not in spec.description
    shown = printable(spec, config)
    assert "access-key=$AWS_ACCESS_KEY_ID secret-key=$AWS_SECRET_ACCESS_KEY" in shown
    assert ACCESS_KEYS["AWS_SECRET_ACCESS_KEY"] not in shown


def test_detection_branch_runs_at_the_configured_rate_and_never_blocks(make_config):
    config = make_config(**FRAME_SEARCH, GREETER_DETECTION_FPS="3")

    description = build_pipeline(config, "x264enc").description

    assert (
        "raw. ! queue leaky=downstream max-size-buffers=1 ! videorate drop-only=true ! video/x-raw,framerate=3/1 ! "
        "videoconvert ! video/x-raw,format=BGR ! appsink name=detect max-buffers=1 drop=true sync=false"
    ) in description


def test_test_source_and_sink_replace_only_the_ends(make_config):
    config = make_config()

    real = build_pipeline(config, "x264enc").description
    swapped = build_pipeline(config, "x264enc", source="videotestsrc", video_sink="fakesink").description

    assert swapped.startswith("videotestsrc ! queue ! videoconvert")
    assert swapped.endswith("alignment=au ! fakesink")
    middle = real[real.index(" ! queue ! ") : real.index(" ! kvssink")]
    assert middle in swapped


@pytest.mark.parametrize(
    ("requested", "model", "installed", "chosen"),
    [
        ("auto", "Raspberry Pi 4 Model B Rev 1.4", {"v4l2h264enc", "x264enc"}, "v4l2h264enc"),
        ("auto", "Raspberry Pi 5 Model B Rev 1.0", {"v4l2h264enc", "x264enc"}, "x264enc"),
        ("auto", "Raspberry Pi 3 Model B Plus Rev 1.3", {"x264enc"}, "x264enc"),
        ("auto", "", {"x264enc"}, "x264enc"),
        ("x264enc", "Raspberry Pi 4 Model B Rev 1.4", {"v4l2h264enc", "x264enc"}, "x264enc"),
        ("v4l2h264enc", "", set(), "v4l2h264enc"),
    ],
)
def test_encoder_choice(requested, model, installed, chosen):
    assert resolve_encoder(requested, model, installed.__contains__) == chosen


def test_board_model_is_read_without_the_trailing_nul(tmp_path):
    model = tmp_path / "model"
    model.write_bytes(b"Raspberry Pi 5 Model B Rev 1.0\x00")

    assert read_board_model(str(model)) == "Raspberry Pi 5 Model B Rev 1.0"
    assert read_board_model(str(tmp_path / "absent")) == ""


def test_unknown_encoder_is_refused(make_config):
    with pytest.raises(ValueError, match="unknown H.264 encoder 'nvh264enc'"):
        build_pipeline(make_config(), "nvh264enc")
