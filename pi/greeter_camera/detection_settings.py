"""Settings of frame-search mode on the camera: detector, crops, rate limits, upload queue.

They live in the camera's one settings file, /etc/greeter/camera.env, next to the video settings; the
producer's parser (`config.py`) builds this `DetectionSettings` from it when `GREETER_DETECTION=frame-search`
and reports its problems together with its own. `DetectionSettings.from_env(values)` builds one from any
mapping of strings (the benchmarks and tests use it). Keys (defaults in brackets; the three without one are
required; the first three are shared with the video settings):

    GREETER_CROPS_BUCKET                 S3 bucket the crops go to (the stack's CropsBucketName output).
    GREETER_STREAM_NAME                  This camera's name: the crops' key prefix `crops/<name>/`, and the
                                         Kinesis video stream name the cloud reports the match under.
    AWS_REGION                           Region of the Greeter stack and its crops bucket, e.g. eu-west-1.
    GREETER_DETECTION_FPS                [5] Frames per second the camera hands to the detector: Rekognition's
                                         minimum frame rate; people walking in stay in view for a second or
                                         more, and the Pi keeps the rest of its CPU for encoding.
    GREETER_DETECTOR                     [auto] `auto` (YuNet, falling back to Haar if the model can't load),
                                         `yunet` (fail instead of falling back) or `haar`.
    GREETER_DETECTION_WIDTH              [auto] Width in pixels the frame is shrunk to for detection (height
                                         keeps the aspect ratio); crops are still cut from the full frame.
                                         YuNet sees no face under about 20 px at the width it works at, so
                                         `auto` picks the smallest width at which a face of
                                         GREETER_MIN_FACE_PX camera pixels is still 20 px: 512 for 1280x720
                                         and 50 px, 256 for 640x480 and 50 px. A number fixes the width; one
                                         too small to see GREETER_MIN_FACE_PX is a configuration error.
                                         (`.venv/bin/python -m bench.detector` measures CPU and recall per width.)
    GREETER_DETECTION_SCORE              [0.7] YuNet's minimum face score, 0-1 (Haar has no score).
    GREETER_MIN_FACE_PX                  [50] Smallest face sent, in the camera's own (full-frame) pixels: the
                                         shorter side of the face box, whatever the detection width. A face
                                         box's size wobbles by up to 15% between detection widths, so boxes
                                         down to 15% under it are kept too. At least 40: Rekognition
                                         detects no face smaller than 40x40 px in an image up to
                                         1920x1080 ("Guidelines and quotas in Amazon Rekognition");
                                         AWS recommends 50x50 for face search
                                         ("Recommendations for camera setup").
    GREETER_CROP_MARGIN                  [0.4] Margin added around the face box on each side, as a fraction
                                         of the box's width (left/right) and height (top/bottom).
    GREETER_JPEG_QUALITY                 [90] JPEG quality of the crops, 50-100.
    GREETER_CONFIRM_FRAMES               [2] Frames a face must be seen in before its first crop is sent
                                         (filters one-frame false detections; 2 frames = 0.4 s at 5 fps).
    GREETER_RESEND_SECONDS               [10] Least time between two crops of the same tracked face.
    GREETER_RESEND_MAX_SECONDS           [120] The interval doubles after each crop of the same face, up to
                                         this; set it equal to GREETER_RESEND_SECONDS for a fixed interval.
    GREETER_TRACK_FORGET_SECONDS         [2] A face unseen this long is forgotten; seen again, it is a new face.
    GREETER_SEARCH_MEMORY_MINUTES        [10] A face whose crops reached S3 twice (a first look and its second
                                         chance) is not sent again for this long by a new track
                                         (face_memory.py: the Pi recognises it with OpenCV's SFace model); a
                                         track's own resends always go. 0 turns the memory off and every
                                         track is sent on the resend schedule alone. At most 1440.
    GREETER_MAX_CROPS_PER_MINUTE         [30] Crops this camera may send in any 60 s; beyond it crops are
                                         dropped and counted.
    GREETER_QUEUE_SIZE                   [60] Crops held while uploads fail; when full the oldest is dropped.
    GREETER_MAX_CROP_AGE_SECONDS         [30] A crop older than this is dropped instead of sent. Keep it at
                                         most the cloud's own limit, which drops stale crops too.
    GREETER_UPLOAD_BACKOFF_SECONDS       [0.5] Wait after the first failed upload; doubles on each failure.
    GREETER_UPLOAD_BACKOFF_MAX_SECONDS   [8] Longest wait between two upload attempts.
    GREETER_STOP_TIMEOUT_SECONDS         [5] How long stop() may spend flushing queued crops.
    GREETER_HEARTBEAT_SECONDS            [60] How often the camera says it is alive (heartbeat.py): one small
                                         S3 object overwritten, about $0.22 of PUTs a month; the stack's
                                         silent-camera alarm (CameraSilenceMinutes, 5) wants several a window.

Why these defaults: a tracked face's first crop goes as soon as it is confirmed, so a customer is greeted
within a second of being seen; if that search finds nobody (head turned, blurred), another crop 10 s later
gives a second chance while they are still near the door. The growing interval keeps a face that stays in
view for hours (a member of staff at the till, a poster) to one look every 2 minutes instead of 360 an hour, and
the memory of searched faces spares the new tracks of a face already searched twice: a customer who turns to a
shelf and back costs nothing more. 10 minutes covers the lingering near the door that costs most; it is short
because the Pi does not know whether a search matched anyone: a customer registered at the counter, or whose
first two crops both found nobody, is searched again by a new track 10 minutes later, and the fewer faces the
memory holds, the smaller its chance of taking a stranger for one of them. `.venv/bin/python -m
bench.detection_cost` shows the searches and the registered customers missed for 10, 30 and 60 minutes.
30 crops a minute is 5 faces in view at once, each every 10 s; 60 queued crops is two minutes of that cap,
far more than the 30 s a crop stays worth sending.
"""

import dataclasses
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

DETECTORS = ("auto", "yunet", "haar")

# Rekognition detects no face smaller than 40x40 px in an image up to 1920x1080 (Amazon Rekognition
# Developer Guide, "Guidelines and quotas in Amazon Rekognition"), so smaller faces only cost searches.
REKOGNITION_MIN_FACE_PX = 40
# The smallest face (box side, in the pixels of the shrunken frame) each detector finds: YuNet finds every
# face of insightface's 6-face group photo from 18 px and none under 10 (`.venv/bin/python -m bench.detector`); Haar's
# cascade window is 24x24.
SMALLEST_FACE_SEEN_PX = {"yunet": 20, "haar": 24}
# A face box's size moves by up to 15% between detection widths (YuNet on the group photo at 320, 480 and 640):
# the minimum is applied with that much room, so one scene gives the same faces at every width.
FACE_SIZE_TOLERANCE = 0.15
# GREETER_DETECTION_WIDTH=auto is stored as 0.
AUTO_WIDTH = 0
# The camera's frame rate is at most 30 fps (config.py), so the detector cannot get more.
MAX_DETECTION_FPS = 30

# The one definition of each name's shape, for the video settings too (config.py imports them).
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# Kinesis video stream names: 1-256 of [a-zA-Z0-9_.-]; also safe as one S3 key segment.
STREAM_NAME = re.compile(r"^[a-zA-Z0-9_.-]{1,256}$")
REGION_NAME = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


class DetectionSettingsError(ValueError):
    """One or more detection settings are missing or wrong; the message lists each, by its key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("bad frame-search settings:\n  " + "\n  ".join(problems))


def _setting(env_key: str, default: object = dataclasses.MISSING, *, what: str = "") -> object:
    """A field read from `env_key`; `what` says what a required one is, for the message when it is missing."""
    return field(default=default, metadata={"env": env_key, "what": what})


@dataclass(frozen=True)
class DetectionSettings:
    crops_bucket: str = _setting(
        "GREETER_CROPS_BUCKET",
        what="the bucket frame-search mode uploads face crops to (the CropsBucketName output of the Greeter stack)",
    )
    stream_name: str = _setting(
        "GREETER_STREAM_NAME", what="this camera's name, the name of its Kinesis video stream (<stack>-<camera>)"
    )
    region: str = _setting("AWS_REGION", what="the AWS region of the Greeter stack, e.g. eu-west-1")
    fps: int = _setting("GREETER_DETECTION_FPS", 5)
    detector: str = _setting("GREETER_DETECTOR", "auto")
    detection_width: int = _setting("GREETER_DETECTION_WIDTH", AUTO_WIDTH)  # AUTO_WIDTH: see detection_width_for
    score_threshold: float = _setting("GREETER_DETECTION_SCORE", 0.7)
    min_face_px: int = _setting("GREETER_MIN_FACE_PX", 50)
    crop_margin: float = _setting("GREETER_CROP_MARGIN", 0.4)
    jpeg_quality: int = _setting("GREETER_JPEG_QUALITY", 90)
    confirm_frames: int = _setting("GREETER_CONFIRM_FRAMES", 2)
    resend_seconds: float = _setting("GREETER_RESEND_SECONDS", 10.0)
    resend_max_seconds: float = _setting("GREETER_RESEND_MAX_SECONDS", 120.0)
    track_forget_seconds: float = _setting("GREETER_TRACK_FORGET_SECONDS", 2.0)
    search_memory_minutes: float = _setting("GREETER_SEARCH_MEMORY_MINUTES", 10.0)
    max_crops_per_minute: int = _setting("GREETER_MAX_CROPS_PER_MINUTE", 30)
    queue_size: int = _setting("GREETER_QUEUE_SIZE", 60)
    max_crop_age_seconds: float = _setting("GREETER_MAX_CROP_AGE_SECONDS", 30.0)
    upload_backoff_seconds: float = _setting("GREETER_UPLOAD_BACKOFF_SECONDS", 0.5)
    upload_backoff_max_seconds: float = _setting("GREETER_UPLOAD_BACKOFF_MAX_SECONDS", 8.0)
    stop_timeout_seconds: float = _setting("GREETER_STOP_TIMEOUT_SECONDS", 5.0)
    heartbeat_seconds: float = _setting("GREETER_HEARTBEAT_SECONDS", 60.0)

    def __post_init__(self) -> None:
        problems = self._problems()
        if problems:
            raise DetectionSettingsError(problems)

    @classmethod
    def env_keys(cls) -> dict[str, str]:
        """Field name -> camera.env key, in declaration order."""
        return {f.name: f.metadata["env"] for f in dataclasses.fields(cls)}

    @classmethod
    def from_env(cls, values: Mapping[str, str]) -> "DetectionSettings":
        """Build from camera.env strings (or os.environ); other keys are ignored, empty means unset. Raises
        DetectionSettingsError naming every bad key at once."""
        settings, problems = cls.check_env(values)
        if settings is None:
            raise DetectionSettingsError(problems)
        return settings

    @classmethod
    def check_env(
        cls, values: Mapping[str, str], *, checked_elsewhere: Collection[str] = ()
    ) -> tuple["DetectionSettings | None", list[str]]:
        """The settings, or None and one sentence per problem: missing, unreadable and out-of-range values
        all at once. Problems of the keys in `checked_elsewhere` are left to the caller, who reports them
        in its own words (the video settings' parser checks the stream name and region for both); when only
        those are wrong, the answer is (None, [])."""
        kwargs: dict[str, object] = {}
        problems: list[str] = []
        unusable: set[str] = set()
        for f in dataclasses.fields(cls):
            key = f.metadata["env"]
            raw = values.get(key, "").strip()
            if not raw:
                if f.default is dataclasses.MISSING:
                    problems.append(f"{key} is missing: {f.metadata['what']}.")
                    unusable.add(f.name)
                continue
            if f.name == "detection_width" and raw.lower() == "auto":
                kwargs[f.name] = AUTO_WIDTH
                continue
            try:
                kwargs[f.name] = _parse(f.type, raw)
            except ValueError:
                problems.append(f"{key}={raw!r} is not {_type_name(f.type)}.")
                unusable.add(f.name)
        # The range checks run on what could be read, with defaults standing in for the rest, so one
        # unreadable value does not hide the others' problems.
        draft = object.__new__(cls)
        for f in dataclasses.fields(cls):
            value = kwargs.get(f.name, "" if f.default is dataclasses.MISSING else f.default)
            object.__setattr__(draft, f.name, value)
        problems += draft._problems(skip=unusable)
        skipped = set(checked_elsewhere)
        problems = [p for p in problems if not any(p.startswith((f"{k}=", f"{k} ")) for k in skipped)]
        if problems:
            return None, problems
        try:
            return cls(**kwargs), []  # type: ignore[arg-type]
        except (TypeError, DetectionSettingsError):
            # Only a key checked elsewhere can be missing or wrong here; the caller has its own message.
            return None, []

    def _problems(self, skip: Collection[str] = ()) -> list[str]:
        keys = self.env_keys()
        problems: list[str] = []

        def check(ok: bool, name: str, rule: str) -> None:
            if not ok and name not in skip:
                problems.append(f"{keys[name]}={getattr(self, name)!r}: {rule}")

        for f in dataclasses.fields(self):
            if f.name in skip:
                continue
            value = getattr(self, f.name)
            wanted = float if f.type in (float, "float") else int if f.type in (int, "int") else str
            if isinstance(value, bool) or not isinstance(value, (int, float) if wanted is float else wanted):
                problems.append(f"{keys[f.name]}={value!r}: must be {_type_name(wanted)}")
        if problems:
            return problems

        check(bool(BUCKET_NAME.match(self.crops_bucket)), "crops_bucket", "not a valid S3 bucket name")
        check(bool(STREAM_NAME.match(self.stream_name)), "stream_name", "use 1-256 of the characters a-z A-Z 0-9 _ . -")
        check(bool(REGION_NAME.match(self.region)), "region", "not an AWS region name like eu-west-1")
        check(
            1 <= self.fps <= MAX_DETECTION_FPS,
            "fps",
            f"must be between 1 and {MAX_DETECTION_FPS} frames per second (a few a second is enough)",
        )
        check(self.detector in DETECTORS, "detector", f"must be one of {', '.join(DETECTORS)}")
        check(
            self.detection_width == AUTO_WIDTH or 80 <= self.detection_width <= 1920,
            "detection_width",
            "must be auto or between 80 and 1920 pixels",
        )
        check(0 < self.score_threshold < 1, "score_threshold", "must be between 0 and 1")
        check(
            self.min_face_px >= REKOGNITION_MIN_FACE_PX,
            "min_face_px",
            f"must be at least {REKOGNITION_MIN_FACE_PX}: Rekognition detects no smaller face in a 1920x1080 image",
        )
        check(0 <= self.crop_margin <= 2, "crop_margin", "must be between 0 and 2 (a fraction of the face box)")
        check(50 <= self.jpeg_quality <= 100, "jpeg_quality", "must be between 50 and 100")
        check(1 <= self.confirm_frames <= 25, "confirm_frames", "must be between 1 and 25")
        check(self.resend_seconds > 0, "resend_seconds", "must be more than 0")
        check(
            self.resend_max_seconds >= self.resend_seconds or "resend_seconds" in skip,
            "resend_max_seconds",
            f"must be at least GREETER_RESEND_SECONDS ({self.resend_seconds})",
        )
        check(self.track_forget_seconds > 0, "track_forget_seconds", "must be more than 0")
        check(
            0 <= self.search_memory_minutes <= 1440,
            "search_memory_minutes",
            "must be between 0 (no memory) and 1440 minutes (a day)",
        )
        check(self.max_crops_per_minute >= 1, "max_crops_per_minute", "must be at least 1")
        check(self.queue_size >= 1, "queue_size", "must be at least 1")
        check(self.max_crop_age_seconds > 0, "max_crop_age_seconds", "must be more than 0")
        check(self.upload_backoff_seconds > 0, "upload_backoff_seconds", "must be more than 0")
        check(
            self.upload_backoff_max_seconds >= self.upload_backoff_seconds or "upload_backoff_seconds" in skip,
            "upload_backoff_max_seconds",
            f"must be at least GREETER_UPLOAD_BACKOFF_SECONDS ({self.upload_backoff_seconds})",
        )
        check(self.stop_timeout_seconds >= 0, "stop_timeout_seconds", "must not be negative")
        check(
            10 <= self.heartbeat_seconds <= 120,
            "heartbeat_seconds",
            "must be between 10 and 120 seconds (the stack's silent-camera alarm wants several in its window)",
        )
        return problems


def detection_width_for(frame_width: int, settings: "DetectionSettings", detector: str = "yunet") -> int:
    """The width a frame `frame_width` pixels wide is shrunk to for detection: the configured one, or (auto)
    auto_detection_width's."""
    if settings.detection_width != AUTO_WIDTH:
        return min(settings.detection_width, frame_width)
    return auto_detection_width(frame_width, settings.min_face_px, detector)


def auto_detection_width(frame_width: int, min_face_px: int, detector: str = "yunet") -> int:
    """The smallest width (rounded up to 16) at which a face of `min_face_px` camera pixels is still one the
    detector sees."""
    needed = frame_width * SMALLEST_FACE_SEEN_PX[detector] / min_face_px
    return min(frame_width, max(80, math.ceil(needed / 16) * 16))


def smallest_face_seen(frame_width: int, detection_width: int, detector: str = "yunet") -> float:
    """The smallest face (camera pixels) the detector finds in a frame `frame_width` wide shrunk to
    `detection_width`."""
    return SMALLEST_FACE_SEEN_PX[detector] * frame_width / min(detection_width, frame_width)


def _parse(kind: object, raw: str) -> object:
    if kind in (int, "int"):
        return int(raw)
    if kind in (float, "float"):
        return float(raw)
    return raw


def _type_name(kind: object) -> str:
    if kind in (int, "int"):
        return "a whole number"
    return "a number" if kind in (float, "float") else "text"
