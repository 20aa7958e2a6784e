"""Shapes the store-hours function reads and writes.

- `SpecialDays`: the staff-editable SSM parameter (closed dates and special hours), e.g.
      {"closed_dates": ["2026-12-25", "2026-12-26"],
       "special_hours": {"2026-12-24": "09:00-14:00"},
       "comment": "Christmas 2026"}
- `Override`: the manager's manual override, kept in its own SSM parameter ("{}" when there is none).
- `StoreHoursRequest`: what the state machine sends (its execution input, the time, the execution).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from hours import HoursError, parse_day_hours
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

Action = Literal["open", "close", "resume"]
Trigger = Literal["opening", "closing", "reconcile"]


class SpecialDays(BaseModel):
    # Unknown keys are refused: a typo ("closed_date") must not silently open the store on Christmas Day.
    model_config = ConfigDict(extra="forbid")

    closed_dates: list[date] = []
    special_hours: dict[date, str] = {}
    comment: str = ""

    @field_validator("special_hours")
    @classmethod
    def _readable_hours(cls, value: dict[date, str]) -> dict[date, str]:
        for day, text in value.items():
            try:
                parse_day_hours(text)
            except HoursError as error:
                raise ValueError(f"{day.isoformat()}: {error}") from None
        return value


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
