"""Store hours, run locally as in AWS: the template's state machine on moto's Step Functions interpreter, its
`lambda:invoke` reaching the real store-hours function (in its own process), and the schedules in the stack's
schedule group fired on time, as EventBridge Scheduler fires them.

moto runs a state machine's definition when asked to (`execute_state_machine`); its Lambda would start the
function in Docker, so `LambdaFunction._invoke_lambda` hands the call to the function's process instead,
returning what Lambda returns (the JSON result, or an error payload with errorType). moto's Choice rules
read a timestamp only as "2026-05-11T08:00:00Z"; AWS reads any RFC 3339 time, fractions of a second
included ($$.State.EnteredTime has them), so the Timestamp* comparisons get AWS's reading (`rfc3339`).
moto's Scheduler keeps schedules but never fires them: `Scheduler` reads them every few seconds and starts
the target state machine when one is due (`cron(...)`, `rate(...)` and one-time `at(...)` expressions, in
the schedule's time zone), with the schedule's Input, and deletes a one-time schedule marked
ActionAfterCompletion DELETE once it has fired, as EventBridge Scheduler does.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import boto3

from local.lambda_runtime import FunctionProcess
from local.stack import REGION, Stack, create_state_machine_on_moto

log = logging.getLogger("greeter.local")

STATE_MACHINE = "StoreHoursStateMachine"
FUNCTION = "StoreHoursFunction"


def rfc3339(text: str) -> datetime | None:
    """A timestamp as a Step Functions Choice rule reads it (RFC 3339 with an offset), or None."""
    try:
        instant = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return instant if instant.tzinfo is not None else None


def enable_step_functions(functions: dict[str, FunctionProcess]) -> Callable[[], None]:
    """Let moto execute state machines, with `lambda:invoke` going to `functions` (by function name)."""
    from moto.awslambda.models import LambdaFunction
    from moto.core.config import default_user_config
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.is_operator import (
        IsTimestamp,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_aws_sdk

    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
    # moto names SDK-integration errors after the lower-case service; AWS (and the ASL's Retry/Catch) use these.
    names = state_task_service_aws_sdk._SERVICE_ERROR_NAMES
    added = {service: name for service, name in (("rekognition", "Rekognition"), ("scheduler", "Scheduler"))}
    previous = {service: names.get(service) for service in added}
    names.update(added)
    original = LambdaFunction._invoke_lambda

    def invoke(self: LambdaFunction, event: str | None = None) -> tuple[str, bool, str]:
        process = functions[self.function_name]
        from local.event_sources import FunctionError

        try:
            payload = json.loads(event) if isinstance(event, str | bytes) else (event or {})
            return json.dumps(process.invoke(payload)), False, ""
        except FunctionError as error:
            return json.dumps({**error.payload, "stackTrace": []}), True, ""

    LambdaFunction._invoke_lambda = invoke
    read_timestamp = IsTimestamp.__dict__["string_to_timestamp"]
    IsTimestamp.string_to_timestamp = staticmethod(rfc3339)

    def undo() -> None:
        LambdaFunction._invoke_lambda = original
        IsTimestamp.string_to_timestamp = read_timestamp
        for service, name in previous.items():
            if name is None:
                names.pop(service, None)
            else:
                names[service] = name

    return undo


def deploy_store_hours(stack: Stack, function: FunctionProcess) -> str:
    """Create the state machine on moto and the function in moto's Lambda (so lambda:invoke finds it)."""
    name = stack.ref(FUNCTION)
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(
        RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        for source in stack.function_code_dir(FUNCTION).glob("*.py"):
            archive.write(source, source.name)
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler=function.handler,
        Code={"ZipFile": code.getvalue()},
        Environment={"Variables": stack.function_environment(FUNCTION)},
    )
    return create_state_machine_on_moto(stack, STATE_MACHINE)


# ---------------------------------------------------------------------- schedule expressions
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTHS = {
    m: i
    for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)
}


def _field_matches(spec: str, value: int, low: int, names: dict[str, int] | None = None) -> bool:
    if spec in ("*", "?"):
        return True
    for part in spec.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/")
            step = int(step_text)
        for name, number in (names or {}).items():
            part = part.replace(name, str(number))
        if part in ("*", ""):
            start, end = low, 10_000
        elif "-" in part:
            start, end = (int(v) for v in part.split("-"))
        else:
            start = int(part)
            end = start if step == 1 and "/" not in spec else 10_000
        if start <= value <= end and (value - start) % step == 0:
            return True
    return False


def cron_matches(expression: str, moment: datetime) -> bool:
    """Whether EventBridge's six-field cron (minutes hours day-of-month month day-of-week year) fires at
    `moment` (a whole minute, in the schedule's time zone)."""
    minutes, hours, day, month, weekday, year = expression.split()
    sunday_first = (moment.isoweekday() % 7) + 1  # EventBridge: 1 = Sunday ... 7 = Saturday
    return (
        _field_matches(minutes, moment.minute, 0)
        and _field_matches(hours, moment.hour, 0)
        and _field_matches(day, moment.day, 1)
        and _field_matches(month, moment.month, 1, _MONTHS)
        and _field_matches(weekday, sunday_first, 1, _DAYS)
        and _field_matches(year, moment.year, 1970)
    )


def due(expression: str, zone: str, since: datetime, until: datetime) -> bool:
    """Whether a schedule expression fires in (since, until] (aware datetimes)."""
    tz = ZoneInfo(zone or "UTC")
    if found := re.fullmatch(r"at\((.+)\)", expression):
        at = datetime.fromisoformat(found[1]).replace(tzinfo=tz)
        return since < at <= until
    if found := re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression):
        seconds = int(found[1]) * {"m": 60, "h": 3600, "d": 86400}[found[2][0]]
        return int(until.timestamp()) // seconds > int(since.timestamp()) // seconds
    if found := re.fullmatch(r"cron\((.+)\)", expression):
        minute = since.astimezone(tz).replace(second=0, microsecond=0) + timedelta(minutes=1)
        while minute <= until:
            if cron_matches(found[1], minute):
                return True
            minute += timedelta(minutes=1)
        return False
    log.warning("schedule expression %r is not understood locally; it does not fire", expression)
    return False


class Scheduler:
    """EventBridge Scheduler for the stack's schedule group: fires due schedules at their state machine."""

    def __init__(self, stack: Stack, state_machine_arn: str, check_every: float = 5.0) -> None:
        self.stack = stack
        self.state_machine_arn = state_machine_arn
        self.group = stack.ref("StoreHoursScheduleGroup")
        self.check_every = check_every
        self.fired: list[tuple[str, str]] = []  # (schedule, execution arn)
        self.scheduler = boto3.client("scheduler", region_name=REGION)
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._stop = threading.Event()

    def start_execution(self, run_input: dict, source: str = "on demand") -> str:
        arn = self.sfn.start_execution(
            stateMachineArn=self.state_machine_arn, name=uuid.uuid4().hex, input=json.dumps(run_input)
        )["executionArn"]
        self.fired.append((source, arn))
        log.info("store hours: %s run %s", source, json.dumps(run_input))
        return arn

    def last_runs(self, count: int = 5) -> list[dict]:
        runs = []
        for source, arn in self.fired[-count:]:
            described = self.sfn.describe_execution(executionArn=arn)
            runs.append({"source": source, "status": described["status"], "output": described.get("output")})
        return runs

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        last = datetime.now().astimezone()
        while not self._stop.wait(self.check_every):
            now = datetime.now().astimezone()
            try:
                self._fire_due(last, now)
            except Exception:  # the scheduler keeps going; the terminal says what failed
                log.exception("store hours: the local scheduler failed a round")
            last = now

    def _fire_due(self, since: datetime, until: datetime) -> None:
        pages = self.scheduler.get_paginator("list_schedules").paginate(GroupName=self.group)
        for summary in (s for page in pages for s in page["Schedules"]):
            schedule = self.scheduler.get_schedule(GroupName=self.group, Name=summary["Name"])
            if schedule.get("State") != "ENABLED" or schedule["Target"]["Arn"] != self.state_machine_arn:
                continue
            if due(schedule["ScheduleExpression"], schedule.get("ScheduleExpressionTimezone", "UTC"), since, until):
                self.start_execution(json.loads(schedule["Target"].get("Input") or "{}"), summary["Name"])
                one_time = schedule["ScheduleExpression"].startswith("at(")
                if one_time and schedule.get("ActionAfterCompletion") == "DELETE":
                    self.scheduler.delete_schedule(GroupName=self.group, Name=summary["Name"])


def wait_for(sfn, arn: str, timeout: float = 30.0) -> dict:
    """Wait for an execution to end; its description."""
    deadline = time.monotonic() + timeout
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return described
