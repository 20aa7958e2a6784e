"""The camera watch on the template's own wiring: heartbeats and video in, per-camera CameraSilent out."""

from datetime import timedelta

import boto3
import pytest
from greeter_camera.heartbeat import heartbeat_key
from greeter_camera.uploader import crop_object_key
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
    assert metrics[("CameraClockOffset", "entrance")] == pytest.approx(0, abs=1)
    assert metrics[("CameraClockOffset", "till")] == pytest.approx(42, abs=1)


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
    assert ("CameraClockOffset", "till") not in watch.runs[-1]["metrics"]  # no heartbeat in this mode

    watch.close_store()
    assert silent(watch, T0 + 11 * MINUTE) == {"entrance": 0, "till": 0}


# End to end: the camera's heartbeat code -> S3 -> the camera watch on its schedule -> CameraSilent in CloudWatch
# -> the camera's alarm from template.yaml, judged as CloudWatch judges it (tests/fakes/cloudwatch.py).


def alarm_of(watch, camera: str) -> str:
    return f"{watch.stack.name}-camera-{camera}-silent"


def minutes(watch, start, end, beating: set[str]) -> dict[str, list[str]]:
    """Run the store from minute `start` to `end`: each minute the cameras in `beating` send a heartbeat, the
    schedule runs the watch, and CloudWatch judges every camera's alarm. Returns each alarm's states."""
    states: dict[str, list[str]] = {camera: [] for camera in watch.cameras}
    for minute in range(start, end):
        at = T0 + minute * MINUTE
        for camera in beating:
            watch.heartbeat(camera, at + timedelta(seconds=5))
        watch.run(at + timedelta(seconds=30))
        for camera in watch.cameras:
            # CloudWatch judges the minute that has just ended.
            states[camera].append(watch.alarm_state(alarm_of(watch, camera), at + MINUTE + timedelta(seconds=10)))
    return states


def test_a_camera_that_stops_raises_its_named_alarm_within_the_window_and_it_clears_when_back(watch_factory):
    watch = watch_factory(DetectionMode="FrameSearch", CameraSilenceMinutes=5)
    both = {"entrance", "till"}

    assert minutes(watch, 0, 3, both) == {"entrance": ["OK"] * 3, "till": ["OK"] * 3}
    # The entrance camera stops at minute 3 (its last heartbeat 00:02:05); the till keeps beating.
    stopped = minutes(watch, 3, 12, {"till"})

    assert stopped["till"] == ["OK"] * 9
    # Silent for 5 minutes at 00:07:05: the watch at 00:07:30 says so, and CloudWatch fires the alarm when it judges
    # that minute (00:08:10), 6 minutes after the last heartbeat: within the window and the one-minute schedule.
    assert stopped["entrance"] == ["OK"] * 4 + ["ALARM"] * 5
    cloudwatch = boto3.client("cloudwatch")
    [alarm] = cloudwatch.describe_alarms(AlarmNames=[alarm_of(watch, "entrance")])["MetricAlarms"]
    assert alarm["AlarmDescription"].startswith(f"Camera entrance ({watch.stack.name}-entrance) has given no sign")
    assert alarm["AlarmActions"] == alarm["OKActions"] == [watch.stack.ref("OpsTopic")]
    # Back: its first heartbeat clears the alarm at the next minute.
    assert minutes(watch, 12, 14, both)["entrance"] == ["OK", "OK"]


def test_a_camera_silent_outside_opening_hours_raises_no_alarm(watch_factory):
    watch = watch_factory(DetectionMode="FrameSearch", CameraSilenceMinutes=5)
    minutes(watch, 0, 2, {"entrance", "till"})
    watch.close_store()  # closing time: the store-hours state machine stops detection

    night = minutes(watch, 2, 30, set())

    assert night == {"entrance": ["OK"] * 28, "till": ["OK"] * 28}
    # Opening the next morning with the entrance camera still off: now it counts.
    watch.open_store()
    morning = minutes(watch, 30, 32, {"till"})
    assert morning == {"entrance": ["ALARM", "ALARM"], "till": ["OK", "OK"]}


def test_stream_processor_mode_alarms_on_a_camera_whose_video_stops(watch_factory):
    watch = watch_factory(DetectionMode="StreamProcessor", CameraSilenceMinutes=5)
    watch.open_store()
    states: dict[str, list[str]] = {"entrance": [], "till": []}
    for minute in range(12):
        at = T0 + minute * MINUTE
        watch.video("till", at)
        if minute < 3:
            watch.video("entrance", at)
        watch.run(at + timedelta(seconds=30))
        for camera in states:
            states[camera].append(watch.alarm_state(alarm_of(watch, camera), at + MINUTE + timedelta(seconds=10)))

    assert states["till"] == ["OK"] * 12
    # Its last frames came in the minute 00:02-00:03; silent for 5 minutes from 00:08.
    assert states["entrance"] == ["OK"] * 8 + ["ALARM"] * 4


def test_the_frame_search_rule_never_takes_a_heartbeat_for_a_crop(stack_factory):
    import json

    from moto.events.models import EventPattern

    stack = stack_factory(DetectionMode="FrameSearch")
    rule = stack.resolve(stack.resources["FrameSearchFunction"]["Properties"]["Events"]["CropUploaded"]["Properties"])
    pattern = EventPattern.load(json.dumps(rule["Pattern"]))
    bucket = stack.ref("CropsBucket")
    stream = f"{stack.name}-entrance"

    def uploaded(key: str) -> dict:  # S3's "Object Created" event on EventBridge, as moto's matcher takes it
        detail = {"bucket": {"name": bucket}, "object": {"key": key, "size": 100}, "reason": "PutObject"}
        return {"source": "aws.s3", "detail-type": "Object Created", "detail": detail}

    assert pattern.matches_event(uploaded(crop_object_key(stream, T0.timestamp())))
    assert not pattern.matches_event(uploaded(heartbeat_key(stream)))
