"""The match function writes the visit history as part of the visit it tracks: one item when a visit opens, one
update when it is extended; strangers are only counted, per camera."""

import boto3
from greeter_common.visit_history import iso
from helpers import emf_blobs


def _history(pipeline) -> list[dict]:
    table = boto3.resource("dynamodb", region_name="eu-west-1").Table(pipeline.stack.ref("VisitHistoryTable"))
    return table.scan()["Items"]


def test_a_visit_is_one_history_item_with_its_dwell_cameras_and_alert(pipeline):
    pipeline.register("maria", "Maria Silva")
    start = pipeline.clock()
    for minute in range(20):  # twenty minutes at the shelves, at the till from minute 12
        pipeline.visit("maria", seconds=1, camera="till" if minute >= 12 else "entrance")
        pipeline.clock.advance(59)

    (item,) = _history(pipeline)
    assert item["person_id"] == "maria" and item["cameras"] == {"entrance", "till"}
    assert item["first_seen"] <= iso(start + 1) and "alerted_at" in item
    dwell_minutes = (_epoch(item["last_seen"]) - _epoch(item["first_seen"])) / 60
    assert 15 <= dwell_minutes <= 20  # recorded at each extension (every 7.5 minutes), not every frame
    assert int(item["expires_at"]) > _epoch(item["last_seen"]) + 89 * 86400  # VisitRetentionDays (90) after


def test_a_second_visit_after_the_cooldown_is_a_second_item(pipeline):
    pipeline.register("maria", "Maria Silva")
    pipeline.visit("maria", seconds=5)
    pipeline.clock.advance(3 * 3600)
    pipeline.visit("maria", seconds=5)
    assert len(_history(pipeline)) == 2 and len(pipeline.emails()) == 2


def test_strangers_are_counted_per_camera_and_never_stored(pipeline, capsys):
    pipeline.register("maria", "Maria Silva")
    pipeline.put(pipeline.frame([("maria", 97.0)], [], [("stranger", 60.0)]))  # Maria, a stranger, a weak match
    pipeline.source.drain()
    counts = [blob for blob in emf_blobs(capsys.readouterr().out) if "StrangerSightings" in blob]
    assert [(blob["camera"], blob["StrangerSightings"]) for blob in counts] == [("entrance", [2.0])]
    assert [item["person_id"] for item in _history(pipeline)] == ["maria"]


def _epoch(text: str) -> float:
    from greeter_common.visit_history import epoch

    return epoch(text)
