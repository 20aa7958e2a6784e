"""Rekognition for moto: a stateful stand-in for the APIs moto lacks (collections, faces, stream processors).

The tests use it, and so does the local runtime (`make local`), where it takes Rekognition's place: the
matching is the offline face engine in faces.py (OpenCV's YuNet and SFace), not Amazon Rekognition.

It plugs into moto's HTTP layer as a response extension: moto routes every Rekognition request to
`RekognitionResponse`, and `install()` adds one method per operation that answers from this fake's
state. So the code under test uses real boto3 clients, real request serialisation and real error
parsing, and Step Functions' AWS SDK integrations in moto reach the same fake.

Faces come from real pixels (see faces.py), so a test can index a real photo, search a crop of it and
see it found, or delete it and see it gone. Tests steer it through:
- `fail(operation, error, times)`: the next calls of an operation raise a real Rekognition error;
- `processor_outcome[name]` / `settle_after`: what a started stream processor turns into, and how many
  DescribeStreamProcessor calls it takes (RUNNING, FAILED, or stuck in STARTING);
- `calls`: every operation with its parameters, for asserting what was (not) asked.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.rekognition.responses import RekognitionResponse

from .faces import Face, UnreadableImage, face_engine, similarity

ACCOUNT = "123456789012"
MODEL_VERSION = "7.0"
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # Rekognition's limit for Image.Bytes
MAX_S3_IMAGE_BYTES = 15 * 1024 * 1024
EXTERNAL_IMAGE_ID = re.compile(r"[a-zA-Z0-9_.\-:]+")


class RekognitionError(JsonRESTError):
    code = 400

    def __init__(self, error: str, message: str):
        super().__init__(error, message)


@dataclass
class StoredFace:
    face_id: str
    image_id: str
    external_image_id: str | None
    face: Face

    def description(self) -> dict:
        description = {
            "FaceId": self.face_id,
            "BoundingBox": self.face.bounding_box(),
            "ImageId": self.image_id,
            "Confidence": self.face.score * 100,
            "IndexFacesModelVersion": MODEL_VERSION,
        }
        if self.external_image_id is not None:
            description["ExternalImageId"] = self.external_image_id
        return description


@dataclass
class StreamProcessor:
    name: str
    arn: str
    settings: dict
    status: str = "STOPPED"
    status_message: str = ""
    pending_describes: int = 0
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))


class FakeRekognition:
    def __init__(self, region: str = "eu-west-1"):
        self.region = region
        self.collections: dict[str, dict[str, StoredFace]] = {}
        self.processors: dict[str, StreamProcessor] = {}
        self.processor_outcome: dict[str, str] = {}  # name -> RUNNING | FAILED | STUCK (default RUNNING)
        self.settle_after = 1  # DescribeStreamProcessor calls before STARTING/STOPPING settles
        self.calls: list[tuple[str, dict]] = []
        self._faults: dict[str, list[tuple[str, str]]] = {}

    # ------------------------------------------------------------------ steering
    def fail(self, operation: str, error: str = "ThrottlingException", times: int = 1, message: str = "") -> None:
        """Make the next `times` calls of `operation` (e.g. "IndexFaces") raise `error`."""
        self._faults.setdefault(operation, []).extend([(error, message or f"injected {error}")] * times)

    def call_count(self, operation: str) -> int:
        return Counter(name for name, _ in self.calls)[operation]

    def faces_of(self, collection_id: str, external_image_id: str | None = None) -> list[StoredFace]:
        faces = self.collections.get(collection_id, {}).values()
        return [f for f in faces if external_image_id is None or f.external_image_id == external_image_id]

    # ------------------------------------------------------------------ dispatch
    def handle(self, operation: str, params: dict) -> dict:
        self.calls.append((operation, params))
        faults = self._faults.get(operation)
        if faults:
            raise RekognitionError(*faults.pop(0))
        return getattr(self, _snake(operation))(params)

    # ------------------------------------------------------------------ images
    def _image_bytes(self, image: dict) -> bytes:
        if "Bytes" in image:
            data = base64.b64decode(image["Bytes"])
            if len(data) > MAX_IMAGE_BYTES:
                raise RekognitionError("ImageTooLargeException", "Image size is too large.")
            return data
        if "S3Object" in image:
            from moto.s3.models import s3_backends

            s3 = image["S3Object"]
            try:
                key = s3_backends[ACCOUNT]["aws"].get_object(s3["Bucket"], s3["Name"], s3.get("Version"))
            except Exception:  # noqa: BLE001 - moto raises several kinds for missing buckets/keys
                key = None
            if key is None:
                raise RekognitionError("InvalidS3ObjectException", "Unable to get object metadata from S3.")
            if len(key.value) > MAX_S3_IMAGE_BYTES:
                raise RekognitionError("ImageTooLargeException", "Image size is too large.")
            return key.value
        raise RekognitionError("InvalidParameterException", "Image must have Bytes or S3Object.")

    def _faces(self, image: dict) -> list[Face]:
        try:
            return face_engine().faces(self._image_bytes(image))
        except UnreadableImage:
            raise RekognitionError("InvalidImageFormatException", "Request has invalid image format") from None

    def _collection(self, collection_id: str) -> dict[str, StoredFace]:
        if collection_id not in self.collections:
            raise RekognitionError("ResourceNotFoundException", f"The collection id: {collection_id} does not exist")
        return self.collections[collection_id]

    # ------------------------------------------------------------------ collections
    def create_collection(self, params: dict) -> dict:
        collection_id = params["CollectionId"]
        if collection_id in self.collections:
            raise RekognitionError(
                "ResourceAlreadyExistsException", f"The collection id: {collection_id} already exists"
            )
        self.collections[collection_id] = {}
        return {
            "StatusCode": 200,
            "CollectionArn": f"aws:rekognition:{self.region}:{ACCOUNT}:collection/{collection_id}",
            "FaceModelVersion": MODEL_VERSION,
        }

    def describe_collection(self, params: dict) -> dict:
        faces = self._collection(params["CollectionId"])
        return {
            "FaceCount": len(faces),
            "FaceModelVersion": MODEL_VERSION,
            "CollectionARN": f"arn:aws:rekognition:{self.region}:{ACCOUNT}:collection/{params['CollectionId']}",
            "CreationTimestamp": datetime.now(UTC).timestamp(),
        }

    def list_collections(self, params: dict) -> dict:
        ids = sorted(self.collections)
        return {"CollectionIds": ids, "FaceModelVersions": [MODEL_VERSION] * len(ids)}

    def delete_collection(self, params: dict) -> dict:
        self._collection(params["CollectionId"])
        del self.collections[params["CollectionId"]]
        return {"StatusCode": 200}

    def detect_faces(self, params: dict) -> dict:
        return {"FaceDetails": [face.detail() for face in self._faces(params["Image"])]}

    def index_faces(self, params: dict) -> dict:
        faces_in_collection = self._collection(params["CollectionId"])
        external_image_id = params.get("ExternalImageId")
        if external_image_id is not None and not EXTERNAL_IMAGE_ID.fullmatch(external_image_id):
            raise RekognitionError("InvalidParameterException", "ExternalImageId has invalid characters.")
        faces = self._faces(params["Image"])
        max_faces = params.get("MaxFaces", 100)
        image_id = str(uuid.uuid4())
        records = []
        for face in faces[:max_faces]:
            stored = StoredFace(str(uuid.uuid4()), image_id, external_image_id, face)
            faces_in_collection[stored.face_id] = stored
            records.append(
                {
                    "Face": {k: v for k, v in stored.description().items() if k != "IndexFacesModelVersion"},
                    "FaceDetail": face.detail(),
                }
            )
        unindexed = [{"Reasons": ["EXCEEDS_MAX_FACES"], "FaceDetail": face.detail()} for face in faces[max_faces:]]
        return {"FaceRecords": records, "FaceModelVersion": MODEL_VERSION, "UnindexedFaces": unindexed}

    def list_faces(self, params: dict) -> dict:
        faces = list(self._collection(params["CollectionId"]).values())
        if "FaceIds" in params:
            faces = [f for f in faces if f.face_id in params["FaceIds"]]
        start = int(params.get("NextToken") or 0)
        page_size = params.get("MaxResults", 1000)
        page = faces[start : start + page_size]
        response: dict[str, Any] = {"Faces": [f.description() for f in page], "FaceModelVersion": MODEL_VERSION}
        if start + page_size < len(faces):
            response["NextToken"] = str(start + page_size)
        return response

    def delete_faces(self, params: dict) -> dict:
        faces = self._collection(params["CollectionId"])
        deleted = [face_id for face_id in params["FaceIds"] if faces.pop(face_id, None) is not None]
        return {"DeletedFaces": deleted, "UnsuccessfulFaceDeletions": []}

    def _matches(self, collection_id: str, face: Face, params: dict, exclude: str | None = None) -> list[dict]:
        threshold = params.get("FaceMatchThreshold", 80.0)
        matches = []
        for stored in self._collection(collection_id).values():
            if stored.face_id == exclude:
                continue
            score = similarity(face.embedding, stored.face.embedding)
            if score >= threshold:
                described = {k: v for k, v in stored.description().items() if k != "IndexFacesModelVersion"}
                matches.append({"Similarity": score, "Face": described})
        matches.sort(key=lambda match: match["Similarity"], reverse=True)
        return matches[: params.get("MaxFaces", 4096)]

    def search_faces_by_image(self, params: dict) -> dict:
        self._collection(params["CollectionId"])
        faces = self._faces(params["Image"])
        if not faces:
            raise RekognitionError(
                "InvalidParameterException", "There are no faces in the image. Should be at least 1."
            )
        largest = faces[0]  # Rekognition searches the largest face in the image
        return {
            "SearchedFaceBoundingBox": largest.bounding_box(),
            "SearchedFaceConfidence": largest.score * 100,
            "FaceMatches": self._matches(params["CollectionId"], largest, params),
            "FaceModelVersion": MODEL_VERSION,
        }

    def search_faces(self, params: dict) -> dict:
        stored = self._collection(params["CollectionId"]).get(params["FaceId"])
        if stored is None:
            raise RekognitionError("ResourceNotFoundException", f"Face {params['FaceId']} not found")
        matches = self._matches(params["CollectionId"], stored.face, params, exclude=stored.face_id)
        return {"SearchedFaceId": stored.face_id, "FaceMatches": matches, "FaceModelVersion": MODEL_VERSION}

    # ------------------------------------------------------------------ stream processors
    def _processor(self, name: str) -> StreamProcessor:
        if name not in self.processors:
            raise RekognitionError("ResourceNotFoundException", f"Stream processor {name} not found.")
        return self.processors[name]

    def create_stream_processor(self, params: dict) -> dict:
        name = params["Name"]
        if name in self.processors:
            raise RekognitionError("ResourceInUseException", f"Stream processor {name} already exists.")
        arn = f"arn:aws:rekognition:{self.region}:{ACCOUNT}:streamprocessor/{name}"
        self.processors[name] = StreamProcessor(name, arn, params)
        return {"StreamProcessorArn": arn}

    def describe_stream_processor(self, params: dict) -> dict:
        processor = self._processor(params["Name"])
        if processor.status in ("STARTING", "STOPPING"):
            processor.pending_describes -= 1
            if processor.pending_describes <= 0:
                self._settle(processor)
        return {
            "Name": processor.name,
            "StreamProcessorArn": processor.arn,
            "Status": processor.status,
            "StatusMessage": processor.status_message,
            "CreationTimestamp": processor.created.timestamp(),
            "LastUpdateTimestamp": processor.updated.timestamp(),
            "Input": processor.settings.get("Input", {}),
            "Output": processor.settings.get("Output", {}),
            "RoleArn": processor.settings.get("RoleArn", ""),
            "Settings": processor.settings.get("Settings", {}),
            "DataSharingPreference": processor.settings.get("DataSharingPreference", {"OptIn": False}),
        }

    def _settle(self, processor: StreamProcessor) -> None:
        processor.updated = datetime.now(UTC)
        if processor.status == "STOPPING":
            processor.status, processor.status_message = "STOPPED", ""
            return
        outcome = self.processor_outcome.get(processor.name, "RUNNING")
        if outcome == "FAILED":
            processor.status = "FAILED"
            processor.status_message = "Unable to read from the Kinesis video stream: access denied."
        elif outcome == "RUNNING":
            processor.status, processor.status_message = "RUNNING", ""
        # STUCK: stays STARTING for ever

    def start_stream_processor(self, params: dict) -> dict:
        processor = self._processor(params["Name"])
        if processor.status not in ("STOPPED", "FAILED"):
            raise RekognitionError(
                "ResourceInUseException", f"Stream processor {processor.name} is {processor.status}, cannot start."
            )
        processor.status, processor.status_message = "STARTING", ""
        processor.pending_describes = self.settle_after
        processor.updated = datetime.now(UTC)
        return {"SessionId": str(uuid.uuid4())}

    def stop_stream_processor(self, params: dict) -> dict:
        processor = self._processor(params["Name"])
        if processor.status != "RUNNING":
            raise RekognitionError(
                "ResourceInUseException", f"Stream processor {processor.name} is {processor.status}, cannot stop."
            )
        processor.status = "STOPPING"
        processor.pending_describes = self.settle_after
        processor.updated = datetime.now(UTC)
        return {}

    def list_stream_processors(self, params: dict) -> dict:
        return {"StreamProcessors": [{"Name": p.name, "Status": p.status} for p in self.processors.values()]}

    def delete_stream_processor(self, params: dict) -> dict:
        self._processor(params["Name"])
        del self.processors[params["Name"]]
        return {}


OPERATIONS = [
    "CreateCollection",
    "DescribeCollection",
    "ListCollections",
    "DeleteCollection",
    "DetectFaces",
    "IndexFaces",
    "ListFaces",
    "DeleteFaces",
    "SearchFacesByImage",
    "SearchFaces",
    "CreateStreamProcessor",
    "DescribeStreamProcessor",
    "StartStreamProcessor",
    "StopStreamProcessor",
    "ListStreamProcessors",
    "DeleteStreamProcessor",
]


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def install(fake: FakeRekognition):
    """Route moto's Rekognition requests for OPERATIONS to `fake`; returns a function that undoes it."""
    added = []
    for operation in OPERATIONS:
        name = _snake(operation)
        if name in vars(RekognitionResponse):
            raise RuntimeError(f"moto now implements {operation}; review local/rekognition.py")

        def answer(self, operation=operation) -> str:
            return json.dumps(fake.handle(operation, json.loads(self.body or "{}")))

        setattr(RekognitionResponse, name, answer)
        added.append(name)

    def uninstall() -> None:
        for name in added:
            delattr(RekognitionResponse, name)

    return uninstall
