"""How well the camera's memory of searched faces tells people apart, measured on real face photos.

    .venv/bin/python -m bench.face_memory

The camera (pi/greeter_camera/face_memory.py) spares a new track when its SFace embedding is as close as its
cut-off (SAME_FACE_COSINE) to two crops it uploaded in the last GREETER_SEARCH_MEMORY_MINUTES. Two rates decide
what that saves and what it costs, and bench/detection_cost.py's simulated store uses both:
  - recognised: a person seen again (another track) is known to the memory, so no search is paid;
  - confused: a different person is taken for someone remembered, so their search is skipped (a missed
    greeting if they registered). None of the pairs here is, which bounds the rate (rule of three) but does not
    make it zero; the report says what that bound means for a memory of up to MAX_REMEMBERED uploads.
Eight people: scikit-image's astronaut and cameraman and the six of insightface's group photo (t1.jpg, read out of
the insightface wheel as bench/detector.py does). Each is first seen as the camera sees a face at the door (the
head pasted into a 1280x720 frame, face about 90-120 px); then again in ways a later track differs: mirrored (the
head turned the other way), further away (60%), darker and brighter light, a lower JPEG quality, motion blur and a
tilted head. No package ships two photos of one person, so "the same person again" is an edit of one photo:
kinder than a real second sighting (other pose, other light), so the recognised rate is an upper bound.
The camera's own detector (YuNet) and recogniser (SFace) do the work, as on the Pi.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import math
import statistics
import sys
from dataclasses import dataclass, fields
from pathlib import Path

import cv2
import numpy as np
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pi"))

from greeter_camera.detection_settings import DetectionSettings  # noqa: E402
from greeter_camera.face_memory import MAX_REMEMBERED, SAME_FACE_COSINE, SEARCHES_BEFORE_SPARED, FaceRecogniser  # noqa: E402
from greeter_camera.faces import load_face_detector  # noqa: E402

from bench.detector import group_photo, settings_for  # noqa: E402
from bench.report import markdown_table, publish  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
# The camera's GREETER_SEARCH_MEMORY_MINUTES default (bench/detection_cost.py simulates it).
DEFAULT_MEMORY_MINUTES = next(f.default for f in fields(DetectionSettings) if f.name == "search_memory_minutes")
FRAME = (1280, 720)


def _bgr(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR if image.ndim == 2 else cv2.COLOR_RGB2BGR)


def heads() -> dict[str, np.ndarray]:
    """Each person's head with some shoulders round it, as a BGR image."""
    people = {
        "astronaut": _bgr(data.astronaut())[20:240, 120:340],
        "cameraman": _bgr(data.camera())[60:280, 130:350],
    }
    group = group_photo()
    detector = load_face_detector(settings_for("yunet", 1280, min_face_px=40))
    for i, face in enumerate(sorted(detector.detect(group), key=lambda f: f.x), start=1):
        cx, cy, side = face.x + face.width / 2, face.y + face.height / 2, max(face.width, face.height) * 1.1
        top, left = max(0, int(cy - side)), max(0, int(cx - side))
        people[f"group photo #{i}"] = group[top : int(cy + side), left : int(cx + side)].copy()
    return people


def _tilted(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), 12, 1.0)
    return cv2.warpAffine(image, turn, (width, height), borderMode=cv2.BORDER_REPLICATE)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    return cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_COLOR)


def _blurred(image: np.ndarray) -> np.ndarray:
    kernel = np.zeros((7, 7), np.float32)
    kernel[3, :] = 1 / 7  # walking across the view
    return cv2.filter2D(image, -1, kernel)


# Each later sighting: (what changed, the head as then seen, the head's size relative to the first sighting)
LATER_SIGHTINGS = (
    ("mirrored (head turned the other way)", lambda h: cv2.flip(h, 1), 1.0),
    ("further away (60%)", lambda h: h, 0.6),
    ("darker light (60%)", lambda h: cv2.convertScaleAbs(h, alpha=0.6), 1.0),
    ("brighter light (+40)", lambda h: cv2.convertScaleAbs(h, alpha=1.0, beta=40), 1.0),
    ("JPEG quality 40", lambda h: _jpeg(h, 40), 1.0),
    ("motion blur (7 px)", _blurred, 1.0),
    ("head tilted 12 degrees", _tilted, 1.0),
)


@dataclass(frozen=True)
class Recognition:
    people: int
    later_sightings: int
    recognised: int
    different_pairs: int
    confused: int
    same_cosines: tuple[float, ...]
    different_cosines: tuple[float, ...]
    missed: tuple[str, ...]  # which later sightings were not recognised

    @property
    def recognised_share(self) -> float:
        return self.recognised / self.later_sightings

    @property
    def confused_share(self) -> float:
        return self.confused / self.different_pairs

    @property
    def highest_different_cosine(self) -> float:
        return max(self.different_cosines)

    @property
    def confused_share_bound(self) -> float:
        """The highest per-pair rate these pairs leave possible (95% confidence): with none confused in n pairs,
        the rule of three's 3/n."""
        return max(3, 3 * self.confused) / self.different_pairs

    @property
    def confused_share_fitted(self) -> float:
        """The per-pair rate if the different people's cosines are normally distributed: an extrapolation far
        into the tail, an estimate rather than a measurement."""
        mean = statistics.fmean(self.different_cosines)
        spread = statistics.stdev(self.different_cosines)
        return 0.5 * math.erfc((SAME_FACE_COSINE - mean) / (spread * math.sqrt(2)))


def false_spare_chance(per_pair: float, people_remembered: float) -> float:
    """The chance that a new face is taken for one of `people_remembered` others: about N x the per-pair rate
    while that is small. The memory spares a face after two matching uploads, but a lookalike's two uploads both
    match, so it is people remembered (about half the uploads) that counts, not uploads."""
    return 1 - (1 - per_pair) ** people_remembered


def _sighting(head: np.ndarray, width_px: float, x: int) -> np.ndarray:
    frame = np.full((FRAME[1], FRAME[0], 3), 128, np.uint8)
    scale = width_px / head.shape[1]
    small = cv2.resize(head, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    height, width = small.shape[:2]
    frame[200 : 200 + height, x : x + width] = small[: FRAME[1] - 200, : FRAME[0] - x]
    return frame


@functools.cache
def measure() -> Recognition:
    detector = load_face_detector(settings_for("yunet", 0))
    recogniser = FaceRecogniser()

    def embedding(frame: np.ndarray) -> np.ndarray | None:
        faces = detector.detect(frame)
        return recogniser.embedding(frame, max(faces, key=lambda f: f.area)) if faces else None

    first: dict[str, np.ndarray] = {}
    later: dict[str, list[tuple[str, np.ndarray | None]]] = {}
    for name, head in heads().items():
        seen = embedding(_sighting(head, 260, 300))
        if seen is None:
            continue
        first[name] = seen
        later[name] = [
            (what, embedding(_sighting(edit(head), 260 * size, 700))) for what, edit, size in LATER_SIGHTINGS
        ]
    same = [
        (name, what, float(first[name] @ e))
        for name, sightings in later.items()
        for what, e in sightings
        if e is not None
    ]
    recognised = [s for s in same if s[2] >= SAME_FACE_COSINE]
    undetected = [
        f"{name}: {what} (no face found)" for name, sightings in later.items() for what, e in sightings if e is None
    ]
    # Different people: every first sighting against every other person's first and later sightings.
    different = [
        float(first[a] @ e)
        for a, b in itertools.permutations(first, 2)
        for e in [first[b], *(e for _, e in later[b] if e is not None)]
    ]
    return Recognition(
        people=len(first),
        later_sightings=len(same) + len(undetected),
        recognised=len(recognised),
        different_pairs=len(different),
        confused=sum(1 for c in different if c >= SAME_FACE_COSINE),
        same_cosines=tuple(sorted(c for *_, c in same)),
        different_cosines=tuple(sorted(different)),
        missed=tuple(f"{name}: {what} ({c:.2f})" for name, what, c in same if c < SAME_FACE_COSINE) + tuple(undetected),
    )


def report() -> str:
    r = measure()
    full = MAX_REMEMBERED / SEARCHES_BEFORE_SPARED
    return "\n".join(
        [
            "## The camera's memory of searched faces, on real photos",
            "",
            markdown_table(
                ["", "pairs", "at or above the cut-off", "share"],
                [
                    [
                        "same person, a later sighting (recognised)",
                        str(r.later_sightings),
                        str(r.recognised),
                        f"{r.recognised_share:.0%}",
                    ],
                    [
                        "different people (confused)",
                        str(r.different_pairs),
                        str(r.confused),
                        f"{r.confused_share:.1%}",
                    ],
                ],
            ),
            "",
            f"{r.people} people; the camera's cut-off: SFace cosine {SAME_FACE_COSINE}. Same person: cosine "
            f"{min(r.same_cosines):.2f}-{max(r.same_cosines):.2f} (median "
            f"{r.same_cosines[len(r.same_cosines) // 2]:.2f}); different people: at most "
            f"{r.highest_different_cosine:.2f}. Not recognised: {', '.join(r.missed) or 'none'}. "
            f"{r.confused} confused in {r.different_pairs} pairs does not make the rate zero: by the rule of three it "
            f"is below {r.confused_share_bound:.2%} with 95% confidence. A normal distribution fitted to the "
            f"different people's cosines (mean {statistics.fmean(r.different_cosines):.2f}, standard deviation "
            f"{statistics.stdev(r.different_cosines):.2f}) puts it at {r.confused_share_fitted:.1e}: an "
            "extrapolation into the tail, not a measurement; photos of 8 people cannot decide between the two.",
            "",
            f"A new face is compared with every upload the memory holds (at most {MAX_REMEMBERED}; a face is spared "
            f"after {SEARCHES_BEFORE_SPARED} matching uploads, but a lookalike's uploads all match), so the chance "
            "that a stranger is taken for someone already searched grows with the people remembered, about N x the "
            "per-pair rate:",
            "",
            markdown_table(
                ["people remembered", "at the rule-of-three bound", "at the fitted rate"],
                [
                    [
                        f"{people:g}" + (f" (a full memory, {MAX_REMEMBERED} uploads)" if people == full else ""),
                        f"{false_spare_chance(r.confused_share_bound, people):.1%}",
                        f"{false_spare_chance(r.confused_share_fitted, people):.1e}",
                    ]
                    for people in (1, 10, full, 250)
                ],
            ),
            "",
            "250 people is what a memory of 500 uploads holds. bench/detection_cost.py counts the customers this "
            "leaves unsearched on simulated store days.",
        ]
    )


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=RESULTS / "face_memory.md")
    args = parser.parse_args(argv)
    return publish(report(), args.output)


if __name__ == "__main__":
    main()
