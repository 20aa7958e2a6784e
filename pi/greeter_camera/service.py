"""The service: read the configuration, build the pipeline, keep it running, say how it goes."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from typing import Any

from greeter_camera.config import CameraConfig, ConfigError, check_environment, load_config
from greeter_camera.health import HealthReporter, RunOutcome
from greeter_camera.pipeline import build_pipeline, read_board_model, resolve_encoder
from greeter_camera.supervisor import Supervisor

log = logging.getLogger("greeter_camera")

EX_CONFIG = 78  # sysexits.h; greeter-camera.service does not restart on it (RestartPreventExitStatus=78)


class _JournalFormatter(logging.Formatter):
    """Under systemd, prefix each line with its syslog priority (<3> error ...) so journald files it right."""

    PRIORITIES = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}

    def format(self, record: logging.LogRecord) -> str:
        return f"<{self.PRIORITIES.get(record.levelno, 6)}>{super().format(record)}"


def setup_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(_JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # botocore logs a failed credentials refresh as a warning with a traceback; aws_credentials.py says the
    # same in one line of plain words.
    logging.getLogger("botocore.credentials").setLevel(logging.ERROR)


def make_sender(config: CameraConfig) -> Any:
    """The frame-search sender, uploading with the camera's own credentials; None when frame
    search is off."""
    if config.detection is None:
        return None
    # Only needed in frame-search mode (OpenCV, boto3).
    from greeter_camera.aws_credentials import aws_session
    from greeter_camera.detection import FrameSearchSender, make_s3_client

    region = config.detection.region
    s3 = make_s3_client(region, aws_session(config.credentials, region))
    return FrameSearchSender(config.detection, s3_client=s3)


def make_heartbeat(config: CameraConfig, sender: Any, status: Any, health: HealthReporter | None = None) -> Any:
    """The heartbeat (frame-search mode: it lives next to the crops, with their credentials); None otherwise."""
    if config.detection is None or sender is None:
        return None
    from greeter_camera.heartbeat import HeartbeatSender

    return HeartbeatSender(
        s3_client=sender.uploader.s3_client,
        bucket=config.detection.crops_bucket,
        stream_name=config.detection.stream_name,
        interval_s=config.detection.heartbeat_seconds,
        status=status,
        on_sent=health.heartbeat_sent if health is not None else None,
    )


def run_service(config_path: str, stop: threading.Event | None = None) -> int:
    """Run until SIGTERM/SIGINT. Exit 0 when stopped, EX_CONFIG when the configuration is wrong."""
    from greeter_camera.runner import PipelineRunner, bindings_problem, has_element

    stop = stop or threading.Event()
    try:
        config = load_config(config_path)
    except ConfigError as error:
        for problem in error.problems:
            log.error("%s: %s", config_path, problem)
        for warning in error.warnings:
            log.warning("%s: %s", config_path, warning)
        log.error("fix %s, then: sudo systemctl restart greeter-camera", config_path)
        HealthReporter(_health_path_for_errors()).config_error(error.problems)
        return EX_CONFIG
    for warning in config.warnings:
        log.warning("%s: %s", config_path, warning)

    health = HealthReporter(config.health_file, stream_name=config.kvs.stream_name)
    problem = bindings_problem()
    if problem:
        log.error("%s", problem)
        health.config_error([problem])
        return 1
    encoder = resolve_encoder(config.encoder.name, read_board_model(), has_element)
    spec = build_pipeline(config, encoder)
    log.info("pipeline: %s", spec.description)

    try:
        sender = make_sender(config)
    except Exception as error:  # an import or settings failure of the detector, said plainly
        log.error("frame-search mode could not start the face detector: %s", error)
        health.config_error([f"frame-search mode could not start the face detector: {error}"])
        return EX_CONFIG

    last_frames: list[float | None] = [None]  # the last frame of any run, for the heartbeat
    runners: list[Any] = []

    def run_once() -> RunOutcome:
        problems = check_environment(config, has_element, encoder)
        if problems:
            return RunOutcome("error", " ".join(problems))
        runner = PipelineRunner(config, spec, sender=sender, on_streaming=health.streaming, tick=health.watchdog)
        runners[:] = [runner]
        try:
            return runner.run(stop)
        finally:
            last_frames[0] = runner.last_frame_wallclock or last_frames[0]

    def status() -> dict[str, Any]:
        running = runners[0].last_frame_wallclock if runners else None
        stats = sender.stats() if sender is not None else None
        return {
            "state": health.state.state,
            "summary": health.state.summary,
            "restarts": health.state.restarts,
            "last_frame_at": running or last_frames[0],
            "crops_uploaded": stats.crops_uploaded if stats else 0,
            "upload_failures": stats.upload_failures if stats else 0,
        }

    heartbeat = make_heartbeat(config, sender, status, health)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if sender is not None:
        sender.start()
    if heartbeat is not None:
        heartbeat.start()
    health.ready()
    try:
        return Supervisor(run_once, health=health, clock=time.monotonic, wait=stop.wait).run()
    finally:
        if heartbeat is not None:
            heartbeat.stop()
        if sender is not None:
            sender.stop()


def _health_path_for_errors() -> str:
    from greeter_camera.config import DEFAULT_HEALTH_FILE

    return os.environ.get("GREETER_HEALTH_FILE", DEFAULT_HEALTH_FILE)
