"""The registration function's configuration: the environment template.yaml gives it, read once at cold start."""

from typing import Literal

from greeter_common.settings import CommaSeparated
from pydantic import BaseModel, Field, Json


class Settings(BaseModel):
    people_table: str
    visits_table: str
    erasure_audit_table: str
    staff_audit_table: str
    idempotency_table: str
    photos_bucket: str
    # The crops bucket in FrameSearch mode (match snapshots live under snapshots/<person id>/); empty otherwise.
    snapshots_bucket: str = ""
    face_collection: str
    # The similarity at which the cameras treat a face as a registered person; the duplicate check and
    # POST /search use the same bar, so "already registered" means "the cameras would take them for them".
    match_threshold: float = Field(ge=80, le=100)
    visit_history_table: str
    store_time_zone: str
    alert_cooldown_minutes: int = Field(ge=1)
    photo_link_seconds: int = Field(default=300, ge=30, le=3600)
    # The arrivals channel's HTTP endpoint (AppSync Events); "I'm on it" is published there.
    arrivals_http_endpoint: str = ""
    # The Store screen: the cameras, how detection runs and where the store-hours machinery records it.
    cameras: CommaSeparated
    detection_mode: Literal["FrameSearch", "StreamProcessor"]
    # FrameSearch mode: the table the store-hours state machine writes each camera's detection state to.
    frame_search_state_table: str = ""
    # StreamProcessor mode: each camera's processor is <prefix><camera>; its video stream has the same name.
    video_stream_prefix: str
    video_retention_hours: int = Field(ge=1)
    weekly_hours: Json[dict[str, str]]
    special_days_parameter: str
    override_parameter: str
    store_hours_state_machine: str
    store_name: str = ""
