"""Frame-search test kit: real face crops, a deployed FrameSearch stack with its function, and the events S3 sends."""

import copy
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import boto3
import cv2
import numpy as np
from greeter_common.records import FaceSearchRecord
from skimage import data
from stack import ROOT, Stack

SAMPLE_EVENT = ROOT / "events" / "frame-search-crop.json"
PERSON_ID = "6f2c1d7e-93b4-4b8a-a7d2-0c5e1f9b3a21"
# Where OpenCV's YuNet finds the faces (left, top, width, height), measured once on these photos.
ASTRONAUT_FACE = (178, 63, 90, 114)
CAMERAMAN_FACE = (195, 113, 61, 82)


def jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    return cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


def face_crop(image: np.ndarray, face: tuple[int, int, int, int], margin: float = 0.4) -> np.ndarray:
    """What the camera sends: the face box grown by `margin` on each side, clamped to the image."""
    left, top, width, height = face
    x0, y0 = max(0, int(left - margin * width)), max(0, int(top - margin * height))
    x1 = min(image.shape[1], int(left + width * (1 + margin)))
    y1 = min(image.shape[0], int(top + height * (1 + margin)))
    return image[y0:y1, x0:x1]


def astronaut_crop() -> bytes:
    """A crop of the registered astronaut as a camera would send it: cut out, a little darker, JPEG 80."""
    crop = face_crop(data.astronaut(), ASTRONAUT_FACE).astype(np.float32) * 0.85
    return jpeg(crop.clip(0, 255).astype(np.uint8), quality=80)


def stranger_crop() -> bytes:
    """A real face nobody registered (scikit-image's cameraman)."""
    return jpeg(face_crop(data.camera()[..., None].repeat(3, axis=2), CAMERAMAN_FACE))


def faceless_crop() -> bytes:
    return jpeg(data.coffee())


@dataclass
class FrameSearch:
    """A deployed FrameSearch stack, its frame-search function, and helpers to feed it crops."""

    stack: Stack
    app: object
    context: object
    camera: str = "entrance"

    @property
    def bucket(self) -> str:
        return self.stack.ref("CropsBucket")

    def upload(self, image: bytes, captured_at: float | None = None, camera: str | None = None) -> str:
        captured_at = time.time() if captured_at is None else captured_at
        stream = f"{self.stack.name}-{camera or self.camera}"
        key = f"crops/{stream}/{int(captured_at * 1000)}-{uuid.uuid4()}.jpg"
        boto3.client("s3").put_object(Bucket=self.bucket, Key=key, Body=image, ContentType="image/jpeg")
        return key

    def event(self, key: str, uploaded_at: float | None = None) -> dict:
        """The EventBridge "Object Created" event S3 sends for the key (events/frame-search-crop.json's shape)."""
        event = copy.deepcopy(json.loads(SAMPLE_EVENT.read_text()))
        uploaded_at = time.time() if uploaded_at is None else uploaded_at
        event["id"] = str(uuid.uuid4())
        event["time"] = datetime.fromtimestamp(uploaded_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event["resources"] = [f"arn:aws:s3:::{self.bucket}"]
        event["detail"]["bucket"]["name"] = self.bucket
        event["detail"]["object"]["key"] = key
        return event

    def invoke(self, key: str, uploaded_at: float | None = None) -> dict:
        return self.app.lambda_handler(self.event(key, uploaded_at), self.context)

    def send(self, image: bytes, uploaded_at: float | None = None, **upload) -> dict:
        """Upload a crop (`captured_at`: the camera's clock) and invoke the function with S3's event for it."""
        return self.invoke(self.upload(image, **upload), uploaded_at)

    def crop_keys(self, prefix: str = "crops/") -> list[str]:
        listed = boto3.client("s3").list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for item in listed.get("Contents", [])]

    def records(self) -> list[FaceSearchRecord]:
        """Every face-search record on the detection queue, oldest first: received as the match function's
        poller receives them, then made visible again at once, so that a later drain() still delivers them
        (each look counts as one receive of each message)."""
        sqs = boto3.client("sqs")
        queue_url = self.stack.ref("DetectionQueue")
        messages = []
        while True:
            answer = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30, MessageSystemAttributeNames=["All"]
            )
            if not answer.get("Messages"):
                break
            messages += answer["Messages"]
        for message in messages:
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        messages.sort(key=lambda message: int(message["Attributes"]["SentTimestamp"]))
        return [FaceSearchRecord.model_validate_json(message["Body"]) for message in messages]

    def set_detection(self, state: str, camera: str | None = None) -> None:
        boto3.client("dynamodb").put_item(
            TableName=self.stack.ref("FrameSearchStateTable"),
            Item={
                "pk": {"S": f"camera#{camera or self.camera}"},
                "detection": {"S": state},
                "changed_at": {"S": datetime.now(UTC).isoformat()},
                "changed_by": {"S": "test"},
            },
        )
