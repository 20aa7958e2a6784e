"""The memory of searched faces (face_memory.py): a person costs a first search and a second chance however often
they come back into view, a crop that never reached S3 is not counted as searched, a track's own resends are never
spared, a different person is still searched, and the memory ends (after its minutes, when the clock is set back)
where it must. Real photos through the real detector and SFace model, each case beside the same frames without
the memory."""

import logging

import numpy as np
import pytest
from detection_fixtures import (
    ASTRONAUT_HEAD,
    CAMERAMAN,
    STREAM,
    T0,
    FakeClock,
    FlakyS3,
    gradient,
    make_settings,
    moto_s3,
    paste,
)
from greeter_camera.detection import FrameSearchSender
from greeter_camera.face_memory import MAX_REMEMBERED, SearchedFaces, load_face_recogniser
from greeter_camera.uploader import FaceCrop, crop_object_key

FPS = 5
CAMERAMAN_HEAD = CAMERAMAN[60:280, 130:350].copy()  # his face about 60x76 px inside


def scene(head, x: int = 40, y: int = 150, scale: float = 1.0):
    frame = gradient(640, 480)
    paste(frame, head, x, y, scale)
    return frame


ASTRONAUT_AT_DOOR = scene(ASTRONAUT_HEAD)
ASTRONAUT_AT_TILL = scene(ASTRONAUT_HEAD, 330, 90, 1.3)  # elsewhere in the view, nearer the camera
CAMERAMAN_AT_DOOR = scene(CAMERAMAN_HEAD, 40, 150, 1.5)
NOBODY = gradient(640, 480)


@pytest.fixture
def sender_for(monkeypatch):
    with moto_s3(monkeypatch) as s3:

        def make(s3_client=s3, **overrides):
            settings = {"confirm_frames": 2, "resend_seconds": 10, "resend_max_seconds": 120} | overrides
            return FrameSearchSender(make_settings(**settings), s3_client=s3_client, clock=FakeClock())

        make.s3 = s3
        yield make


def run(sender, visits: list[tuple[float, float, object]]) -> list[float]:
    """Feed `visits` ((start, seconds, frame) from T0) at 5 fps, with nobody in view in between, uploading the
    queued crops after each frame as the upload thread does; returns when crops were queued (seconds from T0)."""
    sent = []
    for start, seconds, frame in visits:
        for i in range(round(seconds * FPS)):
            t = T0 + start + i / FPS
            sent += [round(crop.captured_at - T0, 1) for crop in sender.process_frame(frame, t)]
            sender.uploader.clock.now = t
            while sender.uploader.step() == 0.0:  # 0: uploaded, go on; None: queue empty; else: backing off
                pass
        sender.process_frame(NOBODY, T0 + start + seconds + 3)  # out of view long enough to end the track
    return sent


def test_a_customer_back_in_view_three_times_in_ten_minutes_is_searched_twice(sender_for):
    visits = [(0, 4, ASTRONAUT_AT_DOOR), (90, 30, ASTRONAUT_AT_TILL), (600, 3, ASTRONAUT_AT_DOOR)]
    with_memory, without = sender_for(), sender_for(search_memory_minutes=0)

    # Her first look at the door, then her second chance at the till with that track's own resend 10 s later;
    # at the door again she is spared.
    assert run(with_memory, visits) == [0.2, 90.2, 100.2]
    assert run(without, visits) == [0.2, 90.2, 100.2, 600.2]  # a new track each time, resends while it stays
    assert with_memory.stats().faces_already_searched == 1
    assert with_memory.stats().crops_over_cap == 0


def test_a_track_that_stays_keeps_its_own_second_chance_and_resends(sender_for):
    with_memory, without = sender_for(), sender_for(search_memory_minutes=0)
    visits = [(0, 45, ASTRONAUT_AT_DOOR), (60, 15, ASTRONAUT_AT_DOOR)]

    # One track of 45 s: 0.2, then 10 s and 20 s later, whatever the memory holds. The next track is spared.
    assert run(with_memory, visits) == [0.2, 10.2, 30.2]
    assert run(without, visits) == [0.2, 10.2, 30.2, 60.2, 70.2]


@pytest.mark.parametrize(
    ("fault", "why"),
    [
        ("down", "Wi-Fi down: the upload fails and the crop grows too old"),
        ("queue", "the queue overflowed before the upload thread got to it"),
    ],
)
def test_a_crop_that_never_reached_s3_does_not_count_as_searched(sender_for, fault, why):
    flaky = FlakyS3(sender_for.s3)
    sender = sender_for(s3_client=flaky, queue_size=1, max_crop_age_seconds=30)

    flaky.down = fault == "down"
    for i in range(10 * FPS):  # 10 s at the door: her first look, and its second chance at 10.2 never comes
        crops = sender.process_frame(ASTRONAUT_AT_DOOR, T0 + i / FPS)
        if fault == "queue" and crops:  # a newer crop of someone else (no embedding) pushes hers out of a queue of 1
            sender.queue.put(FaceCrop(crop_object_key(STREAM, T0 + 1), b"someone else", T0 + 1))
    sender.uploader.clock.now = T0 + 60  # the network is back a minute later
    flaky.down = False
    while sender.uploader.step() == 0.0:
        pass
    stats = sender.stats()
    assert stats.crops_queued == 1 and stats.crops_uploaded == 0, why
    assert stats.crops_dropped_stale + stats.crops_dropped_queue_full == 1 + (fault == "queue"), why

    # Back in view twice: both tracks are searched (a first look and a second chance), the third is spared.
    assert run(sender, [(120, 2, ASTRONAUT_AT_DOOR), (150, 2, ASTRONAUT_AT_DOOR), (180, 2, ASTRONAUT_AT_DOOR)]) == [
        120.2,
        150.2,
    ]


def test_a_crop_whose_answer_was_lost_is_retried_and_counted_once(sender_for):
    flaky = FlakyS3(sender_for.s3)
    sender = sender_for(s3_client=flaky)
    flaky.lose_next_response = True  # S3 stores the first upload, the answer never comes back

    sent = run(sender, [(0, 2, ASTRONAUT_AT_DOOR), (20, 2, ASTRONAUT_AT_DOOR), (40, 2, ASTRONAUT_AT_DOOR)])

    # The lost answer's crop is sent again under the same key and then remembered once: the second track is her
    # second chance, the third is spared.
    assert sent == [0.2, 20.2]
    assert len(flaky.delivered) == 3 and len(set(flaky.delivered)) == 2


def test_a_different_person_where_the_last_one_stood_is_searched(sender_for):
    sender = sender_for()

    visits = [(0, 4, ASTRONAUT_AT_DOOR), (20, 4, ASTRONAUT_AT_DOOR), (40, 4, CAMERAMAN_AT_DOOR)]
    sent = run(sender, [*visits, (60, 4, ASTRONAUT_AT_DOOR)])

    assert sent == [0.2, 20.2, 40.2]  # the cameraman is not taken for the astronaut, and she is still remembered


def test_a_track_handed_from_one_person_to_another_is_searched_again_at_its_next_look(sender_for):
    sender = sender_for(resend_max_seconds=10)
    crops = []
    for i in range(25 * FPS):  # the astronaut for 5 s, then the cameraman steps into her place, no gap
        frame = ASTRONAUT_AT_DOOR if i < 5 * FPS else CAMERAMAN_AT_DOOR
        crops += sender.process_frame(frame, T0 + i / FPS)

    # Her first look, then his face at the track's next look: the track's own resends are never spared.
    assert [round(crop.captured_at - T0, 1) for crop in crops] == [0.2, 10.2, 20.2]
    assert len({crop.metadata["track-id"] for crop in crops}) == 1  # one track all along


def test_a_face_is_searched_again_once_its_minutes_are_over(sender_for):
    sender = sender_for(search_memory_minutes=10)

    visits = [(0, 2, ASTRONAUT_AT_DOOR), (30, 2, ASTRONAUT_AT_DOOR), (9 * 60, 2, ASTRONAUT_AT_DOOR)]
    sent = run(sender, [*visits, (20 * 60, 2, ASTRONAUT_AT_DOOR)])

    # 9 minutes after her two searches: still known. 20 minutes after them: searched again (the look at 9 minutes
    # found her known and sent nothing, so it does not extend the memory).
    assert sent == [0.2, 30.2, 1200.2]


def test_a_clock_set_back_forgets_the_searched_faces_with_the_tracks(sender_for):
    sender = sender_for()
    run(sender, [(0, 2, ASTRONAUT_AT_DOOR), (30, 2, ASTRONAUT_AT_DOOR)])

    sent = run(sender, [(-3600, 2, ASTRONAUT_AT_DOOR)])  # NTP moved the Pi's clock back an hour

    assert sent == [-3599.8]
    assert sender.policy.clock_resets == 1


def test_the_haar_detector_has_no_landmarks_so_the_schedule_alone_decides(sender_for):
    sender = sender_for(detector="haar")

    sent = run(sender, [(0, 2, ASTRONAUT_AT_DOOR), (60, 2, ASTRONAUT_AT_DOOR)])

    assert sent == [0.2, 60.2]
    assert sender.recogniser is not None and sender.stats().faces_already_searched == 0


def test_a_tampered_model_leaves_the_camera_without_a_memory_not_without_detection(tmp_path, caplog):
    model = tmp_path / "sface.onnx"
    model.write_bytes(b"not the model Greeter was tested with")

    with caplog.at_level(logging.WARNING):
        assert load_face_recogniser(model_path=model) is None
    assert "SFace face model unavailable" in caplog.text


def test_the_memory_holds_at_most_its_size_and_forgets_by_age():
    memory = SearchedFaces(remember_seconds=60)
    faces = np.eye(128, dtype=np.float32)  # 128 different unit vectors: no two alike
    for i in range(128):
        memory.remember(faces[i], T0 + i / 10)
    memory.remember(faces[127], T0 + 13)

    assert len(memory) == MAX_REMEMBERED == 100
    assert memory.searches_of(faces[127], T0 + 30) == 2 and memory.searched_recently(faces[127], T0 + 30)
    assert memory.searches_of(faces[126], T0 + 30) == 1 and not memory.searched_recently(faces[126], T0 + 30)
    assert memory.searches_of(faces[28], T0 + 30) == 0  # among the oldest, dropped for room
    assert memory.searches_of(faces[29], T0 + 30) == 1
    assert memory.searches_of(faces[127], T0 + 72.8) == 1  # a minute after its first search
    assert memory.searches_of(faces[127], T0 + 13 - 3600) == 0  # the clock was set back an hour
