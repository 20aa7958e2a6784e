"""Retried requests never create two people: the first answer is replayed (Powertools idempotency, keyed by
the Idempotency-Key header or, without one, by the request body)."""

import uuid

import boto3


def test_a_retried_registration_returns_the_same_person_and_registers_once(api, photos, everything, rekognition):
    key = str(uuid.uuid4())
    first = api.register(photos.astronaut, idempotency_key=key)
    again = api.register(photos.astronaut, idempotency_key=key)
    assert first.status == again.status == 201
    assert again.body == first.body
    stored = everything()
    assert (len(stored.people), len(stored.faces), len(stored.photo_versions)) == (1, 1, 1)
    assert rekognition.call_count("IndexFaces") == 1


def test_without_a_key_a_retried_registration_is_a_duplicate_with_the_id(api, photos, everything):
    first = api.register(photos.astronaut)
    again = api.register(photos.astronaut)
    assert (again.status, again.code, again.body["person_id"]) == (409, "duplicate_person", first.body["person_id"])
    assert len(everything().people) == 1


def test_without_a_key_a_retried_photo_upload_is_recognised_by_its_body(api, photos, everything):
    person_id = api.register(photos.astronaut).body["person_id"]
    first = api.add_photo(person_id, photos.astronaut_flipped)
    again = api.add_photo(person_id, photos.astronaut_flipped)
    assert first.status == again.status == 201 and again.body["face_count"] == 2
    assert len(everything().faces) == 2


def test_a_replayed_registration_of_an_erased_person_says_so(api, photos):
    key = str(uuid.uuid4())
    person_id = api.register(photos.astronaut, idempotency_key=key).body["person_id"]
    assert api.call("erase-person", person_id=person_id).status == 200
    replay = api.register(photos.astronaut, idempotency_key=key)
    assert (replay.status, replay.code) == (404, "person_not_found")
    assert "erased" in replay.body["message"]


def test_a_key_reused_for_a_different_request_is_refused(api, photos, everything):
    key = str(uuid.uuid4())
    assert api.register(photos.astronaut, idempotency_key=key).status == 201
    reply = api.register(photos.astronaut, idempotency_key=key, name="Somebody Else")
    assert (reply.status, reply.code) == (422, "idempotency_key_reused")
    assert len(everything().people) == 1


def test_a_request_that_failed_can_be_retried_with_the_same_key(api, photos, everything, faults):
    key = str(uuid.uuid4())
    faults.fail("s3", "PutObject")
    assert api.register(photos.astronaut, idempotency_key=key).status == 503
    retried = api.register(photos.astronaut, idempotency_key=key)
    assert retried.status == 201
    assert len(everything().people) == 1


def test_a_retry_after_the_idempotency_record_expired_is_still_not_a_second_person(api, photos, everything):
    first = api.register(photos.astronaut, idempotency_key=str(uuid.uuid4()))
    late = api.register(photos.astronaut, idempotency_key=str(uuid.uuid4()))  # as if the record had expired
    assert (late.status, late.code, late.body["person_id"]) == (409, "duplicate_person", first.body["person_id"])
    assert len(everything().people) == 1


def test_a_retried_photo_upload_adds_the_photo_once(api, photos, everything):
    person_id = api.register(photos.astronaut).body["person_id"]
    key = str(uuid.uuid4())
    first = api.add_photo(person_id, photos.astronaut_flipped, idempotency_key=key)
    again = api.add_photo(person_id, photos.astronaut_flipped, idempotency_key=key)
    assert first.status == again.status == 201 and again.body["face_count"] == 2
    assert len(everything().faces) == 2


def test_a_concurrent_duplicate_is_told_to_wait(api, photos, everything, faults):
    """While the first request is in progress, the same request gets 409 request_in_progress."""
    key = str(uuid.uuid4())
    replies = []

    def meanwhile_the_same_request_arrives(params) -> bool:
        if not replies:
            replies.append(api.register(photos.astronaut, idempotency_key=key))
        return False

    faults.fail("s3", "PutObject", only_if=meanwhile_the_same_request_arrives)
    first = api.register(photos.astronaut, idempotency_key=key)
    assert first.status == 201
    assert (replies[0].status, replies[0].code) == (409, "request_in_progress")
    assert len(everything().people) == 1


def test_idempotency_records_hold_no_personal_data(api, photos):
    api.register(photos.astronaut, idempotency_key=str(uuid.uuid4()), **{"notes": "Loves red scarves"})
    (record,) = boto3.resource("dynamodb").Table(api.stack.ref("IdempotencyTable")).scan()["Items"]
    text = str(record)
    assert "Eileen" not in text and "scarves" not in text and "eileen@example.com" not in text
