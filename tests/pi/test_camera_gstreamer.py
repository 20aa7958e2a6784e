"""Real GStreamer: the pipelines the builder makes run, encode H.264, and feed BGR frames to the detector.

The camera is replaced by videotestsrc and kvssink by a Matroska file (KVS stores Matroska too) or a
fakesink; x264enc stands in for the Pi 4's v4l2h264enc, which only exists on a Pi.
"""

from __future__ import annotations

import subprocess
import threading
import time

import pytest
from camera_settings import FRAME_SEARCH
from greeter_camera.pipeline import build_pipeline, videotestsrc_source

pytestmark = pytest.mark.gstreamer

WIDTH, HEIGHT = 640, 480


def run_gst_launch(gst_launch: str, description: str, timeout: float = 30) -> None:
    result = subprocess.run(
        [gst_launch, "-q", "-e", *description.split()], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"gst-launch-1.0 failed:\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("settings", [{}, FRAME_SEARCH], ids=["video", "video+frame-search"])
def test_built_pipeline_streams_decodable_h264_in_matroska(make_config, gst_launch, tmp_path, settings):
    config = make_config(GREETER_RESOLUTION=f"{WIDTH}x{HEIGHT}", GREETER_FRAMERATE="20", **settings)
    video = tmp_path / "stream.mkv"
    spec = build_pipeline(
        config,
        "x264enc",
        source=videotestsrc_source(config, num_buffers=20),
        video_sink=f"matroskamux ! filesink location={video}",
    )

    run_gst_launch(gst_launch, spec.description)

    data = video.read_bytes()
    assert data[:4] == b"\x1a\x45\xdf\xa3"  # EBML: a Matroska file
    assert b"V_MPEG4/ISO/AVC" in data  # an H.264 (AVC) track, the codec id kvssink uses
    frames = tmp_path / "frames.gray"
    run_gst_launch(
        gst_launch,
        f"filesrc location={video} ! matroskademux ! h264parse ! avdec_h264 ! videoconvert ! "
        f"video/x-raw,format=GRAY8 ! filesink location={frames}",
    )
    assert frames.stat().st_size == 20 * WIDTH * HEIGHT  # every frame decodes back at full size


def test_usb_camera_descriptions_are_valid_gstreamer(make_config, gst):
    """v4l2src, jpegdec, x264enc, videorate and appsink accept every property and caps string we give them
    (kvssink, libcamerasrc and v4l2h264enc exist only on the Pi and are left out)."""
    for settings in ({"GREETER_USB_FORMAT": "mjpeg"}, {"GREETER_USB_FORMAT": "yuyv", **FRAME_SEARCH}):
        config = make_config(**settings)
        spec = build_pipeline(config, "x264enc", video_sink="fakesink")

        pipeline = gst.parse_launch(spec.description)

        source = pipeline.get_by_name("camera")
        assert source.get_factory().get_name() == "v4l2src"
        assert source.get_property("device") == "/dev/video0"
        assert source.get_property("do-timestamp") is True


def test_key_frame_interval_is_what_the_configuration_says(make_config, gst):
    config = make_config(
        GREETER_RESOLUTION=f"{WIDTH}x{HEIGHT}", GREETER_FRAMERATE="10", GREETER_KEYFRAME_INTERVAL_S="1"
    )
    spec = build_pipeline(
        config,
        "x264enc",
        source=videotestsrc_source(config, num_buffers=30, live=False),
        video_sink="fakesink name=out sync=false signal-handoffs=true",
    )
    pipeline = gst.parse_launch(spec.description)
    key_frames: list[int] = []
    count = [0]

    def on_handoff(_sink, buffer, _pad):
        if not buffer.has_flags(gst.BufferFlags.DELTA_UNIT):
            key_frames.append(count[0])
        count[0] += 1

    pipeline.get_by_name("out").connect("handoff", on_handoff)
    pipeline.set_state(gst.State.PLAYING)
    message = pipeline.get_bus().timed_pop_filtered(20 * gst.SECOND, gst.MessageType.EOS | gst.MessageType.ERROR)
    caps = pipeline.get_by_name("out").get_static_pad("sink").get_current_caps().get_structure(0)
    pipeline.set_state(gst.State.NULL)

    assert message is not None and message.type == gst.MessageType.EOS
    assert count[0] == 30
    assert key_frames == [0, 10, 20]  # one per second at 10 fps: each starts a Kinesis fragment
    assert caps.get_name() == "video/x-h264"
    assert caps.get_value("stream-format") == "avc" and caps.get_value("alignment") == "au"


# ---- the runner, in-process --------------------------------------------------------------------------


class CollectingSender:
    """Stands in for greeter_camera.detection.FrameSearchSender: keeps what it is given."""

    def __init__(self) -> None:
        self.frames: list[tuple[object, float]] = []

    def submit(self, frame_bgr, captured_at: float) -> None:
        self.frames.append((frame_bgr, captured_at))


@pytest.mark.parametrize("stream_video", ["true", "false"], ids=["with-video", "frame-search-only"])
def test_runner_hands_bgr_frames_to_the_sender(make_config, gst, stream_video):
    from greeter_camera.runner import PipelineRunner

    # 642 px wide: BGR rows of 1926 bytes are padded to 1928, so de-padding is exercised.
    config = make_config(
        GREETER_RESOLUTION="642x480",
        GREETER_FRAMERATE="30",
        GREETER_STREAM_VIDEO=stream_video,
        GREETER_DETECTION_FPS="5",
        **FRAME_SEARCH,
    )
    spec = build_pipeline(
        config,
        "x264enc",
        source=videotestsrc_source(config, num_buffers=60, pattern="red"),  # 2 s of a red picture
        video_sink="fakesink sync=false",
    )
    sender = CollectingSender()
    summaries: list[str] = []
    runner = PipelineRunner(config, spec, sender=sender, on_streaming=summaries.append)

    started = time.time()
    outcome = runner.run(threading.Event())
    ended = time.time()

    assert outcome.kind == "eos"
    assert runner.frames_seen == 60
    assert 6 <= len(sender.frames) <= 11  # about 5 a second for 2 s, never all 60
    for frame, captured_at in sender.frames:
        assert frame.shape == (480, 642, 3) and frame.dtype.name == "uint8"
        assert frame[0, 0].tolist() == [0, 0, 255] and frame[-1, -1].tolist() == [0, 0, 255]  # red, in BGR
        assert started <= captured_at <= ended
    assert [t for _, t in sender.frames] == sorted(t for _, t in sender.frames)
    assert summaries and "looking for faces 5 times a second" in summaries[0]


def test_runner_says_plainly_when_the_camera_is_missing(make_config, gst):
    from greeter_camera.runner import PipelineRunner

    config = make_config(GREETER_DEVICE="/dev/video-greeter-test-missing", GREETER_USB_FORMAT="yuyv")
    spec = build_pipeline(config, "x264enc", video_sink="fakesink")

    outcome = PipelineRunner(config, spec).run(threading.Event())

    assert outcome.kind == "error"
    assert outcome.message == (
        "The camera /dev/video-greeter-test-missing is not there: is the webcam unplugged, or is GREETER_DEVICE wrong?"
    )
    assert "Cannot identify device" in outcome.detail


def test_runner_notices_a_camera_that_goes_quiet(make_config, gst):
    from greeter_camera.runner import PipelineRunner

    config = make_config(GREETER_STALL_TIMEOUT_S="1")
    silent_camera = (
        'videotestsrc is-live=true ! valve drop=true ! capsfilter name=rawcaps caps="video/x-raw,width=1280,height=720"'
    )
    spec = build_pipeline(config, "x264enc", source=silent_camera, video_sink="fakesink")

    started = time.monotonic()
    outcome = PipelineRunner(config, spec).run(threading.Event())

    assert outcome.kind == "stalled"
    assert outcome.message.startswith("No video from the camera since the pipeline started (1 s)")
    assert time.monotonic() - started < 5


def test_runner_stops_when_asked(make_config, gst):
    from greeter_camera.runner import PipelineRunner

    config = make_config(GREETER_RESOLUTION=f"{WIDTH}x{HEIGHT}", GREETER_FRAMERATE="10")
    spec = build_pipeline(
        config, "x264enc", source=videotestsrc_source(config, num_buffers=-1), video_sink="fakesink sync=false"
    )
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()

    started = time.monotonic()
    outcome = PipelineRunner(config, spec).run(stop)

    assert outcome.kind == "stopped"
    assert time.monotonic() - started < 5
