"""Per-face rate limit and per-camera cap: first with plain boxes, then end to end with the real detector."""

import pytest
from detection_fixtures import T0, FakeClock, centre_inside, head_scene, make_settings, moto_s3
from greeter_camera.detection import FrameSearchSender
from greeter_camera.faces import FaceBox
from greeter_camera.tracking import CropRateLimiter, Decision, FaceTracker, FrameSearchPolicy

FPS = 5


def policy(
    *, confirm_frames=1, resend_seconds=10.0, resend_max_seconds=10.0, max_per_minute=100, forget_after_seconds=2.0
):
    return FrameSearchPolicy(
        FaceTracker(forget_after_seconds=forget_after_seconds),
        CropRateLimiter(
            confirm_frames=confirm_frames,
            resend_seconds=resend_seconds,
            resend_max_seconds=resend_max_seconds,
            max_per_minute=max_per_minute,
        ),
    )


def frame_times(seconds: float, start: float = T0):
    return [start + i / FPS for i in range(round(seconds * FPS))]


def send_times(review_policy, boxes_at, times):
    """Run the policy over `times`; returns the capture times at which each track id was sent."""
    sent: dict[int, list[float]] = {}
    for t in times:
        for _, track, decision in review_policy.review(boxes_at(t), t):
            if decision is Decision.SEND:
                sent.setdefault(track.track_id, []).append(t - T0)
    return sent


STILL = FaceBox(300, 200, 100, 120)
OTHER = FaceBox(800, 220, 90, 110)


# Tracking ------------------------------------------------------------------------------------------------


def test_a_face_keeps_its_track_while_it_moves_even_a_face_width_per_frame():
    tracker = FaceTracker(forget_after_seconds=2)
    ids = set()
    for i, t in enumerate(frame_times(3)):
        walking = FaceBox(100 + 100 * i, 200 + 3 * i, 100, 120)  # walking across: no overlap frame to frame
        [track] = tracker.update([walking], t)
        ids.add(track.track_id)

    assert len(ids) == 1


def test_two_faces_are_two_tracks_and_a_new_face_elsewhere_is_a_third():
    tracker = FaceTracker(forget_after_seconds=2)
    first = tracker.update([STILL, OTHER], T0)
    second = tracker.update([OTHER, STILL, FaceBox(40, 500, 80, 90)], T0 + 0.2)

    assert first[0].track_id != first[1].track_id
    assert [t.track_id for t in second[:2]] == [first[1].track_id, first[0].track_id]
    assert second[2].track_id not in {first[0].track_id, first[1].track_id}


def test_a_face_unseen_for_longer_than_the_forget_time_comes_back_as_a_new_track():
    tracker = FaceTracker(forget_after_seconds=2)
    [before] = tracker.update([STILL], T0)
    [after_a_blink] = tracker.update([STILL], T0 + 1.8)
    [after_leaving] = tracker.update([STILL], T0 + 1.8 + 2.2)

    assert after_a_blink.track_id == before.track_id
    assert after_leaving.track_id != before.track_id


# The per-face limit and the per-camera cap ---------------------------------------------------------------


def test_a_still_face_is_sent_once_per_resend_interval_not_every_frame():
    sent = send_times(policy(resend_seconds=10, resend_max_seconds=10), lambda t: [STILL], frame_times(60))

    assert list(sent.values()) == [pytest.approx([0, 10, 20, 30, 40, 50])]


def test_the_resend_interval_doubles_up_to_its_maximum():
    sent = send_times(policy(resend_seconds=10, resend_max_seconds=40), lambda t: [STILL], frame_times(200))

    assert list(sent.values()) == [pytest.approx([0, 10, 30, 70, 110, 150, 190])]


def test_a_face_is_first_sent_when_seen_in_enough_frames():
    one_frame_only = send_times(policy(confirm_frames=2), lambda t: [STILL] if t == T0 else [], frame_times(5))
    sent = send_times(policy(confirm_frames=3), lambda t: [STILL], frame_times(1))

    assert one_frame_only == {}
    assert list(sent.values()) == [pytest.approx([0.4])]


def test_a_second_face_gets_its_own_crop_straight_away():
    sent = send_times(policy(), lambda t: [STILL, OTHER] if t >= T0 + 5 else [STILL], frame_times(12))

    assert list(sent.values()) == [pytest.approx([0, 10]), pytest.approx([5])]


def test_the_per_minute_cap_drops_crops_largest_faces_first_and_the_window_slides():
    review_policy = policy(max_per_minute=3, resend_seconds=10, resend_max_seconds=10)
    faces = [FaceBox(100 * i, 100, 40 + 10 * i, 50 + 10 * i) for i in range(5)]

    first = review_policy.review(faces, T0)
    decisions = {face.width: decision for face, _, decision in first}

    assert decisions == {
        80: Decision.SEND,
        70: Decision.SEND,
        60: Decision.SEND,
        50: Decision.OVER_CAP,
        40: Decision.OVER_CAP,
    }
    # Dropped crops wait a resend interval; within the minute the cap still holds them back...
    at_10s = [decision for *_, decision in review_policy.review(faces, T0 + 10)]
    assert at_10s.count(Decision.SEND) == 0 and at_10s.count(Decision.OVER_CAP) == 5
    # ...and once the first three sends are a minute old, three more may go.
    at_60s = [decision for *_, decision in review_policy.review(faces, T0 + 60)]
    assert at_60s.count(Decision.SEND) == 3


def test_a_clock_set_back_forgets_tracks_instead_of_holding_faces_back_until_it_catches_up():
    review_policy = policy()
    [(_, _, first)] = review_policy.review([STILL], T0)
    [(_, _, after_step_back)] = review_policy.review([STILL], T0 - 3600)

    assert (first, after_step_back) == (Decision.SEND, Decision.SEND)
    assert review_policy.clock_resets == 1


# End to end with the real detector -----------------------------------------------------------------------


@pytest.fixture
def sender_for(monkeypatch):
    with moto_s3(monkeypatch) as s3:

        def make(**overrides):
            return FrameSearchSender(make_settings(**overrides), s3_client=s3, clock=FakeClock())

        yield make


ONE_FACE, [FACE_A] = head_scene(640, 480, [(40, 150, 1.0)])
TWO_FACES, [_, FACE_B] = head_scene(640, 480, [(40, 150, 1.0), (380, 130, 1.0)])


def test_a_real_face_held_still_at_5_fps_for_a_minute_is_sent_once_per_resend_interval(sender_for):
    # Without the memory of searched faces the schedule alone decides (test_detection_memory: with it).
    sender = sender_for(confirm_frames=2, resend_seconds=10, resend_max_seconds=10, search_memory_minutes=0)

    crops = [crop for t in frame_times(60) for crop in sender.process_frame(ONE_FACE, t)]

    stats = sender.stats()
    assert stats.frames_processed == 300 and stats.faces_detected == 300
    assert [crop.captured_at - T0 for crop in crops] == pytest.approx([0.2, 10.2, 20.2, 30.2, 40.2, 50.2])
    assert len({crop.metadata["track-id"] for crop in crops}) == 1
    assert len(sender.queue) == 6


def test_a_second_real_face_joining_gets_its_own_crop(sender_for):
    # The same photo twice: without the memory, a second track is a second face to send.
    sender = sender_for(confirm_frames=2, resend_seconds=10, resend_max_seconds=10, search_memory_minutes=0)

    crops = [crop for t in frame_times(20) for crop in sender.process_frame(ONE_FACE if t < T0 + 5 else TWO_FACES, t)]

    by_track: dict[str, list[float]] = {}
    for crop in crops:
        by_track.setdefault(crop.metadata["track-id"], []).append(round(crop.captured_at - T0, 1))
    assert sorted(by_track.values()) == [[0.2, 10.2], [5.2, 15.2]]
    [second_face_crop] = [crop for crop in crops if round(crop.captured_at - T0, 1) == 5.2]
    x, y, w, h = (int(v) for v in second_face_crop.metadata["face-box"].split(","))
    assert centre_inside(FaceBox(x, y, w, h), FACE_B)


def test_the_per_minute_cap_sends_the_largest_real_faces_and_counts_the_rest(sender_for):
    frame, placed = head_scene(1280, 720, [(40, 200, 1.5), (520, 60, 1.0), (900, 330, 1.2)])
    sender = sender_for(confirm_frames=1, max_crops_per_minute=2, search_memory_minutes=0)

    crops = sender.process_frame(frame, T0)

    assert len(crops) == 2
    assert sender.stats().crops_over_cap == 1
    widths = sorted(int(crop.metadata["face-box"].split(",")[2]) for crop in crops)
    largest_two = sorted(round(w) for _, _, w, _ in placed)[1:]
    assert widths == pytest.approx(largest_two, abs=15)
