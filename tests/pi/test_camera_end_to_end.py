"""The whole camera program in frame-search mode, with only the camera and the cloud swapped out.

A real face (scikit-image's astronaut, pasted into a 1280x720 scene) plays as a live 30 fps camera through
`imagefreeze`; everything after it is what runs on the Pi: the pipeline `pipeline.py` builds from a
camera.env (the tee, the x264 video branch into a Matroska file in place of kvssink, the 5 fps detection
branch into the appsink), the runner pulling frames on its own thread, and the sender `service.make_sender`
makes: YuNet, the tracker and rate limits, and S3 uploads signed with the camera's access key, into a crops
bucket on moto.
"""

from __future__ import annotations

import re
import threading
import time

import cv2
import pytest
from detection_fixtures import BUCKET, REGION, decode_jpeg, head_scene, moto_s3, stored_crops
from greeter_camera.config import load_config
from greeter_camera.faces import load_face_detector
from greeter_camera.pipeline import RAW_CAPS_NAME, build_pipeline
from greeter_camera.runner import PipelineRunner
from greeter_camera.service import make_sender

pytestmark = pytest.mark.gstreamer

STREAM = "greeter-entrance"
SECONDS_IN_VIEW = 5
RESEND_SECONDS = 2
CAMERA_ENV = f"""\
# As provision-camera.sh writes it for the access-key fallback, with frame search on
GREETER_STREAM_NAME={STREAM}
AWS_REGION={REGION}
GREETER_STREAM_VIDEO=true
GREETER_DETECTION=frame-search
GREETER_CROPS_BUCKET={BUCKET}
GREETER_CREDENTIALS=access-keys
AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
GREETER_RESOLUTION=1280x720
GREETER_FRAMERATE=30
# A fixed, short resend interval, so a few seconds show the per-face rate limit
GREETER_RESEND_SECONDS={RESEND_SECONDS}
GREETER_RESEND_MAX_SECONDS={RESEND_SECONDS}
# The resend schedule alone (the memory of searched faces would send this one face once: test_detection_memory)
GREETER_SEARCH_MEMORY_MINUTES=0
"""
CROP_KEY = re.compile(
    rf"crops/{STREAM}/(\d{{13}})-[0-9a-f]{{8}}-[0-9a-f]{{4}}-4[0-9a-f]{{3}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}\.jpg"
)


def test_a_face_in_front_of_the_camera_becomes_rate_limited_crops_in_s3_while_video_is_encoded(
    gst, tmp_path, monkeypatch
):
    (tmp_path / "camera.env").write_text(CAMERA_ENV)
    config = load_config(tmp_path / "camera.env")
    scene, [face] = head_scene(1280, 720, [(500, 200, 1.5)])  # a face of about 135x168 px, 3 m or so away
    cv2.imwrite(str(tmp_path / "scene.png"), scene)
    frames = SECONDS_IN_VIEW * config.camera.framerate
    camera = (
        f"filesrc location={tmp_path / 'scene.png'} ! pngdec ! videoconvert ! "
        f"imagefreeze is-live=true num-buffers={frames} ! "
        f'capsfilter name={RAW_CAPS_NAME} caps="video/x-raw,width=1280,height=720,framerate=30/1"'
    )
    video = tmp_path / "video.mkv"
    spec = build_pipeline(config, "x264enc", source=camera, video_sink=f"matroskamux ! filesink location={video}")

    with moto_s3(monkeypatch) as s3:
        sender = make_sender(config)
        runner = PipelineRunner(config, spec, sender=sender)
        sender.start()
        started = time.time()
        outcome = runner.run(threading.Event())
        ended = time.time()
        sender.stop()
        crops = stored_crops(s3)

    # The camera ran to its end, every frame went through, the detector got about 5 a second.
    assert outcome.kind == "eos", outcome
    assert runner.frames_seen == frames
    stats = sender.stats()
    # A live source on a busy machine stretches its 5 s of frames over a longer run: count against the run.
    ran_for = ended - started
    assert SECONDS_IN_VIEW * 5 * 0.7 <= stats.frames_processed <= ran_for * 5 + 1
    assert stats.faces_detected == stats.frames_processed  # the face, in every frame the detector saw
    # The video branch kept encoding meanwhile: H.264 in Matroska, as kvssink would have sent it.
    data = video.read_bytes()
    assert data[:4] == b"\x1a\x45\xdf\xa3" and b"V_MPEG4/ISO/AVC" in data

    # A face in view for 5 s with a 2 s resend interval: a crop at 0.2 s, 2.2 s and 4.2 s (one more for each 2 s
    # a busy machine stretched the run by), not 25.
    assert 3 <= len(crops) <= 1 + ran_for // RESEND_SECONDS, sorted(crops)
    assert stats.crops_uploaded == len(crops) and stats.crops_queued == len(crops)
    captured = []
    detector = load_face_detector(config.detection)
    for key, stored in sorted(crops.items()):
        match = CROP_KEY.fullmatch(key)
        assert match, key
        captured.append(int(match[1]) / 1000)
        assert stored["content_type"] == "image/jpeg"
        assert stored["metadata"]["frame-size"] == "1280x720" and stored["metadata"]["track-id"] == "1"
        crop = decode_jpeg(stored["body"])
        [found] = detector.detect(crop)  # the crop holds the face, whole
        assert found.width >= 0.8 * face[2]
        left, top, width, height = (int(v) for v in stored["metadata"]["crop-box"].split(","))
        assert crop.shape == (height, width, 3)
        assert left <= face[0] and top <= face[1]
        assert face[0] + face[2] <= left + width and face[1] + face[3] <= top + height
    # Capture times: during the run, in order, one resend interval apart.
    assert started <= captured[0] < started + 1.5
    assert captured[-1] <= ended
    gaps = [later - earlier for earlier, later in zip(captured, captured[1:], strict=False)]
    # Never sooner than the resend interval; later only by the frames a busy detector skipped.
    assert all(RESEND_SECONDS - 0.05 <= gap <= RESEND_SECONDS + 0.6 for gap in gaps), gaps
