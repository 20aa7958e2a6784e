"""A recorded visit as a video file for the local runtime's camera, when there is no webcam at hand:

    .venv/bin/python -m local.sample_video visit.avi && make local CAMERA=visit.avi

A real face (scikit-image's astronaut photo) walks in, stays and leaves; a stranger (the cameraman of
scikit-image's `camera` photo) passes; the shop is empty between. `visitor_photo()` is the visitor's
registration photo. The end-to-end test and the local-runtime benchmark play these videos in a loop."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from skimage import data

WIDTH, HEIGHT, FPS = 640, 480, 10
HEAD = 240


def _bgr(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR if image.ndim == 2 else cv2.COLOR_RGB2BGR)


def visitor_photo() -> bytes:
    """The registration photo of the visitor (the whole astronaut photo, as a JPEG)."""
    return cv2.imencode(".jpg", _bgr(data.astronaut()), [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()


def heads() -> dict[str, np.ndarray]:
    return {
        "visitor": np.ascontiguousarray(_bgr(data.astronaut())[10 : 10 + HEAD, 110 : 110 + HEAD]),
        "stranger": np.ascontiguousarray(_bgr(data.camera())[50 : 50 + HEAD, 110 : 110 + HEAD]),
    }


def backdrop() -> np.ndarray:
    x = np.linspace(60, 180, WIDTH, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 40, HEIGHT, dtype=np.float32)[:, None, None]
    return np.broadcast_to((x + y) * np.array([1.0, 0.95, 0.9], np.float32), (HEIGHT, WIDTH, 3)).astype(np.uint8)


# (start s, end s, who, x at start, x at end): who walks where; the rest of the time the shop is empty.
VISIT = (
    (1.0, 2.0, "visitor", -HEAD, 200),  # walks in
    (2.0, 4.0, "visitor", 200, 220),  # stays, facing the camera
    (4.0, 4.5, "visitor", 220, WIDTH),  # leaves
    (5.5, 7.0, "stranger", WIDTH - HEAD, 60),  # a stranger passes
)
SECONDS = 8.0
# For timing: the visitor appears at once (no walking in) at APPEARS seconds into the loop, and stays.
APPEARS = 4.0
SCENES = {
    "visit": VISIT,
    "appear": ((APPEARS, 7.0, "visitor", 200, 200),),
    "always": ((0.0, SECONDS, "visitor", 200, 200),),
    "empty": (),
}


def write_visit_video(path: Path, scene: str = "visit") -> Path:
    """Write a scene of SCENES (8 s, 640x480, 10 fps) as an MJPEG AVI."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (WIDTH, HEIGHT))
    faces, base = heads(), backdrop()
    for index in range(int(SECONDS * FPS)):
        second = index / FPS
        frame = base.copy()
        for start, end, who, x0, x1 in SCENES[scene]:
            if not start <= second < end:
                continue
            x = int(x0 + (x1 - x0) * (second - start) / (end - start))
            left, right = max(0, x), min(WIDTH, x + HEAD)
            if right > left:
                frame[120 : 120 + HEAD, left:right] = faces[who][:, left - x : right - x]
        writer.write(frame)
    writer.release()
    return path


if __name__ == "__main__":
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "visit.avi")
    print(write_visit_video(target, sys.argv[2] if len(sys.argv) > 2 else "visit"))
