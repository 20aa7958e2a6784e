"""The visit history's routes: a date range's visits, who is in the store now, one person's visits, one visit with
its video, a CSV export, and a staff member's "I'm on it". Dates are store-time days; times carry the store's UTC
offset."""

import csv
import io
from datetime import date, datetime
from typing import Annotated
from urllib.parse import unquote
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from errors import InvalidDateRange, InvalidPageToken, PersonNotFound, VisitNotFound
from greeter_common.visit_history import BadPageToken, Visit
from pydantic import BaseModel, Field
from routes import answer, audit, current_staff, refusals
from wiring import arrivals, directory, people_names, settings, visit_history, visit_video

router = APIGatewayRouter()

MAX_RANGE_DAYS = 92  # a page at a time; the CSV takes up to a year
MAX_EXPORT_DAYS = 366

Day = Annotated[
    date | None, Query(description="A store-time date, YYYY-MM-DD (default: today in the store's time zone).")
]
Limit = Annotated[int, Query(ge=1, le=200, description="Visits per page.")]
NextToken = Annotated[str | None, Query(max_length=1000, description="From the previous page.")]


class VisitView(BaseModel):
    person_id: str
    name: str = Field(description="The person's name now.")
    arrived: str = Field(description="First sighting, ISO 8601 with the store's UTC offset.")
    left: str = Field(description="Last sighting so far, ISO 8601 with the store's UTC offset.")
    minutes: float = Field(description="Time between the first and last sighting.")
    cameras: list[str]
    alerted_at: str | None = Field(description="When staff were alerted (null: no alert went out).")
    acknowledged_by: str | None = Field(description='The staff member who said "I\'m on it".')
    acknowledged_at: str | None
    in_store: bool = Field(description="Seen within the alert cooldown: the visit is still open.")
    visit_id: str = Field(description="Identifies the visit in POST /visits/acknowledge (the first sighting, UTC).")


class VisitsPage(BaseModel):
    visits: list[VisitView]
    next_token: str | None = Field(description="Pass as next_token to get the next page; null on the last page.")


class InStoreVisit(VisitView):
    """An open visit as an arrival card shows it: every role that sees arrivals (the counter tablet too) gets the
    person's notes and photo here, and only here."""

    notes: str = Field(description="Notes for staff.")
    photo_url: str | None = Field(description="A short-lived link to the registered photo (null: none).")


class InStoreNow(BaseModel):
    visits: list[InStoreVisit]


VISIT_ID = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"  # the first sighting, as visit_history.iso() writes it
VISIT_ID_IN_PATH = r"^\d{4}-\d\d-\d\dT\d\d(:|%3A|%3a)\d\d(:|%3A|%3a)\d\d\.\d{3}Z$"


class Acknowledgement(BaseModel):
    person_id: UUID
    visit_id: str = Field(min_length=20, max_length=30, pattern=VISIT_ID)


class ClipView(BaseModel):
    camera: str
    url: str | None = Field(
        description="An HLS session URL (Safari and Chrome on Android play it as it is); null: no video."
    )
    expires_at: str | None = Field(description="When the URL stops playing, store time.")
    unavailable: str | None = Field(description="Why there is no video, as a sentence for staff.")


class VisitWithVideo(BaseModel):
    visit: VisitView
    clips: list[ClipView] = Field(description="One per camera that saw the visit.")


def _local(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, visit_history.time_zone).isoformat(timespec="seconds")


def _views(visits: list[Visit], now: float, names: dict[str, str] | None = None) -> list[VisitView]:
    """The visits of people who still exist. An erased person's visits go with them; one recorded while the
    erasure ran (a sighting already in flight) is left out here, as every reader leaves the person out."""
    if names is None:
        names = people_names.names({visit.person_id for visit in visits})
    open_since = now - settings.alert_cooldown_minutes * 60
    return [
        VisitView(
            person_id=visit.person_id,
            name=names[visit.person_id],
            arrived=_local(visit.first_seen),
            left=_local(visit.last_seen),
            minutes=round(visit.dwell_seconds / 60, 1),
            cameras=list(visit.cameras),
            alerted_at=_local(visit.alerted_at),
            acknowledged_by=visit.acknowledged_by,
            acknowledged_at=_local(visit.acknowledged_at),
            in_store=visit.last_seen >= open_since,
            visit_id=visit.key,
        )
        for visit in visits
        if visit.person_id in names
    ]


def _range(first: date | None, last: date | None, max_days: int) -> tuple[date, date]:
    today = datetime.now(visit_history.time_zone).date()
    last = last or (first if first and first > today else today)
    first = first or last
    if first > last:
        raise InvalidDateRange("'from' is after 'to'")
    if (last - first).days + 1 > max_days:
        raise InvalidDateRange(f"at most {max_days} days at a time")
    return first, last


def _now() -> float:
    return datetime.now(visit_history.time_zone).timestamp()


@router.get(
    "/visits",
    summary="Visits of registered people that began in a date range, newest first",
    tags=["visits"],
    responses={**answer(VisitsPage, "A page of visits"), **refusals(InvalidDateRange, InvalidPageToken)},
)
def list_visits(
    from_: Annotated[date | None, Query(alias="from", description="First store-time date (default: `to`).")] = None,
    to: Annotated[date | None, Query(description="Last store-time date (default: today).")] = None,
    limit: Limit = 50,
    next_token: NextToken = None,
) -> VisitsPage:
    current_staff()
    first, last = _range(from_, to, MAX_RANGE_DAYS)
    try:
        visits, token = visit_history.between(first, last, limit, next_token)
    except BadPageToken as error:
        raise InvalidPageToken(str(error)) from error
    return VisitsPage(visits=_views(visits, _now()), next_token=token)


@router.get(
    "/visits/now",
    summary="Registered people in the store now",
    tags=["visits"],
    responses={**answer(InStoreNow, "Open visits"), **refusals()},
)
def visits_now() -> InStoreNow:
    staff = current_staff()
    now = _now()
    visits = []
    for view in _views(visit_history.in_store_now(now, settings.alert_cooldown_minutes * 60), now):
        person_id = view.person_id
        notes, photo_url = directory.arrival_card(
            person_id, before_photo_link=lambda pid=person_id: audit(staff, "read_photos", pid, photos=1)
        )
        visits.append(InStoreVisit(**view.model_dump(), notes=notes, photo_url=photo_url))
    return InStoreNow(visits=visits)


@router.get(
    "/people/<person_id>/visits",
    summary="One person's visits, newest first",
    tags=["visits"],
    responses={**answer(VisitsPage, "A page of the person's visits"), **refusals(PersonNotFound, InvalidPageToken)},
)
def person_visits(
    person_id: Annotated[UUID, Path(description="The person's id.")],
    limit: Limit = 50,
    next_token: NextToken = None,
) -> VisitsPage:
    current_staff()
    if not people_names.names({str(person_id)}):
        raise PersonNotFound(f"no person {person_id}")
    try:
        visits, token = visit_history.of_person(str(person_id), limit, next_token)
    except BadPageToken as error:
        raise InvalidPageToken(str(error)) from error
    return VisitsPage(visits=_views(visits, _now()), next_token=token)


@router.get(
    "/people/<person_id>/visits/<first_seen>/video",
    summary="One visit and a fresh link to its video from each camera that saw it",
    description="The video runs from 10 s before the first sighting to 10 s after the last (at most an hour); "
    "a camera whose video has expired from its stream, or that was not streaming, gets a sentence instead.",
    tags=["visits"],
    responses={**answer(VisitWithVideo, "The visit and its video"), **refusals(PersonNotFound, VisitNotFound)},
)
def visit_with_video(
    person_id: Annotated[UUID, Path(description="The person's id.")],
    first_seen: Annotated[
        str,
        Path(
            pattern=VISIT_ID_IN_PATH,
            description="The visit's id: its first sighting, e.g. 2026-11-24T10:00:00.000Z (colons encoded or not).",
        ),
    ],
) -> VisitWithVideo:
    staff = current_staff()
    # An erased person's video is not shown, even where a history row outlived the erasure (a sighting recorded
    # while it ran): from the moment erasure starts the person is gone.
    names = people_names.names({str(person_id)})
    if not names:
        raise PersonNotFound(f"no person {person_id}")
    # The resolver matches the request's path as sent: a link's encoded colons (%3A) arrive encoded.
    visit = visit_history.visit(str(person_id), unquote(first_seen))
    if visit is None:  # never was, expired, or erased with the person
        raise VisitNotFound("no such visit")
    # Watching someone's visit is recorded like reading their photos: who, when, whose (their id only).
    audit(staff, "watch_visit_video", str(person_id))
    clips = visit_video.clips(visit.first_seen, visit.last_seen, visit.cameras)
    return VisitWithVideo(
        visit=_views([visit], _now(), names)[0],
        clips=[
            ClipView(camera=clip.camera, url=clip.url, expires_at=_local(clip.expires_at), unavailable=clip.unavailable)
            for clip in clips
        ],
    )


CSV_COLUMNS = ["date", "arrived", "left", "minutes", "name", "person_id", "cameras", "alerted_at", "acknowledged_by"]


@router.get(
    "/visits/export",
    summary="A date range's visits as CSV (opens in a spreadsheet)",
    description="One row per visit, oldest first, with a header row; times in the store's time zone.",
    tags=["visits"],
    responses={
        200: {
            "description": "CSV, UTF-8 with a byte-order mark",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **refusals(InvalidDateRange),
    },
)
def export_visits(
    from_: Annotated[date | None, Query(alias="from", description="First store-time date (default: `to`).")] = None,
    to: Annotated[date | None, Query(description="Last store-time date (default: today).")] = None,
) -> Response[str]:
    staff = current_staff()
    first, last = _range(from_, to, MAX_EXPORT_DAYS)
    audit(staff, "export_visits", f"visits {first.isoformat()}..{last.isoformat()}")
    visits: list[Visit] = []
    token = None
    while True:
        page, token = visit_history.between(first, last, 500, token)
        visits += page
        if token is None:
            break
    out = io.StringIO()
    out.write("\ufeff")  # spreadsheet programs read UTF-8 (accented names) only with the byte-order mark
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for view in reversed(_views(visits, _now())):
        writer.writerow(
            [
                view.arrived[:10],
                view.arrived[11:16],
                view.left[11:16],
                view.minutes,
                _spreadsheet_safe(view.name),
                view.person_id,
                " ".join(view.cameras),
                view.alerted_at or "",
                _spreadsheet_safe(view.acknowledged_by or ""),
            ]
        )
    filename = f"greeter-visits-{first.isoformat()}-to-{last.isoformat()}.csv"
    return Response(
        200,
        "text/csv; charset=utf-8",
        out.getvalue(),
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _spreadsheet_safe(text: str) -> str:
    """A cell that starts with = + - @ runs as a formula in a spreadsheet: make it text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.post(
    "/visits/acknowledge",
    summary='"I\'m on it": this staff member looks after the visitor (the first one to say so stands)',
    tags=["visits"],
    responses={**answer(VisitView, "The visit, acknowledged"), **refusals(VisitNotFound, body=True)},
)
def acknowledge(request: Acknowledgement) -> VisitView:
    staff = current_staff()
    now = _now()
    names = people_names.names({str(request.person_id)})  # an erased person's visit is gone with them
    if not names or not visit_history.acknowledged(str(request.person_id), request.visit_id, staff.name, now):
        raise VisitNotFound("no such visit")
    audit(staff, "acknowledge_visit", str(request.person_id))
    view = _views([visit_history.visit(str(request.person_id), request.visit_id)], now, names)[0]
    # Every tablet shows who is on it (the first to say so), through the arrivals channel; best effort.
    arrivals.publish(
        [
            {
                "type": "ack",
                "visit_id": view.visit_id,
                "person_id": view.person_id,
                "by": view.acknowledged_by,
                "at": view.acknowledged_at,
            }
        ]
    )
    return view
