"""What the camera is doing, in plain words: for `systemctl status`, the journal and a small JSON file.

- `explain_error` turns a GStreamer error into a sentence a store's IT person can act on.
- `HealthReporter` keeps the current state, writes it to /run/greeter-camera/health.json (read by
  `python -m greeter_camera status`) and tells systemd (STATUS=, READY=1, WATCHDOG=1) so
  `systemctl status greeter-camera` shows the last error without opening the journal.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from greeter_camera.config import CameraConfig

log = logging.getLogger(__name__)

OutcomeKind = Literal["stopped", "eos", "error", "stalled"]
# A clock this far from AWS's is worth a line in `status` (the heartbeat measures it to about a second).
CLOCK_WARNING_S = 3


@dataclass(frozen=True)
class RunOutcome:
    """How one run of the pipeline ended. `message` is for people, `detail` for whoever debugs."""

    kind: OutcomeKind
    message: str
    detail: str = ""


def explain_error(element: str, message: str, debug: str, config: CameraConfig | None) -> str:
    """A GStreamer error message from `element`, said plainly."""
    text = f"{message} {debug}"
    lowered = text.lower()
    camera = config.camera if config else None
    device = camera.device if camera else "the camera"
    if element.startswith("v4l2src") or "v4l2src" in debug:
        if "busy" in lowered:
            return f"The camera {device} is in use by another program (close it, or reboot the Pi)."
        if "cannot identify device" in lowered or "no such file" in lowered or "could not open" in lowered:
            return f"The camera {device} is not there: is the webcam unplugged, or is GREETER_DEVICE wrong?"
        if any(
            phrase in lowered
            for phrase in ("could not read from resource", "no such device", "poll error", "failed to dequeue")
        ):
            # The device vanished while streaming: the kernel answers reads with ENODEV (a pulled USB cable, a
            # hub or the webcam losing power).
            return (
                f"The camera {device} stopped sending video: it was probably unplugged or lost power. Check its "
                "USB cable (a powered hub helps); the service starts it again as soon as it is back."
            )
        if "isn't a v4l2 driver" in lowered or "not a capture device" in lowered:
            return f"{device} is not a camera (not a video capture device); check GREETER_DEVICE."
        if "permission" in lowered:
            return f"Not allowed to open the camera {device}: the service user must be in the video group."
    if ("libcamera" in element or "libcamerasrc" in debug) and any(
        phrase in lowered for phrase in ("not found", "could not find", "no camera", "no cameras")
    ):
        return "No Pi camera module found: check the ribbon cable, then run `rpicam-hello --list-cameras`."
    if "not-negotiated" in lowered or "not negotiated" in lowered:
        if camera is None:
            return "The camera cannot deliver the configured picture size, rate or format."
        fmt = "Pi camera" if camera.kind == "picam" else camera.usb_format.upper()
        return (
            f"The camera cannot deliver {camera.width}x{camera.height} at {camera.framerate} fps ({fmt}). "
            f"List what it can do with `v4l2-ctl -d {device} --list-formats-ext`, then change GREETER_RESOLUTION, "
            "GREETER_FRAMERATE or GREETER_USB_FORMAT."
        )
    if element.startswith("kvs") or "kvssink" in lowered:
        stream = config.kvs.stream_name if config else "the stream"
        if any(word in lowered for word in ("accessdenied", "access denied", "403", "unauthorized", "credential")):
            return (
                f"AWS refused the camera's credentials for stream {stream}: check the IoT certificate is active "
                "and attached to the thing, the role alias, and the policy (pi/README.md, 'Credentials')."
            )
        if "resourcenotfound" in lowered or "not found" in lowered or "failed to create stream" in lowered:
            return (
                f"Could not open the Kinesis video stream {stream}: check GREETER_STREAM_NAME and AWS_REGION against "
                "the Greeter stack's outputs."
            )
        if any(word in lowered for word in ("resolve", "timed out", "timeout", "connect", "network", "curl")):
            return "Cannot reach AWS (is the network down?); video is kept in memory for a while and sent later."
        return f"Sending video to Kinesis failed: {message}"
    if "encoder" in lowered or "x264" in lowered or "v4l2h264enc" in lowered:
        return f"The H.264 encoder failed: {message}"
    return f"{element or 'The pipeline'} failed: {message}"


def sd_notify(message: str) -> bool:
    """Send one notification to systemd (Type=notify); a no-op outside systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(message.encode("utf-8", "replace"), address)
    except OSError as error:
        log.debug("sd_notify failed: %s", error)
        return False
    return True


@dataclass
class HealthState:
    state: str  # starting | streaming | restarting | stopped | config-error
    summary: str
    since: float
    stream_name: str = ""
    restarts: int = 0
    last_error: str | None = None
    last_error_detail: str | None = None
    last_error_at: float | None = None
    next_attempt_at: float | None = None
    last_heartbeat_at: float | None = None  # frame-search mode: the cloud last heard from the camera then
    clock_offset_s: float | None = None  # this Pi's clock minus AWS's, measured on the last heartbeat


class HealthReporter:
    def __init__(
        self,
        path: str,
        stream_name: str = "",
        notify: Callable[[str], bool] = sd_notify,
        wallclock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.notify = notify
        self.wallclock = wallclock
        self.state = HealthState(state="starting", summary="Starting.", since=wallclock(), stream_name=stream_name)
        self._write_failed = False

    def starting(self, attempt: int) -> None:
        summary = (
            "Starting the camera pipeline." if attempt == 0 else f"Restarting the camera pipeline (try {attempt + 1})."
        )
        self._set("starting", summary)

    def ready(self) -> None:
        """The service is up and supervising (systemd Type=notify). Sent before the camera works, so a camera
        that is unplugged at boot means a running service that retries, not a unit that failed to start."""
        self.notify("READY=1")

    def streaming(self, what: str) -> None:
        self._set("streaming", what)

    def failed(self, outcome: RunOutcome, retry_in: float, restarts: int) -> None:
        now = self.wallclock()
        self.state.restarts = restarts
        self.state.last_error = outcome.message
        self.state.last_error_detail = outcome.detail or None
        self.state.last_error_at = now
        self.state.next_attempt_at = now + retry_in
        self._set("restarting", f"{outcome.message} Retrying in {retry_in:.0f} s.")

    def config_error(self, problems: list[str]) -> None:
        self.state.last_error = " ".join(problems)
        self.state.last_error_at = self.wallclock()
        self._set(
            "config-error", f"Configuration problem: {problems[0]}" + (" (and more)" if len(problems) > 1 else "")
        )

    def stopped(self) -> None:
        self.notify("STOPPING=1")
        self._set("stopped", "Stopped.")

    def watchdog(self) -> None:
        self.notify("WATCHDOG=1")

    def heartbeat_sent(self, clock_offset_s: float | None) -> None:
        """The heartbeat reached S3 (called from the heartbeat's thread); `status` shows when, and the clock."""
        self.state.last_heartbeat_at = self.wallclock()
        self.state.clock_offset_s = None if clock_offset_s is None else round(clock_offset_s, 1)
        self._write()

    def _set(self, state: str, summary: str) -> None:
        if state != "restarting":
            self.state.next_attempt_at = None
        self.state.state = state
        self.state.summary = summary
        self.state.since = self.wallclock()
        self.notify(f"STATUS={summary}"[:1024])
        self._write()

    def _write(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(asdict(self.state), indent=2), encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError as error:
            if not self._write_failed:
                log.warning("cannot write the health file %s: %s", self.path, error)
                self._write_failed = True


def describe_health(data: dict, now: float) -> str:
    """The health file as a few lines of plain words (what `python -m greeter_camera status` prints)."""

    def ago(moment: float) -> str:
        seconds = max(0, int(now - moment))
        if seconds < 120:
            return f"{seconds} s ago"
        if seconds < 7200:
            return f"{seconds // 60} min ago"
        return f"{seconds // 3600} h ago"

    lines = [f"Camera: {data.get('state', 'unknown')} since {ago(data.get('since', now))}: {data.get('summary', '')}"]
    if data.get("stream_name"):
        lines.append(f"Stream: {data['stream_name']}")
    lines.append(f"Restarts since the service started: {data.get('restarts', 0)}")
    if data.get("last_error"):
        lines.append(f"Last error ({ago(data['last_error_at'])}): {data['last_error']}")
    if data.get("next_attempt_at"):
        lines.append(f"Next attempt in {max(0, int(data['next_attempt_at'] - now))} s")
    if data.get("last_heartbeat_at"):
        lines.append(f"Heartbeat to the cloud: {ago(data['last_heartbeat_at'])}")
    offset = data.get("clock_offset_s")
    if offset is not None and abs(offset) >= CLOCK_WARNING_S:
        lines.append(
            f"Clock: {abs(offset):.0f} s {'ahead of' if offset > 0 else 'behind'} AWS; crops are dated by it and the "
            "cloud drops crops it thinks are old. Check the time sync: timedatectl status"
        )
    return "\n".join(lines)
