"""The match function turns per-frame face-search records into one clear email per person per visit."""

import json

import boto3
import pytest
from event_source import face, face_search_record
from helpers import emitted_metrics

REKOGNITION_RECORD = {  # a record as Rekognition's stream processor writes it (ExternalImageId made a person id)
    "InputInformation": {
        "KinesisVideo": {
            "StreamArn": "arn:aws:kinesisvideo:eu-west-1:123456789012:stream/STREAM/1",
            "FragmentNumber": "91343852333289682796718532614445757584843717598",
            "ServerTimestamp": 1521903783.723,
            "ProducerTimestamp": 1521903783.589,
            "FrameOffsetInSeconds": 2,
        }
    },
    "StreamProcessorInformation": {"Status": "RUNNING"},
    "FaceSearchResponse": [
        {
            "DetectedFace": {
                "BoundingBox": {"Height": 0.075, "Width": 0.05625, "Left": 0.428125, "Top": 0.40833333},
                "Confidence": 99.975174,
                "Landmarks": [
                    {"X": 0.4452057, "Y": 0.4395594, "Type": "eyeLeft"},
                    {"X": 0.46340984, "Y": 0.43744427, "Type": "eyeRight"},
                    {"X": 0.45960626, "Y": 0.4526856, "Type": "nose"},
                    {"X": 0.44958648, "Y": 0.4696949, "Type": "mouthLeft"},
                    {"X": 0.46409217, "Y": 0.46704912, "Type": "mouthRight"},
                ],
                "Pose": {"Pitch": 2.9691637, "Roll": -6.8904796, "Yaw": 23.84388},
                "Quality": {"Brightness": 40.592964, "Sharpness": 96.09616},
            },
            "MatchedFaces": [
                {
                    "Similarity": 88.863960,
                    "Face": {
                        "BoundingBox": {"Height": 0.557692, "Width": 0.749838, "Left": 0.103426, "Top": 0.206731},
                        "FaceId": "ed1b560f-d6af-5158-989a-ff586c931545",
                        "Confidence": 99.999201,
                        "ImageId": "70e09693-2114-57e1-807c-50b6d61fa4dc",
                        "ExternalImageId": "nick",
                    },
                }
            ],
        }
    ],
}


def _seed_record(pipeline) -> dict:
    record = json.loads(json.dumps(REKOGNITION_RECORD))
    video = record["InputInformation"]["KinesisVideo"]
    video["StreamArn"] = pipeline.stream_arn("entrance")
    # Filmed two seconds before now (the frame is 2 s into its fragment); Kinesis Video got it 0.13 s later.
    video["ProducerTimestamp"] = pipeline.clock() - 4
    video["ServerTimestamp"] = pipeline.clock() - 3.87
    return record


def test_seed_000_record_becomes_one_readable_email(pipeline, capsys):
    pipeline.register("nick", "Nick Walsh", notes="Prefers the blue range.\nFavourite brand: Acme.")
    pipeline.put(_seed_record(pipeline))
    pipeline.source.drain()

    [email] = pipeline.emails()
    assert email["subject"] == "Greeter: Nick Walsh is at the entrance (88.9%)"
    body = email["message"]
    assert "Nick Walsh is at the entrance of Casa Lisboa." in body
    assert "Seen:        Wednesday 18 November, 11:06 (Lisbon time)" in body  # Lisbon is on UTC in winter
    assert "Similarity:  88.9%" in body
    assert "  Prefers the blue range.\n  Favourite brand: Acme." in body
    # The staff app's page of this visit (its history row's key), behind sign-in: no playable bearer link.
    [visit] = boto3.resource("dynamodb").Table(pipeline.stack.ref("VisitHistoryTable")).scan()["Items"]
    staff_app = pipeline.stack.function_environment("MatchFunction")["STAFF_APP_URL"]
    assert staff_app == f"https://{pipeline.stack.get_att('StaffAppDistribution', 'DomainName')}"
    assert (
        "Watch the moment in the staff app; you sign in first:\n"
        f"  {staff_app}/#/people/nick/visits/{visit['first_seen']}\n" in body
    )
    assert "SessionToken" not in body and "valid for" not in body
    assert _attribute(email, "person_id") == "nick"
    assert _attribute(email, "camera") == "entrance"
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["AlertsSent"] == 1
    assert metrics["FacesMatched"] == 1
    assert 0 <= metrics["AlertLatency"] < 60_000


def _attribute(email, name):
    value = email["attributes"][name]
    return value.get("StringValue", value.get("Value"))


def test_email_carries_filterable_attributes_and_ascii_subject(pipeline):
    pipeline.register("p-jose", "José Núñez")
    pipeline.put(pipeline.frame([("p-jose", 99.04)], camera="till"), camera="till")
    pipeline.source.drain()
    [email] = pipeline.emails()
    assert email["subject"] == "Greeter: Jose Nunez is at the till (99.0%)"
    assert "José Núñez is at the till" in email["message"]
    assert _attribute(email, "person_id") == "p-jose"
    assert _attribute(email, "camera") == "till"
    assert _attribute(email, "event") == "visitor_recognised"


def test_frames_with_nothing_or_weak_matches_send_nothing_and_are_counted(pipeline, capsys):
    pipeline.register("maria", "Maria Silva")
    pipeline.put(pipeline.frame())  # no face at all
    pipeline.put(pipeline.frame([]))  # a face matching nobody
    pipeline.put(pipeline.frame([("maria", 84.99)]))  # under the default threshold of 85
    pipeline.source.drain()
    assert pipeline.emails() == []
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["RecordsReceived"] == 3
    assert metrics["EmptyFrames"] == 1
    assert metrics["FacesDetected"] == 2
    assert metrics["FacesBelowThreshold"] == 1
    assert "AlertsSent" not in metrics


def test_threshold_comes_from_the_template_parameter(pipeline_factory):
    pipeline = pipeline_factory(MatchThreshold=95)
    pipeline.register("maria", "Maria Silva")
    pipeline.put(pipeline.frame([("maria", 94.0)]))
    pipeline.source.drain()
    assert pipeline.emails() == []
    pipeline.put(pipeline.frame([("maria", 95.5)]))
    pipeline.source.drain()
    assert len(pipeline.emails()) == 1


def test_multi_face_frame_alerts_each_registered_person_once(pipeline, capsys):
    pipeline.register("maria", "Maria Silva")
    pipeline.register("joao", "João Costa")
    # one frame: Maria (best of two candidate matches), João, a stranger, and a face whose best match is weak
    pipeline.put(pipeline.frame([("joao", 81.0), ("maria", 97.2)], [("joao", 93.1)], [], [("maria", 70.0)]))
    pipeline.source.drain()
    subjects = sorted(email["subject"] for email in pipeline.emails())
    assert subjects == [
        "Greeter: Joao Costa is at the entrance (93.1%)",
        "Greeter: Maria Silva is at the entrance (97.2%)",
    ]
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["FacesDetected"] == 4
    assert metrics["FacesMatched"] == 2
    assert metrics["FacesBelowThreshold"] == 1


def _function_calls(faults) -> dict[str, int]:
    """The match function's AWS calls so far (not the test's own: the stream, the people table, the camera)."""
    return {call: n for call, n in faults.calls.items() if call.split(".")[0] in _FUNCTION_SERVICES}


# Kinesis Video among them: the email links to the staff app, so any video call would show in the counts.
_FUNCTION_SERVICES = {"sns", "kinesis-video", "kinesis-video-archived-media", "s3", "dynamodb"}


def test_a_long_visit_of_many_frames_is_one_email_and_few_aws_calls(faults, pipeline, capsys):
    pipeline.register("maria", "Maria Silva")
    pipeline.stream_arn("entrance")
    faults.calls.clear()
    pipeline.visit("maria", seconds=180, fps=5)  # three minutes in front of the camera: 900 frames

    assert len(pipeline.emails()) == 1
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["RecordsReceived"] == 900
    assert metrics["AlertsSuppressed"] == 899
    # The person read once, the visit claimed, the email, the sent-mark with the visit history's row (one
    # transaction); no video call (the email links to the staff app).
    assert _function_calls(faults) == {
        "dynamodb.BatchGetItem": 1,
        "dynamodb.UpdateItem": 1,
        "sns.Publish": 1,
        "dynamodb.TransactWriteItems": 1,
    }


def test_empty_below_threshold_and_repeated_frames_cost_no_aws_call(faults, pipeline):
    pipeline.register("maria", "Maria Silva")
    pipeline.visit("maria", seconds=1)
    before = _function_calls(faults)
    for _ in range(200):
        pipeline.put(pipeline.frame())
        pipeline.put(pipeline.frame([("maria", 70.0)]))
        pipeline.put(pipeline.frame([("maria", 97.0)], [("stranger", 80.0)]))
        pipeline.clock.advance(0.2)
    pipeline.source.drain()
    assert _function_calls(faults) == before


def test_a_visit_is_extended_only_when_it_nears_expiry(faults, pipeline):
    """Cooldown 30 minutes: the visit's last sighting is recorded once it lags by 7.5 minutes, not every minute."""
    pipeline.register("maria", "Maria Silva")
    for _ in range(20):  # twenty minutes at the shelves, seen every minute
        pipeline.visit("maria", seconds=1)
        pipeline.clock.advance(59)
    assert len(pipeline.emails()) == 1
    # the claim; the sent-mark, then extensions at 8 and 16 minutes, each one transaction with the history row
    assert faults.calls["dynamodb.UpdateItem"] == 1
    assert faults.calls["dynamodb.TransactWriteItems"] == 1 + 2


def test_a_visit_reopens_after_the_cooldown_but_not_while_the_person_stays(pipeline):
    pipeline.register("maria", "Maria Silva")
    pipeline.visit("maria", seconds=5)
    assert len(pipeline.emails()) == 1
    # Still browsing 40 minutes later (cooldown 30): seen throughout, so the same visit.
    for _ in range(8):
        pipeline.clock.advance(5 * 60)
        pipeline.visit("maria", seconds=2)
    assert len(pipeline.emails()) == 1
    # Gone for 29 minutes: still the same visit.
    pipeline.clock.advance(29 * 60)
    pipeline.visit("maria", seconds=2)
    assert len(pipeline.emails()) == 1
    # Gone for 38 minutes, then back: a new visit, a new email. (The visit's last sighting is recorded at most
    # a quarter of the cooldown late, so a visit ends between 30 and 37.5 minutes out of view.)
    pipeline.clock.advance(38 * 60)
    pipeline.visit("maria", seconds=2)
    assert len(pipeline.emails()) == 2


def test_two_people_at_once_each_get_one_email(pipeline):
    pipeline.register("maria", "Maria Silva")
    pipeline.register("joao", "João Costa")
    for _ in range(60):
        pipeline.put(pipeline.frame([("maria", 96.0)], [("joao", 91.0)]))
        pipeline.put(pipeline.frame([("joao", 90.0)], camera="till"), camera="till")
        pipeline.clock.advance(0.2)
    pipeline.source.drain()
    assert sorted(_attribute(e, "person_id") for e in pipeline.emails()) == ["joao", "maria"]


def test_cooldown_is_per_store_and_holds_across_concurrent_invocations(pipeline, second_container):
    """Two shards' invocations in two execution environments see Maria at two cameras at once."""
    pipeline.register("maria", "Maria Silva")
    events = pipeline.maria_at_two_cameras_at_once()
    first = pipeline.app.lambda_handler(events[0], pipeline.source.context)
    second = second_container.app.lambda_handler(events[1], pipeline.source.context)
    assert first == second == {"batchItemFailures": []}
    assert len(pipeline.emails()) == 1


def test_a_person_with_no_row_sends_nothing_and_is_counted(pipeline, capsys):
    pipeline.put(pipeline.frame([("erased-person", 99.0)]))
    pipeline.put(pipeline.frame([(None, 99.0)]))  # a face indexed without a person id
    pipeline.source.drain()
    assert pipeline.emails() == []
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["UnknownPersons"] == 1
    assert metrics["FacesWithoutPerson"] == 1


def test_visits_table_records_the_open_visit(pipeline):
    pipeline.register("maria", "Maria Silva")
    pipeline.visit("maria", seconds=1)
    item = boto3.resource("dynamodb").Table(pipeline.stack.ref("VisitsTable")).get_item(Key={"person_id": "maria"})
    visit = item["Item"]
    assert visit["alert_status"] == "SENT"
    assert visit["camera"] == "entrance"
    assert int(visit["expires_at"]) > pipeline.clock() + 29 * 60


@pytest.mark.parametrize("cooldown", [1, 90])
def test_cooldown_minutes_come_from_the_template_parameter(pipeline_factory, cooldown):
    pipeline = pipeline_factory(AlertCooldownMinutes=cooldown)
    pipeline.register("maria", "Maria Silva")
    pipeline.visit("maria", seconds=1)
    pipeline.clock.advance(cooldown * 60 * 1.25 + 5)
    pipeline.visit("maria", seconds=1)
    assert len(pipeline.emails()) == 2


def test_a_person_being_erased_is_never_alerted(pipeline, capsys):
    pipeline.register("maria", "Maria Silva")
    boto3.resource("dynamodb").Table(pipeline.stack.ref("PeopleTable")).update_item(
        Key={"person_id": "maria"},
        UpdateExpression="SET erasure_started_at = :t",
        ExpressionAttributeValues={":t": "2026-11-17T09:40:00+00:00"},
    )
    pipeline.visit("maria", seconds=2)
    assert pipeline.emails() == []
    assert emitted_metrics(capsys.readouterr().out)["UnknownPersons"] >= 1


@pytest.mark.parametrize(
    ("time_zone", "expected"),
    [
        ("Europe/Lisbon", "Seen:        Tuesday 1 December, 9:05 (Lisbon time)"),
        ("America/New_York", "Seen:        Tuesday 1 December, 4:05 (New York time)"),
        ("UTC", "Seen:        Tuesday 1 December, 9:05 (UTC)"),
    ],
)
def test_the_email_says_when_as_a_person_would_in_the_stores_time_zone(pipeline_factory, time_zone, expected):
    pipeline = pipeline_factory(StoreTimeZone=time_zone)
    pipeline.clock.now = 1_796_115_900.0 - 0.3  # 2026-12-01 09:05:00 UTC, when Kinesis Video got the frame
    pipeline.register("maria", "Maria Silva")
    pipeline.visit("maria", seconds=1)
    [email] = pipeline.emails()
    assert expected in email["message"]


def test_records_from_cameras_that_are_not_this_stacks_send_nothing_and_are_counted(pipeline, capsys):
    pipeline.register("maria", "Maria Silva")
    ours = pipeline.stream_arn("entrance")
    region, account = ours.split(":")[3], ours.split(":")[4]
    foreign = [
        ours.replace(account, "210987654321"),  # another account's
        ours.replace(f"stream/{pipeline.stack.name}-", "stream/otherstore-"),  # another stack's
        ours.replace(region, "us-east-1"),  # another region's
        ours.replace("-entrance/", "-backroom/"),  # a camera this stack does not have
        ours.replace("-entrance/", "-entrance-2/"),
        "not-an-arn",
        "",
    ]
    for arn in foreign:
        pipeline.put(face_search_record(arn, pipeline.clock(), [face([("maria", 97.0)])]))
    pipeline.source.drain()
    assert pipeline.emails() == []
    assert len(pipeline.source.invocations) == 1  # nothing failed, nothing retried
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["ForeignCameraRecords"] == len(foreign)
    assert "AlertsSuppressed" not in metrics

    pipeline.visit("maria", seconds=1)  # her visit was not used up
    assert len(pipeline.emails()) == 1
