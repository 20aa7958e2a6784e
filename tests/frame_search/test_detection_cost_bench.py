"""bench/detection_cost.py: the simulated camera follows the Pi's crop policy, and the table adds up."""

import importlib
import random

import pytest
from stack import ROOT


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))  # as `python -m bench.detection_cost` from the repo root
    return importlib.import_module("bench.detection_cost")


def test_a_face_in_view_is_sent_at_once_then_at_growing_intervals(bench):
    policy = bench.CameraPolicy()
    assert bench.crop_times((100.0, 100.3), policy) == []  # gone before it was confirmed (2 frames)
    assert bench.crop_times((100.0, 105.0), policy) == [100.4]
    assert bench.crop_times((0.0, 400.0), policy) == [0.4, 10.4, 30.4, 70.4, 150.4, 270.4, 390.4]


def test_the_simulated_day_stays_inside_opening_hours_and_has_every_visitor(bench):
    day = bench.StoreDay(visitors=300)
    tracks = bench.face_tracks(random.Random(1), day)
    assert all(0 <= start <= end <= day.open_hours * 3600 for start, end, _ in tracks)
    assert 300 < len(tracks) < 1500  # one entry each, plus lingering, exits and staff
    visitors = {who for _, _, who in tracks if who > 0}
    assert 250 < len(visitors) < 350 and {who for _, _, who in tracks if who < 0} == {-1, -2, -3}  # 3 staff


def test_the_memory_of_searched_faces_saves_the_searches_of_faces_seen_again_and_only_those(bench):
    day = bench.StoreDay(visitors=300)
    perfect = bench.CameraPolicy(search_memory_seconds=3600, recognised_share=1.0)
    never = bench.CameraPolicy(search_memory_seconds=3600, recognised_share=0.0)
    schedule = perfect.without_memory

    [with_memory] = bench.simulate_month(day, perfect, 1, seed=3)
    [unknowing] = bench.simulate_month(day, never, 1, seed=3)
    [alone] = bench.simulate_month(day, schedule, 1, seed=3)

    assert unknowing.crops == alone.crops  # a memory that never recognises anyone changes nothing
    # Remembered perfectly: every person searched, a spared look is a crop saved, none is a confusion.
    people = {who for _, _, who in bench.face_tracks(random.Random(3), day)}  # simulate_month's first draws
    assert with_memory.crops + with_memory.looks_known == alone.crops
    assert len(people) <= with_memory.crops <= alone.crops * 0.8
    assert with_memory.visitors_never_searched == alone.visitors_never_searched == 0
    assert with_memory.looks_confused == 0


def looks_of_new_visitors(visitors: int) -> list[tuple[float, int, int]]:
    """One look each (time, who, track), a minute apart: every visitor seen once, in a track of their own."""
    return [(60.0 * i, i, i) for i in range(1, visitors + 1)]


@pytest.mark.parametrize(("spared_after", "max_remembered"), [(2, 100), (1, 100), (2, 5), (2, 1)])
def test_a_memory_that_takes_everyone_for_everyone_misses_every_customer_after_its_first_uploads(
    bench, spared_after, max_remembered
):
    confusing = bench.CameraPolicy(
        search_memory_seconds=3600,
        recognised_share=1.0,
        confused_share=1.0,
        searches_before_spared=spared_after,
        max_remembered=max_remembered,
    )
    day = bench.DayResult()

    sent = bench._camera_sends(random.Random(1), looks_of_new_visitors(20), confusing, day)

    # Each upload is remembered, and each new face matches every one: once the memory holds `spared_after` uploads
    # (it can only if it may hold that many), every later customer is spared, so never searched.
    searched = spared_after if max_remembered >= spared_after else 20
    assert [who for _, who in sent] == list(range(1, searched + 1))
    assert day.looks_confused == day.looks_known == 20 - searched


def test_a_lookalike_pair_is_drawn_once_so_a_confused_customer_stays_missed(bench):
    looks = looks_of_new_visitors(2) + [(400.0, 3, 3), (500.0, 3, 4)]  # visitor 3 in two tracks
    lookalikes = bench.CameraPolicy(
        search_memory_seconds=3600, recognised_share=0.0, confused_share=0.5, searches_before_spared=1
    )
    sends_of_visitor_3 = []
    for seed in range(400):
        sent = bench._camera_sends(random.Random(seed), looks, lookalikes, bench.DayResult())
        sends_of_visitor_3.append(sum(1 for _, who in sent if who == 3))

    # Both of visitor 3's tracks meet the same remembered people: both spared or both sent. Visitor 2 is taken for
    # visitor 1 half the time (then only 1 is remembered); so 3 is missed with 0.5 x 0.5 + 0.5 x (1 - 0.5^2).
    assert set(sends_of_visitor_3) == {0, 2}
    assert sends_of_visitor_3.count(0) / 400 == pytest.approx(0.5 * 0.5 + 0.5 * 0.75, abs=0.06)


def test_the_report_prices_the_processor_by_the_minute_and_frame_search_by_the_crop(bench, tmp_path, capsys):
    text = bench.main(["--days", "2", "--visitors", "100", "--output", str(tmp_path / "cost.md")])

    processor = 2 * 12 * 60 * bench.PRICES["stream_face_search_minute"].each
    assert f"| Rekognition face search             | ${processor:,.2f}" in text
    assert (tmp_path / "cost.md").read_text().strip() == text.strip()
    assert "aws.amazon.com/rekognition/pricing" in text
