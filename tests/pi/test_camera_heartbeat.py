"""The camera's heartbeat: what it sends, where, with which clock offset, and what a dead network does to it."""

import json
import logging
import re

from detection_fixtures import BUCKET, STREAM, T0, FakeClock, FlakyS3, moto_s3, stored_crops
from greeter_camera.heartbeat import HeartbeatSender, heartbeat_key
from greeter_camera.uploader import crop_object_key


def status() -> dict:
    return {
        "state": "streaming",
        "summary": "Streaming 1280x720 at 30 fps (x264enc) to front-door.",
        "restarts": 2,
        "last_frame_at": T0 - 0.1,
        "crops_uploaded": 7,
        "upload_failures": 1,
    }


def sender(s3, clock) -> HeartbeatSender:
    return HeartbeatSender(
        s3_client=s3, bucket=BUCKET, stream_name=STREAM, interval_s=60, status=status, wallclock=clock
    )


def test_the_heartbeat_overwrites_one_object_under_the_cameras_own_crops_prefix(monkeypatch):
    with moto_s3(monkeypatch) as s3:
        heartbeat = sender(s3, FakeClock())
        assert heartbeat.beat() and heartbeat.beat()

        stored = stored_crops(s3)

    assert list(stored) == [f"crops/{STREAM}/heartbeat.json"] == [heartbeat_key(STREAM)]
    body = json.loads(stored[heartbeat_key(STREAM)]["body"])
    assert stored[heartbeat_key(STREAM)]["content_type"] == "application/json"
    assert body == {"camera": STREAM, "sent_at": T0, **status(), "clock_offset_s": body["clock_offset_s"]}
    # Not a crop: the cloud's crop rule matches crops/*.jpg, the heartbeat is .json.
    assert not heartbeat_key(STREAM).endswith(".jpg") and crop_object_key(STREAM, T0).endswith(".jpg")


def test_the_clock_offset_is_measured_against_s3s_clock_and_sent_with_the_next_heartbeat(monkeypatch):
    import time

    with moto_s3(monkeypatch) as s3:
        fast = lambda: time.time() + 95  # noqa: E731 - a Pi whose clock runs 95 s ahead (no NTP yet)
        heartbeat = sender(s3, fast)
        assert heartbeat.payload()["clock_offset_s"] is None  # nothing measured yet

        heartbeat.beat()

        # S3's Date header has whole seconds.
        assert 93.5 <= heartbeat.clock_offset_s <= 96.5
        heartbeat.beat()
        assert 93.5 <= json.loads(stored_crops(s3)[heartbeat_key(STREAM)]["body"])["clock_offset_s"] <= 96.5


def test_a_dead_network_fails_a_heartbeat_quietly_once_and_the_next_one_goes(monkeypatch, caplog):
    with moto_s3(monkeypatch) as s3:
        flaky = FlakyS3(s3)
        heartbeat = sender(flaky, FakeClock())
        flaky.down = True

        with caplog.at_level(logging.INFO, logger="greeter_camera.heartbeat"):
            assert not heartbeat.beat()
            assert not heartbeat.beat()
            flaky.down = False
            assert heartbeat.beat()

        assert list(stored_crops(s3)) == [heartbeat_key(STREAM)]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("heartbeat not sent (Could not connect")
    assert "heartbeat sent again" in caplog.text


def test_the_service_gives_the_heartbeat_the_crops_bucket_and_credentials_in_frame_search_mode_only(
    make_config, monkeypatch
):
    from camera_settings import ACCESS_KEYS, FRAME_SEARCH
    from greeter_camera.service import make_heartbeat, make_sender

    config = make_config(**FRAME_SEARCH, **ACCESS_KEYS, GREETER_HEARTBEAT_SECONDS="30")
    crops = make_sender(config)

    heartbeat = make_heartbeat(config, crops, status)

    assert (heartbeat.bucket, heartbeat.key, heartbeat.interval_s) == (
        "greeter-crops-123456789012",
        "crops/greeter-entrance/heartbeat.json",
        30,
    )
    assert heartbeat._s3 is crops.uploader.s3_client  # the crops' credentials and timeouts
    assert make_heartbeat(make_config(), None, status) is None


def test_status_shows_the_last_heartbeat_and_a_clock_far_from_aws(tmp_path, monkeypatch):
    import time

    from greeter_camera.health import HealthReporter, describe_health

    health = HealthReporter(str(tmp_path / "health.json"), stream_name=STREAM, notify=lambda _m: True)
    with moto_s3(monkeypatch) as s3:
        heartbeat = HeartbeatSender(
            s3_client=s3,
            bucket=BUCKET,
            stream_name=STREAM,
            interval_s=60,
            status=status,
            on_sent=health.heartbeat_sent,
            wallclock=lambda: time.time() - 40,  # a Pi 40 s slow
        )
        heartbeat.beat()

    shown = describe_health(json.loads((tmp_path / "health.json").read_text()), time.time())

    # S3 dates to the second: the offset is 40 s give or take one.
    assert re.search(r"^Heartbeat to the cloud: [01] s ago$", shown, re.MULTILINE), shown
    assert re.search(r"^Clock: (39|40|41) s behind AWS; crops are dated by it and the cloud drops crops", shown, re.M)
