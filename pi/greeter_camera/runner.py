"""Play one pipeline in this process until it ends, fails, goes quiet or is asked to stop.

GStreamer's own threads carry the video; this module's main loop only reads the bus. In frame-search mode
a separate thread pulls frames from the `detect` appsink and hands them to the sender, so a slow detector
never holds up the video (the appsink keeps one frame and drops the rest).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from greeter_camera.config import AccessKeyCredentials, CameraConfig
from greeter_camera.health import RunOutcome, explain_error
from greeter_camera.pipeline import KVS_SINK_NAME, RAW_CAPS_NAME, PipelineSpec

log = logging.getLogger(__name__)

_gst_modules: tuple[Any, Any, Any] | None = None


def gst() -> tuple[Any, Any, Any]:
    """(Gst, GstVideo, GLib), initialised once. Imported lazily: the config and pipeline code runs without them."""
    global _gst_modules
    if _gst_modules is None:
        import gi

        gi.require_version("Gst", "1.0")
        gi.require_version("GstVideo", "1.0")
        from gi.repository import GLib, Gst, GstVideo

        Gst.init(None)
        _gst_modules = (Gst, GstVideo, GLib)
    return _gst_modules


def bindings_problem() -> str | None:
    """Why GStreamer cannot be used from Python here, or None when it can."""
    try:
        gst()
    except (ImportError, ValueError) as error:  # no gi module / no Gst typelib
        return (
            f"GStreamer's Python bindings are missing ({error}): sudo apt install python3-gi gir1.2-gstreamer-1.0 "
            "gir1.2-gst-plugins-base-1.0 (install.sh does), and make the venv with --system-site-packages."
        )
    return None


def has_element(name: str) -> bool:
    Gst, _, _ = gst()
    return Gst.ElementFactory.find(name) is not None


class FrameSender(Protocol):
    """What the runner needs of greeter_camera.detection.FrameSearchSender."""

    def submit(self, frame_bgr: Any, captured_at: float) -> None: ...


def sample_to_bgr(sample: Any) -> Any:
    """A BGR appsink sample as a numpy array (height, width, 3) of uint8, rows de-padded."""
    import numpy as np

    _, GstVideo, _ = gst()
    info = GstVideo.VideoInfo.new_from_caps(sample.get_caps())
    width, height, stride = info.width, info.height, info.stride[0]
    buffer = sample.get_buffer()
    data = buffer.extract_dup(0, buffer.get_size())
    rows = np.frombuffer(data, dtype=np.uint8, count=stride * height).reshape(height, stride)
    return rows[:, : width * 3].reshape(height, width, 3).copy()


class PipelineRunner:
    def __init__(
        self,
        config: CameraConfig,
        spec: PipelineSpec,
        *,
        sender: FrameSender | None = None,
        on_streaming: Callable[[str], None] | None = None,
        tick: Callable[[], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        poll_interval_s: float = 0.25,
        stop_grace_s: float = 5.0,
    ) -> None:
        self.config = config
        self.spec = spec
        self.sender = sender
        self.on_streaming = on_streaming or (lambda _summary: None)
        self.tick = tick or (lambda: None)
        self.monotonic = monotonic
        self.poll_interval_s = poll_interval_s
        self.stop_grace_s = stop_grace_s
        self.frames_seen = 0  # buffers that left the camera part (all frames, not only the detector's)
        self.frames_submitted = 0  # frames handed to the sender
        self._last_frame_at: float | None = None
        self.last_frame_wallclock: float | None = None  # epoch seconds, for the heartbeat

    def run(self, stop: threading.Event) -> RunOutcome:
        Gst, _, GLib = gst()
        try:
            pipeline = Gst.parse_launch(self.spec.description)
        except GLib.Error as error:
            return RunOutcome("error", f"The pipeline could not be built: {error.message}", self.spec.description)
        self._set_credentials(pipeline)
        self._watch_frames(pipeline)
        pull_stop = threading.Event()
        puller = None
        bus = pipeline.get_bus()
        try:
            if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
                message = bus.timed_pop_filtered(Gst.SECOND, Gst.MessageType.ERROR)
                if message is not None:
                    return self._error_outcome(message)
                return RunOutcome("error", "The pipeline refused to start (no error message given).")
            puller = self._start_puller(pipeline, pull_stop)
            return self._watch_bus(pipeline, bus, stop)
        finally:
            pull_stop.set()
            pipeline.set_state(Gst.State.NULL)
            if puller is not None:
                puller.join(timeout=5)

    # ---- the bus ---------------------------------------------------------------------------------

    def _watch_bus(self, pipeline: Any, bus: Any, stop: threading.Event) -> RunOutcome:
        Gst, _, _ = gst()
        started = self.monotonic()
        announced = False
        wanted = Gst.MessageType.ERROR | Gst.MessageType.EOS
        while True:
            if stop.is_set():
                self._drain_on_stop(pipeline, bus)
                return RunOutcome("stopped", "Stopped on request.")
            message = bus.timed_pop_filtered(int(self.poll_interval_s * Gst.SECOND), wanted)
            if message is not None:
                if message.type == Gst.MessageType.ERROR:
                    return self._error_outcome(message)
                return RunOutcome(
                    "eos",
                    "The camera stopped sending video (end of stream); it was probably unplugged.",
                )
            now = self.monotonic()
            if self._last_frame_at is not None and not announced:
                announced = True
                self.on_streaming(self._streaming_summary())
            quiet_since = self._last_frame_at if self._last_frame_at is not None else started
            if now - quiet_since > self.config.stall_timeout_s:
                what = "since the pipeline started" if self._last_frame_at is None else "for a while"
                return RunOutcome(
                    "stalled",
                    f"No video from the camera {what} ({self.config.stall_timeout_s:.0f} s): "
                    "it may be unplugged, or its driver stuck.",
                )
            self.tick()

    def _drain_on_stop(self, pipeline: Any, bus: Any) -> None:
        """Send end-of-stream so kvssink can finish the fragment it is sending, then give up after a grace."""
        Gst, _, _ = gst()
        pipeline.send_event(Gst.Event.new_eos())
        bus.timed_pop_filtered(int(self.stop_grace_s * Gst.SECOND), Gst.MessageType.EOS | Gst.MessageType.ERROR)

    def _error_outcome(self, message: Any) -> RunOutcome:
        error, debug = message.parse_error()
        element = message.src.get_name() if message.src is not None else ""
        factory = ""
        if message.src is not None and hasattr(message.src, "get_factory") and message.src.get_factory():
            factory = message.src.get_factory().get_name()
        plain = explain_error(factory or element, error.message, debug or "", self.config)
        return RunOutcome("error", plain, f"{element}: {error.message} | {debug or ''}")

    def _streaming_summary(self) -> str:
        cam = self.config.camera
        size = f"{cam.width}x{cam.height} at {cam.framerate} fps"
        parts = []
        if self.spec.streams_video:
            parts.append(f"Streaming {size} ({self.spec.encoder}) to {self.config.kvs.stream_name}")
        if self.spec.detect_sink and self.config.detection is not None:
            parts.append(f"looking for faces {self.config.detection.fps} times a second")
        return "; ".join(parts) + "."

    # ---- wiring ----------------------------------------------------------------------------------

    def _set_credentials(self, pipeline: Any) -> None:
        credentials = self.config.credentials
        sink = pipeline.get_by_name(KVS_SINK_NAME)
        if sink is not None and isinstance(credentials, AccessKeyCredentials):
            sink.set_property("access-key", credentials.access_key_id)
            sink.set_property("secret-key", credentials.secret_access_key)

    def _watch_frames(self, pipeline: Any) -> None:
        Gst, _, _ = gst()
        element = pipeline.get_by_name(RAW_CAPS_NAME)
        if element is None:
            return

        def on_buffer(_pad: Any, _info: Any) -> Any:
            self._last_frame_at = self.monotonic()
            self.last_frame_wallclock = time.time()
            self.frames_seen += 1
            return Gst.PadProbeReturn.OK

        element.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, on_buffer)

    def _start_puller(self, pipeline: Any, pull_stop: threading.Event) -> threading.Thread | None:
        if self.spec.detect_sink is None or self.sender is None:
            return None
        appsink = pipeline.get_by_name(self.spec.detect_sink)
        thread = threading.Thread(
            target=self._pull_frames, args=(pipeline, appsink, pull_stop), name="detect-frames", daemon=True
        )
        thread.start()
        return thread

    def _pull_frames(self, pipeline: Any, appsink: Any, pull_stop: threading.Event) -> None:
        Gst, _, _ = gst()
        timeout = int(0.2 * Gst.SECOND)
        failures = 0
        while not pull_stop.is_set():
            sample = appsink.emit("try-pull-sample", timeout)
            if sample is None:
                continue
            try:
                frame = sample_to_bgr(sample)
                self.sender.submit(frame, self._captured_at(pipeline, sample.get_buffer().pts))  # type: ignore[union-attr]
                self.frames_submitted += 1
            except Exception:  # the detector's trouble must not stop the video
                failures += 1
                if failures in (1, 10, 100) or failures % 1000 == 0:
                    log.exception("handing a frame to the face detector failed (%d times so far)", failures)

    @staticmethod
    def _captured_at(pipeline: Any, pts: int) -> float:
        """Wall-clock time the frame was captured: now, minus how long ago (in running time) it was stamped."""
        Gst, _, _ = gst()
        clock = pipeline.get_clock()
        if clock is None or pts == Gst.CLOCK_TIME_NONE:
            return time.time()
        running_now = clock.get_time() - pipeline.get_base_time()
        return time.time() - max(0, running_now - pts) / Gst.SECOND
