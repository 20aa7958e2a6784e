"""Store hours: template.yaml on moto with Step Functions really executing statemachines/store_hours.asl.json.

What is real and what is bent, at the boundaries only:
- moto's Step Functions interpreter runs the ASL file (with the template's DefinitionSubstitutions);
  its AWS SDK integrations reach the shared Rekognition fake and moto's Scheduler through moto's HTTP
  layer; its DynamoDB and SNS integrations reach moto's tables and topics.
- `lambda:invoke` goes through moto's Lambda API to a function created from the template; moto would
  run the code in a Docker container (`LambdaFunction._invoke_lambda`). That one method is replaced by
  an in-process call of the REAL handler (functions/store_hours/app.py, imported with the template's
  environment), returning what Lambda returns: the JSON result, or an error payload with errorType.
- moto names SDK-integration errors after the lower-case service ("rekognition.ThrottlingException");
  AWS names them "Rekognition.ThrottlingException" (PascalCase service, the names the ASL uses). The
  service-name table moto keeps for this gets the two services the ASL calls through aws-sdk.
- moto's Choice rules read a timestamp only as "2026-05-11T08:00:00Z"; AWS reads any RFC 3339 time, and
  $$.State.EnteredTime carries fractions of a second ("...08:00:00.123Z"; moto writes "+00:00"). The
  Timestamp* comparisons get AWS's reading.
- Wait states and Retry intervals are recorded instead of slept, and move the (travelled) clock forward
  by what they would have slept, so a 4-minute poll takes milliseconds and still reaches its deadline.
  Map iterations run side by side, so each one's waits add up on the one clock: time passes faster than
  it would, never slower. A test can hold one execution at its next wait, to let another run overtake it.
- moto parses the definition again for every execution (ANTLR in Python, ~0.15 s for this one); the
  parsed program keeps no execution state (moto shares it between concurrent Map iterations itself),
  so it is parsed once per definition text.
- The clock: each run happens at a chosen instant (time-machine moves the whole process's wall clock,
  so $$.State.EnteredTime, which the state machine hands to the function, is that instant).
"""

from __future__ import annotations

import functools
import io
import json
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
import time_machine
from moto import mock_aws
from moto.awslambda.models import LambdaFunction
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.is_operator import (
    IsTimestamp,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_aws_sdk
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from stack import ROOT, Stack, create_state_machine_on_moto

from local.rekognition import FakeRekognition, install
from local.store_hours import rfc3339

ASL = ROOT / "statemachines" / "store_hours.asl.json"
MOTO_CONFIG = {
    "stepfunctions": {"execute_state_machine": True},
    # Keep boto3's default session (and its loaded service models) from test to test: the fake
    # credentials are in the environment before any session exists (tests/conftest.py), so there is no
    # real session to hide, and reloading ~15 service models per test would double the suite's time.
    "core": {
        "mock_credentials": True,
        "passthrough": {"urls": [], "services": []},
        "reset_boto3_session": False,
        "service_whitelist": None,
    },
}
WEEKDAY_HOURS = "09:00-18:00"


_parse_once = functools.lru_cache(maxsize=8)(AmazonStateLanguageParser.parse)


@dataclass
class Clock:
    """What the state machine would have slept (Wait states and Retry intervals, in seconds); sleeping moves
    the travelled clock instead. `hold(execution)` stops that execution at its next wait until released."""

    waits: list[float] = field(default_factory=list)
    retry_sleeps: list[float] = field(default_factory=list)
    coordinates: Any = None
    held: dict[str, tuple[threading.Event, threading.Event]] = field(default_factory=dict)

    @contextmanager
    def at(self, instant: datetime) -> Iterator[None]:
        """The whole process's wall clock at `instant` (ticking), until the block ends."""
        with time_machine.travel(instant, tick=True) as coordinates:
            self.coordinates = coordinates
            try:
                yield
            finally:
                self.coordinates = None

    def move_to(self, instant: datetime) -> None:
        self.coordinates.move_to(instant)

    def wait(self, env, seconds: float) -> None:
        execution = env.states.context_object.context_object_data["Execution"]["Name"]
        if execution in self.held:
            reached, released = self.held.pop(execution)
            reached.set()
            assert released.wait(30), f"{execution} was held and never released"
        self.waits.append(seconds)
        self._advance(seconds)

    def sleep(self, seconds: float) -> None:
        self.retry_sleeps.append(seconds)
        self._advance(seconds)

    def _advance(self, seconds: float) -> None:
        if self.coordinates is not None:
            self.coordinates.shift(seconds)

    def hold(self, execution: str) -> tuple[threading.Event, threading.Event]:
        """(reached, release) for the execution of that name: `reached` is set when it is held at its next
        wait; set `release` to let it go on."""
        self.held[execution] = (threading.Event(), threading.Event())
        return self.held[execution]


class InProcessLambda:
    """Runs the real handler of a function moto's Lambda is asked to invoke."""

    def __init__(self) -> None:
        self.modules: dict[str, Any] = {}
        self.events: list[dict] = []
        self.held: dict[str, tuple[threading.Event, threading.Event]] = {}

    def hold(self, execution: str) -> tuple[threading.Event, threading.Event]:
        """(reached, release): the execution of that name's next invocation answers only once released (a
        slow Lambda), its answer made when it was called; `reached` is set when it is held."""
        self.held[execution] = (threading.Event(), threading.Event())
        return self.held[execution]

    def invoke(self, function: LambdaFunction, event: Any) -> tuple[str, bool, str]:
        module = self.modules[function.function_name]
        event = json.loads(event) if isinstance(event, str | bytes) else event
        self.events.append(event)
        hold = self.held.pop(str(event.get("execution", "")).rsplit(":", 1)[-1], None)
        if hold is not None:
            answer = self._answer(module, function, event)
            reached, released = hold
            reached.set()
            assert released.wait(30), "a held invocation was never released"
            return answer
        return self._answer(module, function, event)

    def _answer(self, module: Any, function: LambdaFunction, event: dict) -> tuple[str, bool, str]:
        context = SimpleNamespace(
            function_name=function.function_name,
            function_version="$LATEST",
            invoked_function_arn=function.function_arn,
            memory_limit_in_mb=256,
            aws_request_id=f"req-{len(self.events)}",
            get_remaining_time_in_millis=lambda: 15_000,
        )
        try:
            return json.dumps(module.lambda_handler(event, context)), False, ""
        except Exception as error:  # noqa: BLE001 - Lambda turns any exception into an error payload
            payload = {"errorType": type(error).__name__, "errorMessage": str(error), "stackTrace": []}
            return json.dumps(payload), True, ""


@pytest.fixture
def sfn_aws(monkeypatch):
    """moto with executing Step Functions, the Rekognition fake, instant waits and in-process Lambda."""
    fake = FakeRekognition()
    uninstall = install(fake)
    clock = Clock()
    lambdas = InProcessLambda()
    names = state_task_service_aws_sdk._SERVICE_ERROR_NAMES
    monkeypatch.setitem(names, "rekognition", "Rekognition")
    monkeypatch.setitem(names, "scheduler", "Scheduler")
    monkeypatch.setattr(WaitFunction, "_wait_interval", lambda self, env, wait_seconds: clock.wait(env, wait_seconds))
    monkeypatch.setattr(retrier_decl, "time", SimpleNamespace(sleep=clock.sleep))
    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", lambda self, event=None: lambdas.invoke(self, event))
    monkeypatch.setattr(AmazonStateLanguageParser, "parse", staticmethod(_parse_once))
    monkeypatch.setattr(IsTimestamp, "string_to_timestamp", staticmethod(rfc3339))
    try:
        with mock_aws(config=MOTO_CONFIG):
            yield SimpleNamespace(rekognition=fake, clock=clock, lambdas=lambdas)
    finally:
        uninstall()


@dataclass
class Run:
    """One finished execution: its status, output or error, and its history."""

    arn: str
    status: str
    output: dict | None
    error: str | None
    cause: str | None
    history: list[dict]

    def states_entered(self) -> list[str]:
        return [e["stateEnteredEventDetails"]["name"] for e in self.history if "stateEnteredEventDetails" in e]


class StoreHours:
    """The deployed store-hours pieces, and a way to run the state machine at a given instant."""

    def __init__(self, stack: Stack, env: SimpleNamespace, monkeypatch):
        self.stack = stack
        self.rekognition: FakeRekognition = env.rekognition
        self.clock: Clock = env.clock
        self.lambdas: InProcessLambda = env.lambdas
        self.sfn = boto3.client("stepfunctions")
        self.state_machine_arn = create_state_machine_on_moto(stack, "StoreHoursStateMachine")
        self._install_function(monkeypatch)
        self.ops_queue_url = self._subscribe_queue(stack.ref("OpsTopic"))
        self._ops_inbox: list[dict] = []

    def _install_function(self, monkeypatch) -> None:
        """Create StoreHoursFunction in moto's Lambda from the template, its real code loaded in-process."""
        name = self.stack.ref("StoreHoursFunction")
        role = boto3.client("iam").create_role(
            RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
        )["Role"]["Arn"]
        code = io.BytesIO()
        code_dir = self.stack.function_code_dir("StoreHoursFunction")
        with zipfile.ZipFile(code, "w") as archive:
            for source in code_dir.glob("*.py"):
                archive.write(source, source.name)
        properties = self.stack.resources["StoreHoursFunction"]["Properties"]
        boto3.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=role,
            Handler=properties["Handler"],
            Code={"ZipFile": code.getvalue()},
            Environment={"Variables": self.stack.function_environment("StoreHoursFunction")},
        )
        self.lambdas.modules[name] = self.stack.load_function("StoreHoursFunction", monkeypatch)

    def _subscribe_queue(self, topic_arn: str) -> str:
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName=f"{self.stack.name}-ops-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        boto3.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        return url

    # ------------------------------------------------------------------ running
    def run(self, execution_input: dict, at: datetime, timeout: float = 30.0) -> Run:
        """Start an execution at wall-clock instant `at` and wait for it to finish."""
        with self.clock.at(at):
            return self.finish(self.start(execution_input), timeout)

    def start(self, execution_input: dict, name: str | None = None) -> str:
        """Start an execution at the clock's time (inside `clock.at`); returns its ARN."""
        # Named explicitly: moto gives an unnamed execution's context object the name "None".
        return self.sfn.start_execution(
            stateMachineArn=self.state_machine_arn, name=name or uuid.uuid4().hex, input=json.dumps(execution_input)
        )["executionArn"]

    def finish(self, arn: str, timeout: float = 30.0) -> Run:
        """Wait for an execution to end (inside `clock.at`)."""
        deadline = time.monotonic() + timeout
        while (described := self.sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline, f"execution still running after {timeout} s"
            time.sleep(0.01)
        # Read the ops inbox while the clock is still travelled: moto expires SQS messages older than the
        # queue's retention period, measured against the real clock otherwise.
        self._ops_inbox.extend(self._receive_ops_messages())
        history = self.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        output = json.loads(described["output"]) if described.get("output") else None
        return Run(arn, described["status"], output, described.get("error"), described.get("cause"), history)

    # ------------------------------------------------------------------ what moto holds
    def processor(self, camera: str) -> str:
        return f"{self.stack.name}-{camera}"

    def status(self, camera: str) -> str:
        return self.rekognition.processors[self.processor(camera)].status

    def set_status(self, camera: str, status: str) -> None:
        self.rekognition.processors[self.processor(camera)].status = status

    def calls(self, operation: str, camera: str | None = None) -> int:
        return sum(
            1
            for name, params in self.rekognition.calls
            if name == operation and (camera is None or params.get("Name") == self.processor(camera))
        )

    def _receive_ops_messages(self) -> list[dict]:
        sqs = boto3.client("sqs")
        messages = sqs.receive_message(QueueUrl=self.ops_queue_url, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=self.ops_queue_url, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(m["Body"]) for m in messages]

    def ops_messages(self) -> list[dict]:
        """Notifications published to OpsTopic since the last call (as an email subscriber gets them)."""
        messages, self._ops_inbox = self._ops_inbox + self._receive_ops_messages(), []
        return messages

    def override(self) -> dict:
        value = boto3.client("ssm").get_parameter(Name=self.stack.ref("StoreHoursOverrideParameter"))["Parameter"]
        return json.loads(value["Value"])

    def set_override(self, value: dict) -> None:
        """The manager's override as a manual run stores it."""
        boto3.client("ssm").put_parameter(
            Name=self.stack.ref("StoreHoursOverrideParameter"), Value=json.dumps(value), Type="String", Overwrite=True
        )

    def set_special_days(self, value: dict | str) -> None:
        boto3.client("ssm").put_parameter(
            Name=self.stack.ref("StoreHoursSpecialDaysParameter"),
            Value=value if isinstance(value, str) else json.dumps(value),
            Type="String",
            Overwrite=True,
        )

    def schedule(self, name: str) -> dict:
        return boto3.client("scheduler").get_schedule(GroupName=self.stack.ref("StoreHoursScheduleGroup"), Name=name)

    def boundary_schedules(self) -> dict[str, dict]:
        """The one-time opening/closing schedules the state machine created, by name (not the reconcile one)."""
        group = self.stack.ref("StoreHoursScheduleGroup")
        listed = boto3.client("scheduler").list_schedules(GroupName=group)["Schedules"]
        names = [s["Name"] for s in listed if s["Name"].startswith(("opening-", "closing-"))]
        return {name: self.schedule(name) for name in sorted(names)}

    def frame_search_item(self, camera: str) -> dict | None:
        return (
            boto3.client("dynamodb")
            .get_item(TableName=self.stack.ref("FrameSearchStateTable"), Key={"pk": {"S": f"camera#{camera}"}})
            .get("Item")
        )


@pytest.fixture
def store_hours_factory(sfn_aws, monkeypatch):
    """Deploy template.yaml (StreamProcessor mode unless told otherwise) with the store-hours pieces live."""

    def deploy(**parameters) -> StoreHours:
        parameters.setdefault("AlertEmails", "staff@example.com")
        parameters.setdefault("DetectionMode", "StreamProcessor")
        stack = Stack(parameters)
        # The store-hours resources and what detection needs, each with whatever it references (Stack
        # deploys a referenced resource first); the customer-alert side of the template is not needed here.
        for logical_id in stack.resources:
            if logical_id.startswith("StoreHours") or logical_id.endswith("StreamProcessor"):
                stack.deploy_resource(logical_id)
            if logical_id == "FrameSearchStateTable":
                stack.deploy_resource(logical_id)
        return StoreHours(stack, sfn_aws, monkeypatch)

    return deploy


@pytest.fixture
def store(store_hours_factory) -> StoreHours:
    return store_hours_factory()
