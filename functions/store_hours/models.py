"""Shapes the store-hours function reads and writes.

- `SpecialDays`: the staff-editable SSM parameter (closed dates and special hours), e.g.
      {"closed_dates": ["2026-12-25", "2026-12-26"],
       "special_hours": {"2026-12-24": "09:00-14:00"},
       "comment": "Christmas 2026"}
  read entry by entry (`read_special_days`): a mistyped entry is dropped and named, the rest kept.
- `Override`: the manager's manual override, kept in its own SSM parameter ("{}" when there is none).
- `StoreHoursRequest`: what the state machine sends (its execution input, the time, the execution).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from hours import HoursError, parse_day_hours
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

Action = Literal["open", "close", "resume"]
Trigger = Literal["opening", "closing", "reconcile"]


@dataclass(frozen=True)
class SpecialDays:
    """The entries of the special-days parameter that can be read, and what was dropped, entry by entry."""

    closed_dates: tuple[date, ...] = ()
    special_hours: dict[date, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


SPECIAL_DAYS_KEYS = ("closed_dates", "special_hours", "comment")


def read_special_days(raw: str | None) -> SpecialDays:
    """The staff's JSON, read entry by entry: one mistyped date or range drops that entry only (and says
    so), so the other closed dates still hold. Only text that is not a JSON object loses everything."""
    try:
        value = json.loads(raw or "{}")
    except ValueError as error:
        return SpecialDays(problems=(f"not JSON ({error}); nothing in it is used",))
    if not isinstance(value, dict):
        return SpecialDays(problems=("not a JSON object; nothing in it is used",))
    problems = [
        f"unknown key {key!r} ignored (the keys are {', '.join(SPECIAL_DAYS_KEYS)})"
        for key in value
        if key not in SPECIAL_DAYS_KEYS
    ]
    closed: list[date] = []
    dates = value.get("closed_dates", [])
    if not isinstance(dates, list):
        problems.append("closed_dates is not a list of dates; no closed date is used")
        dates = []
    for entry in dates:
        day = _date(entry)
        if day is None:
            problems.append(f"closed_dates entry {entry!r} dropped: not a date (YYYY-MM-DD)")
        else:
            closed.append(day)
    special: dict[date, str] = {}
    entries = value.get("special_hours", {})
    if not isinstance(entries, dict):
        problems.append("special_hours is not an object of date: hours; no special hours are used")
        entries = {}
    for key, text in entries.items():
        day = _date(key)
        if day is None:
            problems.append(f"special_hours entry {key!r} dropped: not a date (YYYY-MM-DD)")
            continue
        try:
            if not isinstance(text, str):
                raise HoursError(f"{text!r} is not text")
            parse_day_hours(text)
        except HoursError as error:
            problems.append(f"special_hours entry {key!r} dropped ({error}); the weekday's hours apply that day")
            continue
        special[day] = text
    return SpecialDays(tuple(closed), special, tuple(problems))


def _date(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()) if len(value.strip()) == 10 else None
    except ValueError:
        return None


class Override(BaseModel):
    model_config = ConfigDict(extra="ignore")

    action: Literal["open", "close"]
    until: AwareDatetime
    set_at: AwareDatetime
    set_by: str = ""
    reason: str = ""

    def active(self, now: datetime) -> bool:
        return now < self.until


class ExecutionInput(BaseModel):
    """The state machine's execution input: a schedule's `{"trigger": ...}` or a manager's `{"action": ...}`."""

    model_config = ConfigDict(extra="forbid")

    action: Action | None = None
    trigger: Trigger | None = None
    # Optional end of a manual override: "22:00" (its next occurrence, store time) or an ISO 8601 time.
    until: str | None = Field(default=None, max_length=40)
    reason: str = Field(default="", max_length=200)

    @field_validator("action", "trigger", mode="before")
    @classmethod
    def _lower_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class StoreHoursRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    input: ExecutionInput = ExecutionInput()
    now: AwareDatetime | None = None  # the state machine passes $$.State.EnteredTime
    execution: str = ""  # the execution's ARN, recorded with a manual override
    # A second look before a run reports a camera: what is wanted now? Read-only (the override is left as is).
    check: bool = False
