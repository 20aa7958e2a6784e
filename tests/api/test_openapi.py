"""The OpenAPI description is generated from the code and kept in the repo; it never drifts from the code, and
the code's routes are exactly the API Gateway routes the template wires to the function."""

import json
from pathlib import Path

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
