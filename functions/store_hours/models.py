"""Shapes the store-hours function reads: its execution input and what the state machine sends.

The special-days parameter (`read_special_days`) and the manager's override (`Override`) are read by the staff
API too, so they live with the calendar in greeter_common.store_calendar.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

Action = Literal["open", "close", "resume"]
Trigger = Literal["opening", "closing", "reconcile"]


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
