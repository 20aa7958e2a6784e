"""Staff roles (Cognito groups) enforced by the API: every route for every role, allowed or refused with 403
`forbidden` and nothing written; a tablet's token replayed against the people routes; the audit trail of writes
and photo reads; a role change through Cognito taking effect with the next token."""

import base64
import json

import boto3
import pytest
from api_requests import b64, person_body

STAFF = {
    "tablet": "counter-tablet@example.com",
    "assistant": "ana@example.com",
    "manager": "maria@example.com",
    None: "new-starter@example.com",  # an account in no group yet
}
ARRIVALS = {"GET /me", "GET /visits/now", "POST /visits/acknowledge", "GET /store"}
ALLOWED = {
    "tablet": ARRIVALS,
    "assistant": ARRIVALS
    | {
        "POST /people",
        "POST /people/{person_id}/photos",
        "GET /people",
        "GET /people/{person_id}",
        "PATCH /people/{person_id}",
        "POST /search",
        "GET /people/{person_id}/visits",
        "GET /people/{person_id}/visits/{first_seen}/video",
    },
    None: {"GET /me"},
}
ALLOWED["manager"] = ALLOWED["assistant"] | {
    "DELETE /people/{person_id}",
    "GET /visits",
    "GET /visits/export",
    "POST /store/override",
}


def claims_of(role: str | None, sub: str = "5b1c7e2a-9d3f-4a6b-8c2d-1e0f9a8b7c6d") -> dict:
    """What API Gateway's Cognito authorizer passes on: every claim a string, groups comma-separated."""
    claims = {"sub": sub, "email": STAFF[role], "token_use": "id", "cognito:username": sub}
    if role:
        claims["cognito:groups"] = role
    return claims


def _requests(photos, person_id: str) -> dict:
    """One well-formed request per route (route key -> api.call arguments), about an existing person."""
    return {
        "GET /me": ("me", {}),
        "POST /people": (
            "register-person",
            {"body": person_body(photos.astronaut), "headers": {"Idempotency-Key": "replayed-key-0001"}},
        ),
        "POST /people/{person_id}/photos": (
            "add-photo",
            {"person_id": person_id, "body": {"photo": b64(photos.astronaut_flipped)}},
        ),
        "GET /people": ("list-people", {}),
        "GET /people/{person_id}": ("get-person", {"person_id": person_id}),
        "PATCH /people/{person_id}": ("update-person", {"person_id": person_id, "body": {"notes": "Likes linen."}}),
        "DELETE /people/{person_id}": ("erase-person", {"person_id": person_id}),
        "POST /search": ("search", {"body": {"photo": b64(photos.astronaut)}}),
        "GET /visits/now": ("visits-now", {}),
        "POST /visits/acknowledge": (
            "acknowledge-visit",
            {"body": {"person_id": person_id, "visit_id": "2026-11-24T10:00:00.000Z"}},
        ),
        "GET /people/{person_id}/visits": ("person-visits", {"person_id": person_id}),
        "GET /visits": ("list-visits", {}),
        "GET /visits/export": ("export-visits", {}),
        "GET /people/{person_id}/visits/{first_seen}/video": (
            "visit-video",
            {"person_id": person_id, "first_seen": "2026-11-24T10:00:00.000Z"},
        ),
        "GET /store": ("store", {}),
        "POST /store/override": ("store-override", {"body": {"action": "close"}}),
    }


def test_the_tested_routes_are_every_route_of_the_api(api, photos):
    from access import ROUTES

    document = json.loads(
        (api.stack.function_code_dir("RegistrationFunction") / "openapi.json").read_text()  # the code's routes
    )
    in_document = {f"{method.upper()} {path}" for path, ops in document["paths"].items() for method in ops}
    assert set(_requests(photos, "x")) == in_document == set(ROUTES)


@pytest.mark.parametrize("role", ["tablet", "assistant", "manager", None], ids=str)
def test_every_route_for_every_role(api, photos, everything, store_hours_machine, role):
    """Refused routes answer 403 `forbidden` and write nothing (no row, face, photo, audit or idempotency
    record); allowed routes run. The person exists, so an allowed route answers as it would in the shop."""
    seeded = api.call("register-person", body=person_body(photos.astronaut_png), claims=claims_of("manager"))
    person_id = seeded.body["person_id"]
    requests = _requests(photos, person_id)
    # Erasure last, registration (a duplicate of the seeded face, refused 409 after the role check) anywhere.
    for route in sorted(requests, key=lambda route: route.startswith("DELETE")):
        event, arguments = requests[route]
        before = everything()
        reply = api.call(event, claims=claims_of(role), **arguments)
        if route in ALLOWED[role]:
            assert reply.status != 403, (route, reply.body)
        else:
            assert (reply.status, reply.code) == (403, "forbidden"), (route, reply.body)
            assert str(role) in reply.body["message"] or "without a role" in reply.body["message"]
            assert everything() == before, route


def test_a_tablet_token_replayed_against_the_people_routes_gets_nothing(api, photos, everything):
    person_id = api.call("register-person", body=person_body(photos.astronaut), claims=claims_of("manager")).body[
        "person_id"
    ]
    before = everything()
    replies = {
        route: api.call(event, claims=claims_of("tablet"), **arguments)
        for route, (event, arguments) in _requests(photos, person_id).items()
        if route not in ARRIVALS
    }
    assert {route: (reply.status, reply.code) for route, reply in replies.items()} == {
        route: (403, "forbidden") for route in replies
    }
    assert "Eileen" not in json.dumps([reply.body for reply in replies.values()])
    assert everything() == before


def test_me_says_who_i_am_and_what_my_role_may_do(api):
    tablet = api.call("me", claims=claims_of("tablet")).body
    assert tablet == {
        "staff": STAFF["tablet"],
        "role": "tablet",
        "permissions": ["acknowledge_arrivals", "see_arrivals", "see_own_account"],
        "routes": sorted(ARRIVALS),
    }
    manager = api.call("me", claims=claims_of("manager")).body
    assert "erase_people" in manager["permissions"] and "DELETE /people/{person_id}" in manager["routes"]
    assert api.call("me", claims=claims_of(None)).body["role"] is None


@pytest.mark.parametrize("groups", ["tablet,manager", "[tablet manager]", '["tablet", "manager"]'])
def test_several_groups_give_the_widest_role(api, groups):
    """However the authorizer writes the list: REST API's commas, HTTP API's brackets, a JSON list."""
    claims = {**claims_of("tablet"), "cognito:groups": groups}
    assert api.call("me", claims=claims).body["role"] == "manager"


def test_the_audit_trail_records_who_read_which_photo_and_every_write(api, photos, everything):
    manager, assistant = claims_of("manager", sub="sub-manager"), claims_of("assistant", sub="sub-assistant")
    person_id = api.call("register-person", body=person_body(photos.astronaut), claims=assistant).body["person_id"]
    api.call("add-photo", person_id=person_id, body={"photo": b64(photos.astronaut_flipped)}, claims=assistant)
    read = api.call("get-person", person_id=person_id, claims=manager)
    assert len(read.body["photo_links"]) == 2
    api.call("list-people", claims=manager)  # names, not photos: not recorded
    api.call("update-person", person_id=person_id, body={"notes": "Prefers mornings."}, claims=assistant)
    api.call("erase-person", person_id=person_id, claims=manager)
    trail = everything().staff_audit
    assert sorted((e["action"], e["staff"], e["staff_sub"], e["role"]) for e in trail) == sorted(
        [
            ("register_person", STAFF["assistant"], "sub-assistant", "assistant"),
            ("add_photo", STAFF["assistant"], "sub-assistant", "assistant"),
            ("read_photos", STAFF["manager"], "sub-manager", "manager"),
            ("update_person", STAFF["assistant"], "sub-assistant", "assistant"),
            ("erase_person", STAFF["manager"], "sub-manager", "manager"),
        ]
    )
    assert {entry["subject"] for entry in trail} == {person_id}
    (photo_read,) = [entry for entry in trail if entry["action"] == "read_photos"]
    assert photo_read["photos"] == 2
    text = json.dumps(trail, default=str)
    assert "Eileen" not in text and "Prefers" not in text and "people/" not in text  # no personal data, no keys


def test_a_photo_read_that_cannot_be_recorded_gives_no_link(api, photos, faults):
    person_id = api.register(photos.astronaut).body["person_id"]
    table = api.stack.ref("StaffAuditTable")
    faults.fail("dynamodb", "PutItem", code="InternalServerError", only_if=lambda p: p.get("TableName") == table)
    reply = api.call("get-person", person_id=person_id)
    assert (reply.status, reply.code) == (503, "service_busy")
    assert "photo_links" not in reply.body


def _decoded(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _as_api_gateway_passes_them(claims: dict) -> dict:
    return {k: ",".join(v) if isinstance(v, list) else str(v) for k, v in claims.items()}


def test_a_role_change_takes_effect_with_the_next_token(api, photos):
    """A manager moves an account from tablet to assistant (Cognito groups): the token signed in before the
    change still carries the tablet role until it expires; the next sign-in's token is an assistant's."""
    cognito = boto3.client("cognito-idp")
    pool, client = api.stack.ref("StaffUserPool"), api.stack.ref("StaffUserPoolClient")
    email, password = "lee@example.com", "Correct-horse-battery-9"
    cognito.admin_create_user(
        UserPoolId=pool, Username=email, UserAttributes=[{"Name": "email", "Value": email}], MessageAction="SUPPRESS"
    )
    cognito.admin_set_user_password(UserPoolId=pool, Username=email, Password=password, Permanent=True)
    cognito.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName="tablet")

    def sign_in() -> dict:
        result = cognito.admin_initiate_auth(
            UserPoolId=pool,
            ClientId=client,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )["AuthenticationResult"]
        return _as_api_gateway_passes_them(_decoded(result["IdToken"]))

    tablet_token = sign_in()
    assert api.call("list-people", claims=tablet_token).code == "forbidden"

    cognito.admin_remove_user_from_group(UserPoolId=pool, Username=email, GroupName="tablet")
    cognito.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName="assistant")
    assert api.call("list-people", claims=tablet_token).code == "forbidden"  # the old token: old role
    assistant_token = sign_in()
    assert api.call("list-people", claims=assistant_token).status == 200
    assert api.call("me", claims=assistant_token).body["role"] == "assistant"
    assert api.call("erase-person", person_id="0b6a7c52-64f2-4e0c-9a3e-5d1f1b2e9c77", claims=assistant_token).code == (
        "forbidden"
    )


def test_the_first_manager_is_created_with_the_stack(stack_factory):
    stack = stack_factory(ManagerEmail="boss@example.com")
    cognito = boto3.client("cognito-idp")
    pool = stack.ref("StaffUserPool")
    groups = cognito.admin_list_groups_for_user(UserPoolId=pool, Username="boss@example.com")["Groups"]
    assert [group["GroupName"] for group in groups] == ["manager"]
    names = {g["GroupName"] for g in cognito.list_groups(UserPoolId=pool)["Groups"]}
    assert names == {"tablet", "assistant", "manager"}
    assert "FirstManager" not in stack_factory().resources  # no ManagerEmail: no account


def test_a_visits_export_is_recorded_with_who_and_which_days(api, everything):
    reply = api.call("export-visits", query={"from": "2026-11-01", "to": "2026-11-30"}, claims=claims_of("manager"))
    assert reply.status == 200 and reply.body.startswith("\ufeff")
    (entry,) = everything().staff_audit
    assert (entry["action"], entry["subject"], entry["staff"]) == (
        "export_visits",
        "visits 2026-11-01..2026-11-30",
        STAFF["manager"],
    )
