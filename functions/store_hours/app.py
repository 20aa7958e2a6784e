"""Store hours: tells the store-hours state machine whether detection should run now.

The state machine calls this once per run with its execution input and the time. It answers with
the wanted detection state (RUNNING or STOPPED), why, and the next opening and closing (which the
state machine turns into one-time EventBridge Scheduler schedules). It keeps the manager's manual
override in its SSM parameter. All time-zone and calendar arithmetic lives in hours.py, the rules in
decision.py; this module only reads and writes the two SSM parameters.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

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
from hours import StoreCalendar
from models import Override, SpecialDays, StoreHoursRequest
from pydantic import BaseModel, Json, ValidationError


class Settings(BaseModel):
    store_name: str
    store_time_zone: str
    weekly_hours: Json[dict[str, str]]
    special_days_parameter: str
    override_parameter: str
    reconcile_minutes: int = 10


settings = load_settings(Settings)
# Standard retry mode: a throttled GetParameter/PutParameter backs off and retries a few times, then fails
# the run (the state machine retries the whole call); never the legacy mode's long silent loop.
ssm = SSMProvider(boto3_client=boto3.client("ssm", config=Config(retries={"mode": "standard", "max_attempts": 4})))
# The weekly hours come from template parameters: a bad value fails the deploy-time pattern or this cold start.
WEEKLY = StoreCalendar.from_text(settings.store_time_zone, settings.weekly_hours)


@tracer.capture_method
def load_calendar() -> tuple[StoreCalendar, str | None]:
    """The weekly hours plus the staff's closed dates and special hours; a broken special-days value is
    reported (and alarmed on) but never stops the weekly hours from working."""
    try:
        raw = ssm.get(settings.special_days_parameter, force_fetch=True)
        special = SpecialDays.model_validate_json(raw or "{}")
    except GetParameterError as error:
        logger.warning("special days parameter unreadable; using the weekly hours only", error=str(error))
        return WEEKLY, None
    except ValidationError as error:
        problem = f"{settings.special_days_parameter} is not valid: {_first_error(error)}"
        logger.error("special days ignored", problem=problem)
        metrics.add_metric(name="StoreHoursSpecialDaysInvalid", unit=MetricUnit.Count, value=1)
        return WEEKLY, problem
    return WEEKLY.with_special_days(special.closed_dates, special.special_hours), None


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
    calendar, problem = load_calendar()
    decision, change = decide(
        request, calendar, load_override(), now, Context(settings.store_name, settings.reconcile_minutes, problem)
    )
    save_override(change)
    # 1 while detection should run: on a dashboard next to the processors' state, a mismatch stands out.
    metrics.add_metric(name="StoreHoursDetectionWanted", unit=MetricUnit.Count, value=decision["wanted"] == "RUNNING")
    logger.info("detection decided", decision=decision)
    return decision


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "value"
    return f"{where}: {first['msg']}"
