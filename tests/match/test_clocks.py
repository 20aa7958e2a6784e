"""Sightings are timed by AWS's clocks; a camera whose clock is off is reported but its visitors are greeted,
once per visit, at the right time; a sighting AWS saw too long before it arrived, or after, sends nothing."""

import pytest
from helpers import email_time, emf_blobs, emitted_metrics


def _clock_skew_by_camera(out: str) -> dict[str, float]:
    counts: dict[str, float] = {}
    for blob in emf_blobs(out):
        if "CameraClockSkew" in blob:
            values = blob["CameraClockSkew"]
            counts[blob["camera"]] = counts.get(blob["camera"], 0) + sum(
                values if isinstance(values, list) else [values]
            )
    return counts


@pytest.mark.parametrize("camera_clock", [-45 * 60, 45 * 60], ids=["45-min-behind", "45-min-ahead"])
def test_a_camera_clock_off_by_45_minutes_gives_one_email_per_visit_at_the_right_time(pipeline, camera_clock, capsys):
    people = ["maria", "joao", "ana"]
    for person in people:
        pipeline.register(person, person.title())
    visits = []
    # Three people one after another at the till, whose clock is off; then Maria again after an hour.
    for person in [*people, "maria"]:
        visits.append((person, pipeline.clock()))
        pipeline.visit(person, seconds=20, camera="till", camera_clock=camera_clock)
        if person != "maria" or len(visits) == 1:
            pipeline.clock.advance(60 if person != "ana" else 3600)
    # Maria leaves by the entrance, whose clock is right: still her second visit.
    pipeline.visit("maria", seconds=2, camera="entrance")

    emails = pipeline.emails()
    assert [e["attributes"]["person_id"]["Value"] for e in emails] == [p for p, _ in visits]
    for email, (_, started) in zip(emails, visits, strict=True):
        assert f"Seen:        {email_time(started + 0.3, 'Europe/Lisbon')}" in email["message"]
    out = capsys.readouterr().out
    assert _clock_skew_by_camera(out) == {"till": 4 * 20 * 5}  # every record of the till, none of the entrance
    assert "StaleSightings" not in emitted_metrics(out)


@pytest.mark.parametrize(
    "producer_timestamp",
    [0, -1, 946_684_800, "two days ago", 1e20],
    ids=["zero", "minus-one", "year-2000", "two-days-old", "1e20"],
)
def test_nonsense_camera_timestamps_still_greet_once_per_visit(pipeline, producer_timestamp):
    pipeline.register("maria", "Maria Silva")
    for _ in range(30):
        record = pipeline.frame([("maria", 97.0)])
        stamp = pipeline.clock() - 2 * 86_400 if producer_timestamp == "two days ago" else producer_timestamp
        record["InputInformation"]["KinesisVideo"]["ProducerTimestamp"] = stamp
        pipeline.put(record)
        pipeline.clock.advance(0.2)
        pipeline.source.drain()
    assert len(pipeline.emails()) == 1


@pytest.mark.parametrize(
    ("server_offset", "arrival_delay"),
    [(-301, 0), (0, 301), (6, 0), (-2 * 86_400, 0), ("1970", 0)],
    ids=["seen-5-minutes-before-arrival", "arrived-5-minutes-late", "seen-after-it-arrived", "two-days", "1970"],
)
def test_a_stale_or_impossible_sighting_is_counted_and_sends_nothing(pipeline, capsys, server_offset, arrival_delay):
    pipeline.register("maria", "Maria Silva")
    record = pipeline.frame([("maria", 97.0)])
    server = 0 if server_offset == "1970" else pipeline.clock() + server_offset
    record["InputInformation"]["KinesisVideo"]["ServerTimestamp"] = server
    pipeline.clock.advance(arrival_delay)
    pipeline.put(record)
    pipeline.source.drain()
    assert pipeline.emails() == []
    assert emitted_metrics(capsys.readouterr().out)["StaleSightings"] == 1

    pipeline.clock.advance(1)  # a stale sighting does not use up the visit: a current one alerts
    pipeline.visit("maria", seconds=1)
    assert len(pipeline.emails()) == 1


def test_a_backlog_is_judged_by_when_records_arrived_not_when_they_are_read(pipeline):
    """The function fell 20 minutes behind (an outage): records that arrived on time still alert, once."""
    pipeline.register("maria", "Maria Silva")
    for _ in range(10):
        pipeline.put(pipeline.frame([("maria", 97.0)]))
        pipeline.clock.advance(0.2)
    pipeline.clock.advance(20 * 60)
    pipeline.source.drain()
    assert len(pipeline.emails()) == 1
