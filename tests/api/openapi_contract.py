"""The API's answers checked against functions/registration/openapi.json: every reply a test gets from the handler
must be a status the route documents, with a body its schema accepts (objects closed: a field the document does
not name is a violation). RegistrationApi.call checks every reply, so every API test is also a contract test."""

import copy
import functools
import json
from pathlib import Path

from jsonschema import Draft202012Validator

OPENAPI = Path(__file__).resolve().parents[2] / "functions" / "registration" / "openapi.json"


def _closed(schema):
    """The schema with additionalProperties: false on every object that lists its properties."""
    if isinstance(schema, dict):
        schema = {key: _closed(value) for key, value in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


@functools.cache
def document() -> dict:
    return json.loads(OPENAPI.read_text())


@functools.cache
def _components() -> dict:
    return _closed(copy.deepcopy(document()["components"]))


def violations(method: str, path_template: str, status: int, body, content_type: str = "application/json") -> list[str]:
    """What is wrong with this answer, per the document (empty when it is exactly as documented)."""
    operation = document()["paths"].get(path_template, {}).get(method.lower())
    if operation is None:
        return [f"{method} {path_template} is not in the document"]
    response = operation["responses"].get(str(status))
    if response is None:
        return [f"{method} {path_template} answered {status}, which it does not document"]
    content = response.get("content", {})
    if body is not None and content_type not in content:
        return [f"{method} {path_template} {status} sent {content_type}, which it does not document"]
    schema = content.get(content_type, {}).get("schema")
    if schema is None:
        return [] if body is None else [f"{method} {path_template} {status} documents no body but sent one"]
    validator = Draft202012Validator({**_closed(schema), "components": _components()})
    problems = [
        f"{method} {path_template} {status}: {error.json_path}: {error.message}"
        for error in validator.iter_errors(body)
    ]
    code = body.get("code") if isinstance(body, dict) else None
    if status >= 400 and code and code not in response["description"]:
        problems.append(f"{method} {path_template} {status}: code {code} is not listed ({response['description']})")
    return problems
