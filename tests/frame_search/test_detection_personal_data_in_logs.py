"""No personal data in any log line or trace: a registered person with a distinctive name, notes and email walks
past the camera (frame search -> detection queue -> match -> email), twice, and a second registered person's
row has an unexpected shape. Every log line both functions wrote and everything X-Ray would keep is searched
for the person's name, notes, email and face ids."""

import time

import boto3
from event_source import detection_source, sent_emails
from frame_search_kit import PERSON_ID, astronaut_crop, jpeg
from helpers import PERSONAL_DATA, personal_data_in
from skimage import data

OTHER_PERSON = "2b7e9c41-5d3a-4f68-9e0b-8a1c6d4f2e93"


def _person(person_id: str, **fields) -> dict:
    return {
        "person_id": person_id,
        **PERSONAL_DATA,
        "consent": {"given_by": PERSONAL_DATA["name"], "given_at": "2026-11-01T10:00:00Z", "wording_version": "v1"},
        "face_ids": [],
        "photo_keys": [],
        "created_at": "2026-11-01T10:00:00Z",
        "updated_at": "2026-11-01T10:00:00Z",
        **fields,
    }


def test_a_visit_leaves_no_personal_data_in_logs_or_traces(
    frame_search_factory, registered_factory, rekognition, monkeypatch, lambda_context, capsys, observed
):
    frame_search = frame_search_factory(MatchSnapshotDays=1)
    registered_factory(frame_search)
    collection = frame_search.stack.ref("FaceCollection")
    # The second person's photo (the cameraman), registered like the first; their row breaks the people schema.
    boto3.client("rekognition").index_faces(
        CollectionId=collection,
        Image={"Bytes": jpeg(data.camera()[..., None].repeat(3, axis=2))},
        ExternalImageId=OTHER_PERSON,
        MaxFaces=1,
    )
    face_ids = [
        face.face_id for person in (PERSON_ID, OTHER_PERSON) for face in rekognition.faces_of(collection, person)
    ]
    people = boto3.resource("dynamodb").Table(frame_search.stack.ref("PeopleTable"))
    people.put_item(Item=_person(PERSON_ID, face_ids=face_ids[:1]))
    people.put_item(Item=_person(OTHER_PERSON, consent=PERSONAL_DATA["name"], face_ids=face_ids[1:]))
    match = frame_search.stack.load_function("MatchFunction", monkeypatch)
    detections = detection_source(frame_search.stack, match.lambda_handler, lambda_context)
    observed.watch(frame_search.app, monkeypatch)
    observed.watch(match, monkeypatch)

    for seconds_ago in (11, 1):
        assert frame_search.send(astronaut_crop(), captured_at=time.time() - seconds_ago)["outcome"] == "CropsMatched"
    detections.drain()
    # The other person: their malformed row is reported, not quoted.
    frame_search.send(jpeg(data.camera()[..., None].repeat(3, axis=2)))
    detections.drain()

    [email] = sent_emails(frame_search.stack)
    assert PERSONAL_DATA["name"] in email["message"]  # the data did flow through both functions
    assert len(face_ids) == 2 and observed.lines
    captured = capsys.readouterr()
    assert "unexpected shape" in observed.logs
    assert personal_data_in(observed.logs + captured.err, *face_ids) == []
    assert personal_data_in(observed.text(), *face_ids) == []
