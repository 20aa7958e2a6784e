"""What detection should be doing now, and the override bookkeeping: the logic of one state-machine run.

`decide()` is pure: the calendar, the stored override and the time go in; the wanted detection state,
the reasons, the next boundaries (for the opening/closing schedules) and what to do with the stored
override come out. The caller reads and writes the override; nothing here touches AWS.

Runs overlap (a slow reconcile still polling when the closing run starts), so a decision says how long
it holds (`valid_until`: the next boundary, or the override's end) and when the run must stop waiting for
cameras (`camera_deadline`); the state machine acts on it only while it holds.

Override rules (the manager's `{"action": "open" | "close"}`):
- it lasts until the next scheduled boundary (the next time the store opens or closes by its hours),
  or until the `until` the manager gave ("22:00" or an ISO time), at most MAX_OVERRIDE ahead;
- every run in between (reconcile, or a boundary before an explicit `until`) keeps to it;
- the first run after it ends forgets it; `{"action": "resume"}` forgets it at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from greeter_common.store_calendar import (
    HORIZON_DAYS,
    MAX_OVERRIDE,
    Boundary,
    HoursError,
    Override,
    StoreCalendar,
    override_until,
)
from models import ExecutionInput, StoreHoursRequest

RUNNING, STOPPED = "RUNNING", "STOPPED"


class InvalidRequest(ValueError):
    """The execution input cannot be acted on (the state machine fails with this error name)."""


@dataclass(frozen=True)
class OverrideChange:
    """What to do with the stored override after this run."""

    kind: Literal["keep", "set", "clear"]
    override: Override | None = None


@dataclass(frozen=True)
class Context:
    store_name: str
    reconcile_minutes: int
    camera_seconds: int  # how long a run waits for its cameras, counted from the decision
    calendar_problem: str | None = None


def decide(
    request: StoreHoursRequest, calendar: StoreCalendar, stored: Override | None, now: datetime, context: Context
) -> tuple[dict, OverrideChange]:
    execution_input = request.input
    scheduled_open = calendar.is_open(now)
    scheduled = RUNNING if scheduled_open else STOPPED

    if execution_input.action in ("open", "close"):
        override = Override(
            action=execution_input.action,
            until=_override_end(execution_input, calendar, now),
            set_at=now,
            set_by=request.execution,
            reason=execution_input.reason,
        )
        change = OverrideChange("set", override)
        active: Override | None = override
        trigger = "manual"
    elif execution_input.action == "resume":
        change, active, trigger = OverrideChange("clear"), None, "manual"
    else:
        trigger = execution_input.trigger or "reconcile"
        if stored is not None and stored.active(now):
            change, active = OverrideChange("keep"), stored
        elif stored is not None:
            change, active = OverrideChange("clear"), None
        else:
            change, active = OverrideChange("keep"), None

    if active is not None:
        wanted = RUNNING if active.action == "open" else STOPPED
        reason = f"manual override: {active.action} until {_local_words(calendar, active.until)}"
        if active.reason:
            reason += f" ({active.reason})"
        valid_until = active.until
    else:
        wanted, reason = scheduled, calendar.why(now)
        change_at = calendar.next_change(now)
        valid_until = change_at.at if change_at is not None else now + timedelta(days=HORIZON_DAYS)

    local_now = calendar.local(now)
    decision = {
        "wanted": wanted,
        "reason": reason,
        "trigger": trigger,
        "store_name": context.store_name,
        "time_zone": str(calendar.time_zone),
        "local_time": local_now.isoformat(timespec="seconds"),
        "store_open_by_hours": scheduled_open,
        "override": active.model_dump(mode="json") if active else None,
        "calendar_problem": context.calendar_problem,
        # Reconcile runs report a broken camera once an hour (the run in the hour's first minutes); the
        # failed-executions alarm reports at once. Boundary and manual runs always report.
        "notify_ops": trigger != "reconcile" or local_now.minute < context.reconcile_minutes,
        # Timestamps the state machine compares with $$.State.EnteredTime (RFC 3339, UTC). decided_at has a
        # fixed width, so DynamoDB can order two runs' decisions by comparing the strings.
        "decided_at": f"{now.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ}",
        "valid_until": _timestamp(valid_until),
        "camera_deadline": _timestamp(now + timedelta(seconds=context.camera_seconds)),
        "boundaries": [
            _schedule_entry(calendar, boundary, context.store_name)
            for boundary in calendar.next_boundaries(now)
            if boundary is not None
        ],
    }
    return decision, change


def _override_end(execution_input: ExecutionInput, calendar: StoreCalendar, now: datetime) -> datetime:
    if execution_input.until is None:
        boundary = calendar.next_change(now)
        return boundary.at if boundary is not None else now + MAX_OVERRIDE
    try:
        return override_until(execution_input.until, calendar, now)
    except HoursError as error:
        raise InvalidRequest(str(error)) from None


def _local_words(calendar: StoreCalendar, instant: datetime) -> str:
    return f"{calendar.local(instant):%H:%M %a %d %b %Y} ({calendar.time_zone})"


def _timestamp(instant: datetime) -> str:
    return f"{instant.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def _schedule_entry(calendar: StoreCalendar, boundary: Boundary, store_name: str) -> dict:
    """An EventBridge Scheduler one-time schedule for a boundary, in the store's zone when unambiguous.

    Named after its instant ("closing-20260511T1700Z"): every run that sees the same boundary creates
    the same schedule, and no run ever rewrites one, so a slow run cannot move a newer run's schedule."""
    local = boundary.at
    naive = local.replace(tzinfo=None)
    zone = calendar.time_zone
    unambiguous = naive.replace(tzinfo=zone, fold=0).utcoffset() == naive.replace(tzinfo=zone, fold=1).utcoffset()
    if unambiguous:
        expression, time_zone = f"at({naive:%Y-%m-%dT%H:%M:%S})", str(zone)
    else:  # the repeated hour of a fall-back night: say it in UTC
        expression, time_zone = f"at({boundary.at.astimezone(UTC):%Y-%m-%dT%H:%M:%S})", "UTC"
    verb = "opens" if boundary.opens else "closes"
    return {
        "name": boundary.name,
        "schedule_name": f"{boundary.name}-{boundary.at.astimezone(UTC):%Y%m%dT%H%MZ}",
        "at": _timestamp(boundary.at),
        "expression": expression,
        "time_zone": time_zone,
        "description": f"{store_name} {verb} at {_local_words(calendar, boundary.at)}"[:512],
        "input": f'{{"trigger": "{boundary.name}"}}',
    }
