"""What the camera's video bitrate does to a face on replay: the same clip encoded at several bitrates, side by side.

    .venv/bin/python -m bench.video_bitrate

In frame-search mode nobody but a person watching the alert's video link looks at the video, so the bitrate only
has to keep a face recognisable on replay; Kinesis Video bills every GB (bench/monthly_bill.py). The clip: a
1280x720, 30 fps shop scene (scikit-image's coffee photo as the shelf) with sensor noise (a webcam's, sigma 3
grey levels, which costs bits every frame), and a customer (the astronaut's head, face about 75 px wide: 3 m from
a 720p webcam) walking across in 3 s. Each bitrate is encoded with the Pi's software encoder settings
(pi/greeter_camera/pipeline.py: x264enc zerolatency, ultrafast, no B-frames, a key frame every 2 s) through
GStreamer, decoded, and every 5th frame's face compared with the same frame before encoding:
  - found: YuNet (the camera's detector) still finds the face;
  - same face: SFace cosine between the decoded and the original face (the camera's recogniser); the camera's own
    cut-off for "the same face" is 0.55 (pi/greeter_camera/face_memory.py), 1.0 is identical;
  - PSNR of the face's box, in dB (above ~35 dB differences are hard to see).
Needs gst-launch-1.0 with x264enc and avdec_h264 (make setup's Debian packages).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pi"))

from greeter_camera.face_memory import SAME_FACE_COSINE, FaceRecogniser  # noqa: E402
from greeter_camera.faces import FaceBox, load_face_detector  # noqa: E402

from bench.detector import settings_for  # noqa: E402
from bench.report import markdown_table, publish  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
WIDTH, HEIGHT, FPS, SECONDS = 1280, 720, 30, 3
BITRATES = (500, 1000, 1500, 3000)
SAMPLE_EVERY = 5


def clip(seed: int = 7) -> list[np.ndarray]:
    """The shop scene with a customer walking across it, BGR frames."""
    rng = np.random.default_rng(seed)
    shelf = cv2.resize(cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR), (WIDTH, HEIGHT))
    head = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)[20:240, 120:340]
    head = cv2.resize(head, None, fx=0.85, fy=0.85, interpolation=cv2.INTER_AREA)  # face about 75 px wide
    frames = []
    for i in range(FPS * SECONDS):
        frame = shelf.copy()
        x = 150 + i * 9  # walking: 270 px a second
        frame[250 : 250 + head.shape[0], x : x + head.shape[1]] = head
        noise = rng.normal(0, 3, frame.shape)
        frames.append(np.clip(frame + noise, 0, 255).astype(np.uint8))
    return frames


def encode_decode(frames: list[np.ndarray], kbps: int, work: Path) -> tuple[list[np.ndarray], int]:
    """The frames through x264 at `kbps` and back; returns the decoded frames and the encoded size in bytes."""
    raw, video = work / "in.bgr", work / f"{kbps}.mkv"
    raw.write_bytes(b"".join(f.tobytes() for f in frames))
    gop = 2 * FPS
    subprocess.run(
        f"gst-launch-1.0 -q filesrc location={raw} blocksize={WIDTH * HEIGHT * 3} ! "
        f"rawvideoparse width={WIDTH} height={HEIGHT} format=bgr framerate={FPS}/1 ! videoconvert ! "
        f"video/x-raw,format=I420 ! x264enc tune=zerolatency speed-preset=ultrafast bitrate={kbps} "
        f"key-int-max={gop} bframes=0 ! h264parse ! matroskamux ! filesink location={video}",
        shell=True,
        check=True,
    )
    decoded = work / f"{kbps}.bgr"
    subprocess.run(
        f"gst-launch-1.0 -q filesrc location={video} ! matroskademux ! h264parse ! avdec_h264 ! videoconvert ! "
        f"video/x-raw,format=BGR ! filesink location={decoded}",
        shell=True,
        check=True,
    )
    pixels = np.fromfile(decoded, np.uint8).reshape(-1, HEIGHT, WIDTH, 3)
    return list(pixels), video.stat().st_size


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255**2 / mse)


def measure() -> list[list[str]]:
    detector = load_face_detector(settings_for("yunet", 0))
    recogniser = FaceRecogniser()
    frames = clip()
    originals: dict[int, tuple[FaceBox, np.ndarray]] = {}
    for i in range(0, len(frames), SAMPLE_EVERY):
        [face] = detector.detect(frames[i])
        originals[i] = (face, recogniser.embedding(frames[i], face))
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for kbps in BITRATES:
            decoded, size = encode_decode(frames, kbps, Path(work))
            found, cosines, psnrs = 0, [], []
            for i, (face, original) in originals.items():
                seen = detector.detect(decoded[i])
                if seen:
                    found += 1
                    cosines.append(float(recogniser.embedding(decoded[i], seen[0]) @ original))
                x, y, w, h = (round(v) for v in (face.x, face.y, face.width, face.height))
                psnrs.append(_psnr(frames[i][y : y + h, x : x + w], decoded[i][y : y + h, x : x + w]))
            real_kbps = size * 8 / 1000 / SECONDS
            gb_a_month = real_kbps * 1000 / 8 * 3600 * 12 * 30 / 1e9
            rows.append(
                [
                    f"{kbps:,}",
                    f"{real_kbps:,.0f}",
                    f"{gb_a_month:,.0f}",
                    f"{found}/{len(originals)}",
                    f"{min(cosines):.2f} / {np.median(cosines):.2f}" if cosines else "-",
                    f"{min(psnrs):.1f} / {np.median(psnrs):.1f}",
                ]
            )
    return rows


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=RESULTS / "video_bitrate.md")
    args = parser.parse_args(argv)
    text = "\n".join(
        [
            f"## A face on replay by video bitrate ({WIDTH}x{HEIGHT}, {FPS} fps, x264 as on the Pi)",
            "",
            markdown_table(
                [
                    "GREETER_BITRATE_KBPS",
                    "kbit/s written",
                    "GB a month (12 h x 30 days)",
                    "face found",
                    f"same face: cosine min / median (cut-off {SAME_FACE_COSINE})",
                    "face PSNR dB min / median",
                ],
                measure(),
            ),
        ]
    )
    return publish(text, args.output)


if __name__ == "__main__":
    main()
