"""The frame-search function's pure decisions (no AWS): which keys are crops, which crops are stale."""

import importlib

import pytest
from stack import ROOT, load_template

STACK = "greeter"
UUID4 = "3f1d3c6e-8a0b-4d8e-9c61-2b7f0a4e9d15"
NOW = 1795430467.0


@pytest.fixture
def crop_search(monkeypatch):
    # The shared layer's logger and metrics read POWERTOOLS_* once, when first imported: give them the
    # template's values, as Lambda would, in case this is the first import of the session.
    for name, value in load_template()["Globals"]["Function"]["Environment"]["Variables"].items():
        if name.startswith("POWERTOOLS_"):
            monkeypatch.setenv(name, value)
    monkeypatch.syspath_prepend(str(ROOT / "functions" / "frame_search"))
    return importlib.import_module("crop_search")


def parse(crop_search, key):
    return crop_search.parse_crop_key(key, uploaded_at=NOW, stream_prefix=f"{STACK}-", cameras=["entrance", "till"])


def test_a_cameras_crop_key_gives_the_camera_and_the_capture_time(crop_search):
    crop = parse(crop_search, f"crops/{STACK}-till/1795430466360-{UUID4}.jpg")

    assert (crop.camera, crop.stream_name) == ("till", "greeter-till")
    assert crop.captured_at == 1795430466.36
    person = "0b6a7c52-64f2-4e0c-9a3e-5d1f1b2e9c77"
    assert crop.snapshot_key(person) == f"snapshots/{person}/{STACK}-till/1795430466360-{UUID4}.jpg"


@pytest.mark.parametrize(
    "key",
    [
        f"crops/{STACK}-backdoor/1795430466360-{UUID4}.jpg",  # not a camera of this stack
        f"crops/other-entrance/1795430466360-{UUID4}.jpg",  # another stack's stream
        f"crops/{STACK}-entrance/latest.jpg",
        f"crops/{STACK}-entrance/1795430466360-not-a-uuid.jpg",
        f"crops/{STACK}-entrance/1795430466360-3f1d3c6e-8a0b-1d8e-9c61-2b7f0a4e9d15.jpg",  # a uuid1
        f"crops/{STACK}-entrance/sub/1795430466360-{UUID4}.jpg",
        f"crops/{STACK}-entrance/1795430466360-{UUID4}.png",
        f"crops/1795430466360-{UUID4}.jpg",
        f"snapshots/{STACK}-entrance/1795430466360-{UUID4}.jpg",
        f"crops/{STACK}-entrance/1795430466360-{UUID4}.jpg/../../x.jpg",
    ],
)
def test_any_other_key_is_rejected(crop_search, key):
    with pytest.raises(crop_search.BadCropKey):
        parse(crop_search, key)


@pytest.mark.parametrize(
    ("seconds_ago", "stale"),
    [(0, False), (29.9, False), (30.1, True), (3600, True), (-4, False), (-6, True)],
    ids=["now", "just-in-time", "just-too-old", "retried-for-an-hour", "aws-clocks-a-little-apart", "from-the-future"],
)
def test_staleness_is_the_upload_times_distance_from_now(crop_search, seconds_ago, stale):
    crop = crop_search.parse_crop_key(
        f"crops/{STACK}-entrance/{int(NOW * 1000)}-{UUID4}.jpg",
        uploaded_at=NOW - seconds_ago,
        stream_prefix=f"{STACK}-",
        cameras=["entrance"],
    )

    assert crop_search.is_stale(crop, now=NOW, max_age_seconds=30) is stale


@pytest.mark.parametrize(
    "camera_clock",
    [-2700, -31, 31, 2700, -NOW + 1],
    ids=["45-min-behind", "31-s-behind", "31-s-ahead", "45-min-ahead", "1970"],
)
def test_a_camera_clock_that_is_off_does_not_make_a_crop_stale(crop_search, camera_clock):
    crop = parse(crop_search, f"crops/{STACK}-entrance/{int((NOW + camera_clock) * 1000)}-{UUID4}.jpg")

    assert crop_search.is_stale(crop, now=NOW + 1, max_age_seconds=30) is False
    assert crop.camera_clock_offset == pytest.approx(camera_clock, abs=0.001)


def test_the_quota_counter_is_per_utc_minute_and_expires(crop_search):
    assert crop_search.quota_minute(1795430467.0) == "2026-11-23T10:41"
    assert crop_search.quota_minute(1795430459.9) == "2026-11-23T10:40"
    assert crop_search.quota_expiry(1795430467.0) == 1795430520 + 3600
