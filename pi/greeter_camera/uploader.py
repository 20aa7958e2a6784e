"""The crops' way to the cloud: a bounded queue that rides out network drops, and S3 uploads with backoff.

Each crop becomes one S3 object, `crops/<stream-name>/<epoch-ms>-<uuid4>.jpg` in the crops bucket: the
camera's credentials only allow its own prefix, and the cloud reads the camera from the prefix and the
capture time from the epoch-ms. The key is chosen once, when the crop is made, so a retried upload whose
first attempt did reach S3 overwrites the same object instead of adding a second one.

While uploads fail the queue fills; when full, the oldest crop is dropped (a newer face is worth more),
and a crop older than `max_crop_age_seconds` is dropped instead of sent. Every drop is counted.
"""

import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

logger = logging.getLogger(__name__)

CROPS_PREFIX = "crops"


@dataclass
class SenderStats:
    """Counters of the frame-search sender since it started, for logs and health checks."""

    frames_submitted: int = 0
    frames_skipped: int = 0  # the detector was still busy with an earlier frame
    frames_processed: int = 0
    detection_errors: int = 0
    faces_detected: int = 0
    crops_queued: int = 0
    crops_over_cap: int = 0
    faces_already_searched: int = 0  # a new track's turn came, but its face was uploaded twice lately (face_memory.py)
    crops_dropped_queue_full: int = 0
    crops_dropped_stale: int = 0
    crops_uploaded: int = 0
    upload_failures: int = 0
    crops_abandoned_at_stop: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, counter: str, amount: int = 1) -> None:
        with self._lock:
            setattr(self, counter, getattr(self, counter) + amount)

    def snapshot(self) -> "SenderStats":
        with self._lock:
            return replace(self, _lock=threading.Lock())

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}


@dataclass(frozen=True)
class FaceCrop:
    key: str
    jpeg: bytes
    captured_at: float
    metadata: Mapping[str, str] = field(default_factory=dict)
    # The face's SFace embedding (face_memory.py), for the memory of searched faces once the crop is uploaded.
    embedding: Any = field(default=None, compare=False, repr=False)


def crop_object_key(stream_name: str, captured_at: float, unique: uuid.UUID | None = None) -> str:
    """`crops/<stream-name>/<epoch-ms>-<uuid4>.jpg`, the shape the cloud side parses."""
    return f"{CROPS_PREFIX}/{stream_name}/{int(captured_at * 1000)}-{unique or uuid.uuid4()}.jpg"


class CropQueue:
    """A thread-safe FIFO of at most `capacity` crops that drops its oldest crop to make room."""

    def __init__(self, capacity: int, stats: SenderStats) -> None:
        self.capacity = capacity
        self._stats = stats
        self._crops: deque[FaceCrop] = deque()
        self._changed = threading.Condition()

    def __len__(self) -> int:
        with self._changed:
            return len(self._crops)

    def put(self, crop: FaceCrop) -> None:
        with self._changed:
            if len(self._crops) >= self.capacity:
                dropped = self._crops.popleft()
                self._stats.add("crops_dropped_queue_full")
                logger.warning("crop queue full (%d): dropped the oldest crop %s", self.capacity, dropped.key)
            self._crops.append(crop)
            self._changed.notify_all()

    def put_back(self, crop: FaceCrop) -> None:
        """Return a crop whose upload failed to the front. It is older than everything queued, so when the
        queue filled up meanwhile, it is the one dropped."""
        with self._changed:
            if len(self._crops) >= self.capacity:
                self._stats.add("crops_dropped_queue_full")
                logger.warning("crop queue full (%d): dropped the oldest crop %s", self.capacity, crop.key)
                return
            self._crops.appendleft(crop)

    def take(self) -> FaceCrop | None:
        with self._changed:
            return self._crops.popleft() if self._crops else None

    def take_all(self) -> list[FaceCrop]:
        with self._changed:
            crops, self._crops = list(self._crops), deque()
            return crops

    def wait_for_crops(self, timeout: float) -> None:
        with self._changed:
            if not self._crops:
                self._changed.wait(timeout)

    def wake_waiters(self) -> None:
        with self._changed:
            self._changed.notify_all()


class CropUploader:
    """Sends queued crops to S3 one at a time, oldest first; `step()` does one attempt and says how long
    to wait before the next, so the same code runs on the upload thread and under a test's fake clock."""

    def __init__(
        self,
        *,
        queue: CropQueue,
        s3_client: Any,
        bucket: str,
        max_age_seconds: float,
        backoff_seconds: float,
        backoff_max_seconds: float,
        clock: Callable[[], float],
        stats: SenderStats,
        on_uploaded: Callable[[FaceCrop], None] | None = None,
    ) -> None:
        """`on_uploaded` is told of each crop S3 accepted (the memory of searched faces learns it then)."""
        self.queue = queue
        self.s3_client = s3_client  # the heartbeat shares it (same credentials, same timeouts)
        self.bucket = bucket
        self.max_age_seconds = max_age_seconds
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.clock = clock  # epoch seconds, for crop ages and backoff (a test moves a fake one)
        self._stats = stats
        self._on_uploaded = on_uploaded
        self._failures_in_a_row = 0
        self._retry_at = float("-inf")

    def step(self) -> float | None:
        """Try to upload the oldest fresh crop. Returns 0 after a success (go on), the seconds to wait
        after a failure or while backing off, or None when there is nothing to send."""
        now = self.clock()
        if now < self._retry_at:
            return self._retry_at - now
        crop = self._take_fresh(now)
        if crop is None:
            return None
        try:
            self.s3_client.put_object(
                Bucket=self.bucket, Key=crop.key, Body=crop.jpeg, ContentType="image/jpeg", Metadata=dict(crop.metadata)
            )
        except (BotoCoreError, ClientError) as error:
            self._stats.add("upload_failures")
            self._failures_in_a_row += 1
            delay = min(self.backoff_seconds * 2 ** (self._failures_in_a_row - 1), self.backoff_max_seconds)
            self._retry_at = now + delay
            self.queue.put_back(crop)
            logger.warning("crop upload failed (%s); retrying in %.1f s, %d queued", error, delay, len(self.queue))
            return delay
        if self._failures_in_a_row:
            logger.info("crop uploads work again after %d failures", self._failures_in_a_row)
        self._failures_in_a_row = 0
        self._stats.add("crops_uploaded")
        if self._on_uploaded is not None:
            self._on_uploaded(crop)
        return 0.0

    def _take_fresh(self, now: float) -> FaceCrop | None:
        while (crop := self.queue.take()) is not None:
            age = now - crop.captured_at
            if age <= self.max_age_seconds:
                return crop
            self._stats.add("crops_dropped_stale")
            logger.info("dropped crop %s: %.1f s old, the limit is %.1f s", crop.key, age, self.max_age_seconds)
        return None
