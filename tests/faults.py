"""Inject real AWS error responses at the botocore boundary, for any client the code under test creates.

The injector answers chosen calls with the HTTP error AWS would send (status, error code, body in the
service's own protocol), before moto sees them; botocore then parses and retries them exactly as it
would against AWS. Only the waiting between retries is skipped, to keep the suite fast.
"""

from __future__ import annotations

import json
from collections import Counter

import botocore.handlers
from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import MockRawResponse

_JSON_PROTOCOL = {"dynamodb": "DynamoDB_20120810", "kinesis": "Kinesis_20131202", "rekognition": "RekognitionService"}


class FaultInjector:
    def __init__(self) -> None:
        self._plan: dict[str, list[tuple[int, str]]] = {}
        self.calls: Counter[str] = Counter()  # "dynamodb.UpdateItem" -> calls that reached the wire

    def fail(self, call: str, code: str, times: int = 1, status: int = 400) -> None:
        """Make the next `times` attempts of `call` ("sns.Publish", "dynamodb.UpdateItem"...) fail with `code`."""
        self._plan.setdefault(call, []).extend([(status, code)] * times)

    def pending(self, call: str) -> int:
        return len(self._plan.get(call, []))

    def __call__(self, event_name: str, request, **kwargs):
        _, service, operation = event_name.split(".")[:3]
        call = f"{service}.{operation}"
        self.calls[call] += 1
        plan = self._plan.get(call)
        if not plan:
            return None
        status, code = plan.pop(0)
        if service in _JSON_PROTOCOL:
            body = json.dumps({"__type": code, "message": f"injected {code}"}).encode()
            headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": code}
        else:
            body = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected {code}</Message>"
                "</Error><RequestId>injected</RequestId></ErrorResponse>"
            ).encode()
            headers = {"Content-Type": "text/xml"}
        return AWSResponse(request.url, status, headers, MockRawResponse(body))


def install(injector: FaultInjector):
    """Route every client created from now on through `injector` first; returns the undo function.

    botocore emits `before-send` to every handler and keeps the first response, so a handler placed
    beside moto's would not stop moto from carrying the call out. The injector therefore wraps moto's
    stubber: an injected failure means the call never reached moto, as a failed call never reaches AWS.
    """
    from moto.core.botocore_stubber import BotocoreStubber

    index, (event, stubber) = next(
        (i, entry)
        for i, entry in enumerate(botocore.handlers.BUILTIN_HANDLERS)
        if isinstance(entry[1], BotocoreStubber)
    )

    def send(event_name: str, request, **kwargs):
        return injector(event_name, request) or stubber(event_name, request, **kwargs)

    botocore.handlers.BUILTIN_HANDLERS[index] = (event, send)

    from botocore.retries import standard

    original_delay = standard.ExponentialBackoff.delay_amount
    standard.ExponentialBackoff.delay_amount = lambda self, context: 0

    def uninstall() -> None:
        botocore.handlers.BUILTIN_HANDLERS[index] = (event, stubber)
        standard.ExponentialBackoff.delay_amount = original_delay

    return uninstall
