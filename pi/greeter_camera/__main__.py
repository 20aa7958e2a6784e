"""python -m greeter_camera {run,check,status,print-pipeline} [--config /etc/greeter/camera.env]

- run             the service (what greeter-camera.service starts)
- check           check the configuration and this Pi (camera present, certificates, GStreamer plugins)
- status          the camera's health in plain words
- print-pipeline  the gst-launch-1.0 command the service runs, to try by hand
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from greeter_camera import DEFAULT_CONFIG_PATH
from greeter_camera.config import CameraConfig, ConfigError, check_environment, load_config
from greeter_camera.pipeline import build_pipeline, printable, read_board_model, resolve_encoder
from greeter_camera.service import EX_CONFIG, run_service, setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m greeter_camera", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("run", "check", "status", "print-pipeline"), nargs="?", default="run")
    parser.add_argument(
        "--config", default=DEFAULT_CONFIG_PATH, help=f"configuration file (default {DEFAULT_CONFIG_PATH})"
    )
    parser.add_argument("--health-file", help="health file to read for `status` (default: the configured one)")
    args = parser.parse_args(argv)

    if args.command == "run":
        setup_logging()
        return run_service(args.config)
    if args.command == "status":
        return _status(args.config, args.health_file)

    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"{args.config}: {len(error.problems)} problem(s):", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        for warning in error.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        return EX_CONFIG
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)

    from greeter_camera.runner import bindings_problem, has_element

    problem = bindings_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    encoder = resolve_encoder(config.encoder.name, read_board_model(), has_element)
    if args.command == "print-pipeline":
        print(printable(build_pipeline(config, encoder), config))
        return 0

    problems = check_environment(config, has_element, encoder)
    detector = ""
    if config.detection is not None:
        detector, detector_problems = _face_detector(config)
        problems += detector_problems
    if problems:
        print(f"{args.config} is valid, but this Pi is not ready:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    video = f"streams to {config.kvs.stream_name} with {encoder}" if config.kvs.stream_video else "streams no video"
    detect = ""
    if config.detection is not None:
        detect = (
            f", looks for faces {config.detection.fps} times a second ({detector}) and uploads them to "
            f"s3://{config.detection.crops_bucket}/crops/{config.detection.stream_name}/"
        )
    cam = config.camera
    print(f"OK: {cam.kind} camera, {cam.width}x{cam.height} at {cam.framerate} fps, {video}{detect}.")
    return 0


def _face_detector(config: CameraConfig) -> tuple[str, list[str]]:
    """Load the face detector as the service would: its name, or the problem in words."""
    assert config.detection is not None
    try:
        from greeter_camera.faces import load_face_detector

        detector = load_face_detector(config.detection)
    except Exception as error:  # ImportError of OpenCV, a missing or altered model file...
        return "", [
            f"frame-search mode cannot load the face detector ({type(error).__name__}: {error}); "
            "pi/install.sh installs it (pip install -r /opt/greeter/camera/requirements.txt in the venv)."
        ]
    if config.detection.detector == "auto" and detector.name != "yunet":
        print(
            "warning: the YuNet face model could not be loaded; the camera falls back to OpenCV's Haar cascade, "
            "which misses small and turned faces (see the log above).",
            file=sys.stderr,
        )
    return detector.name, []


def _status(config_path: str, health_file: str | None) -> int:
    from greeter_camera.config import DEFAULT_HEALTH_FILE
    from greeter_camera.health import describe_health

    if health_file is None:
        try:
            health_file = load_config(config_path).health_file
        except ConfigError:
            health_file = DEFAULT_HEALTH_FILE
    try:
        with open(health_file, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        print(f"No health file at {health_file}: is the service running? (systemctl status greeter-camera)")
        return 3
    print(describe_health(data, time.time()))
    return 0 if data.get("state") == "streaming" else 1


if __name__ == "__main__":
    sys.exit(main())
