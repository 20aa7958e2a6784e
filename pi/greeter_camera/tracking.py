"""Following faces from frame to frame, and deciding which of them may be sent to the cloud now.

Each search costs money, and a person standing at the counter is detected 5 times a second. So faces are
tracked across frames (a detection continues a track when it overlaps the track's last box, or when its
centre is close and its size alike: at 5 fps a person walking across the view can move further than their
face is wide), and a track is sent:
  - once it has been seen in `confirm_frames` frames (a one-frame false detection costs nothing);
  - then again after `resend_seconds`, the interval doubling after each crop up to `resend_max_seconds`;
  - and only while the camera has sent fewer than `max_crops_per_minute` crops in the last 60 s. A crop over
    that cap is dropped and counted, and its track waits `resend_seconds` before it may try again;
  - and, with a memory of searched faces (face_memory.py), a track that has sent nothing yet is spared when its
    face's crops reached S3 twice (a first look and its second chance) in the last GREETER_SEARCH_MEMORY_MINUTES:
    it keeps its turns on the same schedule but uses none of the cap. Once a track has sent a crop, its resends
    follow the schedule alone: the memory never takes a track's own second chance away.

Times are the frames' capture times (epoch seconds), so the decisions don't depend on how late a frame is
processed. If the clock steps backwards (NTP correcting a Pi that booted with a wrong time), all tracks are
forgotten rather than held back until the clock catches up.
"""

import enum
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from greeter_camera.face_memory import SearchedFaces
from greeter_camera.faces import FaceBox

# Overlap that continues a track; below it, a detection whose centre is within this many face widths of
# the track's centre and whose size is within a factor 2 still continues it.
_MIN_IOU = 0.3
_MAX_CENTRE_SHIFT = 1.5
_MAX_SIZE_RATIO = 2.0
_CAP_WINDOW_SECONDS = 60.0
# A capture time this much earlier than the last one means the clock was set back.
_CLOCK_STEP_BACK_SECONDS = 1.0


@dataclass
class FaceTrack:
    track_id: int
    box: FaceBox
    first_seen: float
    last_seen: float
    hits: int = 1
    crops_sent: int = 0  # turns taken, spared ones included: they set the resend schedule
    next_send_at: float = float("-inf")
    sent_a_crop: bool = False
    embedding: np.ndarray | None = None  # the face's, at the track's last SEND (with a memory of searched faces)


class FaceTracker:
    def __init__(self, *, forget_after_seconds: float) -> None:
        self.forget_after_seconds = forget_after_seconds
        self.tracks: list[FaceTrack] = []
        self._next_id = 1

    def update(self, faces: Sequence[FaceBox], seen_at: float) -> list[FaceTrack]:
        """Match this frame's faces to tracks; returns each face's track, in the order of `faces`."""
        self.tracks = [t for t in self.tracks if seen_at - t.last_seen <= self.forget_after_seconds]
        pairs = sorted(
            (
                (score, ti, fi)
                for ti, t in enumerate(self.tracks)
                for fi, f in enumerate(faces)
                if (score := _likeness(t.box, f)) > 0
            ),
            reverse=True,
        )
        matched: dict[int, FaceTrack] = {}
        used_tracks: set[int] = set()
        for _, ti, fi in pairs:
            if ti in used_tracks or fi in matched:
                continue
            track = self.tracks[ti]
            track.box, track.last_seen, track.hits = faces[fi], seen_at, track.hits + 1
            matched[fi] = track
            used_tracks.add(ti)
        for fi, face in enumerate(faces):
            if fi not in matched:
                matched[fi] = FaceTrack(self._next_id, face, first_seen=seen_at, last_seen=seen_at)
                self._next_id += 1
                self.tracks.append(matched[fi])
        return [matched[fi] for fi in range(len(faces))]

    def forget_all(self) -> None:
        self.tracks = []


def _likeness(previous: FaceBox, current: FaceBox) -> float:
    """How well `current` continues `previous`: its IoU if they overlap enough, a small positive number
    (always below any accepted IoU) if only the centres are close, 0 if it is another face."""
    overlap = previous.iou(current)
    if overlap >= _MIN_IOU:
        return overlap
    size_ratio = max(previous.area, current.area) / max(min(previous.area, current.area), 1e-9)
    if size_ratio > _MAX_SIZE_RATIO**2:
        return 0.0
    (px, py), (cx, cy) = previous.centre, current.centre
    shift = ((px - cx) ** 2 + (py - cy) ** 2) ** 0.5 / max(previous.width, 1e-9)
    return _MIN_IOU * (1 - shift / _MAX_CENTRE_SHIFT) if shift < _MAX_CENTRE_SHIFT else 0.0


class Decision(enum.Enum):
    SEND = "send"
    UNCONFIRMED = "unconfirmed"
    TOO_SOON = "too soon"
    OVER_CAP = "over the per-minute cap"
    ALREADY_SEARCHED = "searched minutes ago"


class CropRateLimiter:
    def __init__(
        self, *, confirm_frames: int, resend_seconds: float, resend_max_seconds: float, max_per_minute: int
    ) -> None:
        self.confirm_frames = confirm_frames
        self.resend_seconds = resend_seconds
        self.resend_max_seconds = resend_max_seconds
        self.max_per_minute = max_per_minute
        self._sent_at: deque[float] = deque()

    def decide(self, track: FaceTrack, now: float) -> Decision:
        """Whether `track` may send a crop captured at `now`; a SEND is counted, so act on it."""
        if track.hits < self.confirm_frames:
            return Decision.UNCONFIRMED
        if now < track.next_send_at:
            return Decision.TOO_SOON
        while self._sent_at and self._sent_at[0] <= now - _CAP_WINDOW_SECONDS:
            self._sent_at.popleft()
        if len(self._sent_at) >= self.max_per_minute:
            track.next_send_at = now + self.resend_seconds
            return Decision.OVER_CAP
        self._sent_at.append(now)
        track.crops_sent += 1
        interval = min(self.resend_seconds * 2 ** (track.crops_sent - 1), self.resend_max_seconds)
        track.next_send_at = now + interval
        return Decision.SEND

    def withdraw(self) -> None:
        """The last SEND was not sent after all: it no longer counts against the per-minute cap. The track keeps
        its next turn, so a face that is not sent is looked at again on the same growing schedule."""
        if self._sent_at:
            self._sent_at.pop()

    def forget_all(self) -> None:
        self._sent_at.clear()


# A face's embedding, from the frame it was seen in (face_memory.FaceRecogniser); None when it has none.
Embedder = Callable[[FaceBox], np.ndarray | None]


class FrameSearchPolicy:
    """Tracker, rate limiter and (optionally) the memory of searched faces: which of a frame's faces to send."""

    def __init__(self, tracker: FaceTracker, limiter: CropRateLimiter, memory: SearchedFaces | None = None) -> None:
        self.tracker = tracker
        self.limiter = limiter
        self.memory = memory
        self._last_seen_at: float | None = None
        self.clock_resets = 0

    def review(
        self, faces: Sequence[FaceBox], captured_at: float, embed: Embedder | None = None
    ) -> list[tuple[FaceBox, FaceTrack, Decision]]:
        """Each face with its track and the decision, largest face first (they are the best crops, and they
        go first when the per-minute cap is close). `embed` is asked only for a face whose turn has come."""
        if self._last_seen_at is not None and captured_at < self._last_seen_at - _CLOCK_STEP_BACK_SECONDS:
            self.tracker.forget_all()
            self.limiter.forget_all()
            if self.memory is not None:
                self.memory.forget_all()
            self.clock_resets += 1
        self._last_seen_at = captured_at
        tracks = self.tracker.update(faces, captured_at)
        ordered = sorted(zip(faces, tracks, strict=True), key=lambda pair: pair[0].area, reverse=True)
        decisions = []
        for face, track in ordered:
            decision = self.limiter.decide(track, captured_at)
            if decision is Decision.SEND and self.memory is not None and embed is not None:
                decision = self._unless_searched(face, track, captured_at, embed)
            if decision is Decision.SEND:
                track.sent_a_crop = True
            decisions.append((face, track, decision))
        return decisions

    def searched(self, embedding: np.ndarray | None, captured_at: float) -> None:
        """A crop of this face (its embedding, None without one), captured at `captured_at`, reached S3: only
        now does the memory count it as searched."""
        if self.memory is not None and embedding is not None:
            self.memory.remember(embedding, captured_at)

    def _unless_searched(self, face: FaceBox, track: FaceTrack, captured_at: float, embed: Embedder) -> Decision:
        assert self.memory is not None
        track.embedding = embedding = embed(face)
        if embedding is None or track.sent_a_crop:  # no landmarks (Haar), or the track's own resend
            return Decision.SEND
        if self.memory.searched_recently(embedding, captured_at):
            self.limiter.withdraw()
            return Decision.ALREADY_SEARCHED
        return Decision.SEND
