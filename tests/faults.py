"""Inject real AWS faults at the botocore boundary, for any client the code under test creates.

Two kinds, as a real network gives them:
  - `fail`: AWS refuses the call. The injector answers with the HTTP error AWS would send (status, error code,
    body in the service's own protocol) before moto sees the call: nothing happened.
  - `lose_answer`: AWS carries the call out (moto does it), then the answer is lost on the way back; botocore
    sees a read timeout, as it would when a connection drops after the request was sent.
  - `die`: the execution environment is gone (a timeout, a crash) before or after AWS carried the call out:
    `ProcessDied` unwinds everything, no handler of the code under test runs.
botocore then parses and retries exactly as it would against AWS. Only the waiting between retries is
skipped, to keep the suite fast. `when` limits a fault to requests whose body contains that text (one
person's id, one table's name).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass

import botocore.handlers
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError
from moto.core.botocore_stubber import MockRawResponse

# The services that answer in JSON (the others in XML); the value is their target prefix.
_JSON_PROTOCOL = {
    "dynamodb": "DynamoDB_20120810",
    "kinesis": "Kinesis_20131202",
    "rekognition": "RekognitionService",
    "sqs": "AmazonSQS",
}


class ProcessDied(BaseException):  # noqa: N818 - not an error the code under test could handle
    """The Lambda execution environment died mid-invocation."""


@dataclass(frozen=True)
class Fault:
    status: int = 0
    code: str = ""
    answer_lost: bool = False  # carried out by AWS, then the answer was lost
    when: str | None = None
    dies: bool = False  # the process dies (after AWS carried the call out when `answer_lost`)


class FaultInjector:
    def __init__(self) -> None:
        self._plan: dict[str, list[Fault]] = {}
        self.calls: Counter[str] = Counter()  # "dynamodb.UpdateItem" -> calls that reached the wire
        self.injected: Counter[str] = Counter()  # call -> faults injected
        self.injected_kinds: Counter[tuple[str, str]] = Counter()  # (call, refused | answer lost | died) -> count
        self._rates: dict[str, tuple[float, float, float]] = {}
        self._rng: random.Random | None = None

    def at_random(self, rates: dict[str, tuple[float, float, float]], seed: int) -> None:
        """Beyond the planned faults, each attempt of a call in `rates` is refused, has its answer lost, or kills
        the process after AWS carried it out, with the given probabilities (seeded: the same run every time)."""
        self._rates, self._rng = rates, random.Random(seed)

    def fail(self, call: str, code: str, times: int = 1, status: int = 400, when: str | None = None) -> None:
        """Make the next `times` attempts of `call` ("sns.Publish", "dynamodb.UpdateItem"...) fail with `code`."""
        self._plan.setdefault(call, []).extend([Fault(status, code, when=when)] * times)

    def lose_answer(self, call: str, times: int = 1, when: str | None = None) -> None:
        """Let AWS carry out the next `times` attempts of `call`, then lose each answer (a read timeout)."""
        self._plan.setdefault(call, []).extend([Fault(answer_lost=True, when=when)] * times)

    def die(self, call: str, after_aws_did_it: bool, when: str | None = None) -> None:
        """The process dies at the next attempt of `call`: before it reached AWS, or after AWS carried it out."""
        self._plan.setdefault(call, []).append(Fault(answer_lost=after_aws_did_it, when=when, dies=True))

    def pending(self, call: str) -> int:
        return len(self._plan.get(call, []))

    def take(self, event_name: str, request) -> tuple[str, Fault | None]:
        """Count the call; the fault planned for it, if any (and it matches the request)."""
        _, service, operation = event_name.split(".")[:3]
        call = f"{service}.{operation}"
        self.calls[call] += 1
        plan = self._plan.get(call)
        if not plan:
            return call, self._random_fault(call)
        body = request.body if isinstance(request.body, str) else (request.body or b"").decode("utf-8", "replace")
        for index, fault in enumerate(plan):
            if fault.when is None or fault.when in body:
                del plan[index]
                self._count(call, fault)
                return call, fault
        return call, self._random_fault(call)

    def _random_fault(self, call: str) -> Fault | None:
        if call not in self._rates or self._rng is None:
            return None
        refused, lost, died = self._rates[call]
        draw = self._rng.random()
        if draw < refused:
            fault = Fault(500, "InternalServerError" if call.startswith("dynamodb") else "InternalError")
        elif draw < refused + lost:
            fault = Fault(answer_lost=True)
        elif draw < refused + lost + died:
            fault = Fault(answer_lost=True, dies=True)
        else:
            return None
        self._count(call, fault)
        return fault

    def _count(self, call: str, fault: Fault) -> None:
        self.injected[call] += 1
        kind = "died" if fault.dies else "answer lost" if fault.answer_lost else "refused"
        self.injected_kinds[(call, kind)] += 1

    def __call__(self, event_name: str, request, **kwargs):
        """The error response for a refused call (None when the call goes through)."""
        call, fault = self.take(event_name, request)
        if fault is None:
            return None
        return self.response(call, fault, request)

    @staticmethod
    def response(call: str, fault: Fault, request) -> AWSResponse:
        service = call.split(".")[0]
        status, code = fault.status, fault.code
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
        call, fault = injector.take(event_name, request)
        if fault is None:
            return stubber(event_name, request, **kwargs)
        if fault.answer_lost:
            stubber(event_name, request, **kwargs)  # AWS did it...
        if fault.dies:
            raise ProcessDied(call)
        if fault.answer_lost:
            raise ReadTimeoutError(endpoint_url=request.url)  # ...and the answer never came back
        return injector.response(call, fault, request)

    botocore.handlers.BUILTIN_HANDLERS[index] = (event, send)

    from botocore.retries import standard

    original_delay = standard.ExponentialBackoff.delay_amount
    standard.ExponentialBackoff.delay_amount = lambda self, context: 0

    def uninstall() -> None:
        botocore.handlers.BUILTIN_HANDLERS[index] = (event, stubber)
        standard.ExponentialBackoff.delay_amount = original_delay

    return uninstall
