"""Erasure: the person is marked as being erased first, so from that moment every reader (the API's routes, the
match function) treats them as gone and no new alert goes out. Then every face of the person in the collection,
every stored photo version, the person's match snapshots (frame-search mode), the alert-cooldown item and the visit
history are deleted, an audit entry records that it happened (who, when, which id, how much; no face, no name), and
the row goes. Safe to retry: each step is idempotent, and the row goes last, so a failed erasure can be re-run.

A match function that read the person just before the mark may still record a visit while the erasure runs: one
recorded before the history is swept is erased and counted; one recorded after it stays until the history's
retention ends it, and no route shows it (its person is gone)."""

from dataclasses import dataclass

from collection import FaceCollection
from enrolment import now_iso
from errors import PersonNotFound
from greeter_common.observability import logger
from greeter_common.visit_history import VisitHistory
from models import ErasureReceipt
from people_store import PeopleStore
from photo_store import PhotoStore, SnapshotStore, person_prefix, snapshot_prefix


@dataclass
class Erasure:
    collection: FaceCollection
    photos: PhotoStore
    people: PeopleStore
    visits: VisitHistory
    snapshots: SnapshotStore | None  # None without a crops bucket (StreamProcessor mode keeps no snapshots)

    def erase(self, person_id: str, staff: str, request_id: str) -> ErasureReceipt:
        started_at = now_iso()
        person = self.people.start_erasure(person_id, started_at)
        # The row's face ids, plus any face indexed under this id that the row does not know about
        # (e.g. left by a registration whose undo step failed).
        face_ids = set(person.face_ids if person else []) | self.collection.face_ids_of(person_id)
        faces_deleted = self.collection.delete_faces(face_ids) if face_ids else 0
        versions_deleted = self.photos.delete_all_versions(person_prefix(person_id))
        snapshots_deleted = self.snapshots.delete_all(snapshot_prefix(person_id)) if self.snapshots else 0
        visit_deleted = self.people.delete_visit(person_id)
        visits_erased = self.visits.erase(person_id)
        if person is None and not (face_ids or versions_deleted or snapshots_deleted or visit_deleted or visits_erased):
            raise PersonNotFound(f"no person {person_id} (or already erased)")
        receipt = ErasureReceipt(
            person_id=person_id,
            erased_at=started_at,
            erased_by=staff,
            faces_deleted=faces_deleted,
            photo_versions_deleted=versions_deleted,
            snapshots_deleted=snapshots_deleted,
            visit_deleted=visit_deleted,
            visits_erased=visits_erased,
        )
        self.people.record_erasure({**receipt.model_dump(), "request_id": request_id})
        self.people.delete(person_id)
        logger.info("person erased", extra={"person_id": person_id, "faces": faces_deleted})
        return receipt
