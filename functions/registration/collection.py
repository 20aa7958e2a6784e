"""Rekognition: the face collection (and DetectFaces). Every face is indexed with ExternalImageId = person id."""

from dataclasses import dataclass

# IndexFaces returns no FaceRecords when its own QualityFilter refuses the face; these are its reasons.
_UNINDEXED_REASONS = {
    "EXTREME_POSE": "head_turned",
    "LOW_BRIGHTNESS": "too_dark",
    "LOW_SHARPNESS": "blurred",
    "LOW_CONFIDENCE": "not_clearly_a_face",
    "SMALL_BOUNDING_BOX": "face_too_small",
    "LOW_FACE_QUALITY": "low_face_quality",
    "EXCEEDS_MAX_FACES": "several_faces",
}
_DELETE_BATCH = 4096  # DeleteFaces accepts at most 4096 FaceIds


@dataclass(frozen=True)
class FaceMatch:
    person_id: str
    face_id: str
    similarity: float


class NotIndexed(Exception):
    """IndexFaces detected the face but its quality filter would not index it."""

    def __init__(self, reasons: list[str]):
        super().__init__(", ".join(reasons))
        self.reasons = reasons


class NoFaceInImage(Exception):
    """SearchFacesByImage found no face to search with."""


class FacesNotDeleted(RuntimeError):
    """DeleteFaces left some faces in the collection."""


class FaceCollection:
    def __init__(self, client, index_client, collection_id: str):
        """`index_client` makes no automatic retries: a timed-out IndexFaces may still have indexed the
        face, and a blind retry would index it twice. The caller sweeps up instead (remove_faces_of)."""
        self._client = client
        self._index_client = index_client
        self.collection_id = collection_id

    def detect_faces(self, image: bytes) -> list[dict]:
        return self._client.detect_faces(Image={"Bytes": image}, Attributes=["DEFAULT"])["FaceDetails"]

    def search(self, image: bytes, threshold: float, max_faces: int = 10) -> list[FaceMatch]:
        """Registered faces like the largest face in the image, best first."""
        try:
            response = self._client.search_faces_by_image(
                CollectionId=self.collection_id,
                Image={"Bytes": image},
                FaceMatchThreshold=threshold,
                MaxFaces=max_faces,
            )
        except self._client.exceptions.InvalidParameterException as error:
            # Rekognition's way of saying "There are no faces in the image"
            if "no faces" in str(error).lower():
                raise NoFaceInImage() from None
            raise
        return [
            FaceMatch(match["Face"].get("ExternalImageId", ""), match["Face"]["FaceId"], match["Similarity"])
            for match in response["FaceMatches"]
        ]

    def like_face(self, face_id: str, threshold: float, max_faces: int = 100) -> list[FaceMatch]:
        """Other faces in the collection like this indexed face (the face itself excluded), best first."""
        response = self._client.search_faces(
            CollectionId=self.collection_id, FaceId=face_id, FaceMatchThreshold=threshold, MaxFaces=max_faces
        )
        return [
            FaceMatch(match["Face"].get("ExternalImageId", ""), match["Face"]["FaceId"], match["Similarity"])
            for match in response["FaceMatches"]
        ]

    def index(self, image: bytes, person_id: str) -> str:
        """Index the image's one face under the person's id; its FaceId."""
        response = self._index_client.index_faces(
            CollectionId=self.collection_id,
            Image={"Bytes": image},
            ExternalImageId=person_id,
            MaxFaces=1,
            QualityFilter="AUTO",
            DetectionAttributes=["DEFAULT"],
        )
        if not response["FaceRecords"]:
            reasons = sorted(
                {_UNINDEXED_REASONS.get(r, r.lower()) for face in response["UnindexedFaces"] for r in face["Reasons"]}
            )
            raise NotIndexed(reasons or ["not_indexed"])
        return response["FaceRecords"][0]["Face"]["FaceId"]

    def face_ids_of(self, person_id: str) -> set[str]:
        """Every face indexed under this person id, found by listing the collection (it has no index by
        ExternalImageId). A shop's collection is small; this runs on erasure and compensation only."""
        face_ids, token = set(), None
        while True:
            page = self._client.list_faces(
                CollectionId=self.collection_id, MaxResults=4096, **({"NextToken": token} if token else {})
            )
            face_ids |= {face["FaceId"] for face in page["Faces"] if face.get("ExternalImageId") == person_id}
            token = page.get("NextToken")
            if not token:
                return face_ids

    def delete_faces(self, face_ids: set[str] | list[str]) -> int:
        face_ids = sorted(face_ids)
        deleted = 0
        for start in range(0, len(face_ids), _DELETE_BATCH):
            response = self._client.delete_faces(
                CollectionId=self.collection_id, FaceIds=face_ids[start : start + _DELETE_BATCH]
            )
            deleted += len(response["DeletedFaces"])
            if response.get("UnsuccessfulFaceDeletions"):
                # e.g. a face associated to a Rekognition "user": erasure must not report success then
                raise FacesNotDeleted(response["UnsuccessfulFaceDeletions"])
        return deleted

    def remove_faces_of(self, person_id: str, keep: set[str] | frozenset[str] = frozenset()) -> int:
        """Delete this person's faces except `keep` (also finds a face whose IndexFaces call timed out)."""
        return self.delete_faces(self.face_ids_of(person_id) - set(keep))
