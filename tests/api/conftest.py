"""Registration API fixtures: the stack on moto, the real handler fed API Gateway events, real photos, and
fault injection at the AWS boundary (botocore event hooks raising real errors)."""

import functools
import io
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import botocore.handlers
import numpy as np
import openapi_contract
import pytest
from api_requests import UNSET, b64, person_body  # noqa: E402, F401 - shared with the tests
from botocore.exceptions import ClientError, ReadTimeoutError
from greeter_common.visit_history import VisitHistory
from moto import mock_aws
from PIL import Image, ImageFilter
from skimage import data
from stack import Stack, create_state_machine_on_moto

from local.rekognition import FakeRekognition, install

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"


# ---------------------------------------------------------------------- real photos
def _jpeg(image: Image.Image, quality: int = 92) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def photos() -> SimpleNamespace:
    """Real photos: one face (astronaut), another person (camera), several faces, no face, low quality,
    broken files. Built once per test session."""
    astronaut = Image.fromarray(data.astronaut())
    camera = Image.fromarray(data.camera()).convert("RGB")
    both = Image.new("RGB", (1024, 512))
    both.paste(astronaut, (0, 0))
    both.paste(camera, (512, 0))
    whole = _jpeg(astronaut)
    noise = np.random.default_rng(4).integers(0, 256, (1500, 1500, 3), dtype=np.uint8)
    big = _png(Image.fromarray(noise))
    assert len(big) > 5 * 1024 * 1024
    return SimpleNamespace(
        astronaut=whole,
        astronaut_png=_png(astronaut),
        astronaut_flipped=_jpeg(astronaut.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
        astronaut_sideways=_jpeg(astronaut.transpose(Image.Transpose.ROTATE_90)),
        astronaut_upside_down=_jpeg(astronaut.transpose(Image.Transpose.ROTATE_180)),
        camera=_jpeg(camera),
        several_faces=_jpeg(both),
        coffee=_jpeg(Image.fromarray(data.coffee())),
        blurred=_jpeg(astronaut.filter(ImageFilter.GaussianBlur(6))),
        dark=_jpeg(Image.eval(astronaut, lambda v: v // 4)),
        tiny_face=_jpeg(astronaut.resize((160, 160))),
        thumbnail=_jpeg(astronaut.resize((64, 64))),
        truncated=whole[: len(whole) // 2],
        random_bytes=np.random.default_rng(7).integers(0, 256, 50_000, dtype=np.uint8).tobytes(),
        gif=b"GIF89a" + bytes(200),
        too_large=big,
    )


# ---------------------------------------------------------------------- fault injection
@dataclass
class Fault:
    service: str
    operation: str
    when: str  # "before": the call never reaches AWS; "after": AWS did it, then the answer was lost
    error: Exception
    only_if: Any = None  # predicate on the request params
    times: int = 1


@dataclass
class Faults:
    """Make the function's real boto3 calls fail: `fail("s3", "PutObject")` raises a ClientError before the
    call; `lose_answer("rekognition", "IndexFaces")` lets the call happen and then raises a read timeout."""

    pending: list[Fault] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (service, operation) of every call made

    def fail(self, service, operation, code="InternalError", status=500, only_if=None, times=1) -> None:
        error = ClientError(
            {"Error": {"Code": code, "Message": f"injected {code}"}, "ResponseMetadata": {"HTTPStatusCode": status}},
            operation,
        )
        self.pending.append(Fault(service, operation, "before", error, only_if, times))

    def lose_answer(self, service, operation, only_if=None, times=1) -> None:
        error = ReadTimeoutError(endpoint_url=f"https://{service}.eu-west-1.amazonaws.com")
        self.pending.append(Fault(service, operation, "after", error, only_if, times))

    def _fire(self, when: str, event_name: str, params: dict) -> None:
        _, service, operation = event_name.split(".")[:3]
        for fault in self.pending:
            matches = (fault.when, fault.service, fault.operation) == (when, service, operation)
            if matches and fault.times > 0 and (fault.only_if is None or fault.only_if(params)):
                fault.times -= 1
                raise fault.error

    # provide-client-params sees the call's Python parameters; keep them for the before/after-call hooks.
    def remember_params(self, params, context, **kwargs):
        context["greeter_params"] = params

    def before_call(self, event_name, context, **kwargs):
        self.calls.append(tuple(event_name.split(".")[1:3]))
        self._fire("before", event_name, context.get("greeter_params", {}))

    def after_call(self, event_name, context, **kwargs):
        self._fire("after", event_name, context.get("greeter_params", {}))


@pytest.fixture(scope="session")
def _fault_hooks() -> Faults:
    return Faults()


def _hook_into_every_session(injected: Faults) -> None:
    """Register the dispatcher among botocore's built-in handlers, which every session gets when it is made (the
    function's own session, the tests' default one), as moto's stubber does; a session's clients copy its
    handlers, so the function's clients consult the dispatcher on every call."""
    hooks = [
        ("provide-client-params", injected.remember_params),
        ("before-call", injected.before_call),
        ("after-call", injected.after_call),
    ]
    for hook in hooks:
        if hook not in botocore.handlers.BUILTIN_HANDLERS:
            botocore.handlers.BUILTIN_HANDLERS.append(hook)


@pytest.fixture
def faults(_fault_hooks) -> Faults:
    _fault_hooks.pending.clear()
    _fault_hooks.calls.clear()
    yield _fault_hooks
    _fault_hooks.pending.clear()


# ---------------------------------------------------------------------- the API, as API Gateway calls it
@dataclass
class Reply:
    status: int
    body: Any
    headers: dict

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None


class Context:
    """A Lambda context; `remaining_ms` is a number or a function (so time can run out at a chosen step)."""

    function_name = "greeter-RegistrationFunction"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:greeter-RegistrationFunction"
    aws_request_id = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"

    def __init__(self, remaining_ms=28_000):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms() if callable(self.remaining_ms) else self.remaining_ms


class RegistrationApi:
    def __init__(self, stack, module):
        self.stack = stack
        self.module = module
        self.context = Context()

    @staticmethod
    def event(route: str) -> dict:
        return json.loads((EVENTS / f"registration-{route}.json").read_text())

    def call(
        self,
        route,
        *,
        person_id=None,
        first_seen=None,
        body=UNSET,
        raw_body=None,
        query=UNSET,
        headers=None,
        claims=UNSET,
    ):
        """Send the sample event events/registration-<route>.json, with the given changes, to the real handler."""
        event = self.event(route)
        if person_id is not None:
            parameters = {"person_id": str(person_id)} | ({"first_seen": first_seen} if first_seen else {})
            path = event["resource"]
            for name, value in parameters.items():
                path = path.replace("{" + name + "}", value)
            event["path"], event["pathParameters"] = path, parameters
            event["requestContext"]["path"] = f"/v1{path}"
        if body is not UNSET:
            event["body"] = json.dumps(body)
        if raw_body is not None:
            event["body"] = raw_body
        if query is not UNSET:
            event["queryStringParameters"] = query
            event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
        for name, value in (headers or {}).items():
            for key in [k for k in event["headers"] if k.lower() == name.lower()]:
                del event["headers"][key], event["multiValueHeaders"][key]
            if value is not None:
                event["headers"][name], event["multiValueHeaders"][name] = value, [value]
        if claims is None:
            event["requestContext"].pop("authorizer")
        elif claims is not UNSET:
            event["requestContext"]["authorizer"]["claims"] = claims
        event["requestContext"]["requestId"] = str(uuid.uuid4())
        response = self.module.lambda_handler(event, self.context)
        headers = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()} | (
            response.get("headers") or {}
        )
        content_type = (headers.get("Content-Type") or "application/json").split(";")[0]
        body = response.get("body") or None
        if body and content_type == "application/json":
            body = json.loads(body)
        reply = Reply(response["statusCode"], body, headers)
        if event["resource"] in openapi_contract.document()["paths"]:
            problems = openapi_contract.violations(
                event["httpMethod"], event["resource"], reply.status, reply.body, content_type
            )
            assert not problems, problems
        return reply

    def register(self, photo: bytes, idempotency_key=None, **fields) -> Reply:
        return self.call(
            "register-person", body=person_body(photo, **fields), headers={"Idempotency-Key": idempotency_key}
        )

    def add_photo(self, person_id, photo: bytes, idempotency_key=None) -> Reply:
        return self.call(
            "add-photo", person_id=person_id, body={"photo": b64(photo)}, headers={"Idempotency-Key": idempotency_key}
        )


STACK_NAME = "greeterapi"
PARAMETERS = {"AlertEmails": "staff@example.com"}


@pytest.fixture(scope="session")
def warm_function(_fault_hooks):
    """The registration function, imported once per test process with the template's environment, like a
    warm Lambda container. Every test deploys a fresh stack with the same name, so the physical names the
    function was configured with are the new stack's (test_sample_events.py covers the cold start)."""
    uninstall = install(FakeRekognition())
    try:
        with mock_aws(), pytest.MonkeyPatch.context() as patch:
            _hook_into_every_session(_fault_hooks)
            module = Stack(PARAMETERS, name=STACK_NAME).load_function("RegistrationFunction", patch)
    finally:
        uninstall()
    return module


@pytest.fixture
def api(aws, faults, warm_function) -> RegistrationApi:
    return RegistrationApi(Stack(PARAMETERS, name=STACK_NAME).deploy(), warm_function)


@pytest.fixture
def store_hours_machine(api) -> str:
    """The store-hours state machine on moto, as deployed (POST /store/override starts it); its ARN."""
    return create_state_machine_on_moto(api.stack, "StoreHoursStateMachine")


@pytest.fixture
def another_container(api, _fault_hooks, monkeypatch):
    """Call it for one more container of the registration function on the same stack (its own clients and
    resolver, its own cold start): two of them are two Lambda containers serving requests at the same time."""

    def start() -> RegistrationApi:
        _hook_into_every_session(_fault_hooks)
        return RegistrationApi(api.stack, api.stack.load_function("RegistrationFunction", monkeypatch))

    return start


@pytest.fixture
def metrics_emitted(request, capsys):
    """Call it to get the metrics the function emitted so far (tests/conftest.py's emitted_metrics on stdout)."""
    shared = next(
        plugin
        for plugin in request.config.pluginmanager.get_plugins()
        if getattr(plugin, "__file__", None) == str(ROOT / "tests" / "conftest.py")
    )
    return lambda: shared.emitted_metrics(capsys.readouterr().out)


# ---------------------------------------------------------------------- what is stored, everywhere
@dataclass
class Stored:
    people: list[dict]
    faces: list
    photo_versions: list[tuple[str, str]]
    visits: list[dict]
    visit_history: list[dict]
    audit: list[dict]
    staff_audit: list[dict]
    idempotency: list[dict]

    @property
    def nothing(self) -> bool:
        return not (
            self.people
            or self.faces
            or self.photo_versions
            or self.visits
            or self.visit_history
            or self.audit
            or self.staff_audit
        )


@functools.cache
def _dynamodb():
    return boto3.resource("dynamodb", region_name="eu-west-1")


def stored(stack, rekognition) -> Stored:
    """What the stack holds, in every place a person can be."""

    def scan(logical_id: str) -> list[dict]:
        return _dynamodb().Table(stack.ref(logical_id)).scan()["Items"]

    versions = stack.client("s3").list_object_versions(Bucket=stack.ref("PhotosBucket"))
    return Stored(
        people=scan("PeopleTable"),
        faces=rekognition.faces_of(stack.ref("FaceCollection")),
        photo_versions=[
            (v["Key"], v["VersionId"]) for v in versions.get("Versions", []) + versions.get("DeleteMarkers", [])
        ],
        visits=scan("VisitsTable"),
        visit_history=scan("VisitHistoryTable"),
        audit=scan("ErasureAuditTable"),
        staff_audit=scan("StaffAuditTable"),
        idempotency=scan("IdempotencyTable"),
    )


@pytest.fixture
def everything(api, rekognition):
    """Call it to see what the stack holds now: everything().people, .faces, .photo_versions..."""
    return lambda: stored(api.stack, rekognition)


@pytest.fixture
def history(api) -> VisitHistory:
    """The visit history as the match function writes it, in the template's default StoreTimeZone."""
    table = boto3.resource("dynamodb", region_name="eu-west-1").Table(api.stack.ref("VisitHistoryTable"))
    return VisitHistory(table, ZoneInfo("Europe/London"), retention_days=90)


@pytest.fixture
def maria(api, photos) -> str:
    """A registered customer."""
    return api.register(photos.astronaut, name="Maria Silva").body["person_id"]
