"""The camera watch on the template's own wiring: heartbeats and video in, per-camera CameraSilent out."""

from datetime import timedelta

import pytest
from watch_kit import T0

MINUTE = timedelta(minutes=1)


def silent(watch, at) -> dict[str, float]:
    watch.run(at)
    return {camera: value for (name, camera), value in watch.runs[-1]["metrics"].items() if name == "CameraSilent"}


def test_cameras_that_beat_are_not_silent_and_their_clock_skew_is_measured_against_s3(watch_factory):
    watch = watch_factory(DetectionMode="FrameSearch")
    watch.heartbeat("entrance", T0)
    watch.heartbeat("till", T0, clock_ahead_s=42)

    assert silent(watch, T0 + MINUTE) == {"entrance": 0, "till": 0}
    metrics = watch.runs[-1]["metrics"]
    assert metrics[("CameraClockSkew", "entrance")] == pytest.approx(0, abs=1)
    assert metrics[("CameraClockSkew", "till")] == pytest.approx(42, abs=1)


def test_a_camera_silent_for_the_window_while_the_store_is_open_is_silent(watch_factory):
    watch = watch_factory(DetectionMode="FrameSearch", CameraSilenceMinutes=5)
    watch.heartbeat("entrance", T0)
    watch.heartbeat("till", T0)
    for minute in range(1, 6):
        watch.heartbeat("till", T0 + minute * MINUTE)

    assert silent(watch, T0 + 4 * MINUTE) == {"entrance": 0, "till": 0}  # not yet
    assert silent(watch, T0 + 6 * MINUTE) == {"entrance": 1, "till": 0}
    assert watch.runs[-1]["result"] == {"silent": ["entrance"], "watched": ["entrance", "till"]}


def test_a_camera_that_never_sent_anything_is_silent_while_the_store_is_open(watch_factory):
    watch = watch_factory(DetectionMode="FrameSearch")
    watch.heartbeat("till", T0)

    assert silent(watch, T0 + MINUTE) == {"entrance": 1, "till": 0}


def test_outside_opening_hours_silence_is_expected(watch_factory):
    watch = watch_factory(DetectionMode="FrameSearch")
    watch.close_store()

    assert silent(watch, T0 + 30 * MINUTE) == {"entrance": 0, "till": 0}
    assert watch.runs[-1]["result"] == {"silent": [], "watched": []}


def test_a_heartbeat_without_frames_is_no_sign_of_life(watch_factory):
    # The service runs and beats, but its webcam was pulled out ten minutes ago.
    watch = watch_factory(DetectionMode="FrameSearch")
    watch.heartbeat("entrance", T0, last_frame_age_s=600)
    watch.heartbeat("till", T0, last_frame_age_s=None)  # never had a frame since it started

    assert silent(watch, T0 + MINUTE) == {"entrance": 1, "till": 1}


def test_a_camera_clock_running_ahead_cannot_make_an_old_heartbeat_look_fresh(watch_factory):
    watch = watch_factory(DetectionMode="FrameSearch", CameraSilenceMinutes=5)
    # Its clock is an hour ahead: sent_at and last_frame_at look like the future; S3 dates the object.
    watch.heartbeat("entrance", T0, clock_ahead_s=3600)
    watch.heartbeat("till", T0 + 9 * MINUTE)

    assert silent(watch, T0 + 10 * MINUTE) == {"entrance": 1, "till": 0}


def test_stream_processor_mode_watches_the_video_kinesis_received(watch_factory):
    watch = watch_factory(DetectionMode="StreamProcessor", CameraSilenceMinutes=5)
    watch.open_store()  # the state machine started both processors
    for minute in range(0, 10):
        watch.video("till", T0 + minute * MINUTE)
    watch.video("entrance", T0)  # then nothing

    assert silent(watch, T0 + 10 * MINUTE) == {"entrance": 1, "till": 0}
    assert ("CameraClockSkew", "till") not in watch.runs[-1]["metrics"]  # no heartbeat in this mode

    watch.close_store()
    assert silent(watch, T0 + 11 * MINUTE) == {"entrance": 0, "till": 0}
