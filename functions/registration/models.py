"""The API's contract: request and response bodies (Pydantic). The OpenAPI description is generated from these.

Requests refuse unknown fields (a typo must not be silently dropped), and the photo travels as base64 in
JSON: a JPEG or PNG of at most photos.MAX_PHOTO_BYTES (what fits in Lambda's 6 MB request once base64-encoded),
checked further by photos.py.
"""

import base64
import binascii
from datetime import UTC, datetime, timedelta
from typing import Annotated

from photos import MAX_PHOTO_BYTES
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

CLOCK_SKEW = timedelta(minutes=5)


def _decode_base64(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("photo must be the image file's bytes as a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("photo is not valid base64") from None


Photo = Annotated[
    bytes,
    BeforeValidator(_decode_base64),
    WithJsonSchema(
        {
            "type": "string",
            "format": "byte",
            "contentEncoding": "base64",
            "description": f"The JPEG or PNG file, base64-encoded; at most {MAX_PHOTO_BYTES:,} bytes (4.45 MiB) before "
            "encoding: what fits in Lambda's 6 MB request once base64-encoded.",
            "maxLength": (MAX_PHOTO_BYTES + 2) // 3 * 4,
        }
    ),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConsentIn(_Request):
    """The customer's consent, as recorded on paper or a tablet at the till."""

    given_by: Name = Field(description="Who gave consent (the customer's name as they signed).")
    given_at: AwareDatetime = Field(description="When consent was given (ISO 8601 with a time zone).")
    wording_version: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)] = Field(
        description="Which version of the consent wording the customer agreed to, e.g. 2026-01."
    )

    @field_validator("given_at")
    @classmethod
    def _not_in_the_future(cls, value: datetime) -> datetime:
        if value > datetime.now(UTC) + CLOCK_SKEW:
            raise ValueError("consent cannot be given in the future")
        return value


class NewPerson(_Request):
    name: Name = Field(description="The name staff will see in the alert email.")
    notes: Notes = Field(default="", description="Notes for staff (preferences, favourite brands...).")
    contact_email: Email | None = Field(default=None, description="Optional contact address.")
    consent: ConsentIn
    photo: Photo


class NewPhoto(_Request):
    photo: Photo


class SearchRequest(_Request):
    photo: Photo


class PersonPatch(_Request):
    """Profile fields only: the consent record, faces and photos cannot be edited (erase and re-register).
    At least one field; name and notes cannot be null (only contact_email can be removed)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    # The document says what the validator below enforces: name and notes are strings when given.
    name: Annotated[Name | None, WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 100})] = None
    notes: Annotated[Notes | None, WithJsonSchema({"type": "string", "maxLength": 2000})] = None
    contact_email: Email | None = Field(default=None, description="null removes the address.")

    @model_validator(mode="after")
    def _something_to_change(self) -> "PersonPatch":
        if not self.model_fields_set:
            raise ValueError("give at least one of name, notes, contact_email")
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name cannot be removed")
        if "notes" in self.model_fields_set and self.notes is None:
            raise ValueError("notes cannot be null (send an empty string)")
        return self


class ConsentView(BaseModel):
    given_by: str
    given_at: str
    wording_version: str
    recorded_by: str | None = Field(description="The staff account that recorded the consent.")


class PhotoLink(BaseModel):
    url: str = Field(description="A short-lived HTTPS link to the stored photo.")
    expires_at: datetime


class PersonSummary(BaseModel):
    person_id: str
    name: str
    notes: str
    contact_email: str | None
    photo_count: int
    created_at: str
    updated_at: str


class PersonView(PersonSummary):
    consent: ConsentView
    face_count: int
    photo_links: list[PhotoLink] = Field(default=[], description="Only in GET /people/{person_id}.")


class PeoplePage(BaseModel):
    people: list[PersonSummary]
    next_token: str | None = Field(description="Pass as next_token to get the next page; null on the last page.")


class SearchMatch(BaseModel):
    person_id: str
    name: str
    similarity: float = Field(description="Rekognition's similarity, 0-100.")


class SearchResult(BaseModel):
    matches: list[SearchMatch] = Field(description="Registered people like the largest face in the photo, best first.")


class ErasureReceipt(BaseModel):
    person_id: str
    erased_at: str
    erased_by: str
    faces_deleted: int
    photo_versions_deleted: int
    snapshots_deleted: int = Field(description="Match snapshots of the person in the crops bucket (frame search).")
    visit_deleted: bool
    visits_erased: int = Field(description="Visits removed from the visit history.")


class FieldProblem(BaseModel):
    field: str
    problem: str


class ErrorBody(BaseModel):
    code: str = Field(description="Stable, machine-readable; see the route's responses for the codes it can give.")
    message: str = Field(description="For people.")
    fields: list[FieldProblem] = Field(default=[], description="validation_error, consent_required: what was wrong.")
    reasons: list[str] = Field(default=[], description="low_quality: which bounds the face missed.")
    person_id: str | None = Field(default=None, description="duplicate_person: who is already registered.")


class Me(BaseModel):
    """The signed-in staff account and what its role allows (the staff app shows only those screens)."""

    staff: str = Field(description="The account's email.")
    role: str | None = Field(description="tablet, assistant or manager; null for an account in no group.")
    permissions: list[str] = Field(description="What the role allows, e.g. register_people, erase_people.")
    routes: list[str] = Field(description='The API routes the role may call, e.g. "DELETE /people/{person_id}".')
