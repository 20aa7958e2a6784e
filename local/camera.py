"""The camera of the local runtime: pi/greeter_camera in frame-search mode, reading a webcam or a video file.

    python -m local.camera --config local-state/camera.env [--file visit.mp4]

Everything after the camera is the Pi's own program: the configuration file read and checked by
`greeter_camera.config`, the pipeline `greeter_camera.pipeline` builds (its detection branch), the runner
pulling frames, and the sender `greeter_camera.service.make_sender` makes (YuNet, the tracker, rate limits,
S3 uploads with the camera's access key). The local runtime writes the camera.env (access keys of the
local moto server, GREETER_STREAM_VIDEO=false since there is no Kinesis Video Streams here) and sets
AWS_ENDPOINT_URL, so the uploads go to the local crops bucket.

With a webcam the pipeline's own camera source is used (`v4l2src`). With a file, the camera part is
`filesrc ! decodebin`, paced to real time (`clocksync`) and scaled to the configured size, and the file
plays in a loop: each time it ends, the pipeline runs again.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

log = logging.getLogger("greeter.local.camera")
ROOT = Path(__file__).resolve().parent.parent
RETRY_SECONDS = 3.0


def file_source(path: Path, width: int, height: int, framerate: int) -> str:
    """A video file standing in for the camera: decoded, at real-time pace, at the camera's size and rate."""
    from greeter_camera.pipeline import RAW_CAPS_NAME

    location = str(path).replace("\\", "\\\\").replace('"', '\\"')
    return (
        f'filesrc location="{location}" ! decodebin ! clocksync ! videoconvert ! '
        f"videoscale add-borders=true ! videorate ! "
        f'capsfilter name={RAW_CAPS_NAME} caps="video/x-raw,width={width},height={height},framerate={framerate}/1"'
    )


def run(config_path: Path, video: Path | None, stop: threading.Event) -> int:
    from greeter_camera.config import ConfigError, check_environment, load_config
    from greeter_camera.pipeline import build_pipeline
    from greeter_camera.runner import PipelineRunner, bindings_problem, has_element
    from greeter_camera.service import make_sender

    try:
        config = load_config(config_path)
    except ConfigError as error:
        for problem in error.problems:
            log.error("%s", problem)
        return 78
    problem = bindings_problem()
    if problem:
        log.error("%s", problem)
        return 1
    cam = config.camera
    source = file_source(video, cam.width, cam.height, cam.framerate) if video else None
    spec = build_pipeline(config, "x264enc", source=source)
    sender = make_sender(config)
    sender.start()
    try:
        while not stop.is_set():
            problems = [] if video else check_environment(config, has_element, "x264enc")
            if problems:
                log.error("no camera: %s", " ".join(problems))
                stop.wait(RETRY_SECONDS)
                continue
            outcome = PipelineRunner(config, spec, sender=sender).run(stop)
            if outcome.kind == "eos" and video:
                continue  # the file ended: play it again
            if not stop.is_set():
                log.warning("camera stopped (%s): %s; starting again in %.0f s", outcome.kind, outcome.message, 3)
                stop.wait(RETRY_SECONDS)
    finally:
        sender.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--file", type=Path, help="a video file to play in a loop instead of the webcam")
    args = parser.parse_args(argv)
    if str(ROOT / "pi") not in sys.path:
        sys.path.insert(0, str(ROOT / "pi"))
    from greeter_camera.service import setup_logging

    setup_logging()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return run(args.config, args.file, stop)


if __name__ == "__main__":
    sys.exit(main())
