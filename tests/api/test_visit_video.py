"""A visit's video on demand: a fresh HLS session URL per camera that saw the visit, around the visit, from the
stack's own camera streams; a plain sentence where there is no video (expired, not streaming, a camera gone);
404 for a visit that is not there (never was, or erased with the person)."""

import time
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from greeter_camera.config import KEYFRAME_RANGE_S
from greeter_common.visit_history import epoch, iso
from test_roles import claims_of


@pytest.fixture
def asked(faults) -> list[dict]:
    """The parameters of every GetHLSStreamingSessionURL call (a fault that never fires, only listens)."""
    calls: list[dict] = []
    faults.fail(
        "kinesis-video-archived-media", "GetHLSStreamingSessionURL", only_if=lambda p: calls.append(p), times=99
    )
    return calls


def test_a_visit_plays_from_ten_seconds_before_to_ten_after_on_the_camera_that_saw_it(api, history, maria, asked):
    first = time.time() - 600
    history.opened(maria, first, "entrance", alerted_at=first + 1)
    history.seen_again(maria, first, first + 240, [])

    reply = api.call("visit-video", person_id=maria, first_seen=iso(first))

    assert reply.status == 200, reply.body
    assert reply.body["visit"]["name"] == "Maria Silva" and reply.body["visit"]["minutes"] == 4
    (clip,) = reply.body["clips"]
    assert clip["camera"] == "entrance" and clip["unavailable"] is None
    assert "getHLSMasterPlaylist.m3u8" in clip["url"]  # what moto's Kinesis Video hands out
    (call,) = asked
    assert call["StreamName"] == f"{api.stack.name}-entrance" and call["PlaybackMode"] == "ON_DEMAND"
    window = call["HLSFragmentSelector"]["TimestampRange"]
    # The history keeps whole milliseconds.
    assert window["StartTimestamp"] == datetime.fromtimestamp(epoch(iso(first)) - 10, UTC)
    assert window["EndTimestamp"] == datetime.fromtimestamp(epoch(iso(first + 240)) + 10, UTC)
    assert call["Expires"] == 3600


def test_the_path_takes_the_visit_id_url_encoded_as_the_alert_email_links_it(api, history, maria):
    first = time.time() - 60
    history.opened(maria, first, "entrance")
    # The app and the alert email encode the colons; the resolver reads the path as sent.
    encoded = quote(iso(first), safe="")
    assert "%3A" in encoded
    reply = api.call("visit-video", person_id=maria, first_seen=encoded)
    assert reply.status == 200 and reply.body["visit"]["visit_id"] == iso(first)


def test_a_long_visit_plays_its_first_hour(api, history, maria, asked):
    first = time.time() - 4 * 3600
    history.opened(maria, first, "entrance")
    history.seen_again(maria, first, first + 3 * 3600, [])
    api.call("visit-video", person_id=maria, first_seen=iso(first))
    window = asked[0]["HLSFragmentSelector"]["TimestampRange"]
    assert (window["EndTimestamp"] - window["StartTimestamp"]).total_seconds() == 3600
    # The playlist lists every fragment of that hour at the camera's shortest key-frame interval (a fragment
    # starts at each key frame), within Kinesis Video's limit; its default of 1,000 would end the clip early.
    shortest_fragment = KEYFRAME_RANGE_S[0]
    assert 3600 / shortest_fragment < asked[0]["MaxMediaPlaylistFragmentResults"] <= 5000


def test_expired_video_is_a_sentence_and_kinesis_video_is_not_asked(api, history, maria, asked):
    first = time.time() - 3 * 86400  # the template keeps 24 hours of video by default
    history.opened(maria, first, "entrance")
    (clip,) = api.call("visit-video", person_id=maria, first_seen=iso(first)).body["clips"]
    assert clip["url"] is None and clip["unavailable"] == "The video has expired: the cameras keep video for 24 hours."
    assert asked == []


def test_no_video_in_the_range_says_the_camera_was_not_streaming(api, history, maria, faults):
    first = time.time() - 600
    history.opened(maria, first, "entrance")
    # Kinesis Video's answer when the stream holds no fragment in the range (the camera was off or offline).
    faults.fail(
        "kinesis-video-archived-media", "GetHLSStreamingSessionURL", code="ResourceNotFoundException", status=404
    )
    (clip,) = api.call("visit-video", person_id=maria, first_seen=iso(first)).body["clips"]
    assert clip["unavailable"] == "No video of this visit: the camera was not streaming then."


def test_each_camera_gets_its_own_clip_and_a_camera_no_longer_in_the_store_a_sentence(api, history, maria):
    first = time.time() - 600
    history.opened(maria, first, "entrance")
    history.seen_again(maria, first, first + 60, ["old-till"])
    clips = api.call("visit-video", person_id=maria, first_seen=iso(first)).body["clips"]
    assert [(c["camera"], c["url"] is not None) for c in clips] == [("entrance", True), ("old-till", False)]
    assert "no longer one of this store's cameras" in clips[1]["unavailable"]


def test_no_such_visit_an_erased_person_and_a_malformed_id(api, history, maria):
    first = time.time() - 600
    history.opened(maria, first, "entrance")
    assert api.call("visit-video", person_id=maria, first_seen=iso(first - 1)).code == "visit_not_found"
    assert api.call("visit-video", person_id=maria, first_seen="yesterday").code == "validation_error"
    assert api.call("erase-person", person_id=maria).status == 200
    assert api.call("visit-video", person_id=maria, first_seen=iso(first)).code == "person_not_found"


def test_watching_a_visit_is_in_the_audit_trail_with_the_persons_id_only(api, history, maria, everything):
    first = time.time() - 600
    history.opened(maria, first, "entrance")
    assert api.call("visit-video", person_id=maria, first_seen=iso(first - 1)).code == "visit_not_found"
    assert [e for e in everything().staff_audit if e["action"] == "watch_visit_video"] == []  # nothing watched

    reply = api.call("visit-video", person_id=maria, first_seen=iso(first), claims=claims_of("assistant", sub="s-1"))

    assert reply.status == 200
    (watched,) = [e for e in everything().staff_audit if e["action"] == "watch_visit_video"]
    read_photos = next(e for e in everything().staff_audit if e["action"] == "register_person")
    assert set(watched) == set(read_photos)  # the fields every entry holds: no name, no camera, no link
    assert (watched["subject"], watched["staff_sub"], watched["role"]) == (maria, "s-1", "assistant")


def test_a_tablet_may_not_watch_and_kinesis_video_busy_is_service_busy(api, history, maria, faults):
    first = time.time() - 600
    history.opened(maria, first, "entrance")
    reply = api.call("visit-video", person_id=maria, first_seen=iso(first), claims=claims_of("tablet"))
    assert (reply.status, reply.code) == (403, "forbidden")
    # Kinesis Video's throttling: retry in a moment.
    faults.fail("kinesis-video-archived-media", "GetHLSStreamingSessionURL", code="ClientLimitExceededException")
    reply = api.call("visit-video", person_id=maria, first_seen=iso(first))
    assert (reply.status, reply.code) == (503, "service_busy")
