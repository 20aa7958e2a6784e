"""FrameSearchSender as the producer uses it: start(), submit() from another thread, stop(); S3 on moto."""

import threading
import time

import numpy as np
import pytest
from detection_fixtures import (
    STREAM,
    FlakyS3,
    centre_inside,
    decode_jpeg,
    head_scene,
    make_settings,
    moto_s3,
    stored_crops,
)
from greeter_camera.detection import FrameSearchSender
from greeter_camera.faces import load_face_detector

FRAME, [FACE] = head_scene(1280, 720, [(500, 200, 1.5)])


@pytest.fixture
def s3(monkeypatch):
    with moto_s3(monkeypatch) as client:
        yield client


def wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


class GatedDetector:
    """The real detector, held at the gate so a test can tell what arrives while detection is busy."""

    def __init__(self, fail_first: bool = False) -> None:
        self.real = load_face_detector(make_settings())
        self.name = self.real.name
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.fail_first = fail_first

    def detect(self, frame):
        self.entered.set()
        assert self.gate.wait(5)
        if self.fail_first:
            self.fail_first = False
            raise RuntimeError("a corrupt frame")
        return self.real.detect(frame)


def test_frames_submitted_from_another_thread_become_one_crop_in_s3(s3):
    # The sender builds its own detector and S3 client here, as on the Pi.
    sender = FrameSearchSender(make_settings(confirm_frames=2))
    sender.start()
    captured = [time.time() + i * 0.2 for i in range(3)]

    def appsink_thread():
        for n, t in enumerate(captured, start=1):
            sender.submit(FRAME, t)
            wait_until(lambda n=n: sender.stats().frames_processed == n)

    producer = threading.Thread(target=appsink_thread)
    producer.start()
    producer.join()
    sender.stop()

    [(key, stored)] = stored_crops(s3).items()
    assert key.startswith(f"crops/{STREAM}/{int(captured[1] * 1000)}-")  # confirmed on the second frame
    assert stored["content_type"] == "image/jpeg"
    meta = stored["metadata"]
    assert (meta["detector"], meta["frame-size"], meta["track-id"]) == ("yunet", "1280x720", "1")
    assert float(meta["confidence"]) > 0.7
    left, top, width, height = (int(v) for v in meta["crop-box"].split(","))
    assert centre_inside(
        type("Box", (), {"left": left, "top": top, "right": left + width, "bottom": top + height}), FACE
    )
    assert decode_jpeg(stored["body"]).shape == (height, width, 3)
    stats = sender.stats()
    assert (stats.frames_submitted, stats.crops_queued, stats.crops_uploaded) == (3, 1, 1)


def test_stop_flushes_the_queued_crops_before_returning(s3):
    flaky = FlakyS3(s3)
    flaky.fail_next = 1
    # Three copies of one face: without the memory of searched faces, three crops.
    sender = FrameSearchSender(make_settings(confirm_frames=1, search_memory_minutes=0), s3_client=flaky)
    frame, _ = head_scene(1280, 720, [(40, 200, 1.5), (520, 60, 1.0), (900, 330, 1.2)])
    now = time.time()
    queued = sender.process_frame(frame, now)
    assert len(queued) == 3
    sender.start()
    wait_until(lambda: flaky.attempts == 1)  # the first upload failed: the uploader is backing off

    sender.stop()

    assert sorted(stored_crops(s3)) == sorted(crop.key for crop in queued)
    stats = sender.stats()
    assert (stats.upload_failures, stats.crops_uploaded, stats.crops_abandoned_at_stop) == (1, 3, 0)


def test_stop_gives_up_after_its_timeout_when_s3_is_unreachable(s3):
    flaky = FlakyS3(s3)
    flaky.down = True
    settings = make_settings(confirm_frames=1, stop_timeout_seconds=0.3, upload_backoff_seconds=5)
    sender = FrameSearchSender(settings, s3_client=flaky)
    sender.process_frame(FRAME, time.time())
    sender.start()
    wait_until(lambda: flaky.attempts >= 1)  # failed: the uploader now waits 5 s before trying again

    started = time.monotonic()
    sender.stop()

    assert time.monotonic() - started < 1.5
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("greeter-")]
    assert stored_crops(s3) == {}
    assert sender.stats().crops_abandoned_at_stop == 1


def test_submit_never_waits_for_detection_and_keeps_only_the_newest_frame(s3):
    detector = GatedDetector()
    sender = FrameSearchSender(make_settings(confirm_frames=1), detector=detector, s3_client=s3)
    sender.start()
    sender.submit(FRAME, time.time())
    assert detector.entered.wait(5)  # detection is busy with the first frame, held at the gate

    newest = FRAME.copy()
    started = time.monotonic()
    for _ in range(8):
        sender.submit(np.zeros_like(FRAME), time.time())
    sender.submit(newest, time.time())
    submit_time = time.monotonic() - started
    newest[:] = 0  # the producer reuses its buffer: the sender must have taken a copy

    detector.gate.set()
    wait_until(lambda: sender.stats().frames_processed == 2)
    sender.stop()

    stats = sender.stats()
    assert (stats.frames_submitted, stats.frames_skipped, stats.frames_processed) == (10, 8, 2)
    assert stats.faces_detected == 2  # the first frame and the newest, as it was when submitted
    assert submit_time < 1.0  # nine submits while detection is blocked (each copies a 1280x720 frame)


def test_a_frame_that_fails_detection_is_counted_and_detection_goes_on(s3):
    detector = GatedDetector(fail_first=True)
    detector.gate.set()
    sender = FrameSearchSender(make_settings(confirm_frames=1), detector=detector, s3_client=s3)
    sender.start()

    sender.submit(FRAME, time.time())
    wait_until(lambda: sender.stats().detection_errors == 1)
    sender.submit(FRAME, time.time())
    wait_until(lambda: sender.stats().frames_processed == 1)
    sender.stop()

    assert len(stored_crops(s3)) == 1


def test_frames_before_start_or_after_stop_are_skipped_not_queued(s3):
    sender = FrameSearchSender(make_settings(confirm_frames=1), s3_client=s3)
    sender.submit(FRAME, time.time())
    sender.start()
    sender.stop()
    sender.submit(FRAME, time.time())

    stats = sender.stats()
    assert (stats.frames_submitted, stats.frames_skipped, stats.frames_processed) == (2, 2, 0)


@pytest.mark.parametrize(
    "frame",
    [np.zeros((720, 1280), np.uint8), np.zeros((720, 1280, 4), np.uint8), np.zeros((720, 1280, 3), np.float32)],
)
def test_submit_refuses_anything_but_a_bgr_uint8_frame(s3, frame):
    sender = FrameSearchSender(make_settings(), s3_client=s3)

    with pytest.raises(ValueError, match="expected a"):
        sender.submit(frame, time.time())
