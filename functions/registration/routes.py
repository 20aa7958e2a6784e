"""The API's routes: each reads the request, calls the domain (enrolment, directory, erasure) and shapes the answer."""

import hashlib
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from access import ROUTES, Staff, staff_of
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import idempotent_function
from errors import (
    ApiError,
    ConsentRequired,
    DuplicatePerson,
    FaceRotated,
    Forbidden,
    IdempotencyKeyReused,
    ImageTooLarge,
    InvalidPageToken,
    LowQuality,
    NoFace,
    NotAnImage,
    PersonNotFound,
    PhotoLimitReached,
    RequestInProgress,
    ServiceBusy,
    SeveralFaces,
    TruncatedImage,
    Unauthorized,
    UnsupportedMediaType,
)
from greeter_common.observability import metrics
from models import (
    ErasureReceipt,
    ErrorBody,
    Me,
    NewPerson,
    NewPhoto,
    PeoplePage,
    PersonPatch,
    PersonView,
    SearchRequest,
    SearchResult,
)
from wiring import audit_trail, deadline, directory, enrolment, erasure, idempotency_config, idempotency_store

router = APIGatewayRouter()

PersonId = Annotated[UUID, Path(description="The person's id (returned when they were registered).")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=200,
        description="A unique string (e.g. a UUID) per logical request: for an hour, a retry with the same key "
        "gets the first answer instead of doing the work twice. Without it, a retried registration answers 409 "
        "duplicate_person with the person's id, and a retried photo upload is recognised by its body.",
    ),
]
_PHOTO_REFUSALS = (NotAnImage, TruncatedImage, ImageTooLarge, NoFace, SeveralFaces, FaceRotated, LowQuality)
_ALWAYS = (Unauthorized, Forbidden, ServiceBusy)


def refusals(*errors: type[ApiError], body: bool = False) -> dict:
    """OpenAPI responses for the errors a route can give, grouped by status, listing their codes."""
    codes: dict[int, list[str]] = {422: ["validation_error"]}
    if body:
        codes[400] = ["invalid_json"]
        codes[415] = [UnsupportedMediaType.code]
    for error in (*errors, *_ALWAYS):
        codes.setdefault(int(error.status), []).append(error.code)
    codes.setdefault(500, []).append("internal_error")
    return {
        status: {
            "description": "code: " + " | ".join(sorted(set(names))),
            "content": {content_types.APPLICATION_JSON: {"model": ErrorBody}},
        }
        for status, names in sorted(codes.items())
    }


def answer(model: type, description: str, status: int = 200) -> dict:
    """The OpenAPI response of a route's success."""
    return {status: {"description": description, "content": {content_types.APPLICATION_JSON: {"model": model}}}}


def _ok(status: HTTPStatus, body, headers: dict | None = None) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers)


def current_staff() -> Staff:
    """Who is calling: the staff account from the Cognito authorizer's claims (API Gateway verified the token;
    app.lambda_handler has checked the role may call this route)."""
    return staff_of(router.current_event.request_context.authorizer.claims if router.current_event else None)


def audit(staff: Staff, action: str, subject: str, **counts: int) -> None:
    """Record in the staff audit trail who did what to which person (their id) or what (e.g. an export)."""
    request_id = router.current_event.request_context.request_id
    at = datetime.now(UTC).isoformat(timespec="milliseconds")
    audit_trail.record(staff, action, subject, at, request_id, **counts)


def sends_json(event) -> bool:
    """The API takes JSON only (Powertools would also parse forms): no body, or a JSON content type."""
    content_type = (event.headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    return not event.body or content_type == "application/json" or content_type.endswith("+json")


def _json_only() -> None:
    if not sends_json(router.current_event):
        raise UnsupportedMediaType("send application/json")


def _retry_key(route: str, key: str | None) -> dict:
    """What identifies a retry: the client's key, else the body itself. Only hashes are stored."""
    body_digest = hashlib.sha256((router.current_event.decoded_body or "").encode()).hexdigest()
    return {"route": route, "key": key or body_digest, "body_digest": body_digest}


@idempotent_function(data_keyword_argument="retry_key", persistence_store=idempotency_store, config=idempotency_config)
def _register_once(retry_key: dict, request: NewPerson, staff: str) -> str:
    return enrolment.register(request, staff, deadline(router.lambda_context.get_remaining_time_in_millis))


@idempotent_function(data_keyword_argument="retry_key", persistence_store=idempotency_store, config=idempotency_config)
def _add_photo_once(retry_key: dict, person_id: str, photo: bytes) -> str:
    return enrolment.add_photo(person_id, photo, deadline(router.lambda_context.get_remaining_time_in_millis))


@router.post(
    "/people",
    summary="Register a person who gave consent",
    description="Checks the photo (a whole JPEG/PNG, one face, good enough to recognise, not already "
    "registered), indexes the face, stores the photo and records the person. Nothing is kept if any step fails.",
    tags=["people"],
    responses={
        **answer(PersonView, "Registered", 201),
        **refusals(
            ConsentRequired,
            *_PHOTO_REFUSALS,
            DuplicatePerson,
            PersonNotFound,  # a replayed registration whose person has been erased since
            RequestInProgress,
            IdempotencyKeyReused,
            body=True,
        ),
    },
)
def register_person(person: NewPerson, idempotency_key: IdempotencyKey = None) -> Response[PersonView]:
    _json_only()
    staff = current_staff()
    if idempotency_key:
        person_id = _register_once(
            retry_key=_retry_key("POST /people", idempotency_key), request=person, staff=staff.name
        )
    else:
        # No key: no body-keyed replay either (it would answer "person X" for an hour after X was erased);
        # a retry is caught by the duplicate check instead (409 duplicate_person with the id).
        person_id = enrolment.register(person, staff.name, deadline(router.lambda_context.get_remaining_time_in_millis))
    audit(staff, "register_person", person_id)
    metrics.add_metric(name="PersonRegistered", unit=MetricUnit.Count, value=1)
    try:
        view = directory.person(person_id)
    except PersonNotFound:
        raise PersonNotFound(f"this request registered {person_id}, who has been erased since") from None
    return _ok(HTTPStatus.CREATED, view, {"Location": f"/people/{person_id}"})


@router.post(
    "/people/<person_id>/photos",
    summary="Add another photo of a registered person",
    description="Better recall across lighting and angles. The photo must not match a different registered person.",
    tags=["people"],
    responses={
        **answer(PersonView, "Added", 201),
        **refusals(
            *_PHOTO_REFUSALS,
            DuplicatePerson,
            PhotoLimitReached,
            PersonNotFound,
            RequestInProgress,
            IdempotencyKeyReused,
            body=True,
        ),
    },
)
def add_photo(person_id: PersonId, body: NewPhoto, idempotency_key: IdempotencyKey = None) -> Response[PersonView]:
    _json_only()
    staff = current_staff()
    pid = str(person_id)
    _add_photo_once(
        retry_key=_retry_key(f"POST /people/{pid}/photos", idempotency_key), person_id=pid, photo=body.photo
    )
    audit(staff, "add_photo", pid)
    metrics.add_metric(name="PhotoAdded", unit=MetricUnit.Count, value=1)
    return _ok(HTTPStatus.CREATED, directory.person(pid))


@router.get(
    "/people",
    summary="List registered people",
    tags=["people"],
    responses={**answer(PeoplePage, "A page of people"), **refusals(InvalidPageToken)},
)
def list_people(
    limit: Annotated[int, Query(ge=1, le=100, description="People per page.")] = 25,
    next_token: Annotated[str | None, Query(max_length=500, description="From the previous page.")] = None,
) -> PeoplePage:
    current_staff()
    return directory.page(limit, next_token)  # names and notes, no photos: not a photo read


@router.get(
    "/people/<person_id>",
    summary="One person, with short-lived links to their photos",
    tags=["people"],
    responses={**answer(PersonView, "The person, with photo links"), **refusals(PersonNotFound)},
)
def get_person(person_id: PersonId) -> PersonView:
    staff, pid = current_staff(), str(person_id)
    return directory.person(pid, before_photo_links=lambda count: audit(staff, "read_photos", pid, photos=count))


@router.patch(
    "/people/<person_id>",
    summary="Correct a person's profile (name, notes, contact email)",
    tags=["people"],
    responses={**answer(PersonView, "The person as corrected"), **refusals(PersonNotFound, body=True)},
)
def update_person(person_id: PersonId, patch: PersonPatch) -> PersonView:
    _json_only()
    staff = current_staff()
    view = directory.update(str(person_id), patch)
    audit(staff, "update_person", str(person_id))
    return view


@router.delete(
    "/people/<person_id>",
    summary="Erase a person",
    description="Deletes every face of the person in the collection, every stored photo (all versions), the "
    "person's match snapshots (frame search), row and alert-cooldown item, and records an audit entry (who, "
    "when, which id; no face, no name). "
    "Safe to retry.",
    tags=["people"],
    responses={**answer(ErasureReceipt, "Erased: what was deleted"), **refusals(PersonNotFound)},
)
def erase_person(person_id: PersonId) -> ErasureReceipt:
    staff = current_staff()
    receipt = erasure.erase(str(person_id), staff.name, router.current_event.request_context.request_id)
    audit(staff, "erase_person", str(person_id))
    metrics.add_metric(name="PersonErased", unit=MetricUnit.Count, value=1)
    return receipt


@router.post(
    "/search",
    summary="Who is in this photo?",
    description="Searches the collection with the largest face in the photo; registered people at or above the "
    "match threshold, best first. Nothing is stored.",
    tags=["search"],
    responses={
        **answer(SearchResult, "Matches"),
        **refusals(NotAnImage, TruncatedImage, ImageTooLarge, NoFace, LowQuality, body=True),
    },
)
def search(body: SearchRequest) -> SearchResult:
    _json_only()
    current_staff()
    return directory.search(body.photo)


@router.get(
    "/me",
    summary="Who am I, and what may I do?",
    description="The signed-in staff account, its role (Cognito group) and what the role allows, so the staff "
    "app shows only what the role can do. A role change shows here with the next sign-in.",
    tags=["staff"],
    responses={**answer(Me, "The account and its role"), **refusals()},
)
def who_am_i() -> Me:
    staff = current_staff()
    return Me(
        staff=staff.name,
        role=staff.role,
        permissions=sorted(staff.permissions),
        routes=sorted(route for route, permission in ROUTES.items() if staff.may(permission)),
    )
