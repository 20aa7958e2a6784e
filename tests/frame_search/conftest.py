"""Frame-search fixtures: a FrameSearch stack on moto with its function loaded, a registered face, and a store
whose match function listens on the stack's detection source."""

import boto3
import pytest
from event_source import detection_source
from frame_search_kit import PERSON_ID, FrameSearch, jpeg
from skimage import data


@pytest.fixture
def frame_search_factory(stack_factory, monkeypatch, lambda_context):
    """Deploy a FrameSearch stack with the given parameters and load its frame-search function (cold start)."""

    def deploy(**parameters) -> FrameSearch:
        stack = stack_factory(DetectionMode="FrameSearch", **parameters)
        app = stack.load_function("FrameSearchFunction", monkeypatch)
        return FrameSearch(stack, app, lambda_context)

    return deploy


@pytest.fixture
def frame_search(frame_search_factory) -> FrameSearch:
    return frame_search_factory()


@pytest.fixture
def registered_factory(rekognition):
    """Register the astronaut in a stack's collection: her face indexed through the fake's IndexFaces, with
    ExternalImageId = her person id (as the registration API does). Returns the id."""

    def register(frame_search: FrameSearch) -> str:
        collection = frame_search.stack.ref("FaceCollection")
        boto3.client("rekognition").index_faces(
            CollectionId=collection, Image={"Bytes": jpeg(data.astronaut())}, ExternalImageId=PERSON_ID, MaxFaces=1
        )
        assert len(rekognition.faces_of(collection, PERSON_ID)) == 1
        return PERSON_ID

    return register


@pytest.fixture
def registered(frame_search, registered_factory) -> str:
    return registered_factory(frame_search)


@pytest.fixture
def no_retry_sleep(monkeypatch) -> list[float]:
    """botocore's retry backoff sleeps, recorded instead of slept (the suite stays fast)."""
    slept: list[float] = []
    monkeypatch.setattr("botocore.endpoint.time.sleep", slept.append)
    return slept


@pytest.fixture
def store(frame_search_factory, registered_factory, monkeypatch, lambda_context):
    """A FrameSearch stack with the astronaut registered (face + people item) and its match function listening."""

    def open_store(**parameters):
        frame_search = frame_search_factory(StoreName="Casa Lisboa", StoreTimeZone="Europe/Lisbon", **parameters)
        registered_factory(frame_search)
        boto3.resource("dynamodb").Table(frame_search.stack.ref("PeopleTable")).put_item(
            Item={
                "person_id": PERSON_ID,
                "name": "Eileen Collins",
                "notes": "Likes the window seat.",
                "consent": {"given_by": "Eileen Collins", "given_at": "2026-11-01T10:00:00Z", "wording_version": "v1"},
                "face_ids": [],
                "photo_keys": [],
                "created_at": "2026-11-01T10:00:00Z",
                "updated_at": "2026-11-01T10:00:00Z",
            }
        )
        match = frame_search.stack.load_function("MatchFunction", monkeypatch)
        return frame_search, detection_source(frame_search.stack, match.lambda_handler, lambda_context)

    return open_store
