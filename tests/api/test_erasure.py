"""Erasure: every place the person was is emptied (faces, every photo version, the row, the alert-cooldown
item), and an audit entry says who erased which id and when, without keeping the face or the name."""

import uuid

import boto3
from api_requests import b64

AUDIT_FIELDS = {
    "person_id",
    "erased_at",
    "erased_by",
    "request_id",
    "faces_deleted",
    "photo_versions_deleted",
    "snapshots_deleted",
    "visit_deleted",
    "visits_erased",
}


def test_erasure_removes_the_person_from_every_place_and_records_it(api, photos, everything, rekognition):
    person_id = api.register(photos.astronaut).body["person_id"]
    assert api.add_photo(person_id, photos.astronaut_flipped).status == 201
    bucket, s3 = api.stack.ref("PhotosBucket"), boto3.client("s3")
    first_key = everything().people[0]["photo_keys"][0]
    s3.put_object(Bucket=bucket, Key=first_key, Body=b"an older copy")  # a second version of the same photo
    s3.delete_object(Bucket=bucket, Key=everything().people[0]["photo_keys"][1])  # a delete marker over the other
    boto3.resource("dynamodb").Table(api.stack.ref("VisitsTable")).put_item(
        Item={"person_id": person_id, "expires_at": 1_999_999_999, "camera": "entrance"}
    )
    before = everything()
    assert (len(before.faces), len(before.photo_versions), len(before.visits)) == (2, 4, 1)

    reply = api.call("erase-person", person_id=person_id)

    assert reply.status == 200
    assert reply.body["person_id"] == person_id and reply.body["erased_by"] == "maria@example.com"
    assert (reply.body["faces_deleted"], reply.body["photo_versions_deleted"], reply.body["visit_deleted"]) == (
        2,
        4,
        True,
    )
    after = everything()
    assert rekognition.faces_of(api.stack.ref("FaceCollection"), person_id) == [] and after.faces == []
    assert after.photo_versions == [] and after.people == [] and after.visits == []
    (entry,) = after.audit
    assert set(entry) == AUDIT_FIELDS  # no name, no notes, no face ids, no photo keys
    assert entry["person_id"] == person_id and entry["erased_by"] == "maria@example.com"
    assert entry["erased_at"] == reply.body["erased_at"]


def test_after_erasure_the_person_is_unknown_everywhere(api, photos):
    person_id = api.register(photos.astronaut).body["person_id"]
    assert api.call("erase-person", person_id=person_id).status == 200
    assert api.call("get-person", person_id=person_id).code == "person_not_found"
    assert api.call("erase-person", person_id=person_id).code == "person_not_found"
    assert api.call("search", body={"photo": b64(photos.astronaut_flipped)}).body == {"matches": []}
    assert api.call("list-people").body["people"] == []
    assert api.register(photos.astronaut).status == 201  # no longer a duplicate: the face is gone


def test_a_failed_erasure_can_be_retried_to_completion(api, photos, everything, faults):
    person_id = api.register(photos.astronaut).body["person_id"]
    faults.fail("s3", "DeleteObjects")
    failed = api.call("erase-person", person_id=person_id)
    assert (failed.status, failed.code) == (503, "service_busy")
    half = everything()
    assert half.faces == [] and half.photo_versions and half.people  # faces went, the photo and row did not
    assert api.call("get-person", person_id=person_id).code == "person_not_found"  # already gone for readers
    retried = api.call("erase-person", person_id=person_id)
    assert retried.status == 200 and retried.body["photo_versions_deleted"] == 1
    done = everything()
    assert not (done.faces or done.photo_versions or done.people) and len(done.audit) == 1


def test_a_retry_after_the_audit_entry_keeps_the_first_entry(api, photos, everything, faults):
    person_id = api.register(photos.astronaut).body["person_id"]
    people = api.stack.ref("PeopleTable")
    faults.fail("dynamodb", "DeleteItem", only_if=lambda params: params.get("TableName") == people)
    assert api.call("erase-person", person_id=person_id).status == 503
    (first,) = everything().audit
    assert api.call("erase-person", person_id=person_id).status == 200
    (entry,) = everything().audit
    assert entry == first and everything().people == []


def test_erasure_also_deletes_the_persons_match_snapshots(api, photos, everything):
    """With MatchSnapshotDays > 0 the crops bucket keeps recognised faces at snapshots/<person id>/...: erasure
    deletes them (counted in the receipt and the audit entry) and leaves everyone else's."""
    person_id = api.register(photos.astronaut).body["person_id"]
    crops, s3 = api.stack.ref("CropsBucket"), boto3.client("s3")
    mine = [f"snapshots/{person_id}/greeterapi-entrance/179543046636{n}-{uuid.uuid4()}.jpg" for n in range(3)]
    theirs = f"snapshots/0b6a7c52-64f2-4e0c-9a3e-5d1f1b2e9c77/greeterapi-entrance/1795430466360-{uuid.uuid4()}.jpg"
    for key in [*mine, theirs]:
        s3.put_object(Bucket=crops, Key=key, Body=b"a face crop")

    reply = api.call("erase-person", person_id=person_id)

    assert reply.status == 200 and reply.body["snapshots_deleted"] == 3
    left = [item["Key"] for item in s3.list_objects_v2(Bucket=crops, Prefix="snapshots/").get("Contents", [])]
    assert left == [theirs]
    (entry,) = everything().audit
    assert entry["snapshots_deleted"] == 3


def test_snapshots_left_by_an_erased_id_are_swept_by_erasing_it_again(api):
    """A snapshot written while the person was being erased (a camera sighting in flight) is found by a retry."""
    person_id = "0b6a7c52-64f2-4e0c-9a3e-5d1f1b2e9c77"
    boto3.client("s3").put_object(
        Bucket=api.stack.ref("CropsBucket"), Key=f"snapshots/{person_id}/greeterapi-till/1-x.jpg", Body=b"crop"
    )
    reply = api.call("erase-person", person_id=person_id)
    assert (reply.status, reply.body["snapshots_deleted"]) == (200, 1)
