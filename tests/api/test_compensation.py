"""Nothing half-written: a registration that fails at any step leaves nothing behind (no face, no photo version,
no row), whether the step failed outright, timed out after AWS did the work, or time ran out before it."""

import boto3
import pytest


@pytest.fixture
def people_table(api):
    name = api.stack.ref("PeopleTable")
    return lambda params: (
        name in (params.get("TableName"), *(i.get("Put", {}).get("TableName") for i in params.get("TransactItems", [])))
    )


@pytest.mark.parametrize("operation", ["DetectFaces", "SearchFacesByImage", "IndexFaces"])
def test_rekognition_failing_before_anything_is_kept_leaves_nothing(api, photos, everything, rekognition, operation):
    rekognition.fail(operation, "InternalServerError")
    reply = api.register(photos.astronaut)
    assert (reply.status, reply.code) == (503, "service_busy")
    assert reply.headers["Retry-After"]
    assert everything().nothing


def test_index_faces_is_not_retried_blindly(api, photos, everything, rekognition):
    """A throttled IndexFaces is not retried by the SDK (a retry after a lost answer would index twice);
    the caller retries the whole request instead."""
    rekognition.fail("IndexFaces", "ThrottlingException")
    reply = api.register(photos.astronaut)
    assert (reply.status, reply.code) == (503, "service_busy")
    assert rekognition.call_count("IndexFaces") == 1
    assert everything().nothing
    assert api.register(photos.astronaut).status == 201


def test_index_faces_timing_out_after_indexing_is_swept_up(api, photos, everything, rekognition, faults):
    faults.lose_answer("rekognition", "IndexFaces")
    reply = api.register(photos.astronaut)
    assert (reply.status, reply.code) == (503, "service_busy")
    assert rekognition.call_count("IndexFaces") == 1  # the fake did index a face...
    assert everything().nothing  # ...and the undo step found it by its ExternalImageId and deleted it


def test_photo_upload_failing_deletes_the_indexed_face(api, photos, everything, faults, metrics_emitted):
    faults.fail("s3", "PutObject", code="InternalError", status=500)
    reply = api.register(photos.astronaut)
    assert (reply.status, reply.code) == (503, "service_busy")
    assert everything().nothing
    assert metrics_emitted() == {"CompensationRan": 1}


def test_photo_upload_timing_out_after_storing_deletes_face_and_every_version(api, photos, everything, faults):
    faults.lose_answer("s3", "PutObject")
    reply = api.register(photos.astronaut)
    assert reply.status == 503
    assert ("s3", "PutObject") in faults.calls
    assert everything().nothing


def test_row_write_failing_deletes_face_and_photo(api, photos, everything, faults, people_table):
    faults.fail("dynamodb", "TransactWriteItems", code="InternalServerError", only_if=people_table)
    reply = api.register(photos.astronaut)
    assert (reply.status, reply.code) == (503, "service_busy")
    assert everything().nothing


def test_row_write_timing_out_after_writing_deletes_the_row_too(api, photos, everything, faults, people_table):
    faults.lose_answer("dynamodb", "TransactWriteItems", only_if=people_table)
    reply = api.register(photos.astronaut)
    assert (reply.status, reply.code) == (503, "service_busy")
    assert everything().nothing


def test_an_unexpected_error_is_a_500_without_details_and_still_undone(api, photos, everything, faults, people_table):
    faults.fail("dynamodb", "TransactWriteItems", code="ValidationException", status=400, only_if=people_table)
    reply = api.register(photos.astronaut)
    assert reply.status == 500
    assert reply.body == {"code": "internal_error", "message": "something went wrong on our side"}
    assert everything().nothing


@pytest.mark.parametrize("runs_out", ["before indexing", "after indexing", "after storing the photo"])
def test_running_out_of_time_stops_before_the_next_step_and_undoes(
    api, photos, everything, rekognition, faults, runs_out
):
    """A step starts only if it and the undo steps can finish before the function's timeout."""
    plenty, too_little = 28_000, 12_000
    api.context.remaining_ms = {
        "before indexing": lambda: too_little,
        "after indexing": lambda: too_little if rekognition.call_count("IndexFaces") else plenty,
        "after storing the photo": lambda: too_little if ("s3", "PutObject") in faults.calls else plenty,
    }[runs_out]
    reply = api.register(photos.astronaut)
    assert (reply.status, reply.code) == (503, "service_busy")
    assert "ran out of time" in reply.body["message"]
    assert everything().nothing


def test_a_failed_undo_is_alarmed_and_erasure_sweeps_what_it_left(
    api, photos, everything, rekognition, faults, metrics_emitted
):
    faults.fail("s3", "PutObject")
    rekognition.fail("DeleteFaces", "InternalServerError")
    reply = api.register(photos.astronaut)
    assert reply.status == 503
    (orphan,) = everything().faces  # the undo could not delete the face...
    assert metrics_emitted() == {"CompensationRan": 1, "CompensationFailed": 1}
    erased = api.call("erase-person", person_id=orphan.external_image_id)  # ...erasing its id does
    assert erased.status == 200 and erased.body["faces_deleted"] == 1
    left = everything()
    assert not (left.faces or left.people or left.photo_versions) and len(left.audit) == 1


def test_adding_a_photo_that_fails_to_be_recorded_keeps_only_the_original(
    api, photos, everything, faults, people_table
):
    person_id = api.register(photos.astronaut).body["person_id"]
    before = everything()
    faults.fail("dynamodb", "UpdateItem", only_if=people_table)
    reply = api.add_photo(person_id, photos.astronaut_flipped)
    assert (reply.status, reply.code) == (503, "service_busy")
    after = everything()
    assert (after.people, after.photo_versions) == (before.people, before.photo_versions)
    assert [face.face_id for face in after.faces] == [face.face_id for face in before.faces]


def test_adding_a_photo_to_someone_being_erased_is_undone(api, photos, everything, faults, people_table):
    person_id = api.register(photos.astronaut).body["person_id"]
    table = boto3.resource("dynamodb").Table(api.stack.ref("PeopleTable"))

    def erasure_starts_meanwhile(params) -> bool:
        table.put_item(Item={**everything().people[0], "erasure_started_at": "2026-11-24T12:00:00+00:00"})
        return False  # not a fault: the real UpdateItem then runs and finds the person being erased

    faults.fail(
        "dynamodb", "UpdateItem", only_if=lambda params: people_table(params) and erasure_starts_meanwhile(params)
    )
    reply = api.add_photo(person_id, photos.astronaut_flipped)
    assert (reply.status, reply.code) == (404, "person_not_found")
    after = everything()
    assert (
        len(after.faces) == 1
        and len(after.photo_versions) == 1
        and after.people[0]["face_ids"] == [after.faces[0].face_id]
    )
