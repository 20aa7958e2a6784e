"""The face-search record: what a Rekognition stream processor writes to the detection data stream.

Both detection modes produce it (the stream processor natively; the frame-search function by
building it), and the match function consumes it, so this module is the contract between them.
Field names follow Rekognition's output exactly (as in the stream processor records AWS documents).
Unknown extra fields are ignored, so a record from a newer Rekognition still parses.
"""

from pydantic import BaseModel, ConfigDict, Field


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Box(_Shape):
    Width: float
    Height: float
    Left: float
    Top: float


class Landmark(_Shape):
    Type: str
    X: float
    Y: float


class FacePose(_Shape):
    Roll: float
    Yaw: float
    Pitch: float


class FaceQuality(_Shape):
    Brightness: float
    Sharpness: float


class DetectedFace(_Shape):
    BoundingBox: Box
    Confidence: float
    Landmarks: list[Landmark] = []
    Pose: FacePose | None = None
    Quality: FaceQuality | None = None


class CollectionFace(_Shape):
    FaceId: str
    ExternalImageId: str | None = None
    ImageId: str | None = None
    Confidence: float | None = None
    BoundingBox: Box | None = None


class MatchedFace(_Shape):
    Similarity: float = Field(ge=0, le=100)
    Face: CollectionFace


class FaceSearchResult(_Shape):
    DetectedFace: DetectedFace
    MatchedFaces: list[MatchedFace] = []

    def best_match(self) -> MatchedFace | None:
        return max(self.MatchedFaces, key=lambda match: match.Similarity, default=None)


class KinesisVideo(_Shape):
    StreamArn: str
    FragmentNumber: str | None = None
    ServerTimestamp: float | None = None
    ProducerTimestamp: float
    FrameOffsetInSeconds: float = 0.0

    @property
    def stream_name(self) -> str:
        # arn:aws:kinesisvideo:region:account:stream/<name>/<creation-time>
        return self.StreamArn.split(":stream/", 1)[-1].split("/", 1)[0]

    @property
    def frame_timestamp(self) -> float:
        """When the frame was filmed, in epoch seconds (producer clock)."""
        return self.ProducerTimestamp + self.FrameOffsetInSeconds


class InputInformation(_Shape):
    KinesisVideo: KinesisVideo


class ProcessorInformation(_Shape):
    Status: str


class GreeterInformation(_Shape):
    """Greeter's own addition, written only by the frame-search function; absent from Rekognition's records."""

    Source: str = "FrameSearch"
    SnapshotKey: str | None = None


class FaceSearchRecord(_Shape):
    InputInformation: InputInformation
    StreamProcessorInformation: ProcessorInformation | None = None
    FaceSearchResponse: list[FaceSearchResult] = []
    Greeter: GreeterInformation | None = None

    @property
    def video(self) -> KinesisVideo:
        return self.InputInformation.KinesisVideo


# Rekognition's own names for the shapes above (the fields carry these names, so the classes can't).
BoundingBox = Box
Pose = FacePose
Quality = FaceQuality
StreamProcessorInformation = ProcessorInformation
