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
    # Remembered perfectly: one search per person an hour, whatever their tracks (the same day's people).
    people = {who for _, _, who in bench.face_tracks(random.Random(3), day)}  # simulate_month's first draws
    assert with_memory.crops + with_memory.looks_known == alone.crops
    assert len(people) * 0.9 <= with_memory.crops <= alone.crops * 0.6
    assert with_memory.looks_confused == 0


def test_a_memory_that_confuses_people_misses_strangers(bench):
    day = bench.StoreDay(visitors=300)
    confusing = bench.CameraPolicy(search_memory_seconds=3600, recognised_share=1.0, confused_share=0.05)

    [month] = bench.simulate_month(day, confusing, 1, seed=3)

    assert month.looks_confused > 0


def test_the_report_prices_the_processor_by_the_minute_and_frame_search_by_the_crop(bench, tmp_path, capsys):
    text = bench.main(["--days", "2", "--visitors", "100", "--output", str(tmp_path / "cost.md")])

    processor = 2 * 12 * 60 * bench.PRICES["stream_face_search_minute"].each
    assert f"| Rekognition face search             | ${processor:,.2f}" in text
    assert (tmp_path / "cost.md").read_text().strip() == text.strip()
    assert "aws.amazon.com/rekognition/pricing" in text
