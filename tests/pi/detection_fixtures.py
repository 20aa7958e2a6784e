"""Shared by the test_detection_* modules: real face photos that ship in scikit-image, scenes composed from
them, settings, a fake clock, and S3 on moto with failures injected at the client boundary.

Where the faces are (YuNet on the original photos): astronaut() at about x 179, y 63, 90x112 px; camera()
at about x 198, y 120, 60x76 px. `ASTRONAUT_HEAD` is a 220x220 cut around the astronaut's head, its face at
about x 59, y 43, 90x112 inside it.

Test modules import it by name (`from detection_fixtures import ...`): with no `__init__.py` in tests/pi,
pytest puts that folder on sys.path. (tests/pi/conftest.py belongs to the producer's tests.)
"""

import contextlib
import threading
from collections.abc import Iterator

import boto3
import cv2
import numpy as np
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from greeter_camera.detection_settings import DetectionSettings
from moto import mock_aws
from skimage import data

BUCKET = "greeter-crops-test"
STREAM = "front-door"
REGION = "eu-west-1"
# Capture times in the tests: an arbitrary moment in 2026, in epoch seconds.
T0 = 1_780_000_000.0


def to_bgr(image: np.ndarray) -> np.ndarray:
    code = cv2.COLOR_GRAY2BGR if image.ndim == 2 else cv2.COLOR_RGB2BGR
    return cv2.cvtColor(image, code)


ASTRONAUT = to_bgr(data.astronaut())
CAMERAMAN = to_bgr(data.camera())
COFFEE = to_bgr(data.coffee())
CAT = to_bgr(data.chelsea())
ASTRONAUT_HEAD = ASTRONAUT[20:240, 120:340].copy()
HEAD_FACE = (59, 43, 90, 112)  # x, y, width, height of the face inside ASTRONAUT_HEAD


def gradient(width: int, height: int) -> np.ndarray:
    """A plain background with no face: grey, darker on the left."""
    x = np.linspace(40, 200, width, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 40, height, dtype=np.float32)[:, None, None]
    return np.broadcast_to(x + y, (height, width, 3)).astype(np.uint8).copy()


def paste(canvas: np.ndarray, image: np.ndarray, x: int, y: int, scale: float = 1.0) -> None:
    """Paste `image` scaled by `scale` with its top-left corner at (x, y) (may be off the canvas), cut at the
    canvas edges."""
    if scale != 1.0:
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=interpolation)
    height, width = image.shape[:2]
    top, left = max(0, y), max(0, x)
    bottom, right = min(canvas.shape[0], y + height), min(canvas.shape[1], x + width)
    canvas[top:bottom, left:right] = image[top - y : bottom - y, left - x : right - x]


def head_scene(width: int, height: int, heads: list[tuple[int, int, float]]) -> tuple[np.ndarray, list[tuple]]:
    """A gradient frame with the astronaut's head pasted at each (x, y, scale); returns the frame and where each
    face was put (x, y, width, height in frame pixels)."""
    frame = gradient(width, height)
    faces = []
    for x, y, scale in heads:
        paste(frame, ASTRONAUT_HEAD, x, y, scale)
        fx, fy, fw, fh = HEAD_FACE
        faces.append((x + fx * scale, y + fy * scale, fw * scale, fh * scale))
    return frame, faces


def centre_inside(box, face) -> bool:
    """Whether the centre of `face` (x, y, w, h) lies inside `box` (a FaceBox or CropBox)."""
    cx, cy = face[0] + face[2] / 2, face[1] + face[3] / 2
    if hasattr(box, "right"):
        return box.left <= cx < box.right and box.top <= cy < box.bottom
    return box.x <= cx < box.x + box.width and box.y <= cy < box.y + box.height


def make_settings(**overrides) -> DetectionSettings:
    values = {"crops_bucket": BUCKET, "stream_name": STREAM, "region": REGION} | overrides
    return DetectionSettings(**values)


class FakeClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@contextlib.contextmanager
def moto_s3(monkeypatch) -> Iterator:
    """A moto S3 with the crops bucket, and a client for it (fake credentials, region eu-west-1)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield client


def stored_crops(client) -> dict[str, dict]:
    """Every object in the crops bucket: key -> {body, content_type, metadata}."""
    objects = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            got = client.get_object(Bucket=BUCKET, Key=item["Key"])
            objects[item["Key"]] = {
                "body": got["Body"].read(),
                "content_type": got["ContentType"],
                "metadata": got["Metadata"],
            }
    return objects


def decode_jpeg(body: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a decodable image"
    return image


class FlakyS3:
    """The real (moto) S3 client behind a switch: while `down` (or for the next `fail_next` calls), put_object
    fails as a dropped network does. `lose_next_response` lets the next upload reach S3 but fails it on the way
    back (a read timeout)."""

    def __init__(self, client) -> None:
        self.client = client
        self.down = False
        self.fail_next = 0
        self.lose_next_response = False
        self.attempts = 0
        self.delivered: list[str] = []
        self._lock = threading.Lock()

    def put_object(self, **kwargs):
        with self._lock:
            self.attempts += 1
            if self.down or self.fail_next > 0:
                self.fail_next -= 1
                raise EndpointConnectionError(endpoint_url=f"https://{BUCKET}.s3.{REGION}.amazonaws.com")
            response = self.client.put_object(**kwargs)
            self.delivered.append(kwargs["Key"])
            if self.lose_next_response:
                self.lose_next_response = False
                raise ReadTimeoutError(endpoint_url=f"https://{BUCKET}.s3.{REGION}.amazonaws.com")
            return response
