"""The people table's item shape, shared by the registration API (writes) and the match function (reads).

One item per registered person, keyed by `person_id`:

    person_id      str   uuid4; also the ExternalImageId of each of the person's faces in the collection
    name           str   display name used in alerts
    notes          str   notes for staff (preferences, favourite brands...), may be empty
    contact_email  str   optional
    consent        map   {given_by, given_at (ISO 8601), wording_version, recorded_by}
    face_ids       list  Rekognition FaceIds of this person in the collection
    photo_keys     list  S3 keys of the person's photos in the photos bucket
    created_at     str   ISO 8601 UTC
    updated_at     str   ISO 8601 UTC
    erasure_started_at  str  ISO 8601 UTC, only while an erasure is under way: from then on the person is gone
                             for every reader (the registration API's routes, and the match function should
                             not alert for them either)

A row with only `person_id`, `erasure_started_at` and `registered_as` is a void id: a registration of a face that
another registration, running at the same time, recorded first (as `registered_as`). Every reader skips it as it
skips a person being erased.
"""

from pydantic import BaseModel, ConfigDict


class Consent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    given_by: str
    given_at: str
    wording_version: str
    recorded_by: str | None = None


class Person(BaseModel):
    model_config = ConfigDict(extra="ignore")

    person_id: str
    name: str
    notes: str = ""
    contact_email: str | None = None
    consent: Consent
    face_ids: list[str] = []
    photo_keys: list[str] = []
    created_at: str
    updated_at: str
    erasure_started_at: str | None = None
