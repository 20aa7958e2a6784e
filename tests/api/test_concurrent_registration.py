"""Two containers registering the same new face at the same time keep exactly one person: the check before
indexing cannot see the other request's face yet, so each looks again after indexing and the first to be
recorded wins; the other is undone and answers 409 duplicate_person with the winner's id."""

import threading

import boto3
import pytest
from moto.dynamodb.models import DynamoDBBackend


@pytest.fixture(autouse=True)
def serialisable_transactions(monkeypatch):
    """DynamoDB runs transactions one after the other; moto does not isolate two threads' transactions (a
    cancelled one restores the whole table as it was, undoing the other's write). Make moto serialise them."""
    lock, transact = threading.Lock(), DynamoDBBackend.transact_write_items

    def one_at_a_time(self, *args, **kwargs):
        with lock:
            return transact(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", one_at_a_time)


def _register_both(first, second, photos) -> list:
    replies = [None, None]

    def register(index, container, photo):
        replies[index] = container.register(photo)

    threads = [
        threading.Thread(target=register, args=(0, first, photos.astronaut)),
        threading.Thread(target=register, args=(1, second, photos.astronaut_flipped)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return replies


def _first_two_meet(barrier: threading.Barrier):
    """A fault-hook predicate that makes the first two calls (one per container) wait for each other; never a
    fault itself, and later calls (a retry) pass straight through."""
    calls, lock = [], threading.Lock()

    def meet(params) -> bool:
        with lock:
            calls.append(params)
            first_two = len(calls) <= 2
        if first_two:
            barrier.wait()
        return False

    return meet


def _exactly_one_person(replies, everything):
    statuses = sorted(reply.status for reply in replies)
    assert statuses == [201, 409], [reply.body for reply in replies]
    winner = next(reply for reply in replies if reply.status == 201).body["person_id"]
    loser = next(reply for reply in replies if reply.status == 409)
    assert (loser.code, loser.body["person_id"]) == ("duplicate_person", winner)
    stored = everything()
    (person,) = stored.people
    assert person["person_id"] == winner
    assert {face.external_image_id for face in stored.faces} == {winner} and len(stored.faces) == 1
    assert [key for key, _ in stored.photo_versions] == person["photo_keys"]


@pytest.mark.parametrize("attempt", range(2))
def test_two_containers_racing_naturally_keep_exactly_one_person(api, another_container, photos, everything, attempt):
    _exactly_one_person(_register_both(api, another_container(), photos), everything)


def test_both_indexed_before_either_looks_again_keeps_exactly_one(api, another_container, photos, everything, faults):
    """The worst interleaving: both pass the duplicate check, both index, then both look and see each other."""
    second = another_container()
    # Generous timeouts: on a loaded machine one container can take long to reach the meeting point.
    both_checked, both_indexed = threading.Barrier(2, timeout=240), threading.Barrier(2, timeout=240)
    faults.fail("rekognition", "IndexFaces", only_if=_first_two_meet(both_checked))
    faults.fail("rekognition", "SearchFaces", only_if=_first_two_meet(both_indexed))
    _exactly_one_person(_register_both(api, second, photos), everything)


def test_a_registration_recorded_while_another_was_indexing_wins(api, another_container, photos, everything, faults):
    """The second container checks (nobody yet), then the first registers completely, then the second indexes:
    its look after indexing finds the first person, recorded, and it refuses itself."""
    second = another_container()
    first_replies = []

    def first_registers_meanwhile(params) -> bool:
        if not first_replies:
            first_replies.append("started")  # the first container's own IndexFaces then passes through
            first_replies.append(api.register(photos.astronaut))
        return False  # not a fault: the second container's IndexFaces then runs

    faults.fail("rekognition", "IndexFaces", only_if=first_registers_meanwhile)
    late = second.register(photos.astronaut_flipped)
    _exactly_one_person([first_replies[1], late], everything)


def test_a_photo_added_while_the_same_face_is_registered_stays_with_one_person(
    api, another_container, photos, everything, faults
):
    """Staff add a photo to a person while another container registers the same face as someone new and
    is recorded first: the added photo is refused as that person's, and undone."""
    table = boto3.resource("dynamodb").Table(api.stack.ref("PeopleTable"))
    existing = "a3c1f1a4-5b3e-4f0e-9a55-2a8c3f1e7d10"  # a registered person whose photos show another face
    table.put_item(
        Item={
            "person_id": existing,
            "name": "Existing Customer",
            "consent": {"given_by": "Existing", "given_at": "2026-01-01T00:00:00+00:00", "wording_version": "v1"},
            "face_ids": [],
            "photo_keys": [],
            "created_at": "2026-01-01T00:00:00+00:00",
            "updated_at": "2026-01-01T00:00:00+00:00",
        }
    )
    second, registered = another_container(), []

    def registration_runs_meanwhile(params) -> bool:
        if params["ExternalImageId"] == existing and not registered:
            registered.append(None)
            registered.append(second.register(photos.astronaut_flipped))
        return False

    faults.fail("rekognition", "IndexFaces", only_if=registration_runs_meanwhile)
    added = api.add_photo(existing, photos.astronaut)
    new = registered[1]
    assert new.status == 201
    assert (added.status, added.code, added.body["person_id"]) == (409, "duplicate_person", new.body["person_id"])
    stored = everything()
    assert {face.external_image_id for face in stored.faces} == {new.body["person_id"]}
    assert next(p for p in stored.people if p["person_id"] == existing)["face_ids"] == []


@pytest.mark.parametrize(("conflicts", "status"), [(1, 201), (3, 503)])
def test_a_transaction_cancelled_for_another_is_tried_again_then_given_up_cleanly(
    api, photos, everything, faults, conflicts, status
):
    """DynamoDB cancels one of two transactions on the same ids at the same moment (TransactionConflict): the
    registration looks again and retries; after three cancellations it answers 503 and keeps nothing."""
    faults.fail("dynamodb", "TransactWriteItems", code="TransactionCanceledException", status=400, times=conflicts)
    reply = api.register(photos.astronaut)
    assert reply.status == status
    stored = everything()
    assert len(stored.people) == len(stored.faces) == (1 if status == 201 else 0)
