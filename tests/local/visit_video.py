"""A recorded visit as a video file, for the local runtime's camera: a real face (scikit-image's astronaut photo)
walks in, stays and leaves; a stranger (the cameraman of scikit-image's `camera` photo) passes; empty shop
between. The end-to-end test and the latency benchmark play it in a loop."""

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


def face_in_view(second: float, who: str = "visitor") -> bool:
    return any(start <= second < end and name == who for start, end, name, *_ in VISIT)


def write_visit_video(path: Path, empty: bool = False, always: bool = False) -> Path:
    """Write the visit (or an empty shop, or the visitor always in view) as an MJPEG AVI at 10 fps."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (WIDTH, HEIGHT))
    faces, base = heads(), backdrop()
    for index in range(int(SECONDS * FPS)):
        second = index / FPS
        frame = base.copy()
        cast = (
            []
            if empty
            else [("visitor", 0.0, 1.0, 200, 200)]
            if always
            else [
                (who, second - start, end - start, x0, x1) for start, end, who, x0, x1 in VISIT if start <= second < end
            ]
        )
        for who, into, length, x0, x1 in cast:
            x = int(x0 + (x1 - x0) * into / length)
            left, right = max(0, x), min(WIDTH, x + HEAD)
            if right > left:
                frame[120 : 120 + HEAD, left:right] = faces[who][:, left - x : right - x]
        writer.write(frame)
    writer.release()
    return path
