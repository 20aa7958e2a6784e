"""A store day replayed through the match function: the visit history it writes, checked against the day's ground
truth (the benchmark's seeded stream generator: who was where, when, and every frame the cameras analysed)."""

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import boto3
from greeter_common.visit_history import epoch, iso
from helpers import emf_blobs, emitted_metrics

from bench.match_pipeline import generate_stream, lambda_events

LISBON = ZoneInfo("Europe/Lisbon")
OPENING = datetime(2026, 11, 24, 9, 0, tzinfo=LISBON).timestamp()  # a Tuesday
SERVER_DELAY = 0.3  # Kinesis Video stamps a frame 0.3 s after the camera (tests/event_source.py): the seen time
RETENTION = 90 * 86400  # VisitRetentionDays' default
MARGIN = 30 * 60 / 4  # a visit's recorded last sighting lags the real one by less than a quarter of the cooldown


def test_a_store_day_replayed_gives_each_visit_its_history_row(pipeline, capsys):
    # 40 visits of 1 to 40 minutes from opening to mid-afternoon at two cameras, some overlapping, some walking
    # from the entrance to the till, five people coming back after the cooldown, strangers passing: only the
    # frames with a face in them (empty frames cost nothing and change nothing here).
    day = generate_stream(
        visits=40, returning=5, overlapping=4, walking=6, strangers=30, face_share=0.03, minutes=(1, 40),
        seed=14, start=OPENING, only_visits=True,
    )  # fmt: skip
    for person_id, name in day.people.items():
        pipeline.register(person_id, name)
    for invocation in lambda_events(day, pipeline.stack):
        pipeline.clock.now = invocation.invoked_at
        assert pipeline.app.lambda_handler(invocation.event, pipeline.source.context) == {"batchItemFailures": []}

    table = boto3.resource("dynamodb").Table(pipeline.stack.ref("VisitHistoryTable"))
    rows = {(row["person_id"], row["first_seen"]): row for row in table.scan()["Items"]}
    truth = {}  # (person, first seen) -> the visit's sightings [(seen at, camera)], in time order
    for visit in day.visits:
        sightings = sorted(
            (frame.at + SERVER_DELAY, frame.camera)
            for frame in day.frames
            if visit.start <= frame.at <= visit.end
            for matches in frame.faces
            if matches and matches[0][0] == visit.person_id
        )
        truth[(visit.person_id, iso(sightings[0][0]))] = sightings
    assert len(truth) == len(day.visits) and len(day.people) < len(day.visits)  # some came back
    assert sorted(rows) == sorted(truth)  # one row per visit, nobody else's: strangers are never stored
    assert len(pipeline.emails()) == len(day.visits)

    long_visits = 0
    for key, sightings in truth.items():
        row, (first_seen, first_camera), last_seen = rows[key], sightings[0], sightings[-1][0]
        recorded_last = epoch(row["last_seen"])
        # The end as recorded: the last sighting written with an extension, never later than the real one and
        # less than the margin before it; so the dwell is right to within the margin.
        assert last_seen - MARGIN < recorded_last <= last_seen + 0.001, key
        long_visits += recorded_last > epoch(row["first_seen"])
        # The cameras: the first, and every one that saw them up to the recorded end (a batching window before
        # it, when the other camera's batch of that second comes after the extension), and no other.
        assert first_camera in row["cameras"] and row["cameras"] <= {camera for _, camera in sightings}, key
        assert {camera for at, camera in sightings if at < recorded_last - 2} <= row["cameras"], key
        # Alerted within the batching window of the first sighting, in the store's day, kept for the retention.
        assert first_seen - 1 <= epoch(row["alerted_at"]) <= first_seen + 1.5, key
        assert row["store_day"] == datetime.fromtimestamp(first_seen, LISBON).date().isoformat() == "2026-11-24"
        assert abs(int(row["expires_at"]) - (recorded_last + RETENTION)) <= 1, key
    assert long_visits > 20  # most visits outlast the margin: their ends moved with the extensions
    assert sum(len(row["cameras"]) > 1 for row in rows.values()) >= 3  # the walks to the till were recorded

    # Strangers (and faces under the threshold, which are nobody's to the function) only counted, per camera.
    out = capsys.readouterr().out
    expected = Counter({frame.camera: 0 for frame in day.frames})
    for frame in day.frames:
        expected[frame.camera] += sum(1 for matches in frame.faces if not matches)
    counted = Counter({camera: 0 for camera in expected})
    for blob in emf_blobs(out):
        if "StrangerSightings" in blob:
            counted[blob["camera"]] += sum(blob["StrangerSightings"])
    assert counted == expected and sum(expected.values()) > 100
    assert emitted_metrics(out).get("AlertMarkFailures") is None
