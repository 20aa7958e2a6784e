"""From one face-search record to the registered people it shows and when AWS saw them, or a counted reason to
drop it.

Decoding is defensive: whatever a record holds, `decode` returns a `Frame` or raises a `Rejected` (never
anything else), so one bad record can never take its batch down.

When a sighting happened is decided from the clocks AWS keeps, never from the camera's own:
  - `ServerTimestamp` (+ the frame's offset): when Kinesis Video received the frame (stream processor) or
    when S3 stored the face crop (frame search, which writes the S3 event time there);
  - when the record reached the detection stream or queue (`approximateArrivalTimestamp` or `SentTimestamp`,
    deliveries.py).
The camera's `ProducerTimestamp` (a Raspberry Pi has no real-time clock: after a power cut it boots with the
time it shut down until NTP answers) is only compared with them, to flag a camera whose clock is off.

Bounds: a frame cannot be seen after its record arrived (AWS's clocks agree within `ARRIVAL_TOLERANCE`), and a
record that arrives more than `STALE_AFTER_SECONDS` after AWS saw the frame helps nobody (the frame-search
function already drops crops older than CropMaxAgeSeconds, at most 300 s; a stream processor writes within
seconds). Either way the sighting is stale: counted, and it sends nothing.
"""

import json
import math
from dataclasses import dataclass
from enum import Enum

from greeter_common.records import FaceSearchRecord
from pydantic import ValidationError

MAX_RECORD_BYTES = 1_048_576  # a Kinesis record's own limit, and an SQS message's
MAX_DEPTH = 16  # a face-search record nests 6 deep; JSON nested thousands deep exhausts the parser's stack
ARRIVAL_TOLERANCE = 5.0  # seconds: how far AWS's own clocks may disagree
STALE_AFTER_SECONDS = 300.0
CLOCK_SKEW_LIMIT = 120.0  # seconds between the camera's clock and AWS's beyond which the camera's clock is off


class Rejected(ValueError):
    """The record is dropped, counted under `metric`; retrying it would not help."""

    metric = "MalformedRecords"


class MalformedRecord(Rejected):
    """Not a face-search record."""


class ForeignCamera(Rejected):
    """A face-search record from a camera that is not one of this stack's."""

    metric = "ForeignCameraRecords"


class Timing(Enum):
    CURRENT = "current"
    STALE = "stale"  # arrived more than STALE_AFTER_SECONDS after AWS saw the frame
    IMPOSSIBLE = "impossible"  # seen after it arrived


@dataclass(frozen=True)
class Sighting:
    """A registered person's face, matched at or above the threshold, in one analysed frame."""

    person_id: str
    similarity: float
    camera: str
    stream_arn: str
    seen_at: float  # epoch seconds, AWS's clock
    snapshot_key: str | None = None


@dataclass(frozen=True)
class Frame:
    camera: str
    faces: int  # faces Rekognition detected in the frame
    sightings: list[Sighting]
    below_threshold: int  # faces whose best match was under the threshold
    without_person: int  # matched faces whose collection entry names no person
    seen_at: float  # epoch seconds, AWS's clock
    timing: Timing
    camera_clock_offset: float  # seconds the camera's clock is ahead of AWS's (negative: behind)

    @property
    def camera_clock_off(self) -> bool:
        return abs(self.camera_clock_offset) > CLOCK_SKEW_LIMIT


@dataclass(frozen=True)
class Cameras:
    """This stack's cameras: video streams arn:...:kinesisvideo:<region>:<account>:stream/<stack>-<camera>/<id>."""

    stream_arn_prefix: str  # arn:<partition>:kinesisvideo:<region>:<account>:stream/<stack>-
    names: frozenset[str]

    def camera_of(self, stream_arn: str) -> str | None:
        if not stream_arn.startswith(self.stream_arn_prefix):
            return None
        camera, _, creation_time = stream_arn.removeprefix(self.stream_arn_prefix).partition("/")
        return camera if camera in self.names and creation_time.isdigit() else None


def decode(payload: object, arrived_at: object, threshold: float, cameras: Cameras, now: float) -> Frame:
    """Decode a record's bytes (and its arrival time) into the sightings it holds."""
    document = _document(payload)
    try:
        record = FaceSearchRecord.model_validate(document)
    except ValidationError as error:
        # Field locations and messages only: the values may be personal data.
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:5])
        raise MalformedRecord(f"not a face-search record: {problems}") from None
    video = record.video
    camera = cameras.camera_of(video.StreamArn)
    if camera is None:
        raise ForeignCamera(f"stream {video.StreamArn[:300]!r} is not one of this stack's cameras")

    arrival = arrival_time(arrived_at, now)
    seen_at = video.server_frame_time
    if seen_at is None:
        seen_at = arrival  # no AWS timestamp in the record: its arrival on the stream or queue is the closest AWS clock
    if seen_at > arrival + ARRIVAL_TOLERANCE:
        timing = Timing.IMPOSSIBLE
    elif arrival - seen_at > STALE_AFTER_SECONDS:
        timing = Timing.STALE
    else:
        timing = Timing.CURRENT
    snapshot_key = record.Greeter.SnapshotKey if record.Greeter else None
    sightings, below, without_person = [], 0, 0
    for result in record.FaceSearchResponse:
        best = result.best_match()
        if best is None:
            continue
        if best.Similarity < threshold:
            below += 1
            continue
        if not best.Face.ExternalImageId:
            without_person += 1
            continue
        sightings.append(
            Sighting(
                person_id=best.Face.ExternalImageId,
                similarity=best.Similarity,
                camera=camera,
                stream_arn=video.StreamArn,
                seen_at=seen_at,
                snapshot_key=snapshot_key,
            )
        )
    return Frame(
        camera=camera,
        faces=len(record.FaceSearchResponse),
        sightings=sightings,
        below_threshold=below,
        without_person=without_person,
        seen_at=seen_at,
        timing=timing,
        camera_clock_offset=video.producer_frame_time - seen_at,
    )


def _document(raw: object) -> dict:
    if not isinstance(raw, bytes):
        raise MalformedRecord(f"no record data: a {type(raw).__name__}")
    if len(raw) > MAX_RECORD_BYTES:
        raise MalformedRecord(f"larger than a record may be ({len(raw):,} bytes)")
    try:
        document = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise MalformedRecord("not JSON: nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedRecord(f"not JSON: {str(error)[:200]}") from None
    if not isinstance(document, dict):
        raise MalformedRecord(f"unknown shape: a JSON {type(document).__name__}, not an object")
    if _depth_exceeds(document, MAX_DEPTH):
        raise MalformedRecord(f"unknown shape: nested more than {MAX_DEPTH} deep")
    return document


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number")


def _depth_exceeds(document: object, limit: int) -> bool:
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def arrival_time(arrived_at: object, now: float) -> float:
    """The record's arrival on the stream or queue; Lambda always sets it, else the function's clock stands in."""
    if isinstance(arrived_at, int | float) and not isinstance(arrived_at, bool) and math.isfinite(arrived_at):
        return float(arrived_at)
    return now
