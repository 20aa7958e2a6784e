"""The camera's one configuration file (/etc/greeter/camera.env), read and checked with messages a store's
IT person can act on.

The file is a systemd-style environment file: `KEY=value` lines, `#` comments, optional quotes.
`load_config` checks every value on its own (syntax, ranges, combinations) and reports *all* problems at
once, the frame-search settings (`detection_settings.DetectionSettings`) included;
`check_environment` then checks what only the Pi can tell (the camera device is there, the certificate
files are readable, the GStreamer elements are installed).

Where each default comes from is written next to it; Rekognition's guidance is
"Recommendations for camera setup" in the Rekognition developer guide (image and video; stored and
streaming video).
"""

from __future__ import annotations

import difflib
import math
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from greeter_camera.detection_settings import (
    AUTO_WIDTH,
    REGION_NAME,
    STREAM_NAME,
    DetectionSettings,
    auto_detection_width,
    smallest_face_seen,
)

# ---- defaults, and why ---------------------------------------------------------------------------
# 1280x720: Rekognition wants a face of at least 50x50 pixels in frames up to 1920x1080. A 16 cm wide face
# 3 m from a webcam with a 60-degree field of view spans about 1280 * 0.16 / 3.46 = 59 pixels at 720p
# (89 at 1080p), so 720p covers a shop entrance while keeping the encoder and the uplink comfortable.
DEFAULT_RESOLUTION = (1280, 720)
# 30 fps: Rekognition's recommended frame rate for stored and streaming video (never below 5 fps).
DEFAULT_FRAMERATE = 30
# 3000 kbit/s: Rekognition's recommended encoder bitrate for a stream processor (not below 1.5 Mbit/s).
STREAM_PROCESSOR_BITRATE_KBPS = 3000
MIN_RECOMMENDED_BITRATE_KBPS = 1500
# 1000 kbit/s in frame-search mode, where only staff watch the video, on the staff app's visit page an alert links
# to: a face 3 m away stays found and recognisable (SFace cosine 0.81 at worst against the unencoded frame, 0.93
# typical; 500 kbit/s drops to 0.46), for a third of the Kinesis Video bill
# (`.venv/bin/python -m bench.video_bitrate`).
REPLAY_BITRATE_KBPS = 1000
# A key frame every 2 s: kvssink starts a new fragment at each key frame, and Rekognition reads the stream
# fragment by fragment (fragments are "typically 2-10 seconds"); 2 s is kvssink's own default fragment
# duration and the low-latency end of that range.
DEFAULT_KEYFRAME_INTERVAL_S = 2
# MJPEG for USB webcams: raw YUYV 1280x720 at 30 fps is 55 MB/s, more than USB 2.0 carries, so most
# webcams only offer YUYV at 720p at 5-10 fps while MJPEG does 30 fps.
DEFAULT_USB_FORMAT = "mjpeg"
# 128 MB: kvssink's own default content store (video kept while the network is down).
DEFAULT_KVS_STORAGE_MB = 128
# The pipeline is declared dead when no frame has come from the camera for this long.
DEFAULT_STALL_TIMEOUT_S = 10.0
DEFAULT_HEALTH_FILE = "/run/greeter-camera/health.json"
DEFAULT_KVS_LOG_CONFIG = "/etc/greeter/kvs_log_configuration"

MIN_RESOLUTION = (640, 480)  # below this a face at the door is smaller than Rekognition's 50x50 pixels
MAX_RESOLUTION = (1920, 1080)  # Rekognition's guidance stops here; it is also the Pi 4 encoder's limit
FRAMERATE_RANGE = (5, 30)  # Rekognition: not below 5 fps; 30 fps is its recommendation and the encoders' limit
BITRATE_RANGE_KBPS = (500, 10000)
KEYFRAME_RANGE_S = (1, 10)

CameraKind = Literal["usb", "picam"]
UsbFormat = Literal["mjpeg", "yuyv"]
EncoderName = Literal["auto", "v4l2h264enc", "x264enc"]

CAMERA_KINDS = ("usb", "picam")
USB_FORMATS = ("mjpeg", "yuyv")
ENCODERS = ("auto", "v4l2h264enc", "x264enc")
DETECTION_MODES = ("off", "frame-search")
CREDENTIAL_METHODS = ("iot-certificate", "access-keys")

# The video and camera settings, read here. The frame-search settings (GREETER_DETECTION=frame-search) are
# DetectionSettings' keys: its fields, documented in detection_settings.py, checked by it.
VIDEO_KEYS = frozenset(
    {
        "GREETER_STREAM_NAME",
        "GREETER_STREAM_VIDEO",
        "AWS_REGION",
        "GREETER_CAMERA",
        "GREETER_DEVICE",
        "GREETER_USB_FORMAT",
        "GREETER_LIBCAMERA_NAME",
        "GREETER_RESOLUTION",
        "GREETER_FRAMERATE",
        "GREETER_ENCODER",
        "GREETER_BITRATE_KBPS",
        "GREETER_KEYFRAME_INTERVAL_S",
        "GREETER_CREDENTIALS",
        "GREETER_IOT_CREDENTIALS_ENDPOINT",
        "GREETER_IOT_ROLE_ALIAS",
        "GREETER_IOT_THING_NAME",
        "GREETER_IOT_CERT",
        "GREETER_IOT_KEY",
        "GREETER_IOT_CA",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "GREETER_KVS_STORAGE_MB",
        "GREETER_KVS_LOG_CONFIG",
        "GREETER_DETECTION",
        "GREETER_HEALTH_FILE",
        "GREETER_STALL_TIMEOUT_S",
    }
)
DETECTION_KEYS = frozenset(DetectionSettings.env_keys().values())
# Shared by both: checked here (the video needs them too), not again by DetectionSettings.
SHARED_KEYS = frozenset({"GREETER_STREAM_NAME", "AWS_REGION"})
KNOWN_KEYS = VIDEO_KEYS | DETECTION_KEYS

_ROLE_ALIAS = re.compile(r"^[\w=,@-]{1,128}$")  # AWS IoT RoleAlias pattern
_THING_NAME = re.compile(r"^[a-zA-Z0-9:_-]{1,128}$")  # AWS IoT ThingName pattern
_ACCESS_KEY_ID = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$")
# kvssink takes IoT settings as one GstStructure string ("iot-certificate,endpoint=...,cert-path=..."):
# a comma, quote, semicolon or space inside a value would split or end it.
_UNSAFE_IN_STRUCTURE = re.compile(r"[,;\"'\s\\]")


class ConfigError(ValueError):
    """The configuration file has problems; `problems` holds one plain sentence for each, `warnings` what else
    looked wrong (an unknown key is often the typo behind a "missing" one, so both are shown together)."""

    def __init__(self, problems: list[str], path: str | None = None, warnings: tuple[str, ...] = ()) -> None:
        self.problems = problems
        self.path = path
        self.warnings = tuple(warnings)
        where = f" in {path}" if path else ""
        lines = [f"  - {p}" for p in problems] + [f"  - warning: {w}" for w in self.warnings]
        super().__init__(f"{len(problems)} problem(s){where}:\n" + "\n".join(lines))


@dataclass(frozen=True)
class CameraSettings:
    kind: CameraKind
    device: str  # /dev/video0 or /dev/v4l/by-id/... for USB; unused for the Pi camera
    usb_format: UsbFormat
    libcamera_name: str | None  # libcamerasrc camera-name; None = the first camera
    width: int
    height: int
    framerate: int


@dataclass(frozen=True)
class EncoderSettings:
    name: EncoderName
    bitrate_kbps: int
    keyframe_interval_s: int


@dataclass(frozen=True)
class IotCertificateCredentials:
    """AWS IoT credentials provider: the certificate buys short-lived credentials for the role alias."""

    endpoint: str
    role_alias: str
    thing_name: str
    cert_path: str
    key_path: str
    ca_path: str
    method: Literal["iot-certificate"] = "iot-certificate"


@dataclass(frozen=True)
class AccessKeyCredentials:
    """Fallback: an IAM user's access key, limited to this camera's stream."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    method: Literal["access-keys"] = "access-keys"


Credentials = IotCertificateCredentials | AccessKeyCredentials


@dataclass(frozen=True)
class KvsSettings:
    stream_video: bool
    stream_name: str
    region: str
    storage_mb: int
    log_config: str


@dataclass(frozen=True)
class CameraConfig:
    camera: CameraSettings
    encoder: EncoderSettings
    kvs: KvsSettings
    # The camera's one AWS identity: kvssink streams video with it, the frame-search sender uploads crops.
    credentials: Credentials
    # Frame-search mode's settings, or None when GREETER_DETECTION=off.
    detection: DetectionSettings | None
    health_file: str
    stall_timeout_s: float
    warnings: tuple[str, ...] = ()

    @property
    def frame_search(self) -> bool:
        return self.detection is not None


# ---- the file format -----------------------------------------------------------------------------


def parse_env_text(text: str) -> tuple[dict[str, str], list[str]]:
    """Parse `KEY=value` lines; return the values and the problems (with line numbers)."""
    values: dict[str, str] = {}
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, equals, value = line.partition("=")
        key = key.strip()
        if not equals or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            problems.append(f"line {number}: expected KEY=value, got {raw.strip()!r}")
            continue
        value = value.strip()
        # "" is a substring of every string: an empty value (KEY=, documented as "empty = the default") must
        # not look like an opening quote.
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif value and value[0] in "\"'":
            problems.append(f"line {number}: {key} has an opening quote but no closing one")
            continue
        if key in values:
            problems.append(f"line {number}: {key} is set twice (the first value was {values[key]!r})")
        values[key] = value
    return values, problems


def _typo_of(key: str, values: Mapping[str, str]) -> str | None:
    """The unknown key in the file that is most likely `key` misspelt, if any."""
    unknown = [name for name in values if name not in KNOWN_KEYS]
    close = difflib.get_close_matches(key, unknown, n=1)
    return close[0] if close else None


# ---- reading values ------------------------------------------------------------------------------


class _Reader:
    """Reads typed values from the parsed file, collecting a plain sentence for each bad one."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values
        self.problems: list[str] = []
        self.warnings: list[str] = []

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.values.get(key, "").strip()
        return value if value else default

    def required(self, key: str, what: str, hint: str = "") -> str:
        value = self.text(key)
        if value is None:
            typo = _typo_of(key, self.values)
            typo_hint = f" {typo} is set: a typo for {key}?" if typo else ""
            self.problems.append(f"{key} is missing: {what}.{(' ' + hint) if hint else ''}{typo_hint}")
            return ""
        return value

    def choice(self, key: str, allowed: tuple[str, ...], default: str) -> str:
        value = (self.text(key) or default).lower()
        if value not in allowed:
            self.problems.append(f"{key}={self.values[key]!r} is not one of: {', '.join(allowed)}.")
            return default
        return value

    def integer(self, key: str, default: int, low: int, high: int, unit: str, why: str) -> int:
        raw = self.text(key)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problems.append(f"{key}={raw!r} is not a whole number ({unit}).")
            return default
        if not low <= value <= high:
            self.problems.append(f"{key}={value} is outside {low}-{high} {unit}: {why}.")
            return default
        return value

    def number(self, key: str, default: float, low: float, high: float, unit: str) -> float:
        raw = self.text(key)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            self.problems.append(f"{key}={raw!r} is not a number ({unit}).")
            return default
        if not low <= value <= high:
            self.problems.append(f"{key}={raw} is outside {low:g}-{high:g} {unit}.")
            return default
        return value

    def boolean(self, key: str, default: bool) -> bool:
        raw = self.text(key)
        if raw is None:
            return default
        lowered = raw.lower()
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off"):
            return False
        self.problems.append(f"{key}={raw!r} should be true or false.")
        return default

    def path(self, key: str, default: str | None, what: str) -> str:
        value = self.text(key, default)
        if value is None:
            self.problems.append(f"{key} is missing: the path of {what}.")
            return ""
        if not value.startswith("/"):
            self.problems.append(f"{key}={value!r} should be an absolute path (starting with /) to {what}.")
        elif _UNSAFE_IN_STRUCTURE.search(value):
            self.problems.append(
                f"{key}={value!r}: kvssink cannot take a path containing commas, quotes or spaces; "
                "move the file to a plain path such as /etc/greeter/certs/."
            )
        return value


def _resolution(reader: _Reader) -> tuple[int, int]:
    raw = reader.text("GREETER_RESOLUTION")
    if raw is None:
        return DEFAULT_RESOLUTION
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", raw)
    if not match:
        reader.problems.append(f"GREETER_RESOLUTION={raw!r} should look like 1280x720 (width x height).")
        return DEFAULT_RESOLUTION
    width, height = int(match[1]), int(match[2])
    if width < MIN_RESOLUTION[0] or height < MIN_RESOLUTION[1]:
        reader.problems.append(
            f"GREETER_RESOLUTION={width}x{height} is not supported: below {MIN_RESOLUTION[0]}x{MIN_RESOLUTION[1]} "
            "a face at the entrance is smaller than the 50x50 pixels Rekognition needs. Try 1280x720."
        )
    elif width > MAX_RESOLUTION[0] or height > MAX_RESOLUTION[1]:
        reader.problems.append(
            f"GREETER_RESOLUTION={width}x{height} is not supported: the largest is "
            f"{MAX_RESOLUTION[0]}x{MAX_RESOLUTION[1]} (Rekognition's face-search guidance stops there, and the "
            "Pi 4 hardware encoder cannot encode more). Try 1920x1080 or 1280x720."
        )
    elif width % 2 or height % 2:
        reader.problems.append(
            f"GREETER_RESOLUTION={width}x{height} is not supported: H.264 encoders need an even width and height."
        )
    else:
        return width, height
    return DEFAULT_RESOLUTION


_IOT_KEYS = ("GREETER_IOT_CREDENTIALS_ENDPOINT", "GREETER_IOT_ROLE_ALIAS")
_ACCESS_KEY_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def _credentials(reader: _Reader, region: str, stream_name: str) -> Credentials:
    method = reader.choice("GREETER_CREDENTIALS", CREDENTIAL_METHODS, "iot-certificate")
    iot_set = [key for key in _IOT_KEYS if reader.text(key)]
    keys_set = [key for key in _ACCESS_KEY_KEYS if reader.text(key)]
    # Access keys filled in but GREETER_CREDENTIALS left at its default: the installer meant the fallback.
    if method == "iot-certificate" and keys_set and not iot_set and not reader.text("GREETER_CREDENTIALS"):
        reader.problems.append(
            f"{' and '.join(keys_set)} {'are' if len(keys_set) > 1 else 'is'} set but GREETER_CREDENTIALS is "
            "not: add GREETER_CREDENTIALS=access-keys to use the IAM user's key (or remove the key and fill in "
            "the GREETER_IOT_* settings for an IoT certificate, the preferred way)."
        )
        return AccessKeyCredentials(access_key_id="", secret_access_key="")
    if iot_set and keys_set:
        unused = keys_set if method == "iot-certificate" else iot_set
        reader.problems.append(
            f"Both credential methods are filled in ({', '.join(iot_set + keys_set)}): the camera uses one identity. "
            f"GREETER_CREDENTIALS={method}, so remove {', '.join(unused)} "
            f"(or set GREETER_CREDENTIALS={'access-keys' if method == 'iot-certificate' else 'iot-certificate'})."
        )
    if method == "access-keys":
        key_id = reader.required(
            "AWS_ACCESS_KEY_ID",
            "the access key of the IAM user made for this camera",
            "See pi/README.md, 'Fallback: an IAM user'.",
        )
        secret = reader.required("AWS_SECRET_ACCESS_KEY", "the secret access key that goes with AWS_ACCESS_KEY_ID")
        if key_id and not _ACCESS_KEY_ID.match(key_id):
            reader.problems.append(
                f"AWS_ACCESS_KEY_ID={key_id[:4]}... does not look like an access key id (AKIA + 16 letters/digits)."
            )
        if secret and len(secret) != 40:
            reader.problems.append(f"AWS_SECRET_ACCESS_KEY is {len(secret)} characters long; secret keys have 40.")
        return AccessKeyCredentials(access_key_id=key_id, secret_access_key=secret)

    no_identity = not iot_set and not keys_set
    endpoint = reader.required(
        "GREETER_IOT_CREDENTIALS_ENDPOINT",
        "the account's AWS IoT credentials endpoint",
        "Get it with: aws iot describe-endpoint --endpoint-type iot:CredentialProvider"
        + (
            " (or, without IoT, use an IAM user's key: GREETER_CREDENTIALS=access-keys with AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY; pi/provision-camera.sh --method access-keys writes them)."
            if no_identity
            else "."
        ),
    )
    if endpoint:
        if endpoint.startswith(("https://", "http://")):
            reader.problems.append(
                f"GREETER_IOT_CREDENTIALS_ENDPOINT={endpoint!r}: give the host name only, without https://."
            )
        elif ".credentials.iot." not in endpoint:
            hint = (
                " That is the MQTT data endpoint;" if "-ats.iot." in endpoint else ""
            ) + " use the output of: aws iot describe-endpoint --endpoint-type iot:CredentialProvider"
            reader.problems.append(
                f"GREETER_IOT_CREDENTIALS_ENDPOINT={endpoint!r} is not a credentials endpoint "
                f"(<prefix>.credentials.iot.<region>.amazonaws.com).{hint}"
            )
        elif _UNSAFE_IN_STRUCTURE.search(endpoint):
            reader.problems.append(f"GREETER_IOT_CREDENTIALS_ENDPOINT={endpoint!r} contains spaces or punctuation.")
        elif region and f".iot.{region}." not in endpoint:
            reader.warnings.append(
                f"GREETER_IOT_CREDENTIALS_ENDPOINT is in another region than AWS_REGION={region}; "
                "that works only if the IoT role alias lives there."
            )
    role_alias = reader.required(
        "GREETER_IOT_ROLE_ALIAS",
        "the IoT role alias the certificate may assume",
        "It is the CameraRoleAlias output of the Greeter stack.",
    )
    if role_alias and not _ROLE_ALIAS.match(role_alias):
        reader.problems.append(f"GREETER_IOT_ROLE_ALIAS={role_alias!r} is not a valid role alias name.")
    thing_name = reader.text("GREETER_IOT_THING_NAME", stream_name) or ""
    if thing_name and not _THING_NAME.match(thing_name):
        reader.problems.append(
            f"GREETER_IOT_THING_NAME={thing_name!r} is not a valid IoT thing name (letters, digits, : _ -)."
        )
    return IotCertificateCredentials(
        endpoint=endpoint,
        role_alias=role_alias,
        thing_name=thing_name,
        cert_path=reader.path("GREETER_IOT_CERT", "/etc/greeter/certs/certificate.pem.crt", "the camera's certificate"),
        key_path=reader.path("GREETER_IOT_KEY", "/etc/greeter/certs/private.pem.key", "the certificate's private key"),
        ca_path=reader.path("GREETER_IOT_CA", "/etc/ssl/certs/Amazon_Root_CA_1.pem", "Amazon's root CA certificate"),
    )


def _detection(
    reader: _Reader, values: Mapping[str, str], mode: str, framerate: int, frame_width: int
) -> DetectionSettings | None:
    """Frame-search mode's settings, checked by DetectionSettings itself; its problems join the others."""
    if mode == "off":
        ignored = sorted(key for key in values if key in DETECTION_KEYS - SHARED_KEYS and values[key].strip())
        if ignored:
            reader.warnings.append(
                f"{', '.join(ignored)}: frame-search settings are ignored while GREETER_DETECTION=off."
            )
        return None
    detection, problems = DetectionSettings.check_env(values, checked_elsewhere=SHARED_KEYS)
    reader.problems += problems
    if detection is not None and detection.fps > framerate:
        reader.problems.append(
            f"GREETER_DETECTION_FPS={detection.fps} is more than the camera's GREETER_FRAMERATE={framerate}."
        )
    if detection is not None and detection.detection_width != AUTO_WIDTH:
        smallest = smallest_face_seen(frame_width, detection.detection_width)
        if smallest > detection.min_face_px:
            reader.problems.append(
                f"GREETER_DETECTION_WIDTH={detection.detection_width} finds no face under {smallest:.0f} px in "
                f"{frame_width}-pixel-wide frames, but GREETER_MIN_FACE_PX={detection.min_face_px}: use "
                f"GREETER_DETECTION_WIDTH=auto ({auto_detection_width(frame_width, detection.min_face_px)} here) "
                "or raise "
                f"GREETER_MIN_FACE_PX to {math.ceil(smallest)}."
            )
    return detection


def _thing_name_must_match_stream(reader: _Reader, thing_name: str, stream_name: str) -> None:
    # The stack's CameraRole allows PutMedia only on the stream named ${credentials-iot:ThingName} and crops
    # only under crops/${credentials-iot:ThingName}/ (the crops go under crops/<stream name>/).
    if thing_name and stream_name and thing_name != stream_name:
        reader.warnings.append(
            f"GREETER_IOT_THING_NAME={thing_name} is not GREETER_STREAM_NAME={stream_name}: the Greeter stack's "
            "camera role lets a thing write only the stream and crops named like it, so AWS will refuse them."
        )


def config_from_values(values: Mapping[str, str], path: str | None = None) -> CameraConfig:
    """Check every value; raise ConfigError listing all problems, or return the typed configuration."""
    reader = _Reader(values)

    for key in sorted(values):
        if key in KNOWN_KEYS:
            continue
        if key.startswith("GREETER_") or key.startswith("AWS_"):
            close = difflib.get_close_matches(key, KNOWN_KEYS, n=1)
            suggestion = f" Did you mean {close[0]}?" if close else ""
            reader.warnings.append(f"{key} is not a setting this camera knows; it is ignored.{suggestion}")

    stream_video = reader.boolean("GREETER_STREAM_VIDEO", True)
    detection_mode = reader.choice("GREETER_DETECTION", DETECTION_MODES, "off")

    stream_name = reader.required(
        "GREETER_STREAM_NAME",
        "the name of this camera's Kinesis video stream",
        "It is <stack name>-<camera name>, listed in the Greeter stack's outputs.",
    )
    if stream_name and not STREAM_NAME.match(stream_name):
        reader.problems.append(
            f"GREETER_STREAM_NAME={stream_name!r} is not a valid stream name (letters, digits, '.', '_', '-')."
        )
    region = reader.required("AWS_REGION", "the AWS region of the Greeter stack, e.g. eu-west-1")
    if region and not REGION_NAME.match(region):
        reader.problems.append(f"AWS_REGION={region!r} is not an AWS region name such as eu-west-1.")

    kind = reader.choice("GREETER_CAMERA", CAMERA_KINDS, "usb")
    device = reader.text("GREETER_DEVICE", "/dev/video0") or "/dev/video0"
    if kind == "usb" and not device.startswith("/dev/"):
        reader.problems.append(f"GREETER_DEVICE={device!r} should be a device path such as /dev/video0.")
    width, height = _resolution(reader)
    framerate = reader.integer(
        "GREETER_FRAMERATE",
        DEFAULT_FRAMERATE,
        *FRAMERATE_RANGE,
        "frames per second",
        "Rekognition needs at least 5 fps and the encoders stop at 30",
    )
    camera = CameraSettings(
        kind=kind,  # type: ignore[arg-type]
        device=device,
        usb_format=reader.choice("GREETER_USB_FORMAT", USB_FORMATS, DEFAULT_USB_FORMAT),  # type: ignore[arg-type]
        libcamera_name=reader.text("GREETER_LIBCAMERA_NAME"),
        width=width,
        height=height,
        framerate=framerate,
    )

    bitrate = reader.integer(
        "GREETER_BITRATE_KBPS",
        REPLAY_BITRATE_KBPS if detection_mode == "frame-search" else STREAM_PROCESSOR_BITRATE_KBPS,
        *BITRATE_RANGE_KBPS,
        "kbit/s",
        "Rekognition recommends 3000 and at least 1500",
    )
    # Only a stream processor (detection off on the camera) reads the video for faces.
    if stream_video and detection_mode == "off" and bitrate < MIN_RECOMMENDED_BITRATE_KBPS:
        reader.warnings.append(
            f"GREETER_BITRATE_KBPS={bitrate} is below the 1500 kbit/s Rekognition asks for; faces may be too "
            "blurry to match."
        )
    encoder = EncoderSettings(
        name=reader.choice("GREETER_ENCODER", ENCODERS, "auto"),  # type: ignore[arg-type]
        bitrate_kbps=bitrate,
        keyframe_interval_s=reader.integer(
            "GREETER_KEYFRAME_INTERVAL_S",
            DEFAULT_KEYFRAME_INTERVAL_S,
            *KEYFRAME_RANGE_S,
            "seconds",
            "each key frame starts a Kinesis fragment; longer means later alerts",
        ),
    )

    credentials = _credentials(reader, region, stream_name)
    kvs = KvsSettings(
        stream_video=stream_video,
        stream_name=stream_name,
        region=region,
        storage_mb=reader.integer(
            "GREETER_KVS_STORAGE_MB", DEFAULT_KVS_STORAGE_MB, 16, 1024, "MB", "it is held in the Pi's memory"
        ),
        log_config=reader.path("GREETER_KVS_LOG_CONFIG", DEFAULT_KVS_LOG_CONFIG, "kvssink's log4cplus settings"),
    )

    detection = _detection(reader, values, detection_mode, framerate, width)
    if not stream_video and detection_mode == "off":
        reader.problems.append(
            "GREETER_STREAM_VIDEO=false with GREETER_DETECTION=off leaves the camera nothing to do; "
            "stream video, or turn on GREETER_DETECTION=frame-search."
        )
    if isinstance(credentials, IotCertificateCredentials):
        _thing_name_must_match_stream(reader, credentials.thing_name, stream_name)

    health_file = reader.path("GREETER_HEALTH_FILE", DEFAULT_HEALTH_FILE, "the health file")
    stall_timeout = reader.number("GREETER_STALL_TIMEOUT_S", DEFAULT_STALL_TIMEOUT_S, 1, 300, "seconds")

    if reader.problems:
        raise ConfigError(reader.problems, path, tuple(reader.warnings))
    return CameraConfig(
        camera=camera,
        encoder=encoder,
        kvs=kvs,
        credentials=credentials,
        detection=detection,
        health_file=health_file,
        stall_timeout_s=stall_timeout,
        warnings=tuple(reader.warnings),
    )


def load_config(path: str | os.PathLike[str]) -> CameraConfig:
    """Read and check the configuration file; raise ConfigError with every problem found."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [f"{where} does not exist. Copy /opt/greeter/camera/camera.env.example there and fill it in."], where
        ) from None
    except PermissionError:
        raise ConfigError(
            [f"{where} cannot be read by this user; it should be owned by root, group greeter-camera, mode 640."],
            where,
        ) from None
    values, problems = parse_env_text(text)
    try:
        config = config_from_values(values, where)
    except ConfigError as error:
        raise ConfigError(problems + error.problems, where, error.warnings) from None
    if problems:
        raise ConfigError(problems, where)
    return config


# ---- what only the Pi can tell -------------------------------------------------------------------


def check_environment(
    config: CameraConfig,
    has_element: Callable[[str], bool],
    encoder: str,
) -> list[str]:
    """Problems a valid file can still have on this Pi: missing camera, unreadable certificates,
    GStreamer elements not installed. `encoder` is the resolved encoder element name."""
    problems: list[str] = []
    camera = config.camera
    if camera.kind == "usb":
        problems += _device_problems(camera.device)
        if not has_element("v4l2src"):
            problems.append("GStreamer's v4l2src is not installed (apt install gstreamer1.0-plugins-good).")
        if camera.usb_format == "mjpeg" and not has_element("jpegdec"):
            problems.append("GStreamer's jpegdec is not installed (apt install gstreamer1.0-plugins-good).")
    elif not has_element("libcamerasrc"):
        problems.append(
            "GREETER_CAMERA=picam needs GStreamer's libcamerasrc (apt install gstreamer1.0-libcamera), "
            "which is not installed."
        )
    if config.kvs.stream_video:
        if not has_element(encoder):
            package = "gstreamer1.0-plugins-ugly" if encoder == "x264enc" else "gstreamer1.0-plugins-good"
            problems.append(f"The H.264 encoder {encoder} is not available (apt install {package}).")
        if not has_element("kvssink"):
            problems.append(
                "kvssink (the Kinesis Video Streams GStreamer plugin) is not found; run pi/install.sh again, "
                "or check GST_PLUGIN_PATH."
            )
    credentials = config.credentials
    if isinstance(credentials, IotCertificateCredentials):
        for key, what, file in (
            ("GREETER_IOT_CERT", "certificate", credentials.cert_path),
            ("GREETER_IOT_KEY", "private key", credentials.key_path),
            ("GREETER_IOT_CA", "root CA certificate", credentials.ca_path),
        ):
            if not os.path.isfile(file):
                problems.append(f"{key}: the {what} {file} does not exist (see pi/provision-camera.sh).")
            elif not os.access(file, os.R_OK):
                problems.append(
                    f"{key}: the {what} {file} is not readable by this user (chgrp greeter-camera it and chmod 640)."
                )
    return problems


def _device_problems(device: str) -> list[str]:
    try:
        mode = os.stat(device).st_mode
    except FileNotFoundError:
        present = sorted(str(p) for p in Path("/dev").glob("video*")) if Path("/dev").is_dir() else []
        listing = ", ".join(present) if present else "none"
        return [
            f"GREETER_DEVICE={device}: there is no such camera device (is the webcam plugged in?). "
            f"Video devices on this Pi: {listing}. `v4l2-ctl --list-devices` names them."
        ]
    except PermissionError:
        return [f"GREETER_DEVICE={device}: not allowed to look at it; the service user must be in group video."]
    if not stat.S_ISCHR(mode):
        return [f"GREETER_DEVICE={device} is not a camera device (not a character device)."]
    if not os.access(device, os.R_OK | os.W_OK):
        return [f"GREETER_DEVICE={device} cannot be opened by this user; add it to the video group."]
    return []
