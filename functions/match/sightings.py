"""From one Kinesis record to the registered people it shows (or a clear reason it is unusable)."""

import binascii
import json
from dataclasses import dataclass

from greeter_common.records import FaceSearchRecord
from pydantic import ValidationError


class MalformedRecord(ValueError):
    """The record is not a face-search record; retrying it would not help."""


@dataclass(frozen=True)
class Sighting:
    """A registered person's face, matched at or above the threshold, in one analysed frame."""

    person_id: str
    similarity: float
    camera: str
    stream_arn: str
    seen_at: float  # epoch seconds, when the frame was filmed
    snapshot_key: str | None = None


@dataclass(frozen=True)
class Frame:
    record: FaceSearchRecord
    faces: int  # faces Rekognition detected in the frame
    sightings: list[Sighting]
    below_threshold: int  # faces whose best match was under the threshold
    without_person: int  # matched faces whose collection entry names no person


def decode(data: str, threshold: float, stream_prefix: str) -> Frame:
    """Decode a Kinesis record's base64 data into the sightings it holds."""
    try:
        raw = binascii.a2b_base64(data.encode("ascii"), strict_mode=True)
    except (binascii.Error, ValueError, UnicodeEncodeError) as error:
        raise MalformedRecord(f"not base64: {error}") from error
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedRecord(f"not JSON: {error}") from error
    if not isinstance(document, dict):
        raise MalformedRecord(f"unknown shape: a JSON {type(document).__name__}, not an object")
    try:
        record = FaceSearchRecord.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:5])
        raise MalformedRecord(f"not a face-search record: {problems}") from error

    video = record.video
    camera = video.stream_name.removeprefix(stream_prefix)
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
                seen_at=video.frame_timestamp,
                snapshot_key=snapshot_key,
            )
        )
    return Frame(record, len(record.FaceSearchResponse), sightings, below, without_person)
