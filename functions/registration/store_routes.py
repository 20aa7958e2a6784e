"""The Store screen's routes: what each camera is doing, today's hours and the override (GET /store), and a
manager's override (POST /store/override), which starts the store-hours state machine with the same input a
manager would give it by hand (`{"action": "open" | "close" | "resume", "until"?, "reason"?}`).

The state machine decides and acts (it turns the cameras on or off, keeps the override, reschedules); this API
checks the request first, so a mistyped `until` gets a clear refusal here instead of a failed run later."""

import hashlib
import json
from datetime import UTC, date, datetime
from http import HTTPStatus
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from access import Permission
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from botocore.exceptions import ClientError
from errors import IdempotencyKeyReused, InvalidOverride
from greeter_common.store_calendar import (
    MAX_OVERRIDE,
    HoursError,
    Override,
    StoreCalendar,
    override_until,
    read_special_days,
    read_weekly_hours,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from routes import answer, audit, current_staff, refusals
from store_state import STAFF_PREFIX
from wiring import settings, store_state

router = APIGatewayRouter()

_ZONE = ZoneInfo(settings.store_time_zone)
_WEEKLY, _WEEKLY_PROBLEMS = read_weekly_hours(settings.weekly_hours)
WEEKLY = StoreCalendar(_ZONE, _WEEKLY)


class CameraView(BaseModel):
    camera: str
    detection: str = Field(
        description="RUNNING (searching for registered customers), STOPPED, or a processor's STARTING, STOPPING, "
        "FAILED; UNKNOWN when the camera has no processor."
    )
    changed_at: str | None = Field(description="When it last changed, store time (null: not recorded).")


class TodayView(BaseModel):
    date: str = Field(description="Today in the store's time zone, YYYY-MM-DD.")
    hours: str = Field(
        description='Today\'s opening hours, "09:00-18:00" (several ranges: "09:00-12:30,13:30-18:00"), or "closed".'
    )
    why: str = Field(
        description='Where the hours come from: "Tuesday hours ...", "special hours ...", "closed date ...".'
    )
    open_by_hours: bool = Field(description="Whether the hours say the store is open now (an override aside).")
    next_opening: str | None = Field(description="The next opening by the hours, store time.")
    next_closing: str | None = Field(description="The next closing by the hours, store time.")


class OverrideView(BaseModel):
    action: Literal["open", "close"]
    until: str = Field(description="When the override ends and the hours apply again, store time.")
    set_at: str
    reason: str = ""


class OverrideRequestView(BaseModel):
    action: str
    started_at: str
    status: str = Field(description="The state machine's run: RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED.")


class StoreView(BaseModel):
    store_name: str
    time_zone: str
    local_time: str
    detection_mode: str
    wanted: Literal["RUNNING", "STOPPED"] = Field(description="What detection should be doing now.")
    cameras: list[CameraView]
    today: TodayView
    override: OverrideView | None = Field(description="The manager's override in force (null: the hours apply).")
    last_request: OverrideRequestView | None = Field(description="The latest override a manager asked for.")
    calendar_problems: list[str] = Field(description="Hours or special days that cannot be read (they are ignored).")
    may_override: bool = Field(description="Whether the caller's role may override the hours.")


class OverrideRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["open", "close", "resume"] = Field(
        description="open: detection on now; close: off now; resume: forget the override, the hours apply."
    )
    until: str | None = Field(
        default=None,
        max_length=40,
        description='When an open/close ends: "22:00" (its next occurrence, store time) or an ISO 8601 time, at most '
        "14 days ahead. Default: the next time the hours open or close the store.",
    )
    reason: str = Field(
        default="",
        max_length=200,
        description="Why, for the ops email and the override record; it is kept in the state machine's run history "
        "and logs, so never a customer's name.",
    )


class OverrideStarted(BaseModel):
    action: str
    until: str | None = Field(description="When the override ends, store time (null: resume, the hours apply).")
    started_at: str
    execution: str = Field(description="The store-hours state machine's run doing it.")


def _local(instant: datetime | None) -> str | None:
    return instant.astimezone(_ZONE).isoformat(timespec="seconds") if instant else None


def _calendar() -> tuple[StoreCalendar, list[str]]:
    """The weekly hours with the staff's special days, as the store-hours function reads them."""
    special = read_special_days(store_state.special_days())
    problems = [f"{day} hours: {problem}" for day, problem in _WEEKLY_PROBLEMS.items()]
    problems += [f"special days: {problem}" for problem in special.problems]
    return WEEKLY.with_special_days(special.closed_dates, special.special_hours), problems


def _active_override(now: datetime) -> Override | None:
    try:
        stored = json.loads(store_state.override() or "{}")
        override = Override.model_validate(stored) if stored else None
    except (ValueError, ValidationError):
        return None  # the store-hours function ignores an unreadable override too
    return override if override is not None and override.active(now) else None


@router.get(
    "/store",
    summary="Each camera's detection state, today's hours and the manager's override",
    tags=["store"],
    responses={**answer(StoreView, "The store now"), **refusals()},
)
def store() -> StoreView:
    staff = current_staff()
    now = datetime.now(UTC)
    calendar, problems = _calendar()
    override = _active_override(now)
    today: date = calendar.local(now).date()
    ranges, why = calendar.hours_on(today)
    opening, closing = calendar.next_boundaries(now)
    open_by_hours = calendar.is_open(now)
    if override is not None:
        wanted = "RUNNING" if override.action == "open" else "STOPPED"
    else:
        wanted = "RUNNING" if open_by_hours else "STOPPED"
    # An override lasts at most MAX_OVERRIDE: a request older than that says nothing about the store now.
    run = store_state.latest_override_run(now - MAX_OVERRIDE)
    return StoreView(
        store_name=settings.store_name,
        time_zone=settings.store_time_zone,
        local_time=_local(now),
        detection_mode=settings.detection_mode,
        wanted=wanted,
        cameras=[
            CameraView(
                camera=state.camera,
                detection=state.detection,
                changed_at=_local(datetime.fromisoformat(state.changed_at)) if state.changed_at else None,
            )
            for state in store_state.cameras()
        ],
        today=TodayView(
            date=today.isoformat(),
            hours=",".join(str(r) for r in ranges) or "closed",
            why=why,
            open_by_hours=open_by_hours,
            next_opening=_local(opening.at) if opening else None,
            next_closing=_local(closing.at) if closing else None,
        ),
        override=OverrideView(
            action=override.action, until=_local(override.until), set_at=_local(override.set_at), reason=override.reason
        )
        if override
        else None,
        last_request=OverrideRequestView(action=run.action, started_at=_local(run.started_at), status=run.status)
        if run
        else None,
        calendar_problems=problems,
        may_override=staff.may(Permission.OVERRIDE_STORE_HOURS),
    )


RequestKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=200,
        description="A unique string per button press: a retry with the same key is the same state-machine run.",
    ),
]


@router.post(
    "/store/override",
    summary="Override the store hours: detection on now, off now, or back to the hours",
    description="Starts the store-hours state machine with the manager's input; it turns the cameras on or off "
    "within a minute. Two overrides at once are two runs: the later decision stands.",
    tags=["store"],
    responses={
        **answer(OverrideStarted, "The state machine is acting on it", 202),
        **refusals(InvalidOverride, IdempotencyKeyReused, body=True),
    },
)
def override(request: OverrideRequest, idempotency_key: RequestKey = None) -> Response[OverrideStarted]:
    staff = current_staff()
    now = datetime.now(UTC)
    until = None
    if request.action == "resume":
        if request.until:
            raise InvalidOverride("resume has no end: leave 'until' out")
    elif request.until:
        calendar, _ = _calendar()
        try:
            until = override_until(request.until, calendar, now)
        except HoursError as error:
            raise InvalidOverride(str(error)) from None
    else:
        calendar, _ = _calendar()
        boundary = calendar.next_change(now)
        until = boundary.at if boundary is not None else now + MAX_OVERRIDE
    # A run's name says what it is (the screen finds the latest one by it); a retry with the same key is the
    # same name, so the same run. Hashed: the name is shown in the console and kept in the run's history.
    request_id = idempotency_key or router.current_event.request_context.request_id
    name = f"{STAFF_PREFIX}{request.action}-{hashlib.sha256(request_id.encode()).hexdigest()[:40]}"
    execution_input = json.dumps(request.model_dump(exclude_defaults=True), sort_keys=True)
    try:
        started = store_state.start_override(name, execution_input)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ExecutionAlreadyExists":
            raise IdempotencyKeyReused("this Idempotency-Key was already used for a different override") from None
        raise
    audit(staff, "override_store_hours", f"store hours {request.action}")
    view = OverrideStarted(action=request.action, until=_local(until), started_at=_local(started), execution=name)
    return Response(HTTPStatus.ACCEPTED, content_types.APPLICATION_JSON, view)
