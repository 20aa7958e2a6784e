"""The crop queue and the S3 uploads, on moto, through a network outage driven by a fake clock."""

import re

import pytest
from detection_fixtures import (
    ASTRONAUT,
    BUCKET,
    STREAM,
    T0,
    FakeClock,
    FlakyS3,
    decode_jpeg,
    moto_s3,
    stored_crops,
)
from greeter_camera.faces import FaceBox, crop_face, encode_jpeg
from greeter_camera.uploader import CropQueue, CropUploader, FaceCrop, SenderStats, crop_object_key


@pytest.fixture
def s3(monkeypatch):
    with moto_s3(monkeypatch) as client:
        yield client


CROP_PIXELS, _ = crop_face(ASTRONAUT, FaceBox(179, 63, 90, 112), margin=0.4)
JPEG = encode_jpeg(CROP_PIXELS, 90)


def crop_at(captured_at: float) -> FaceCrop:
    return FaceCrop(
        key=crop_object_key(STREAM, captured_at),
        jpeg=JPEG,
        captured_at=captured_at,
        metadata={"detector": "yunet", "confidence": "0.930", "face-box": "179,63,90,112"},
    )


class Rig:
    """A queue and an uploader on a fake clock, and the loop the upload thread runs, minus the sleeping."""

    def __init__(self, s3_client, *, capacity=5, max_age=30.0, backoff=0.5, backoff_max=8.0) -> None:
        self.clock = FakeClock()
        self.stats = SenderStats()
        self.queue = CropQueue(capacity, self.stats)
        self.uploader = CropUploader(
            queue=self.queue,
            s3_client=s3_client,
            bucket=BUCKET,
            max_age_seconds=max_age,
            backoff_seconds=backoff,
            backoff_max_seconds=backoff_max,
            clock=self.clock,
            stats=self.stats,
        )
        self.backoffs: list[float] = []  # the wait after each failed upload

    def run_until(self, until: float, arrivals: list[FaceCrop] = ()) -> None:
        """Step the uploader until `until` (epoch s); each crop in `arrivals` is queued at its capture time."""
        pending = sorted(arrivals, key=lambda crop: crop.captured_at)
        while self.clock.now < until:
            while pending and pending[0].captured_at <= self.clock.now:
                self.queue.put(pending.pop(0))
            failures = self.stats.upload_failures
            delay = self.uploader.step()
            if delay == 0:
                continue
            if self.stats.upload_failures > failures:
                self.backoffs.append(delay)
            next_arrival = pending[0].captured_at if pending else until
            wake_at = next_arrival if delay is None else min(next_arrival, self.clock.now + delay)
            self.clock.now = min(max(wake_at, self.clock.now), until)


def test_a_crop_lands_in_s3_under_the_cameras_prefix_with_its_capture_time(s3):
    rig = Rig(s3)
    crop = crop_at(T0 + 0.123)
    rig.queue.put(crop)

    assert rig.uploader.step() == 0.0
    assert rig.uploader.step() is None

    [(key, stored)] = stored_crops(s3).items()
    assert re.fullmatch(
        rf"crops/{STREAM}/{int((T0 + 0.123) * 1000)}-[0-9a-f]{{8}}(-[0-9a-f]{{4}}){{3}}-[0-9a-f]{{12}}\.jpg", key
    )
    assert stored["content_type"] == "image/jpeg"
    assert stored["metadata"] == {"detector": "yunet", "confidence": "0.930", "face-box": "179,63,90,112"}
    assert decode_jpeg(stored["body"]).shape == CROP_PIXELS.shape


def test_through_an_outage_the_oldest_crops_are_dropped_stale_ones_are_not_sent_and_the_rest_arrive_once(s3):
    flaky = FlakyS3(s3)
    flaky.down = True
    rig = Rig(flaky, capacity=5, max_age=30)
    # Seven crops while the network is down (capacity 5): the two oldest must make room.
    during_outage = [crop_at(T0 + t) for t in (0, 1, 2, 20, 25, 26, 27)]

    rig.run_until(T0 + 33, during_outage)

    assert stored_crops(s3) == {}
    assert flaky.attempts > 5
    assert rig.backoffs == [0.5, 1.0, 2.0, 4.0] + [8.0] * (len(rig.backoffs) - 4)
    assert rig.stats.crops_dropped_queue_full == 2
    assert len(rig.queue) == 5

    flaky.down = False
    rig.run_until(T0 + 60)

    # The crop taken at 2 s is 31 s old by the time the network is back: dropped, not sent.
    sent = [crop.key for crop in during_outage[3:]]
    assert flaky.delivered == sent  # in capture order, each once
    assert sorted(stored_crops(s3)) == sorted(sent)
    assert all(decode_jpeg(stored["body"]) is not None for stored in stored_crops(s3).values())
    assert (
        rig.stats.as_dict() | {"upload_failures": 0}
        == SenderStats(crops_dropped_queue_full=2, crops_dropped_stale=1, crops_uploaded=4).as_dict()
    )
    assert rig.stats.upload_failures == flaky.attempts - 4


def test_an_upload_whose_response_was_lost_is_retried_under_the_same_key(s3):
    flaky = FlakyS3(s3)
    flaky.lose_next_response = True
    rig = Rig(flaky)
    crop = crop_at(T0)

    rig.run_until(T0 + 5, [crop])

    assert flaky.delivered == [crop.key, crop.key]
    assert list(stored_crops(s3)) == [crop.key]
    assert (rig.stats.upload_failures, rig.stats.crops_uploaded) == (1, 1)


def test_a_crop_whose_upload_failed_goes_back_to_the_front_unless_the_queue_filled_up_meanwhile():
    stats = SenderStats()
    queue = CropQueue(2, stats)
    oldest, newer, newest = crop_at(T0), crop_at(T0 + 1), crop_at(T0 + 2)

    queue.put(oldest)
    in_flight = queue.take()
    queue.put(newer)
    queue.put_back(in_flight)
    assert [queue.take(), queue.take()] == [oldest, newer]

    queue.put(oldest)
    in_flight = queue.take()
    queue.put(newer)
    queue.put(newest)
    queue.put_back(in_flight)  # full: the failed crop is the oldest, so it is the one dropped
    assert [queue.take(), queue.take(), queue.take()] == [newer, newest, None]
    assert stats.crops_dropped_queue_full == 1


def test_a_network_that_takes_connections_and_never_answers_costs_one_bounded_attempt(monkeypatch):
    import socket
    import threading

    import boto3
    from greeter_camera import detection

    held: list[socket.socket] = []
    with socket.socket() as silent:  # takes every connection, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        silent.settimeout(3)

        def hold_every_connection() -> None:
            while True:
                try:
                    held.append(silent.accept()[0])
                except OSError:  # closed, or 3 s without a connection
                    return

        holder = threading.Thread(target=hold_every_connection, daemon=True)
        holder.start()
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{silent.getsockname()[1]}")
        # The camera waits 5 s for an answer; the test the same client with 0.3 s.
        monkeypatch.setattr(detection, "UPLOAD_READ_TIMEOUT_S", 0.3)
        session = boto3.session.Session(aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x" * 40)
        stats = SenderStats()
        queue = CropQueue(5, stats)
        queue.put(crop_at(T0))
        uploader = CropUploader(
            queue=queue,
            s3_client=detection.make_s3_client("eu-west-1", session),
            bucket=BUCKET,
            max_age_seconds=30,
            backoff_seconds=0.5,
            backoff_max_seconds=8,
            clock=FakeClock(),
            stats=stats,
        )

        assert uploader.step() == 0.5  # failed: back off, keep the crop
        holder.join(10)  # it stops 3 s after the last connection: any retry would have been taken by then

    assert stats.upload_failures == 1 and len(queue) == 1
    assert len(held) == 1  # one connection: botocore does not retry, the queue does
    for connection in held:
        connection.close()
    monkeypatch.undo()
    config = detection.make_s3_client("eu-west-1", session).meta.config
    assert (config.connect_timeout, config.read_timeout, config.retries["total_max_attempts"]) == (3, 5, 1)
