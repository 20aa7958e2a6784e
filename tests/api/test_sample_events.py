"""The sample events in events/ (for `sam local invoke`) are real API Gateway shapes that the function, freshly
imported with the template's environment (a cold start), accepts as well-formed requests of their route."""

import json
from pathlib import Path

import pytest
from stack import create_state_machine_on_moto

EVENTS = sorted((Path(__file__).resolve().parents[2] / "events").glob("registration-*.json"))
# On a fresh stack the sample person id is nobody: those routes answer person_not_found, after validation.
EXPECTED = {
    "registration-register-person.json": (201, None),
    "registration-list-people.json": (200, None),
    "registration-search.json": (200, None),
    "registration-get-person.json": (404, "person_not_found"),
    "registration-update-person.json": (404, "person_not_found"),
    "registration-erase-person.json": (404, "person_not_found"),
    "registration-add-photo.json": (404, "person_not_found"),
    "registration-me.json": (200, None),
    "registration-list-visits.json": (200, None),
    "registration-visits-now.json": (200, None),
    "registration-export-visits.json": (200, None),
    "registration-person-visits.json": (404, "person_not_found"),
    "registration-acknowledge-visit.json": (404, "visit_not_found"),
    "registration-visit-video.json": (404, "person_not_found"),
    "registration-store.json": (200, None),
    "registration-store-override.json": (202, None),
}


def test_there_is_a_sample_event_per_route():
    assert sorted(path.name for path in EVENTS) == sorted(EXPECTED)


@pytest.fixture
def cold_function(stack, monkeypatch):
    # POST /store/override starts the store-hours state machine: create it on moto as deployed.
    create_state_machine_on_moto(stack, "StoreHoursStateMachine")
    return stack.load_function("RegistrationFunction", monkeypatch)


@pytest.mark.parametrize("path", EVENTS, ids=lambda path: path.stem)
def test_a_sample_event_is_a_well_formed_request(cold_function, lambda_context, path):
    event = json.loads(path.read_text())
    assert event["requestContext"]["authorizer"]["claims"]["token_use"] == "id"
    response = cold_function.lambda_handler(event, lambda_context)
    body = json.loads(response["body"]) if response["body"].startswith("{") else {}
    assert (response["statusCode"], body.get("code")) == EXPECTED[path.name], body


def test_the_sample_registration_then_reads_back(cold_function, lambda_context):
    register = json.loads((EVENTS[0].parent / "registration-register-person.json").read_text())
    person = json.loads(cold_function.lambda_handler(register, lambda_context)["body"])
    get = json.loads((EVENTS[0].parent / "registration-get-person.json").read_text())
    get["path"] = get["requestContext"]["path"] = f"/people/{person['person_id']}"
    get["pathParameters"] = {"person_id": person["person_id"]}
    response = cold_function.lambda_handler(get, lambda_context)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["name"] == "Eileen Collins"
