"""Registering a person and adding photos: vet the photo, refuse duplicates, then index -> store -> record,
undoing the earlier steps if a later one fails, so there is never a face without a person or a person
without a face."""

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import uuid4

from collection import FaceCollection, NoFaceInImage, NotIndexed
from errors import DuplicatePerson, LowQuality, NoFace, PersonNotFound, PhotoLimitReached, ServiceBusy
from face_checks import the_one_good_face
from greeter_common.people import Consent, Person
from models import NewPerson
from people_store import PeopleStore, RecordConflict
from photo_store import PhotoStore, photo_key
from photos import CheckedPhoto, check_photo
from undo import Deadline, Undo

# Rekognition recommends several photos per person (straight on, turned left/right, tilted up/down); ten is
# plenty for that and keeps a person's row and erasure small.
MAX_PHOTOS_PER_PERSON = 10
# DynamoDB cancels one of two transactions touching the same item at the same time (TransactionConflict).
_COMMIT_ATTEMPTS = 3


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Enrolment:
    collection: FaceCollection
    photos: PhotoStore
    people: PeopleStore
    match_threshold: float

    def vet(self, data: bytes, person_id: str | None = None) -> CheckedPhoto:
        """The photo, if it shows exactly one good face of someone not registered (other than `person_id`)."""
        photo = check_photo(data)
        the_one_good_face(self.collection.detect_faces(photo.data), photo.width, photo.height)
        try:
            matches = self.collection.search(photo.data, self.match_threshold)
        except NoFaceInImage:  # DetectFaces saw one; if the search does not, the face is not usable
            raise NoFace("no usable face was found in the photo") from None
        for match in matches:
            if match.person_id != person_id:
                raise DuplicatePerson(
                    f"this face is already registered (similarity {match.similarity:.1f}%)", person_id=match.person_id
                )
        return photo

    def register(self, request: NewPerson, staff: str, deadline: Deadline) -> str:
        """Register a new person from a vetted photo; the new person's id."""
        photo = self.vet(request.photo)
        person_id, now = str(uuid4()), now_iso()
        with Undo({"person_id": person_id, "action": "register"}) as undo:
            face_id = self._index(photo, person_id, set(), undo, deadline)
            key = self._store(photo, person_id, face_id, undo, deadline)
            deadline.check("record the person")
            undo.add("delete the person's row", lambda: self.people.delete(person_id))
            consent = request.consent
            person = Person(
                person_id=person_id,
                name=request.name,
                notes=request.notes,
                contact_email=request.contact_email,
                consent=Consent(
                    given_by=consent.given_by,
                    given_at=consent.given_at.isoformat(),
                    wording_version=consent.wording_version,
                    recorded_by=staff,
                ),
                face_ids=[face_id],
                photo_keys=[key],
                created_at=now,
                updated_at=now,
            )
            self._record_first(person, face_id)
            undo.commit()
        return person_id

    def add_photo(self, person_id: str, data: bytes, deadline: Deadline) -> str:
        """Add another photo of a registered person; the new face's id."""
        person = self.people.get(person_id)
        if person is None:
            raise PersonNotFound(f"no person {person_id}")
        if len(person.face_ids) >= MAX_PHOTOS_PER_PERSON:
            raise PhotoLimitReached(f"{person.name} already has {MAX_PHOTOS_PER_PERSON} photos")
        photo = self.vet(data, person_id)
        with Undo({"person_id": person_id, "action": "add_photo"}) as undo:
            face_id = self._index(photo, person_id, set(person.face_ids), undo, deadline)
            key = self._store(photo, person_id, face_id, undo, deadline)
            deadline.check("record the photo")
            undo.add("drop the photo from the row", lambda: self.people.remove_photo(person_id, face_id, key))
            # A registration of this same face may be under way: void it (it then refuses itself), unless it
            # was recorded first, in which case this photo is theirs.
            for rival in self._rivals(face_id, person_id):
                if not self.people.void(rival, person_id, now_iso()):
                    raise DuplicatePerson("this face was registered a moment ago", person_id=rival)
            if not self.people.add_photo(person_id, face_id, key, now_iso()):
                raise PersonNotFound(f"{person_id} was erased while the photo was being added")
            undo.commit()
        return face_id

    def _rivals(self, face_id: str, person_id: str) -> set[str]:
        """People whose faces are like the face just indexed: the check before indexing cannot see a
        registration of the same face running at the same time in another container; this one can."""
        return {match.person_id for match in self.collection.like_face(face_id, self.match_threshold)} - {person_id}

    def _record_first(self, person: Person, face_id: str) -> None:
        """Record the new person unless a rival registration of the same face was recorded first (then this
        one is refused as its duplicate, and undone). A transaction that collided with the rival's is tried
        again with a fresh look."""
        for attempt in range(_COMMIT_ATTEMPTS):
            rivals = self._rivals(face_id, person.person_id)
            try:
                winner = self.people.put_unless_beaten(person, rivals, now_iso())
            except RecordConflict:
                if attempt + 1 == _COMMIT_ATTEMPTS:
                    raise ServiceBusy(
                        "another registration of this face got in the way; retry the same request"
                    ) from None
                continue
            if winner is None:
                return
            raise DuplicatePerson("this face was registered a moment ago by another request", person_id=winner)

    def _index(self, photo: CheckedPhoto, person_id: str, known: set[str], undo: Undo, deadline: Deadline) -> str:
        deadline.check("index the face")
        # Registered before the call: if IndexFaces times out, it may still have indexed the face.
        undo.add("delete the indexed face", lambda: self.collection.remove_faces_of(person_id, keep=known))
        try:
            return self.collection.index(photo.data, person_id)
        except NotIndexed as refused:
            raise LowQuality(
                "Rekognition would not index this face: " + ", ".join(refused.reasons), reasons=refused.reasons
            ) from None

    def _store(self, photo: CheckedPhoto, person_id: str, face_id: str, undo: Undo, deadline: Deadline) -> str:
        deadline.check("store the photo")
        key = photo_key(person_id, face_id, photo.extension)
        undo.add("delete every version of the photo", lambda: self.photos.delete_all_versions(key))
        self.photos.put(key, photo.data, photo.content_type)
        return key
