"""Finding and correcting people: get (with short-lived photo links), list (paginated), profile updates, and
"who is in this photo?"."""

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from collection import FaceCollection, NoFaceInImage
from enrolment import now_iso
from errors import InvalidPageToken, NoFace, PersonNotFound
from greeter_common.people import Person
from models import ConsentView, PeoplePage, PersonPatch, PersonSummary, PersonView, PhotoLink, SearchMatch, SearchResult
from people_store import PeopleStore
from photo_store import PhotoStore
from photos import check_photo


def summary(person: Person) -> PersonSummary:
    return PersonSummary(
        person_id=person.person_id,
        name=person.name,
        notes=person.notes,
        contact_email=person.contact_email,
        photo_count=len(person.photo_keys),
        created_at=person.created_at,
        updated_at=person.updated_at,
    )


def view(person: Person, photo_links: list[PhotoLink] | None = None) -> PersonView:
    return PersonView(
        **summary(person).model_dump(),
        consent=ConsentView(**person.consent.model_dump()),
        face_count=len(person.face_ids),
        photo_links=photo_links or [],
    )


def encode_token(person_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": person_id}).encode()).decode()


def decode_token(token: str) -> str:
    try:
        after = json.loads(base64.urlsafe_b64decode(token.encode()))["after"]
        return str(UUID(after))
    except (binascii.Error, ValueError, TypeError, KeyError, AttributeError):
        raise InvalidPageToken("next_token is not one this API gave out") from None


@dataclass
class Directory:
    collection: FaceCollection
    photos: PhotoStore
    people: PeopleStore
    match_threshold: float
    link_seconds: int

    def person(self, person_id: str, before_photo_links: Callable[[int], None] | None = None) -> PersonView:
        """The person; with short-lived links to their photos when `before_photo_links` is given, which is
        called first with how many there are (the audit trail records the read before any link exists)."""
        person = self.people.get(person_id)
        if person is None:
            raise PersonNotFound(f"no person {person_id}")
        links = []
        if before_photo_links is not None:
            before_photo_links(len(person.photo_keys))
            for key in person.photo_keys:
                url, expires_at = self.photos.link(key, self.link_seconds)
                links.append(PhotoLink(url=url, expires_at=expires_at))
        return view(person, links)

    def arrival_card(self, person_id: str, before_photo_link: Callable[[], None]) -> tuple[str, str | None]:
        """What an arrival card shows of a person besides their name: the notes for staff and a short-lived link
        to the first registered photo (`before_photo_link` is called first, so the read is on record before
        any link exists). Empty for someone erased since."""
        person = self.people.get(person_id)
        if person is None:
            return "", None
        if not person.photo_keys:
            return person.notes, None
        before_photo_link()
        return person.notes, self.photos.link(person.photo_keys[0], self.link_seconds)[0]

    def page(self, limit: int, next_token: str | None) -> PeoplePage:
        people, last = self.people.page(limit, decode_token(next_token) if next_token else None)
        return PeoplePage(people=[summary(p) for p in people], next_token=encode_token(last) if last else None)

    def update(self, person_id: str, patch: PersonPatch) -> PersonView:
        fields = patch.model_dump(include=patch.model_fields_set)
        removals = [field for field, value in fields.items() if value is None]
        changes = {field: value for field, value in fields.items() if value is not None}
        person = self.people.update_profile(person_id, changes, removals, now_iso())
        if person is None:
            raise PersonNotFound(f"no person {person_id}")
        return view(person)

    def search(self, data: bytes) -> SearchResult:
        photo = check_photo(data)
        try:
            matches = self.collection.search(photo.data, self.match_threshold)
        except NoFaceInImage:
            raise NoFace("no face was found in the photo") from None
        best: dict[str, float] = {}
        for match in matches:
            best[match.person_id] = max(best.get(match.person_id, 0.0), match.similarity)
        results = []
        for person_id, similarity in sorted(best.items(), key=lambda item: item[1], reverse=True):
            person = self.people.get(person_id)
            if person is not None:  # a face whose person is gone or being erased is nobody
                results.append(SearchMatch(person_id=person_id, name=person.name, similarity=round(similarity, 2)))
        return SearchResult(matches=results)
