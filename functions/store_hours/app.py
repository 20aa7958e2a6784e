"""Store hours: tells the store-hours state machine whether detection should run now.

The state machine calls this once per run with its execution input and the time. It answers with
the wanted detection state (RUNNING or STOPPED), why, and the next opening and closing (which the
state machine turns into one-time EventBridge Scheduler schedules). It keeps the manager's manual
override in its SSM parameter. All time-zone and calendar arithmetic lives in greeter_common.store_calendar
(the staff API's Store screen reads the same calendar), the rules in decision.py; this module only reads and
writes the two SSM parameters.

Hours that cannot be read never stop a run: a weekday parameter that breaks a rule its pattern cannot
express counts as a closed day, a mistyped special-days entry is dropped; either way the decision names
the problem (the state machine emails it to ops) and the StoreHoursCalendarProblems metric alarms.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from decision import Context, InvalidRequest, OverrideChange, decide
from greeter_common.observability import logger, metrics, tracer
from greeter_common.settings import load_settings
from greeter_common.store_calendar import (
    DAY_NAMES,
    WEEKDAYS,
    Override,
    StoreCalendar,
    read_special_days,
    read_weekly_hours,
)
from models import StoreHoursRequest
from pydantic import BaseModel, Json, ValidationError


class Settings(BaseModel):
    store_name: str
    store_time_zone: str
    weekly_hours: Json[dict[str, str]]
    special_days_parameter: str
    override_parameter: str
    reconcile_minutes: int = 10
    camera_seconds: int = 240


settings = load_settings(Settings)
# Standard retry mode: a throttled GetParameter/PutParameter backs off and retries a few times, then fails
# the run (the state machine retries the whole call); never the legacy mode's long silent loop.
ssm = SSMProvider(boto3_client=boto3.client("ssm", config=Config(retries={"mode": "standard", "max_attempts": 4})))
# The weekly hours come from the template's weekday parameters (MondayHours ...), named so in the ops email.
PARAMETERS = dict(zip(WEEKDAYS, DAY_NAMES, strict=True))
_weekly_ranges, _weekly_problems = read_weekly_hours(settings.weekly_hours)
WEEKLY = StoreCalendar(ZoneInfo(settings.store_time_zone), _weekly_ranges)
WEEKLY_PROBLEMS = [
    f"{PARAMETERS[day]}Hours {settings.weekly_hours.get(day, '')!r}: {problem}; {PARAMETERS[day]}s count as "
    "closed until the stack is deployed with hours that can be read"
    for day, problem in _weekly_problems.items()
]


@tracer.capture_method
def load_calendar() -> tuple[StoreCalendar, list[str]]:
    """The weekly hours plus the staff's closed dates and special hours, and every problem found in them.
    A problem costs only the entry it is in: the rest of the calendar keeps working."""
    problems = list(WEEKLY_PROBLEMS)
    try:
        raw = ssm.get(settings.special_days_parameter, force_fetch=True)
    except GetParameterError as error:
        logger.warning("special days parameter unreadable; using the weekly hours only", error=str(error))
        return WEEKLY, problems
    special = read_special_days(raw)
    problems += [f"{settings.special_days_parameter}: {problem}" for problem in special.problems]
    return WEEKLY.with_special_days(special.closed_dates, special.special_hours), problems


@tracer.capture_method
def load_override() -> Override | None:
    raw = ssm.get(settings.override_parameter, force_fetch=True) or "{}"
    stored = json.loads(raw)
    if not stored:
        return None
    try:
        return Override.model_validate(stored)
    except ValidationError:
        logger.warning("stored override unreadable; ignoring it", stored=raw)
        return None


@tracer.capture_method
def save_override(change: OverrideChange) -> None:
    if change.kind == "keep":
        return
    value = change.override.model_dump_json() if change.kind == "set" else "{}"
    ssm.set(settings.override_parameter, value, overwrite=True)
    if change.kind == "set":
        metrics.add_metric(name="StoreHoursManualOverrides", unit=MetricUnit.Count, value=1)
    logger.info("manual override " + ("stored" if change.kind == "set" else "cleared"), override=value)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    try:
        return decide_detection(event)
    except InvalidRequest:
        # A manager's mistyped override: the run fails with InvalidRequest and nothing is changed.
        metrics.add_metric(name="StoreHoursInvalidRequests", unit=MetricUnit.Count, value=1)
        raise


def decide_detection(event: dict) -> dict:
    try:
        request = parse(event=event, model=StoreHoursRequest)
    except ValidationError as error:
        raise InvalidRequest(f"execution input not understood: {_first_error(error)}") from None
    now = request.now or datetime.now(UTC)
    calendar, problems = load_calendar()
    context = Context(
        settings.store_name, settings.reconcile_minutes, settings.camera_seconds, "; ".join(problems) or None
    )
    decision, change = decide(request, calendar, load_override(), now, context)
    if request.check:  # a second look changes nothing and counts nothing
        logger.info("detection checked", wanted=decision["wanted"], reason=decision["reason"])
        return decision
    save_override(change)
    if problems:
        logger.error("store hours problems; the rest of the calendar is in force", problems=problems)
        metrics.add_metric(name="StoreHoursCalendarProblems", unit=MetricUnit.Count, value=len(problems))
    # 1 while detection should run: on a dashboard next to the processors' state, a mismatch stands out.
    metrics.add_metric(name="StoreHoursDetectionWanted", unit=MetricUnit.Count, value=decision["wanted"] == "RUNNING")
    logger.info("detection decided", decision=decision)
    return decision


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "value"
    return f"{where}: {first['msg']}"
