"""Which cameras have gone silent while they should be working: the decisions, no AWS calls.

A camera should be working while detection runs for it (the store-hours state machine starts detection at
opening and stops it at closing, a manager's override included, and reconciles every 10 minutes). It is
silent when its last sign of life is older than the silence window, or when it never gave one:
  - FrameSearch mode: its heartbeat (crops/<stream>/heartbeat.json, written every minute by the camera);
    S3's own clock dates it, so a camera with a wrong clock cannot look alive. A heartbeat from a camera
    whose pipeline has no frames (the webcam unplugged, the service still running) is not a sign of life:
    the last frame counts, moved onto S3's clock by the camera's measured clock skew.
  - StreamProcessor mode: the last minute in which Kinesis Video Streams received frames from it (its
    PutMedia.IncomingFrames metric).

The camera-watch function runs this every minute and turns each report into the per-camera CameraSilent
metric (1 = silent while it should be working, 0 otherwise), which the camera's alarm watches. Nothing is
stored between runs, so nothing can be left in a wrong state: the next run recomputes it from the store's
detection state and the camera's own signs.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Heartbeat:
    """The camera's heartbeat object: when S3 stored it (S3's clock) and what the camera wrote in it."""

    stored_at: float
    body: Mapping[str, Any]


@dataclass(frozen=True)
class CameraReport:
    camera: str
    should_work: bool  # detection runs for it now (the store is open)
    last_seen_at: float | None  # epoch seconds, AWS's clock; None = no sign of life at all
    silent: bool  # should work, and no sign of life within the window
    clock_skew_s: float | None = None  # the camera's clock minus AWS's (FrameSearch mode, from the heartbeat)
    state: str | None = None  # what the camera says it is doing (FrameSearch mode)


class DetectionState(Protocol):
    def detection_running(self, camera: str) -> bool: ...


class Heartbeats(Protocol):
    def latest(self, camera: str) -> Heartbeat | None: ...


class VideoActivity(Protocol):
    def last_frames_at(self, camera: str, now: float, lookback_s: float) -> float | None: ...


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def heartbeat_signs(heartbeat: Heartbeat) -> tuple[float | None, float | None]:
    """(last sign of life on AWS's clock, the camera's clock skew) from one heartbeat."""
    sent_at = _number(heartbeat.body.get("sent_at"))
    skew = None if sent_at is None else sent_at - heartbeat.stored_at
    last_frame = _number(heartbeat.body.get("last_frame_at"))
    if last_frame is None:
        return None, skew  # alive, but no frame from its camera yet
    frame_on_aws_clock = last_frame - (skew or 0.0)
    return min(heartbeat.stored_at, frame_on_aws_clock), skew


class CameraWatch:
    def __init__(
        self,
        *,
        detection: DetectionState,
        silence_seconds: float,
        heartbeats: Heartbeats | None = None,
        video: VideoActivity | None = None,
    ) -> None:
        """Give `heartbeats` (FrameSearch mode) or `video` (StreamProcessor mode)."""
        if (heartbeats is None) == (video is None):
            raise ValueError("a camera watch reads heartbeats or video activity, one of them")
        self.detection = detection
        self.silence_seconds = silence_seconds
        self.heartbeats = heartbeats
        self.video = video

    def check(self, camera: str, now: float) -> CameraReport:
        should_work = self.detection.detection_running(camera)
        skew = state = None
        if self.heartbeats is not None:
            heartbeat = self.heartbeats.latest(camera)
            last_seen = None
            if heartbeat is not None:
                last_seen, skew = heartbeat_signs(heartbeat)
                state = str(heartbeat.body.get("state") or "") or None
        else:
            assert self.video is not None
            # Look back a little further than the window, so "silent for 7 minutes" still has a date.
            last_seen = self.video.last_frames_at(camera, now, 2 * self.silence_seconds)
        quiet = last_seen is None or now - last_seen > self.silence_seconds
        return CameraReport(
            camera=camera,
            should_work=should_work,
            last_seen_at=last_seen,
            silent=should_work and quiet,
            clock_skew_s=skew,
            state=state,
        )
