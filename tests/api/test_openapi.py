"""The OpenAPI description is generated from the code and kept in the repo; it never drifts from the code, and
the code's routes are exactly the API Gateway routes the template wires to the function."""

import json
from pathlib import Path

from api_requests import person_body
from stack import load_template

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "functions" / "registration" / "openapi.json"
REGENERATE = ".venv/bin/python tools/openapi.py"


def test_the_kept_openapi_description_matches_the_code(warm_function):
    generated = warm_function.openapi_document() + "\n"
    assert OPENAPI.read_text() == generated, (
        f"{OPENAPI.relative_to(ROOT)} is out of date with the routes/models: regenerate it with `{REGENERATE}`"
    )


def test_every_route_in_the_code_is_an_api_gateway_route_of_the_function_and_back():
    document = json.loads(OPENAPI.read_text())
    in_code = {(path, method) for path, operations in document["paths"].items() for method in operations}
    events = load_template()["Resources"]["RegistrationFunction"]["Properties"]["Events"]
    in_template = {(event["Properties"]["Path"], event["Properties"]["Method"]) for event in events.values()}
    assert in_code == in_template


def test_every_route_documents_its_error_codes():
    document = json.loads(OPENAPI.read_text())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"401", "422", "500", "503"} <= set(responses), (method, path)
            for status, response in responses.items():
                if int(status) >= 400:
                    assert response["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
                    assert response["description"].startswith("code: ")
    register = document["paths"]["/people"]["post"]["responses"]
    assert "consent_required" in register["422"]["description"]
    assert "duplicate_person" in register["409"]["description"]
    assert register["413"]["description"] == "code: image_too_large"


def test_the_photo_limit_is_what_fits_in_lambdas_request_once_base64_encoded(api, photos):
    """The largest photo the API accepts, with every other field at its largest, in the API Gateway event the
    function receives (headers, the token's claims...): the event stays under Lambda's 6 MB request limit."""
    from photos import LAMBDA_REQUEST_BYTES, MAX_PHOTO_BYTES

    assert MAX_PHOTO_BYTES == 4_669_440 < 5 * 1024 * 1024  # under Rekognition's own 5 MB too
    event = api.event("register-person")
    body = person_body(b"\xff" * MAX_PHOTO_BYTES, name="\u00e9" * 100, notes="\u2603" * 2000)
    body["contact_email"] = "e" * 240 + "@example.com"
    event["body"] = json.dumps(body)  # non-ASCII escaped, six characters each: the worst case
    assert len(json.dumps(event).encode()) <= LAMBDA_REQUEST_BYTES
    document = json.loads(OPENAPI.read_text())
    photo = document["components"]["schemas"]["NewPerson"]["properties"]["photo"]
    assert f"{MAX_PHOTO_BYTES:,} bytes" in photo["description"] and photo["maxLength"] == MAX_PHOTO_BYTES * 4 // 3


def test_patch_documents_what_the_validator_refuses():
    patch = json.loads(OPENAPI.read_text())["components"]["schemas"]["PersonPatch"]
    assert patch["minProperties"] == 1 and patch["additionalProperties"] is False
    assert patch["properties"]["name"]["type"] == "string" and patch["properties"]["notes"]["type"] == "string"


def test_every_route_documents_its_success(warm_function):
    document = json.loads(OPENAPI.read_text())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            successes = [status for status in operation["responses"] if int(status) < 400]
            assert len(successes) == 1, (method, path)
            (content,) = operation["responses"][successes[0]]["content"].values()  # JSON, or the CSV export
            assert content["schema"], (method, path)
