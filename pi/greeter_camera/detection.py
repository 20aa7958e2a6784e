"""Frame-search mode on the camera: notice faces locally, send only face crops to the cloud.

The GStreamer producer hands frames to `FrameSearchSender.submit()` from its appsink thread
(GREETER_DETECTION_FPS, 5 a second by default). Two threads of the sender's own do the rest:
  - detection: takes the newest submitted frame (frames that arrive while it is busy are skipped, never
    queued), finds faces, tracks them, and for each face the rate limits allow cuts a crop from the
    full-resolution frame and queues it as JPEG;
  - upload: sends queued crops to S3, retrying with exponential backoff while the network is down.

    s3 = make_s3_client(region, aws_session(config.credentials, region))  # the camera's own identity
    sender = FrameSearchSender(config.detection, s3_client=s3)               # (service.make_sender)
    sender.start()
    sender.submit(frame_bgr, captured_at=time.time())  # from the appsink thread, for every frame
    sender.stop()                                      # flushes queued crops for up to stop_timeout_seconds

The crops land as `s3://<crops bucket>/crops/<stream-name>/<epoch-ms>-<uuid4>.jpg` (ContentType image/jpeg)
with this object metadata, for the cloud side:
    detector     yunet | haar
    confidence   YuNet's face score, 0-1 (absent for haar)
    face-box     the face in the full frame: left,top,width,height in pixels
    crop-box     the crop in the full frame: left,top,width,height in pixels
    frame-size   the full frame: width x height, e.g. 1280x720
    track-id     the camera's number for this face while it stays in view (restarts with the service)
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from greeter_camera.detection_settings import DetectionSettings, DetectionSettingsError
from greeter_camera.face_memory import FaceRecogniser, SearchedFaces, load_face_recogniser
from greeter_camera.faces import CropBox, FaceBox, FaceDetector, crop_face, encode_jpeg, load_face_detector
from greeter_camera.tracking import CropRateLimiter, Decision, FaceTrack, FaceTracker, FrameSearchPolicy
from greeter_camera.uploader import CropQueue, CropUploader, FaceCrop, SenderStats, crop_object_key

__all__ = ["DetectionSettings", "DetectionSettingsError", "FrameSearchSender", "SenderStats"]

logger = logging.getLogger(__name__)

# How long an idle upload thread sleeps before looking again (it is woken at once by a new crop or stop()).
_IDLE_WAIT_SECONDS = 1.0


# One upload attempt is bounded: 3 s to connect, 5 s for S3's answer, and no retry inside botocore (the queue
# retries, with its own backoff). A network that takes connections and never answers costs an attempt 8 s, plus
# at most aws_credentials.REQUEST_TIMEOUT_SECONDS when the credentials are due for renewal at that moment.
UPLOAD_CONNECT_TIMEOUT_S = 3
UPLOAD_READ_TIMEOUT_S = 5


def make_s3_client(region: str, session: Any = None) -> Any:
    """An S3 client whose one attempt is bounded (above): the queue, not botocore, decides when to try again.
    `session` carries the camera's credentials (aws_credentials.aws_session); without one, boto3's usual chain
    (environment, ~/.aws) is used."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=UPLOAD_CONNECT_TIMEOUT_S,
        read_timeout=UPLOAD_READ_TIMEOUT_S,
        retries={"mode": "standard", "total_max_attempts": 1},
    )
    return (session or boto3.session.Session()).client("s3", region_name=region, config=config)


class FrameSearchSender:
    def __init__(
        self,
        settings: DetectionSettings,
        *,
        detector: FaceDetector | None = None,
        recogniser: FaceRecogniser | None = None,
        s3_client: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`s3_client` is the crops' way to S3: the service gives one signed with the camera's credentials
        (make_s3_client with aws_credentials.aws_session); without one, boto3's usual credential chain is used.
        `detector`, `recogniser` and `clock` (epoch seconds, for crop ages) are for tests and benchmarks; by
        default they come from the settings and the system clock. With GREETER_SEARCH_MEMORY_MINUTES at 0, or
        no SFace model, there is no memory of searched faces (face_memory.py)."""
        self.settings = settings
        self.detector = detector or load_face_detector(settings)
        self.recogniser = None
        memory = None
        if settings.search_memory_minutes > 0:
            self.recogniser = recogniser or load_face_recogniser()
            memory = SearchedFaces(remember_seconds=settings.search_memory_minutes * 60)
        self._stats = SenderStats()
        self.policy = FrameSearchPolicy(
            FaceTracker(forget_after_seconds=settings.track_forget_seconds),
            CropRateLimiter(
                confirm_frames=settings.confirm_frames,
                resend_seconds=settings.resend_seconds,
                resend_max_seconds=settings.resend_max_seconds,
                max_per_minute=settings.max_crops_per_minute,
            ),
            memory if self.recogniser is not None else None,
        )
        self.queue = CropQueue(settings.queue_size, self._stats)
        self.uploader = CropUploader(
            queue=self.queue,
            s3_client=s3_client if s3_client is not None else make_s3_client(settings.region),
            bucket=settings.crops_bucket,
            max_age_seconds=settings.max_crop_age_seconds,
            backoff_seconds=settings.upload_backoff_seconds,
            backoff_max_seconds=settings.upload_backoff_max_seconds,
            clock=clock,
            stats=self._stats,
            on_uploaded=lambda crop: self.policy.searched(crop.embedding, crop.captured_at),
        )
        self._frame_ready = threading.Condition()
        self._pending: tuple[np.ndarray, float] | None = None
        self._running = False
        self._stopping = False
        self._flush_deadline = float("inf")
        self._abort_uploads = threading.Event()
        self._threads: list[threading.Thread] = []
        logger.info(
            "frame-search sender ready: detector %s, memory of searched faces %s, settings %s",
            self.detector.name,
            "on" if self.policy.memory is not None else "off",
            settings,
        )

    # The producer's side ------------------------------------------------------------------------------

    def start(self) -> None:
        with self._frame_ready:
            if self._running or self._stopping:
                raise RuntimeError("FrameSearchSender.start() may be called once")
            self._running = True
        self._threads = [
            threading.Thread(target=self._detect_loop, name="greeter-face-detection", daemon=True),
            threading.Thread(target=self._upload_loop, name="greeter-crop-upload", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, frame_bgr: np.ndarray, captured_at: float) -> None:
        """Offer a frame (H, W, 3) uint8 BGR, captured at `captured_at` epoch seconds. Never blocks on
        detection: if the detector is busy the previous unprocessed frame is replaced (and counted as
        skipped). The frame is copied, so the caller may reuse its buffer."""
        if not isinstance(frame_bgr, np.ndarray) or frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3:
            raise ValueError(f"expected a (height, width, 3) BGR array, got {getattr(frame_bgr, 'shape', frame_bgr)}")
        if frame_bgr.dtype != np.uint8:
            raise ValueError(f"expected a uint8 frame, got {frame_bgr.dtype}")
        frame = frame_bgr.copy()
        self._stats.add("frames_submitted")
        with self._frame_ready:
            if not self._running or self._stopping or self._pending is not None:
                self._stats.add("frames_skipped")
            if not self._running or self._stopping:
                return
            self._pending = (frame, float(captured_at))
            self._frame_ready.notify()

    def stop(self) -> None:
        """Finish the frame in hand, upload what is queued for up to `stop_timeout_seconds`, then stop.
        Crops still queued after that are counted as abandoned; an upload still in flight is left to its
        (daemon) thread."""
        deadline = time.monotonic() + self.settings.stop_timeout_seconds
        with self._frame_ready:
            if not self._running or self._stopping:
                return
            self._stopping = True
            self._flush_deadline = deadline
            self._frame_ready.notify_all()
        self.queue.wake_waiters()
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in self._threads):
            self._abort_uploads.set()
            self.queue.wake_waiters()
            for thread in self._threads:
                thread.join(0.5)
        abandoned = self.queue.take_all()
        if abandoned:
            self._stats.add("crops_abandoned_at_stop", len(abandoned))
            logger.warning("stopped with %d crops not uploaded", len(abandoned))
        logger.info("frame-search sender stopped: %s", self.stats().as_dict())

    def stats(self) -> SenderStats:
        return self._stats.snapshot()

    # The work -----------------------------------------------------------------------------------------

    def process_frame(self, frame_bgr: np.ndarray, captured_at: float) -> list[FaceCrop]:
        """Detect, track, rate-limit, crop and queue, on the caller's thread; returns the crops queued.
        The detection thread calls this for each frame it takes; tests and benchmarks call it directly."""
        faces = self.detector.detect(frame_bgr)
        self._stats.add("frames_processed")
        self._stats.add("faces_detected", len(faces))
        queued = []
        recogniser = self.recogniser
        embed = (lambda face: recogniser.embedding(frame_bgr, face)) if recogniser is not None else None
        for face, track, decision in self.policy.review(faces, captured_at, embed):
            if decision is Decision.OVER_CAP:
                self._stats.add("crops_over_cap")
                logger.warning("face %d not sent: %s", track.track_id, decision.value)
            if decision is Decision.ALREADY_SEARCHED:
                self._stats.add("faces_already_searched")
            if decision is not Decision.SEND:
                continue
            crop = self._make_crop(frame_bgr, face, track, captured_at)
            self.queue.put(crop)
            self._stats.add("crops_queued")
            queued.append(crop)
        return queued

    def _make_crop(self, frame: np.ndarray, face: FaceBox, track: FaceTrack, captured_at: float) -> FaceCrop:
        pixels, box = crop_face(frame, face, self.settings.crop_margin)
        metadata = {
            "detector": self.detector.name,
            "face-box": _box_text(face.x, face.y, face.width, face.height),
            "crop-box": _crop_box_text(box),
            "frame-size": f"{frame.shape[1]}x{frame.shape[0]}",
            "track-id": str(track.track_id),
        }
        if face.score is not None:
            metadata["confidence"] = f"{face.score:.3f}"
        return FaceCrop(
            key=crop_object_key(self.settings.stream_name, captured_at),
            jpeg=encode_jpeg(pixels, self.settings.jpeg_quality),
            captured_at=captured_at,
            metadata=metadata,
            embedding=track.embedding,
        )

    def _detect_loop(self) -> None:
        while True:
            with self._frame_ready:
                while self._pending is None and not self._stopping:
                    self._frame_ready.wait()
                if self._pending is None:
                    break
                frame, captured_at = self._pending
                self._pending = None
            try:
                self.process_frame(frame, captured_at)
            except Exception:
                # One bad frame must not end detection for the rest of the day.
                self._stats.add("detection_errors")
                logger.exception("face detection failed on a frame captured at %.3f", captured_at)
        self.queue.wake_waiters()

    def _upload_loop(self) -> None:
        detection = self._threads[0]
        while not self._abort_uploads.is_set():
            try:
                delay = self.uploader.step()
            except Exception:
                logger.exception("crop upload step failed")
                delay = self.settings.upload_backoff_seconds
            if delay == 0:
                continue
            flushing = self._stopping and not detection.is_alive()
            if flushing and (delay is None or time.monotonic() + delay > self._flush_deadline):
                break  # nothing left to flush, or the next try would come after stop()'s deadline
            if delay is None:
                self.queue.wait_for_crops(_IDLE_WAIT_SECONDS)
            else:
                self._abort_uploads.wait(delay)


def _box_text(left: float, top: float, width: float, height: float) -> str:
    return ",".join(str(round(value)) for value in (left, top, width, height))


def _crop_box_text(box: CropBox) -> str:
    return _box_text(box.left, box.top, box.width, box.height)
