"""Records in the stream processor's shape, and what SNS sent, for the match tests. Lambda's event source
mappings themselves (`QueueEventSource`, `KinesisEventSource`) live in local/event_sources.py, shared with the
local runtime."""

from __future__ import annotations

from moto.sns.models import sns_backends
from stack import ACCOUNT, REGION, Stack

from local.event_sources import (  # noqa: F401 - re-exported
    KinesisEventSource,
    QueueEventSource,
    detection_source,
    kinesis_event_record,
)


def face_search_record(
    stream_arn: str,
    producer_timestamp: float,
    faces: list[dict] | None = None,
    frame_offset: float = 0.0,
    server_timestamp: float | None = None,
) -> dict:
    """A record in the shape Rekognition's stream processor writes (as AWS documents it), `faces` from `face()`.
    Kinesis Video receives the fragment 0.3 s after the camera stamped it, unless `server_timestamp` says
    otherwise (a camera whose clock is off)."""
    return {
        "InputInformation": {
            "KinesisVideo": {
                "StreamArn": stream_arn,
                "FragmentNumber": "91343852333181501717324262640137742175000164731",
                "ServerTimestamp": producer_timestamp + 0.3 if server_timestamp is None else server_timestamp,
                "ProducerTimestamp": producer_timestamp,
                "FrameOffsetInSeconds": frame_offset,
            }
        },
        "StreamProcessorInformation": {"Status": "RUNNING"},
        "FaceSearchResponse": faces or [],
    }


def face(matches: list[tuple[str | None, float]] = (), left: float = 0.43) -> dict:
    """One detected face and its matches [(person id or None, similarity)], shaped like Rekognition's."""
    return {
        "DetectedFace": {
            "BoundingBox": {"Height": 0.075, "Width": 0.05625, "Left": left, "Top": 0.40833333},
            "Confidence": 99.975174,
            "Landmarks": [
                {"X": left + 0.017, "Y": 0.4395594, "Type": "eyeLeft"},
                {"X": left + 0.035, "Y": 0.43744427, "Type": "eyeRight"},
                {"X": left + 0.031, "Y": 0.4526856, "Type": "nose"},
                {"X": left + 0.021, "Y": 0.4696949, "Type": "mouthLeft"},
                {"X": left + 0.036, "Y": 0.46704912, "Type": "mouthRight"},
            ],
            "Pose": {"Pitch": 2.9691637, "Roll": -6.8904796, "Yaw": 23.84388},
            "Quality": {"Brightness": 40.592964, "Sharpness": 96.09616},
        },
        "MatchedFaces": [
            {
                "Similarity": similarity,
                "Face": {
                    "BoundingBox": {"Height": 0.557692, "Width": 0.749838, "Left": 0.103426, "Top": 0.206731},
                    "FaceId": f"face-{person_id}-{i}",
                    "Confidence": 99.999201,
                    "ImageId": f"image-{person_id}-{i}",
                    **({"ExternalImageId": person_id} if person_id else {}),
                },
            }
            for i, (person_id, similarity) in enumerate(matches)
        ],
    }


def sent_emails(stack: Stack, topic: str = "AlertsTopic") -> list[dict]:
    """What SNS (moto) received on the topic: subject, message and attributes of each publish."""
    arn = stack.ref(topic)
    notifications = sns_backends[ACCOUNT][REGION].topics[arn].sent_notifications
    return [
        {"id": message_id, "subject": subject, "message": message, "attributes": attributes}
        for message_id, message, subject, attributes, *_ in notifications
    ]
