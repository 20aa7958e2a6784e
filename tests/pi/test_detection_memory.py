"""The memory of searched faces (face_memory.py): one person costs one face search however often they come back
into view, a different person is still searched, and the memory ends (after its minutes, when the clock is set
back) where it must. Real photos through the real detector and SFace model, each case beside the same frames
without the memory."""

import logging

import numpy as np
import pytest
from detection_fixtures import ASTRONAUT_HEAD, CAMERAMAN, T0, FakeClock, gradient, make_settings, moto_s3, paste
from greeter_camera.detection import FrameSearchSender
from greeter_camera.face_memory import SearchedFaces, load_face_recogniser

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

        def make(**overrides):
            settings = {"confirm_frames": 2, "resend_seconds": 10, "resend_max_seconds": 120} | overrides
            return FrameSearchSender(make_settings(**settings), s3_client=s3, clock=FakeClock())

        yield make


def run(sender, visits: list[tuple[float, float, object]]) -> list[float]:
    """Feed `visits` ((start, seconds, frame) from T0) at 5 fps, with nobody in view in between; returns when
    crops were sent (seconds from T0)."""
    sent = []
    for start, seconds, frame in visits:
        for i in range(round(seconds * FPS)):
            t = T0 + start + i / FPS
            sent += [round(crop.captured_at - T0, 1) for crop in sender.process_frame(frame, t)]
        sender.process_frame(NOBODY, T0 + start + seconds + 3)  # out of view long enough to end the track
    return sent


def test_a_customer_back_in_view_three_times_in_ten_minutes_is_searched_once(sender_for):
    visits = [(0, 4, ASTRONAUT_AT_DOOR), (90, 30, ASTRONAUT_AT_TILL), (600, 3, ASTRONAUT_AT_DOOR)]
    with_memory, without = sender_for(), sender_for(search_memory_minutes=0)

    assert run(with_memory, visits) == [0.2]
    assert run(without, visits) == [0.2, 90.2, 100.2, 600.2]  # a new track each time, resends while it stays
    assert with_memory.stats().faces_already_searched == 3
    assert with_memory.stats().crops_over_cap == 0


def test_a_different_person_where_the_last_one_stood_is_searched(sender_for):
    sender = sender_for()

    sent = run(sender, [(0, 4, ASTRONAUT_AT_DOOR), (20, 4, CAMERAMAN_AT_DOOR), (40, 4, ASTRONAUT_AT_DOOR)])

    assert sent == [0.2, 20.2]  # the cameraman is not taken for the astronaut, and she is still remembered


def test_a_track_handed_from_one_person_to_another_is_searched_again_at_its_next_look(sender_for):
    sender = sender_for(resend_max_seconds=10)
    crops = []
    for i in range(25 * FPS):  # the astronaut for 5 s, then the cameraman steps into her place, no gap
        frame = ASTRONAUT_AT_DOOR if i < 5 * FPS else CAMERAMAN_AT_DOOR
        crops += sender.process_frame(frame, T0 + i / FPS)

    # Her first look, then his face at the track's next look; at 20.2 s it is him again: not sent.
    assert [round(crop.captured_at - T0, 1) for crop in crops] == [0.2, 10.2]
    assert len({crop.metadata["track-id"] for crop in crops}) == 1  # one track all along


def test_a_face_is_searched_again_once_its_minutes_are_over(sender_for):
    sender = sender_for(search_memory_minutes=10)

    sent = run(sender, [(0, 2, ASTRONAUT_AT_DOOR), (9 * 60, 2, ASTRONAUT_AT_DOOR), (20 * 60, 2, ASTRONAUT_AT_DOOR)])

    # 9 minutes after the search: still known. 20 minutes after it: searched again (the look at 9 minutes
    # found her known and sent nothing, so it does not extend the memory).
    assert sent == [0.2, 1200.2]


def test_a_clock_set_back_forgets_the_searched_faces_with_the_tracks(sender_for):
    sender = sender_for()
    run(sender, [(0, 2, ASTRONAUT_AT_DOOR)])

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
    faces = np.eye(600, 128, dtype=np.float32)  # 128 different unit vectors, then zeros (no face alike)
    for i in range(600):
        memory.remember(faces[i], T0 + i / 100)

    assert len(memory) == 500
    assert memory.searched_recently(faces[127], T0 + 30)
    assert not memory.searched_recently(faces[0], T0 + 30)  # among the oldest, dropped for room
    assert not memory.searched_recently(faces[127], T0 + 61.3)  # a minute after it was searched
