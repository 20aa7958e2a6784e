"""The GStreamer pipeline for a camera configuration, as a gst-launch description.

    camera source -> raw video (rawcaps) -+-> queue -> convert -> H.264 encoder -> h264parse (AVC) -> kvssink
                                          |
                                          +-> leaky queue -> videorate (N fps) -> BGR -> appsink "detect"

The upper branch exists when video is streamed to Kinesis, the lower one in frame-search mode; with both,
a `tee` splits the camera's frames so the camera is opened once. The same description runs under
`gst-launch-1.0` (print it with `python -m greeter_camera print-pipeline`) and in-process (runner.py).

Tests and the smoke test swap the camera for `videotestsrc` (`source=`) and kvssink for a file or fake sink
(`video_sink=`); everything between is what runs on the Pi.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from greeter_camera.config import AccessKeyCredentials, CameraConfig, IotCertificateCredentials

KVS_SINK_NAME = "kvs"
DETECT_SINK_NAME = "detect"
RAW_CAPS_NAME = "rawcaps"  # the runner watches buffers passing here to notice a camera that went quiet

BOARD_MODEL_FILE = "/proc/device-tree/model"


@dataclass(frozen=True)
class PipelineSpec:
    description: str
    encoder: str | None  # None when no video is encoded (frame-search only)
    streams_video: bool
    detect_sink: str | None  # appsink name, or None without frame search


def read_board_model(path: str = BOARD_MODEL_FILE) -> str:
    """'Raspberry Pi 4 Model B Rev 1.4', or '' off a Pi."""
    try:
        return Path(path).read_bytes().rstrip(b"\x00").decode("ascii", "replace").strip()
    except OSError:
        return ""


def resolve_encoder(requested: str, board_model: str, has_element: Callable[[str], bool]) -> str:
    """GREETER_ENCODER=auto picks the Pi 4's hardware encoder when it is there, x264enc otherwise.

    The Pi 5 has no H.264 encoder block; on it `v4l2h264enc` may still be registered for other V4L2
    devices, so the board model decides first."""
    if requested != "auto":
        return requested
    if "Raspberry Pi 5" in board_model:
        return "x264enc"
    if has_element("v4l2h264enc"):
        return "v4l2h264enc"
    return "x264enc"


def _raw_caps(width: int, height: int, framerate: int, video_format: str | None = None) -> str:
    fmt = f"format={video_format}," if video_format else ""
    return (
        f'capsfilter name={RAW_CAPS_NAME} caps="video/x-raw,{fmt}width={width},height={height},framerate={framerate}/1"'
    )


def camera_source(config: CameraConfig) -> str:
    """The camera part: from the device to raw video of the configured size and rate."""
    cam = config.camera
    if cam.kind == "picam":
        name = f' camera-name="{cam.libcamera_name}"' if cam.libcamera_name else ""
        return f"libcamerasrc name=camera{name} ! {_raw_caps(cam.width, cam.height, cam.framerate)}"
    # do-timestamp: stamp each frame when it arrives, so Kinesis fragments carry the capture time.
    src = f"v4l2src name=camera device={cam.device} do-timestamp=true"
    if cam.usb_format == "mjpeg":
        return (
            f"{src} ! image/jpeg,width={cam.width},height={cam.height},framerate={cam.framerate}/1 ! jpegdec ! "
            f"{_raw_caps(cam.width, cam.height, cam.framerate)}"
        )
    return f"{src} ! {_raw_caps(cam.width, cam.height, cam.framerate, 'YUY2')}"


def videotestsrc_source(config: CameraConfig, num_buffers: int, pattern: str = "smpte", live: bool = True) -> str:
    """videotestsrc standing in for the camera, at the configured size and rate (for tests and dry runs)."""
    cam = config.camera
    return (
        f"videotestsrc is-live={str(live).lower()} num-buffers={num_buffers} pattern={pattern} ! "
        f"{_raw_caps(cam.width, cam.height, cam.framerate)}"
    )


def encoder_chain(config: CameraConfig, encoder: str) -> str:
    """Raw video in, H.264 in AVC form with one access unit per buffer out (what kvssink accepts)."""
    enc = config.encoder
    gop = config.camera.framerate * enc.keyframe_interval_s
    if encoder == "x264enc":
        # zerolatency: no frame look-ahead and no B-frames; ultrafast keeps a Pi 5 core under 720p30.
        chain = (
            "videoconvert ! video/x-raw,format=I420 ! "
            f"x264enc tune=zerolatency speed-preset=ultrafast bitrate={enc.bitrate_kbps} key-int-max={gop} bframes=0"
        )
    elif encoder == "v4l2h264enc":
        # The Pi 4's encoder (bcm2835-codec) takes its settings as V4L2 controls, wants I420 in bt601 and a
        # level in the downstream caps to negotiate; level 4 covers 1080p30.
        controls = f"encode,video_bitrate={enc.bitrate_kbps * 1000},h264_i_frame_period={gop},repeat_sequence_header=1"
        chain = (
            "videoconvert ! video/x-raw,format=I420,colorimetry=bt601 ! "
            f'v4l2h264enc extra-controls="{controls}" ! video/x-h264,level=(string)4'
        )
    else:
        raise ValueError(f"unknown H.264 encoder {encoder!r}; use x264enc or v4l2h264enc")
    return f"{chain} ! h264parse ! video/x-h264,stream-format=avc,alignment=au"


def kvs_sink(config: CameraConfig) -> str:
    """kvssink for this camera's stream. Access keys are never written here: the runner sets them as element
    properties, so they stay out of logs and process listings."""
    kvs = config.kvs
    parts = [
        f"kvssink name={KVS_SINK_NAME}",
        f"stream-name={kvs.stream_name}",
        f"aws-region={kvs.region}",
        f"storage-size={kvs.storage_mb}",
        f"log-config={kvs.log_config}",
    ]
    credentials = config.credentials
    if isinstance(credentials, IotCertificateCredentials):
        iot = (
            f"iot-certificate,endpoint={credentials.endpoint},cert-path={credentials.cert_path},"
            f"key-path={credentials.key_path},ca-path={credentials.ca_path},"
            f"role-aliases={credentials.role_alias},iot-thing-name={credentials.thing_name}"
        )
        parts.append(f'iot-certificate="{iot}"')
    elif not isinstance(credentials, AccessKeyCredentials):  # pragma: no cover - the config parser prevents it
        raise TypeError(f"unsupported credentials {type(credentials).__name__}")
    return " ".join(parts)


def detection_branch(config: CameraConfig) -> str:
    """A few BGR frames a second for the face detector. The leaky one-buffer queue and the dropping appsink
    mean a slow detector loses frames instead of holding up the video; wait-on-eos=false lets the pipeline
    end without the detector taking the last frame."""
    if config.detection is None:
        raise ValueError("no detection branch: GREETER_DETECTION is off")
    return (
        "queue leaky=downstream max-size-buffers=1 ! videorate drop-only=true ! "
        f"video/x-raw,framerate={config.detection.fps}/1 ! videoconvert ! video/x-raw,format=BGR ! "
        f"appsink name={DETECT_SINK_NAME} max-buffers=1 drop=true sync=false wait-on-eos=false"
    )


def build_pipeline(
    config: CameraConfig,
    encoder: str,
    *,
    source: str | None = None,
    video_sink: str | None = None,
) -> PipelineSpec:
    """The whole pipeline. `source` replaces the camera part and `video_sink` replaces kvssink (tests)."""
    src = source if source is not None else camera_source(config)
    streams_video = config.kvs.stream_video
    detects = config.frame_search
    video = f"{encoder_chain(config, encoder)} ! {video_sink if video_sink is not None else kvs_sink(config)}"
    if streams_video and detects:
        description = f"{src} ! tee name=raw  raw. ! queue ! {video}  raw. ! {detection_branch(config)}"
    elif streams_video:
        description = f"{src} ! queue ! {video}"
    elif detects:
        description = f"{src} ! {detection_branch(config)}"
    else:  # pragma: no cover - the config parser refuses this combination
        raise ValueError("nothing to do: video streaming and detection are both off")
    return PipelineSpec(
        description=description,
        encoder=encoder if streams_video else None,
        streams_video=streams_video,
        detect_sink=DETECT_SINK_NAME if detects else None,
    )


def printable(spec: PipelineSpec, config: CameraConfig) -> str:
    """The description as a gst-launch-1.0 command line a person can paste (secrets stay out)."""
    text = spec.description
    credentials = config.credentials
    if spec.streams_video and isinstance(credentials, AccessKeyCredentials):
        text = text.replace(
            f"kvssink name={KVS_SINK_NAME}",
            f"kvssink name={KVS_SINK_NAME} access-key=$AWS_ACCESS_KEY_ID secret-key=$AWS_SECRET_ACCESS_KEY",
        )
    return "gst-launch-1.0 -e " + text.replace("  raw.", " \\\n  raw.")
