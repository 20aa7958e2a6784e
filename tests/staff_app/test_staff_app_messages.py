"""Every refusal code the staff API documents has a plain sentence in the app (staff-app/src/messages.js)."""

import json
import re

from staff_app_kit import ROOT

OPENAPI = ROOT / "functions" / "registration" / "openapi.json"
MESSAGES = ROOT / "staff-app" / "src" / "messages.js"
# API Gateway's own answers (template.yaml's GatewayResponses), which the function's OpenAPI cannot list.
GATEWAY = {"unauthorized", "access_denied", "not_found", "throttled", "image_too_large", "timeout", "internal_error"}


def test_every_refusal_code_of_the_api_has_a_sentence_for_staff():
    document = json.loads(OPENAPI.read_text())
    codes = set(GATEWAY)
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    codes |= {code.strip() for code in response["description"].removeprefix("code: ").split("|")}
    sentences = set(re.findall(r"^  ([a-z_]+):\s", MESSAGES.read_text(), re.MULTILINE))
    assert codes - sentences == set()
