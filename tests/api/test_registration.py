"""Registering, finding, correcting and searching people through the real handler, on the template's stack."""

import urllib.parse
from datetime import datetime

import boto3
import pytest
from api_requests import b64
from greeter_common.people import Person


def test_registering_stores_the_face_the_photo_and_the_person_consistently(api, photos, everything, rekognition):
    reply = api.register(photos.astronaut)
    assert reply.status == 201
    person_id = reply.body["person_id"]
    assert reply.headers["Location"] == f"/people/{person_id}"
    assert reply.body["consent"] == {
        "given_by": "Eileen Collins",
        "given_at": "2026-01-15T10:30:00+00:00",
        "wording_version": "2026-01",
        "recorded_by": "maria@example.com",  # from the Cognito claims, never from the body
    }
    stored = everything()
    (row,) = stored.people
    person = Person.model_validate(row)
    (face,) = stored.faces
    assert face.external_image_id == person_id and person.face_ids == [face.face_id]
    (key, _), *more = stored.photo_versions
    assert not more and person.photo_keys == [key] == [f"people/{person_id}/{face.face_id}.jpg"]
    photo = boto3.client("s3").get_object(Bucket=api.stack.ref("PhotosBucket"), Key=key)
    assert photo["Body"].read() == photos.astronaut and photo["ContentType"] == "image/jpeg"
    (index_call,) = [params for name, params in rekognition.calls if name == "IndexFaces"]
    assert index_call["MaxFaces"] == 1 and index_call["ExternalImageId"] == person_id
    assert index_call["CollectionId"] == api.stack.ref("FaceCollection")
    # checked before indexing: one face (DetectFaces), not already registered (SearchFacesByImage); and after
    # indexing (SearchFaces): no registration of the same face ran at the same time in another container
    assert [name for name, _ in rekognition.calls][1:] == [
        "DetectFaces",
        "SearchFacesByImage",
        "IndexFaces",
        "SearchFaces",
    ]


def test_a_png_photo_is_accepted_and_stored_as_png(api, photos, everything):
    reply = api.register(photos.astronaut_png)
    assert reply.status == 201
    ((key, _),) = everything().photo_versions
    assert key.endswith(".png")


def test_another_photo_of_the_same_person_is_added(api, photos, everything):
    person_id = api.register(photos.astronaut).body["person_id"]
    reply = api.add_photo(person_id, photos.astronaut_flipped)
    assert reply.status == 201
    assert (reply.body["face_count"], reply.body["photo_count"]) == (2, 2)
    stored = everything()
    assert {face.external_image_id for face in stored.faces} == {person_id}
    assert len(stored.faces) == len(stored.photo_versions) == 2
    assert sorted(stored.people[0]["face_ids"]) == sorted(face.face_id for face in stored.faces)


def test_a_photo_of_someone_else_registered_is_not_added_to_a_person(api, photos, everything):
    first = api.register(photos.astronaut).body["person_id"]
    other = api.register(photos.astronaut_png, name="Not Eileen")  # same face: a duplicate, refused
    assert (other.status, other.code) == (409, "duplicate_person")
    # put a second person in directly (the fake's collection and the table), then try to give them Eileen's face
    second = Person(
        person_id="a3c1f1a4-5b3e-4f0e-9a55-2a8c3f1e7d10",
        name="Second",
        consent={"given_by": "Second", "given_at": "2026-01-01T00:00:00+00:00", "wording_version": "2026-01"},
        created_at="2026-01-01T00:00:00+00:00",
        updated_at="2026-01-01T00:00:00+00:00",
    )
    boto3.resource("dynamodb").Table(api.stack.ref("PeopleTable")).put_item(Item=second.model_dump(exclude_none=True))
    reply = api.add_photo(second.person_id, photos.astronaut_flipped)
    assert (reply.status, reply.code, reply.body["person_id"]) == (409, "duplicate_person", first)
    assert len(everything().faces) == 1


def test_a_person_has_at_most_ten_photos(api, photos, everything):
    person_id = api.register(photos.astronaut).body["person_id"]
    table = boto3.resource("dynamodb").Table(api.stack.ref("PeopleTable"))
    table.update_item(
        Key={"person_id": person_id},
        UpdateExpression="SET face_ids = :f",
        ExpressionAttributeValues={":f": [f"face-{i}" for i in range(10)]},
    )
    reply = api.add_photo(person_id, photos.astronaut_flipped)
    assert (reply.status, reply.code) == (409, "photo_limit_reached")
    assert len(everything().faces) == 1


def test_get_gives_short_lived_links_to_the_persons_photos(api, photos):
    person_id = api.register(photos.astronaut).body["person_id"]
    reply = api.call("get-person", person_id=person_id)
    assert reply.status == 200
    (link,) = reply.body["photo_links"]
    url = urllib.parse.urlparse(link["url"])
    query = urllib.parse.parse_qs(url.query)
    assert url.scheme == "https" and url.path.startswith(f"/people/{person_id}/")
    assert query["X-Amz-Expires"] == ["300"] and query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert datetime.fromisoformat(link["expires_at"]) > datetime.fromisoformat(reply.body["created_at"])


def test_patch_changes_only_the_profile(api, photos, everything):
    person_id = api.register(photos.astronaut).body["person_id"]
    before = everything().people[0]
    reply = api.call("update-person", person_id=person_id, body={"name": " Eileen M. Collins ", "contact_email": None})
    assert reply.status == 200
    assert (reply.body["name"], reply.body["contact_email"]) == ("Eileen M. Collins", None)
    after = everything().people[0]
    assert "contact_email" not in after
    assert {k: v for k, v in after.items() if k not in ("name", "contact_email", "updated_at")} == {
        k: v for k, v in before.items() if k not in ("name", "contact_email", "updated_at")
    }


def _person(number: int) -> dict:
    return Person(
        person_id=f"00000000-0000-4000-8000-{number:012d}",
        name=f"Customer {number}",
        consent={"given_by": f"Customer {number}", "given_at": "2026-01-01T00:00:00+00:00", "wording_version": "v1"},
        face_ids=[f"face-{number}"],
        photo_keys=[f"people/{number}/face.jpg"],
        created_at="2026-01-01T00:00:00+00:00",
        updated_at="2026-01-01T00:00:00+00:00",
    ).model_dump(exclude_none=True)


def test_list_is_paginated_and_hides_people_being_erased(api):
    table = boto3.resource("dynamodb").Table(api.stack.ref("PeopleTable"))
    for number in range(7):
        table.put_item(Item=_person(number))
    table.put_item(Item={**_person(99), "erasure_started_at": "2026-11-24T10:00:00+00:00"})
    seen, token, pages = [], None, 0
    while True:
        reply = api.call("list-people", query={"limit": "3", **({"next_token": token} if token else {})})
        assert reply.status == 200
        pages += 1
        seen += [person["person_id"] for person in reply.body["people"]]
        token = reply.body["next_token"]
        if not token:
            break
    assert sorted(seen) == [f"00000000-0000-4000-8000-{n:012d}" for n in range(7)]
    assert pages >= 3


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_list_limit_is_validated(api, limit):
    reply = api.call("list-people", query={"limit": limit})
    assert (reply.status, reply.code) == (422, "validation_error")


def test_search_finds_the_registered_person_in_another_photo(api, photos, everything):
    person_id = api.register(photos.astronaut).body["person_id"]
    before = everything()
    reply = api.call("search", body={"photo": b64(photos.astronaut_flipped)})
    assert reply.status == 200
    (match,) = reply.body["matches"]
    assert (match["person_id"], match["name"]) == (person_id, "Eileen Collins")
    assert match["similarity"] >= 85
    assert everything() == before  # searching stores nothing


def test_search_recognises_a_registered_person_in_a_sideways_photo(api, photos):
    person_id = api.register(photos.astronaut).body["person_id"]
    reply = api.call("search", body={"photo": b64(photos.astronaut_sideways)})
    assert [match["person_id"] for match in reply.body["matches"]] == [person_id]


def test_search_finds_nobody_for_an_unregistered_face(api, photos):
    api.register(photos.astronaut)
    reply = api.call("search", body={"photo": b64(photos.camera)})
    assert (reply.status, reply.body) == (200, {"matches": []})


@pytest.mark.parametrize(
    ("photo", "status", "code"),
    [("coffee", 422, "no_face"), ("random_bytes", 422, "not_an_image"), ("truncated", 422, "truncated_image")],
)
def test_search_refuses_bad_photos(api, photos, photo, status, code):
    reply = api.call("search", body={"photo": b64(getattr(photos, photo))})
    assert (reply.status, reply.code) == (status, code)
