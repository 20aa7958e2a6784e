"""Every bad input gets a 4xx with its stable code, and nothing is written anywhere (no row, no face, no photo
version, no audit entry). Photos are real: skimage's astronaut, camera and coffee, and edited copies."""

import json

import pytest
from api_requests import UNSET, b64, person_body

PHOTO_CASES = {
    # case: (photo attribute, status, code, reason prefix for low_quality)
    "random bytes": ("random_bytes", 422, "not_an_image", None),
    "a GIF": ("gif", 422, "not_an_image", None),
    "a truncated JPEG": ("truncated", 422, "truncated_image", None),
    "over the photo limit": ("too_large", 413, "image_too_large", None),
    "no face (coffee)": ("coffee", 422, "no_face", None),
    "two people": ("several_faces", 422, "several_faces", None),
    "sideways": ("astronaut_sideways", 422, "face_rotated", None),
    "upside down": ("astronaut_upside_down", 422, "face_rotated", None),
    "blurred": ("blurred", 422, "low_quality", "blurred"),
    "dark": ("dark", 422, "low_quality", "too_dark"),
    "face too small": ("tiny_face", 422, "low_quality", "face_too_small"),
    "image under 80 px": ("thumbnail", 422, "low_quality", "image_too_small"),
    # The fake estimates the cameraman's head as turned fully sideways (yaw 90); he is looking through a
    # camera viewfinder, turned well away from the lens.
    "head turned (camera)": ("camera", 422, "low_quality", "head_turned"),
}


@pytest.mark.parametrize("case", PHOTO_CASES)
def test_a_bad_photo_is_refused_with_its_code_and_nothing_is_written(api, photos, everything, rekognition, case):
    attribute, status, code, reason = PHOTO_CASES[case]
    reply = api.register(getattr(photos, attribute))
    assert (reply.status, reply.code) == (status, code), reply.body
    assert reply.body["message"]
    if reason:
        assert any(r.startswith(reason) for r in reply.body["reasons"]), reply.body["reasons"]
    assert everything().nothing
    assert rekognition.call_count("IndexFaces") == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": UNSET}, "name"),
        ({"name": "   "}, "name"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
        ({"contact_email": "not-an-address"}, "contact_email"),
        ({"photo": "this is not base64!"}, "photo"),
        ({"photo": UNSET}, "photo"),
        ({"notes": "x" * 2001}, "notes"),
    ],
)
def test_missing_extra_or_malformed_fields_are_a_validation_error(api, photos, everything, change, field):
    reply = api.call("register-person", body=person_body(photos.astronaut, **change))
    assert (reply.status, reply.code) == (422, "validation_error")
    assert [problem["field"] for problem in reply.body["fields"]] == [field]
    assert "astronaut" not in json.dumps(reply.body)  # never echoes the input back
    assert everything().nothing


@pytest.mark.parametrize(
    "consent",
    [
        UNSET,
        None,
        {"given_by": "Eileen Collins", "given_at": "2026-01-15T10:30:00+00:00"},
        {"given_by": "Eileen Collins", "given_at": "2026-01-15T10:30:00", "wording_version": "2026-01"},
        {"given_by": "Eileen Collins", "given_at": "2999-01-01T00:00:00+00:00", "wording_version": "2026-01"},
        {"given_by": "", "given_at": "2026-01-15T10:30:00+00:00", "wording_version": "2026-01"},
    ],
    ids=["missing", "null", "no wording version", "no time zone", "in the future", "nobody"],
)
def test_no_valid_consent_no_registration(api, photos, everything, consent):
    reply = api.call("register-person", body=person_body(photos.astronaut, consent=consent))
    assert (reply.status, reply.code) == (422, "consent_required")
    assert all(problem["field"].startswith("consent") for problem in reply.body["fields"])
    assert everything().nothing


def test_consent_cannot_be_recorded_by_the_client(api, photos, everything):
    body = person_body(photos.astronaut)
    body["consent"]["recorded_by"] = "someone-else@example.com"
    reply = api.call("register-person", body=body)
    assert (reply.status, reply.code) == (422, "consent_required")
    assert everything().nothing


@pytest.mark.parametrize("raw", ["{not json", "[1, 2", '{"name": "Eileen"'])
def test_invalid_json_is_400(api, everything, raw):
    reply = api.call("register-person", raw_body=raw)
    assert (reply.status, reply.code) == (400, "invalid_json")
    assert everything().nothing


def test_an_empty_body_is_a_validation_error(api, everything):
    reply = api.call("register-person", raw_body="")
    assert (reply.status, reply.code) == (422, "validation_error")
    assert everything().nothing


@pytest.mark.parametrize("body", [[], "a string", 42, None])
def test_json_that_is_not_an_object_is_a_validation_error(api, everything, body):
    reply = api.call("register-person", body=body)
    assert (reply.status, reply.code) == (422, "validation_error")
    assert everything().nothing


def test_a_body_that_is_not_json_is_415(api, photos, everything):
    reply = api.call(
        "register-person", raw_body="name=Eileen", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert (reply.status, reply.code) == (415, "unsupported_media_type")
    assert everything().nothing


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [("InvalidImageFormatException", 422, "not_an_image"), ("ImageTooLargeException", 413, "image_too_large")],
)
def test_rekognition_refusing_the_image_is_the_same_refusal(api, photos, everything, rekognition, error, status, code):
    rekognition.fail("DetectFaces", error)
    reply = api.register(photos.astronaut)
    assert (reply.status, reply.code) == (status, code)
    assert everything().nothing


@pytest.mark.parametrize("photo", ["astronaut_sideways", "astronaut_upside_down"])
def test_a_registered_face_turned_in_the_picture_is_refused_not_registered_again(api, photos, everything, photo):
    assert api.register(photos.astronaut).status == 201
    before = everything()
    reply = api.register(getattr(photos, photo), name="Someone Else")
    assert (reply.status, reply.code) == (422, "face_rotated")
    assert "upright" in reply.body["message"]
    assert everything() == before


def test_a_duplicate_is_409_with_the_registered_persons_id_and_writes_nothing_more(api, photos, everything):
    first = api.register(photos.astronaut)
    before = everything()
    reply = api.register(photos.astronaut_flipped, name="Someone Else")
    assert (reply.status, reply.code) == (409, "duplicate_person")
    assert reply.body["person_id"] == first.body["person_id"]
    after = everything()
    assert (len(after.people), len(after.faces), after.photo_versions) == (1, 1, before.photo_versions)


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("get-person", UNSET),
        ("update-person", {"notes": "x"}),
        ("erase-person", UNSET),
        ("add-photo", "photo"),
    ],
)
def test_an_unknown_person_is_404(api, photos, everything, route, body):
    reply = api.call(
        route,
        person_id="0b6a7c52-64f2-4e0c-9a3e-5d1f1b2e9c77",
        body={"photo": b64(photos.astronaut)} if body == "photo" else body,
    )
    assert (reply.status, reply.code) == (404, "person_not_found")
    assert everything().nothing


def test_a_malformed_person_id_is_a_validation_error(api):
    reply = api.call("get-person", person_id="not-a-uuid")
    assert (reply.status, reply.code) == (422, "validation_error")
    assert reply.body["fields"][0]["field"] == "person_id"


def test_without_staff_claims_nothing_happens(api, photos, everything):
    reply = api.call("register-person", body=person_body(photos.astronaut), claims=None)
    assert (reply.status, reply.code) == (401, "unauthorized")
    assert everything().nothing


@pytest.mark.parametrize("token", ["not base64 at all", "eyJhZnRlciI6ICJ4In0=", "e30="])
def test_a_forged_page_token_is_refused(api, token):
    reply = api.call("list-people", query={"next_token": token})
    assert (reply.status, reply.code) == (422, "invalid_page_token")


@pytest.mark.parametrize(
    "patch",
    [{}, {"name": None}, {"consent": {"given_by": "x"}}, {"face_ids": []}, {"notes": None}],
    ids=["nothing", "remove name", "consent", "faces", "null notes"],
)
def test_patch_changes_profile_fields_only(api, photos, patch):
    person_id = api.register(photos.astronaut).body["person_id"]
    reply = api.call("update-person", person_id=person_id, body=patch)
    assert (reply.status, reply.code) == (422, "validation_error")
    assert api.call("get-person", person_id=person_id).body["name"] == "Eileen Collins"


def test_a_route_no_role_may_call_is_refused_not_a_crash(api):
    """API Gateway only sends the routes the template wires; anything else is open to no role (access.ROUTES)."""
    event = api.event("get-person")
    event.update(path="/nowhere", resource="/nowhere", pathParameters=None)
    response = api.module.lambda_handler(event, api.context)
    assert response["statusCode"] == 403
    assert json.loads(response["body"])["code"] == "forbidden"
