"""The face-search record: what a Rekognition stream processor writes to the detection data stream.

Both detection modes produce it (the stream processor natively; the frame-search function by
building it), and the match function consumes it, so this module is the contract between them.
Field names follow Rekognition's output exactly (as in the stream processor records AWS documents).
Unknown extra fields are ignored, so a record from a newer Rekognition still parses. Types are strict and
numbers finite: "97" is not a similarity, `true` is not a timestamp, NaN and Infinity are not numbers.
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True, allow_inf_nan=False)


# Rekognition's own limits: an ExternalImageId is 1-255 of [a-zA-Z0-9_.\-:]; an ARN at most 1024 characters.
PersonId = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_.\-:]{1,255}$")]
Arn = Annotated[str, StringConstraints(max_length=1024)]


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
    ExternalImageId: PersonId | None = None
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
    """Where and when the frame was filmed. Timestamps are epoch seconds: `ServerTimestamp` is AWS's clock (when
    Kinesis Video received the fragment; in FrameSearch mode, when S3 stored the crop), `ProducerTimestamp`
    the camera's own clock (which may be wrong), `FrameOffsetInSeconds` the frame's place in its fragment."""

    StreamArn: Arn
    FragmentNumber: str | None = None
    ServerTimestamp: float | None = None
    ProducerTimestamp: float
    FrameOffsetInSeconds: float = Field(default=0.0, ge=0, le=3600)

    @property
    def stream_name(self) -> str:
        # arn:aws:kinesisvideo:region:account:stream/<name>/<creation-time>
        return self.StreamArn.split(":stream/", 1)[-1].split("/", 1)[0]

    @property
    def producer_frame_time(self) -> float:
        """When the frame was filmed by the camera's clock, epoch seconds."""
        return self.ProducerTimestamp + self.FrameOffsetInSeconds

    @property
    def server_frame_time(self) -> float | None:
        """When the frame was filmed by AWS's clock (None when the record carries no server timestamp)."""
        return None if self.ServerTimestamp is None else self.ServerTimestamp + self.FrameOffsetInSeconds


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
