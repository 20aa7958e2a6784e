"""The match function writes the visit history inside the visit's own writes: the row in the same transaction as
the sent-mark when a visit opens, its end with the visit's extension; strangers are only counted, per camera."""

import boto3
import pytest
from greeter_common.visit_history import iso
from helpers import emf_blobs, emitted_metrics


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


# ---------------------------------------------------------------------- the row rides on the visit's own writes
def _visit(pipeline) -> dict:
    table = boto3.resource("dynamodb", region_name="eu-west-1").Table(pipeline.stack.ref("VisitsTable"))
    return table.get_item(Key={"person_id": "maria"})["Item"]


def test_the_row_is_written_with_the_sent_mark_in_one_call(faults, pipeline):
    pipeline.register("maria", "Maria Silva")
    faults.calls.clear()
    pipeline.visit("maria", seconds=2)
    assert faults.calls["dynamodb.TransactWriteItems"] == 1
    assert faults.calls["dynamodb.PutItem"] == 0 and faults.calls["dynamodb.UpdateItem"] == 1  # the claim
    (item,) = _history(pipeline)
    assert _visit(pipeline)["alert_status"] == "SENT" and "alerted_at" in item


def test_a_refused_sent_mark_leaves_neither_half_and_the_extension_writes_the_row(faults, pipeline, capsys):
    """DynamoDB refuses the sent-mark (every quick try): the email is out, the visit stays PENDING and there is no
    history row; nothing is half-written. The visit's first extension writes the row, without an alert time."""
    pipeline.register("maria", "Maria Silva")
    faults.fail("dynamodb.TransactWriteItems", "InternalServerError", times=3, status=500, when='"SENT"')
    pipeline.visit("maria", seconds=1)
    assert len(pipeline.emails()) == 1
    assert _visit(pipeline)["alert_status"] == "PENDING" and _history(pipeline) == []
    assert emitted_metrics(capsys.readouterr().out)["AlertMarkFailures"] == 1

    for _ in range(9):  # nine more minutes: extended once, at 8
        pipeline.clock.advance(59)
        pipeline.visit("maria", seconds=1, camera="till")
    (item,) = _history(pipeline)
    assert "alerted_at" not in item and item["cameras"] == {"entrance", "till"}
    assert item["last_seen"] > item["first_seen"] and len(pipeline.emails()) == 1


def test_a_sent_mark_whose_answer_was_lost_writes_one_row(faults, pipeline):
    pipeline.register("maria", "Maria Silva")
    faults.lose_answer("dynamodb.TransactWriteItems", when='"SENT"')  # carried out, then retried by botocore
    pipeline.visit("maria", seconds=2)
    (item,) = _history(pipeline)
    assert "alerted_at" in item and _visit(pipeline)["alert_status"] == "SENT"
    assert faults.injected["dynamodb.TransactWriteItems"] == 1 and len(pipeline.emails()) == 1


def test_a_released_claim_leaves_no_row_and_its_retry_writes_one(faults, pipeline):
    pipeline.register("maria", "Maria Silva")
    faults.fail("sns.Publish", "InternalError", status=500)
    pipeline.put(pipeline.frame([("maria", 97.0)]))
    between_attempts = []  # what the tables held when Lambda was about to redeliver the failed record
    pipeline.source.after_failure = lambda: between_attempts.append(
        (_visit(pipeline)["alert_status"], _history(pipeline))
    )
    pipeline.source.drain()
    assert between_attempts == [("RELEASED", [])]
    (item,) = _history(pipeline)
    assert "alerted_at" in item and len(pipeline.emails()) == 1


def test_a_redelivered_record_in_a_fresh_container_writes_no_second_row(pipeline):
    pipeline.register("maria", "Maria Silva")
    event = pipeline.event(pipeline.frame([("maria", 97.0)]))
    pipeline.app.lambda_handler(event, pipeline.source.context)
    (before,) = _history(pipeline)
    pipeline.recycle()
    pipeline.clock.advance(5)
    pipeline.app.lambda_handler(event, pipeline.source.context)
    assert _history(pipeline) == [before] and len(pipeline.emails()) == 1


@pytest.mark.parametrize("fault", ["refused", "answer lost"])
def test_an_extension_is_one_transaction_and_a_fault_in_it_loses_nothing(faults, pipeline, fault):
    """Refused: neither the visit nor its row moves, and the next batch extends both. Answer lost: both moved
    once (botocore's retry finds the visit already extended and changes nothing)."""
    pipeline.register("maria", "Maria Silva")
    pipeline.visit("maria", seconds=1)
    pipeline.clock.advance(8 * 60)
    if fault == "refused":
        faults.fail("dynamodb.TransactWriteItems", "InternalServerError", times=3, status=500, when="last_seen = :seen")
    else:
        faults.lose_answer("dynamodb.TransactWriteItems", when="last_seen = :seen")
    pipeline.visit("maria", seconds=1, camera="till")
    (item,) = _history(pipeline)
    visit = _visit(pipeline)
    if fault == "refused":
        assert item["last_seen"] == item["first_seen"] and item["cameras"] == {"entrance"}
        assert float(visit["last_seen"]) == float(visit["first_seen"])
        pipeline.visit("maria", seconds=1)  # the next batch extends it
        (item,) = _history(pipeline)
    assert _epoch(item["last_seen"]) == float(_visit(pipeline)["last_seen"]) > _epoch(item["first_seen"])
    assert item["cameras"] == {"entrance", "till"} and len(pipeline.emails()) == 1
