"""Frame-search mode's decisions about one face crop, from its S3 key to the record it becomes.

A camera uploads each face crop to `crops/<video stream name>/<epoch-ms>-<uuid4>.jpg`. For each crop:
  1. the key says which camera and when the camera's clock says the face was filmed (a key of any other
     shape is dropped);
  2. a crop that reaches this function longer after S3 stored it than the age limit is dropped unsearched
     (Lambda's retries of the event, an alert about someone who has long left helps nobody). The age is
     AWS's clock against AWS's clock: a Raspberry Pi has no real-time clock, and one whose clock is off
     (it boots with the time it shut down until NTP answers) must still greet its visitors. The camera drops
     its own queued crops older than the limit by its own clock, before uploading them;
  3. outside opening hours (detection STOPPED for the camera) no search is made;
  4. each camera may make at most N searches a minute (a cost guardrail);
  5. Rekognition searches the collection for the crop's face, and the answer is sent to the detection
     queue in the stream processor's own record shape, so the match function treats both modes alike;
  6. the crop is deleted (or, when snapshots are on and the face matched, kept as a short-lived snapshot).

Every crop's fate is logged with its reason (the `Outcome`; app.py counts searches, the cap and the rest as
metrics); throttling that outlasts the SDK's retries fails the invocation, so Lambda retries it and finally
parks the event in the failure queue.
"""

import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from greeter_common.observability import logger
from greeter_common.records import (
    BoundingBox,
    CollectionFace,
    DetectedFace,
    FaceSearchRecord,
    FaceSearchResult,
    GreeterInformation,
    InputInformation,
    KinesisVideo,
    MatchedFace,
    StreamProcessorInformation,
)

CROPS_PREFIX = "crops/"
SNAPSHOTS_PREFIX = "snapshots/"
# crops/<video stream name>/<epoch-ms>-<uuid4>.jpg; a video stream name is 1-256 of [a-zA-Z0-9_.-].
_CROP_KEY = re.compile(
    r"crops/(?P<stream>[a-zA-Z0-9_.-]{1,256})/(?P<epoch_ms>\d{1,16})-(?P<uuid>[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})\.jpg"
)
QUOTA_ITEM_HOURS = 1  # a per-minute counter item is kept (TTL) this long after its minute


class Outcome(StrEnum):
    """What became of a crop, as its "crop handled" log line names it (app.py counts three kinds as metrics)."""

    MATCHED = "CropsMatched"  # a registered face: record written
    UNKNOWN_FACE = "CropsUnknownFace"  # a face nobody registered: record written with no MatchedFaces
    NO_FACE = "CropsNoFace"  # Rekognition found no face in the crop (InvalidParameterException)
    UNREADABLE = "CropsUnreadable"  # not an image Rekognition can read (corrupt, wrong format, too large)
    GONE = "CropsGone"  # the object no longer exists (a repeated event for a crop already handled)
    STALE = "CropsStale"  # older than the age limit (or stamped far in the future): not searched
    DETECTION_STOPPED = "CropsDetectionStopped"  # the store is closed for this camera: not searched
    OVER_CAP = "CropsOverCap"  # the camera's searches-per-minute cap was reached: not searched
    BAD_KEY = "CropsBadKey"  # the key is not a crop of a camera of this stack: not searched


class BadCropKey(ValueError):
    """The object key is not `crops/<this stack's video stream>/<epoch-ms>-<uuid4>.jpg`."""


@dataclass(frozen=True)
class Crop:
    key: str
    stream_name: str  # the camera's Kinesis video stream, <stack name>-<camera>
    camera: str
    captured_at: float  # epoch seconds, the camera's clock (may be wrong)
    uploaded_at: float  # epoch seconds, when S3 stored it (AWS's clock)

    def snapshot_key(self, person_id: str) -> str:
        """snapshots/<person id>/<stream>/<epoch-ms>-<uuid>.jpg: filed under the person the face matched, so
        erasing the person finds and deletes their snapshots."""
        return f"{SNAPSHOTS_PREFIX}{person_id}/{self.key.removeprefix(CROPS_PREFIX)}"

    def age(self, now: float) -> float:
        """Seconds since S3 stored the crop."""
        return now - self.uploaded_at

    @property
    def camera_clock_offset(self) -> float:
        """Seconds the camera's clock is ahead of AWS's (negative: behind), upload time included."""
        return self.captured_at - self.uploaded_at


def parse_crop_key(key: str, uploaded_at: float, stream_prefix: str, cameras: list[str]) -> Crop:
    match = _CROP_KEY.fullmatch(key)
    if match is None:
        raise BadCropKey(f"{key!r} is not crops/<video stream name>/<epoch-ms>-<uuid4>.jpg")
    stream_name = match["stream"]
    camera = stream_name.removeprefix(stream_prefix) if stream_name.startswith(stream_prefix) else None
    if camera not in cameras:
        raise BadCropKey(f"{stream_name!r} is not the video stream of one of this stack's cameras {cameras}")
    if uuid.UUID(match["uuid"]).version != 4:
        raise BadCropKey(f"{key!r}: the name's unique part must be a uuid4")
    return Crop(key, stream_name, camera, int(match["epoch_ms"]) / 1000, uploaded_at)


# How far AWS's own clocks (S3's event time, Lambda's) may disagree; EventBridge gives the time to the second.
CLOCK_TOLERANCE_SECONDS = 5


def is_stale(crop: Crop, now: float, max_age_seconds: float) -> bool:
    """Stored by S3 longer ago than the age limit (or, impossibly, in the future): too late to act on."""
    return not -CLOCK_TOLERANCE_SECONDS <= crop.age(now) <= max_age_seconds


def quota_minute(now: float) -> str:
    """The UTC minute a search made now counts against, e.g. 2026-11-23T10:41."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M")


def quota_expiry(now: float) -> int:
    return int(now) // 60 * 60 + 60 + QUOTA_ITEM_HOURS * 3600


def face_search_record(crop: Crop, stream_arn: str, search: dict, snapshot_key: str | None) -> FaceSearchRecord:
    """A SearchFacesByImage answer, in the shape a Rekognition stream processor writes to the data stream.

    The detected face's bounding box is relative to the crop (the stream processor's is relative to the
    video frame). ServerTimestamp is when S3 stored the crop (AWS's clock, as Kinesis Video's is for a stream
    processor): the match function times the sighting and its video link by it. ProducerTimestamp is the
    capture time by the camera's clock, which the match function only compares with it.
    """
    matches = [
        MatchedFace(
            Similarity=match["Similarity"],
            Face=CollectionFace.model_validate(match["Face"]),
        )
        for match in search.get("FaceMatches", [])
    ]
    return FaceSearchRecord(
        InputInformation=InputInformation(
            KinesisVideo=KinesisVideo(
                StreamArn=stream_arn,
                ServerTimestamp=crop.uploaded_at,
                ProducerTimestamp=crop.captured_at,
                FrameOffsetInSeconds=0.0,
            )
        ),
        StreamProcessorInformation=StreamProcessorInformation(Status="RUNNING"),
        FaceSearchResponse=[
            FaceSearchResult(
                DetectedFace=DetectedFace(
                    BoundingBox=BoundingBox.model_validate(search["SearchedFaceBoundingBox"]),
                    Confidence=search["SearchedFaceConfidence"],
                ),
                MatchedFaces=matches,
            )
        ],
        Greeter=GreeterInformation(Source="FrameSearch", SnapshotKey=snapshot_key),
    )


# ---------------------------------------------------------------------- what the search needs from AWS
class NoFaceInCrop(Exception):
    """Rekognition found no face in the image."""


class UnreadableCrop(Exception):
    """Rekognition cannot read the image (corrupt, not JPEG/PNG, too large)."""


class CropGone(Exception):
    """Rekognition could not get the crop from S3 (InvalidS3ObjectException): gone, or not readable."""


class CropNotReadableByRekognition(RuntimeError):
    """The crop exists but Rekognition could not read it: permissions or encryption are wrong."""


class DetectionState(Protocol):
    def detection_running(self, camera: str) -> bool: ...

    def take_search(self, camera: str, minute: str, cap: int, expires_at: int) -> bool: ...


class FaceSearcher(Protocol):
    def search(self, key: str) -> dict: ...


class CropStore(Protocol):
    def keep_snapshot(self, key: str, snapshot_key: str) -> None: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...


class RecordWriter(Protocol):
    def write(self, record: FaceSearchRecord) -> None: ...


class VideoStreams(Protocol):
    def arn(self, stream_name: str) -> str: ...


@dataclass
class CropSearch:
    """Steps 1-6 above for one crop, with the AWS integrations handed in (see app.py)."""

    state: DetectionState
    searcher: FaceSearcher
    crops: CropStore
    records: RecordWriter
    video_streams: VideoStreams
    stream_prefix: str
    cameras: list[str]
    max_age_seconds: float
    searches_per_minute: int
    keep_snapshots: bool

    def handle(self, key: str, uploaded_at: float, now: float | None = None) -> Outcome:
        now = time.time() if now is None else now
        try:
            crop = parse_crop_key(key, uploaded_at, self.stream_prefix, self.cameras)
        except BadCropKey as error:
            logger.warning("crop dropped: bad key", extra={"key": key, "reason": str(error)})
            self.crops.delete(key)
            return Outcome.BAD_KEY
        log = {
            "key": key,
            "camera": crop.camera,
            "age_seconds": round(crop.age(now), 3),
            "camera_clock_offset_seconds": round(crop.camera_clock_offset, 3),
        }
        outcome = self._dropped_before_search(crop, now)
        if outcome is None:
            outcome = self._search(crop)
        logger.info("crop handled", extra={**log, "outcome": outcome.value})
        return outcome

    def _dropped_before_search(self, crop: Crop, now: float) -> Outcome | None:
        if is_stale(crop, now, self.max_age_seconds):
            outcome = Outcome.STALE
        elif not self.state.detection_running(crop.camera):
            outcome = Outcome.DETECTION_STOPPED
        elif not self.state.take_search(crop.camera, quota_minute(now), self.searches_per_minute, quota_expiry(now)):
            logger.warning(
                "camera over its searches-per-minute cap",
                extra={"camera": crop.camera, "cap": self.searches_per_minute},
            )
            outcome = Outcome.OVER_CAP
        else:
            return None
        self.crops.delete(crop.key)
        return outcome

    def _search(self, crop: Crop) -> Outcome:
        try:
            found = self.searcher.search(crop.key)
        except NoFaceInCrop:
            self.crops.delete(crop.key)
            return Outcome.NO_FACE
        except UnreadableCrop:
            self.crops.delete(crop.key)
            return Outcome.UNREADABLE
        except CropGone as error:
            # A repeated event for a crop already handled and deleted; but if the crop is still there, the
            # function's access to it is broken: fail loudly rather than count every crop as gone.
            if self.crops.exists(crop.key):
                raise CropNotReadableByRekognition(f"{crop.key}: {error}") from error
            return Outcome.GONE
        matched = bool(found.get("FaceMatches"))
        snapshot_key = None
        if matched and self.keep_snapshots:
            snapshot_key = crop.snapshot_key(found["FaceMatches"][0]["Face"].get("ExternalImageId", "unknown"))
            self.crops.keep_snapshot(crop.key, snapshot_key)
        record = face_search_record(crop, self.video_streams.arn(crop.stream_name), found, snapshot_key)
        self.records.write(record)
        self.crops.delete(crop.key)
        return Outcome.MATCHED if matched else Outcome.UNKNOWN_FACE
