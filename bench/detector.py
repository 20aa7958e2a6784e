"""How fast the camera's face detector runs on this machine: YuNet and the Haar fallback, side by side.

    .venv/bin/python -m bench.detector                 # from the repository root
    .venv/bin/python -m bench.detector --seconds 5     # longer runs, steadier figures

Each detector runs on the same 1280x720 frame with one face in it (scikit-image's astronaut photo pasted into
a scene), at the default detection width (320, a 320x180 copy of the frame) and at 640. A "frame" includes
shrinking the full frame, as FrameSearchSender does. Rows with one OpenCV thread show what is left when the
Pi's other cores are busy with the video pipeline.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from skimage import data

# The camera code lives in pi/ (it is installed on the Pi, not packaged with the cloud side).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pi"))

from greeter_camera.detection_settings import DetectionSettings  # noqa: E402
from greeter_camera.faces import FaceDetector, load_face_detector  # noqa: E402

FRAME_SIZE = (1280, 720)
WIDTHS = (320, 640)


def realistic_frame() -> np.ndarray:
    """A 1280x720 frame: a cluttered scene (the coffee photo, enlarged) with a person at about 1.5 m."""
    scene = cv2.resize(cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR), FRAME_SIZE, interpolation=cv2.INTER_LINEAR)
    person = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), None, fx=1.2, fy=1.2)
    height, width = person.shape[:2]
    top, left = FRAME_SIZE[1] - height, 600
    scene[top : top + height, left : left + width] = person
    return scene


def time_detector(detector: FaceDetector, frame: np.ndarray, seconds: float) -> tuple[list[float], int]:
    faces = detector.detect(frame)  # warm-up: first call sizes the network
    timings = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(timings) < 10:
        started = time.perf_counter()
        detector.detect(frame)
        timings.append(time.perf_counter() - started)
    return timings, len(faces)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0, help="time spent on each row (default 2)")
    args = parser.parse_args()

    frame = realistic_frame()
    default_threads = cv2.getNumThreads()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"OpenCV {cv2.__version__} ({default_threads} threads by default); frame {FRAME_SIZE[0]}x{FRAME_SIZE[1]}")
    print()
    header = f"{'detector':<9}{'detect at':>11}{'threads':>9}{'ms/frame':>10}{'p95 ms':>8}{'fps':>8}{'faces':>7}"
    print(header)
    print("-" * len(header))
    for threads in (default_threads, 1):
        cv2.setNumThreads(threads)
        for name in ("yunet", "haar"):
            for width in WIDTHS:
                settings = DetectionSettings(
                    crops_bucket="bench-bucket",
                    stream_name="bench",
                    region="eu-west-1",
                    detector=name,
                    detection_width=width,
                )
                detector = load_face_detector(settings)
                timings, faces = time_detector(detector, frame, args.seconds)
                median = statistics.median(timings)
                p95 = statistics.quantiles(timings, n=20)[-1]
                small = f"{width}x{round(FRAME_SIZE[1] * width / FRAME_SIZE[0])}"
                print(
                    f"{detector.name:<9}{small:>11}{threads:>9}{median * 1000:>10.1f}{p95 * 1000:>8.1f}"
                    f"{len(timings) / sum(timings):>8.0f}{faces:>7}"
                )
    cv2.setNumThreads(default_threads)


if __name__ == "__main__":
    main()
