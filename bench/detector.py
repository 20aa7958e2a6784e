"""The camera's face detector on this machine: YuNet and the Haar fallback, side by side, at several detection
widths: how fast, and what each width finds.

    .venv/bin/python -m bench.detector                 # from the repository root (make bench runs it)
    .venv/bin/python -m bench.detector --seconds 5     # longer runs, steadier figures

Speed: each detector runs on the same 1280x720 frame with one face in it (scikit-image's astronaut photo pasted
into a scene). A "frame" includes shrinking the full frame, as FrameSearchSender does. Rows with one OpenCV
thread show what is left when the Pi's other cores are busy with the video pipeline.

What each width finds, in the camera's own pixels (1280x720 frames):
  - recall on insightface's 6-face group photo (t1.jpg) with the default minimum face (50 px), the photo
    filling the frame (faces about 80 px) and at half size (faces about 50 px, at the minimum);
  - the smallest face found: the astronaut's face from 100 px down to 20 px wide, the minimum at its lowest (40),
    so the width's own limit shows.
t1.jpg ships in the insightface wheel: the first run downloads that wheel (pip, no dependencies) into
.cache/wheels/ and reads the photo out of it; nothing is installed.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
from skimage import data

# The camera code lives in pi/ (it is installed on the Pi, not packaged with the cloud side).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pi"))

from greeter_camera.detection_settings import AUTO_WIDTH, DetectionSettings  # noqa: E402
from greeter_camera.faces import FaceDetector, load_face_detector  # noqa: E402

FRAME_SIZE = (1280, 720)
WIDTHS = (320, 512, 640, 1280)  # 512: what `auto` picks for 1280x720 and 50 px faces
REPOSITORY = Path(__file__).resolve().parent.parent
WHEEL_CACHE = REPOSITORY / ".cache" / "wheels"
INSIGHTFACE = "insightface==2.1"
GROUP_PHOTO = "insightface/data/images/t1.jpg"
GROUP_SIZE = 6


def group_photo() -> np.ndarray:
    """insightface's t1.jpg (six people, 1280x886), read out of the insightface wheel."""
    wheels = sorted(WHEEL_CACHE.glob("insightface-2.1-*.whl"))
    if not wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", INSIGHTFACE, "-d", str(WHEEL_CACHE)],
            check=True,
        )
        wheels = sorted(WHEEL_CACHE.glob("insightface-2.1-*.whl"))
    with zipfile.ZipFile(wheels[-1]) as wheel:
        data = np.frombuffer(wheel.read(GROUP_PHOTO), np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def group_frames() -> dict[str, np.ndarray]:
    """The group photo as 1280x720 camera frames: filling the frame (faces ~80 px), and at half size on a grey
    background (faces ~50 px)."""
    photo = group_photo()
    frames = {}
    full = cv2.resize(photo, (round(photo.shape[1] * FRAME_SIZE[1] / photo.shape[0]), FRAME_SIZE[1]))
    frame = np.full((FRAME_SIZE[1], FRAME_SIZE[0], 3), 128, np.uint8)
    frame[:, : full.shape[1]] = full[:, : FRAME_SIZE[0]]
    frames["~80 px"] = frame
    half = cv2.resize(photo, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    frame = np.full((FRAME_SIZE[1], FRAME_SIZE[0], 3), 128, np.uint8)
    frame[100 : 100 + half.shape[0], 200 : 200 + half.shape[1]] = half
    frames["~50 px"] = frame
    return frames


def smallest_face_found(detector: FaceDetector) -> int | None:
    """The narrowest face (camera pixels) the detector finds: the astronaut's face from 100 px down to 20 px."""
    head = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)[20:240, 120:340]  # the face ~90 px wide inside
    smallest = None
    for face_px in range(100, 18, -2):
        frame = np.full((FRAME_SIZE[1], FRAME_SIZE[0], 3), 128, np.uint8)
        small = cv2.resize(head, None, fx=face_px / 90, fy=face_px / 90, interpolation=cv2.INTER_AREA)
        frame[300 : 300 + small.shape[0], 600 : 600 + small.shape[1]] = small
        if detector.detect(frame):
            smallest = face_px
    return smallest


def settings_for(name: str, width: int, min_face_px: int = 50) -> DetectionSettings:
    return DetectionSettings(
        crops_bucket="bench-bucket",
        stream_name="bench",
        region="eu-west-1",
        detector=name,
        detection_width=width,
        min_face_px=min_face_px,
    )


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
                settings = settings_for(name, width)
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

    print()
    print(f"What each width finds (1280x720 frames; recall of the {GROUP_SIZE} faces with the 50 px minimum)")
    frames = group_frames()
    header = f"{'detector':<9}{'detect at':>11}" + "".join(f"{'faces ' + k:>15}" for k in frames) + f"{'smallest':>10}"
    print(header)
    print("-" * len(header))
    for name in ("yunet", "haar"):
        for width in (*WIDTHS, AUTO_WIDTH):
            detector = load_face_detector(settings_for(name, width))
            used = detector.detection_width(FRAME_SIZE[0])
            label = f"auto={used}" if width == AUTO_WIDTH else str(width)
            recalls = "".join(f"{f'{len(detector.detect(frame))}/{GROUP_SIZE}':>15}" for frame in frames.values())
            smallest = smallest_face_found(load_face_detector(settings_for(name, width, min_face_px=40)))
            print(f"{detector.name:<9}{label:>11}{recalls}{(f'{smallest} px' if smallest else 'none'):>10}")


if __name__ == "__main__":
    main()
