"""The camera's heartbeat: a small JSON object the cloud reads to tell a quiet store from a silent camera.

In frame-search mode a quiet store legitimately sends no crops, so silence alone says nothing. Every
GREETER_HEARTBEAT_SECONDS the camera overwrites one object, `crops/<stream-name>/heartbeat.json` in the crops
bucket, with the camera's own credentials: they already allow `s3:PutObject` under its own prefix, so the
heartbeat needs no new permission, and it works the same with an IoT certificate or an access key. The cloud's
camera-watch function reads it every minute; a camera whose heartbeat is older than the stack's
CameraSilenceMinutes while the store is open raises an alarm naming it. The key does not end in `.jpg`, so
the frame-search function (whose rule matches `crops/*.jpg`) never takes it for a crop.

The heartbeat carries (no personal data):
    camera          GREETER_STREAM_NAME
    sent_at         the camera's clock, epoch seconds (the cloud compares it with S3's own clock)
    state, summary  what `systemctl status` shows: streaming, restarting (and why) ...
    restarts        pipeline restarts since the service started
    last_frame_at   when the camera last delivered a frame, epoch seconds (null: none yet)
    clock_offset_s  the camera's clock minus S3's, measured on the previous heartbeat's answer (its Date
                    header, to the second); null until one was answered
    crops_uploaded, upload_failures   the frame-search sender's counters
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from greeter_camera.uploader import CROPS_PREFIX

log = logging.getLogger(__name__)

HEARTBEAT_FILE = "heartbeat.json"


def heartbeat_key(stream_name: str) -> str:
    return f"{CROPS_PREFIX}/{stream_name}/{HEARTBEAT_FILE}"


class HeartbeatSender:
    """Puts the heartbeat every `interval_s`; `beat()` sends one now (the thread calls it, so do tests)."""

    def __init__(
        self,
        *,
        s3_client: Any,
        bucket: str,
        stream_name: str,
        interval_s: float,
        status: Callable[[], Mapping[str, Any]],
        on_sent: Callable[[float | None], None] | None = None,
        wallclock: Callable[[], float] = time.time,
    ) -> None:
        """`status()` gives the fields the camera knows besides the clock (state, summary, restarts,
        last_frame_at, crops_uploaded, upload_failures); `on_sent(clock_offset_s)` is told of each heartbeat S3
        took (the health file shows it)."""
        self._s3 = s3_client
        self.bucket = bucket
        self.stream_name = stream_name
        self.key = heartbeat_key(stream_name)
        self.interval_s = interval_s
        self._status = status
        self._on_sent = on_sent or (lambda _offset: None)
        self._wallclock = wallclock
        self.clock_offset_s: float | None = None
        self._failing = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "camera": self.stream_name,
            "sent_at": round(self._wallclock(), 3),
            **dict(self._status()),
            "clock_offset_s": None if self.clock_offset_s is None else round(self.clock_offset_s, 1),
        }

    def beat(self) -> bool:
        """Send one heartbeat; True when S3 took it. A failure is logged once per outage, never raised: the
        next beat tries again, and the cloud notices only if they all fail for CameraSilenceMinutes."""
        body = json.dumps(self.payload()).encode()
        asked_at = self._wallclock()
        try:
            answer = self._s3.put_object(Bucket=self.bucket, Key=self.key, Body=body, ContentType="application/json")
        except (BotoCoreError, ClientError) as error:
            if not self._failing:
                log.warning("heartbeat not sent (%s); trying again every %.0f s", error, self.interval_s)
            self._failing = True
            return False
        answered_at = self._wallclock()
        if self._failing:
            log.info("heartbeat sent again")
        self._failing = False
        self._measure_clock(answer, (asked_at + answered_at) / 2)
        self._on_sent(self.clock_offset_s)
        return True

    def _measure_clock(self, answer: Mapping[str, Any], local_time: float) -> None:
        headers = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        # Every S3 answer has a Date; an object's Last-Modified is S3's clock too, where a Date is missing.
        date = headers.get("date") or headers.get("last-modified")
        if not date:
            return
        try:
            server_time = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            return
        # The Date header has whole seconds: the offset is good to about a second, enough to see a camera
        # whose clock has drifted (a Pi has no battery-backed clock, and boots before NTP answers).
        self.clock_offset_s = local_time - server_time

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="greeter-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            try:
                self.beat()
            except Exception:  # a heartbeat bug must not stop the camera
                log.exception("heartbeat failed")
            if self._stop.wait(self.interval_s):
                return
