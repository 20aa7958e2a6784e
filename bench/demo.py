"""The local demo: Greeter's pipeline on your machine, two people, one recorded visit, the emails it sends.

    make demo                                             # writes demo-output/
    .venv/bin/python -m bench.demo --frames               # also list what was found in each frame
    .venv/bin/python -m bench.demo --mode StreamProcessor # the other detection mode
    .venv/bin/python -m bench.demo --output /tmp/greeter

No AWS account, no network. template.yaml is stood up on moto (local/stack.py) with the shared Rekognition
fake, whose faces come from real pixels (OpenCV's YuNet and SFace models), in the detection mode asked for:
FrameSearch, the template's default, unless --mode says otherwise. The demo then:
1. registers two sample people: a people-table row each, and their face indexed in the face collection from
   a real photo (scikit-image's `astronaut` and `camera` photos);
2. films a visit of two minutes at two cameras: frames composed from edited copies of those photos (moved,
   scaled, flipped, darker, tilted, blurred), a stranger (a face from scikit-image's LFW sample), empty frames;
3. detects as the mode does, frame by frame:
   - FrameSearch: the camera's own face detector (pi/greeter_camera/faces.py, YuNet) finds the faces and cuts
     the crops the camera would upload; each goes to the crops bucket under the camera's key and through the
     real frame-search function (the EventBridge event S3 sends), which searches it and sends its record to
     the detection queue. The recorded frames are seconds apart, so every face found is sent (the camera's
     per-face rate limit, tested in tests/pi, only holds back faces seen again within seconds);
   - StreamProcessor: plays the stream processor's part: DetectFaces, then SearchFacesByImage on each face
     found, turned into the record a stream processor writes to the detection stream;
4. hands those records to the real match function as Lambda's event source mapping on the mode's detection
   queue (FrameSearch) or stream (StreamProcessor) would, once a second, and shows the emails SNS would send:
   printed here and written as .eml files you can open in a mail client. The frames are written too
   (frames/), so you can see what the cameras saw.
Both functions run on a clock set to the moment of each frame, as if the visit were happening now.
The link in an email points at the staff app of a stack that is not running: there is nothing behind it.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
import types
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import boto3
import cv2
import numpy as np
import pytest
from skimage import data

from bench.harness import (
    REGION,
    ROOT,
    DetectionSettings,
    LambdaContext,
    Stack,
    crop_face,
    crop_object_key,
    detection_source,
    emitted_metrics,
    encode_jpeg,
    face_search_record,
    function_output,
    load_face_detector,
    offline_aws,
    register_person,
    sent_emails,
)
from local.emails import describe, email_file, slug

OUTPUT = ROOT / "demo-output"
STACK_PARAMETERS = {
    "AlertEmails": "staff@example.com",
    "StoreName": "Casa Lisboa",
    "StoreTimeZone": "Europe/Lisbon",
    "Cameras": "entrance,till",
}
MODES = ("FrameSearch", "StreamProcessor")  # the template's default first
CROP_EVENT = ROOT / "events" / "frame-search-crop.json"  # the EventBridge event S3 sends for an uploaded crop
UPLOAD_SECONDS = 0.4  # from the frame to the crop's upload
OUTCOME_WORDS = {"CropsMatched": "a registered face", "CropsUnknownFace": "a face matching nobody"}
FRAME_SIZE = (640, 360)
BATCH_WINDOW = 1.0


# ---------------------------------------------------------------------- the people and their photos
def _bgr(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR if image.ndim == 2 else cv2.COLOR_RGB2BGR)


@dataclass(frozen=True)
class SamplePerson:
    key: str
    person_id: str  # a uuid4, as the registration API makes them
    name: str
    notes: str
    photo: str  # scikit-image sample it comes from

    def image(self) -> np.ndarray:
        return _bgr(getattr(data, self.photo)())

    def head(self) -> np.ndarray:
        """A 240x240 cut around the face in the photo: what the cameras film of this person."""
        top, left = {"astronaut": (10, 110), "camera": (50, 110)}[self.photo]
        return np.ascontiguousarray(self.image()[top : top + 240, left : left + 240])


MARIA = SamplePerson(
    "maria",
    "6f1c2b7e-4a1d-4c8e-9b0a-1d2e3f4a5b6c",
    "Maria Silva",
    "Prefers the linen range, size M.\nAsk how the alterations she ordered last week turned out.",
    "astronaut",
)
JOAO = SamplePerson(
    "joao",
    "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    "João Costa",
    "Regular since 2019; likes to browse on his own first.\nCoffee, no sugar.",
    "camera",
)
PEOPLE = {person.key: person for person in (MARIA, JOAO)}


def stranger_head() -> np.ndarray:
    """Someone not registered: a face from the LFW sample in scikit-image (25x25, enlarged as a far camera would)."""
    face = (data.lfw_subset()[3] * 255).astype(np.uint8)
    return _bgr(cv2.resize(face, (150, 150), interpolation=cv2.INTER_CUBIC))


# ---------------------------------------------------------------------- the recorded visit
def _edit(image: np.ndarray, edit: str) -> np.ndarray:
    """How a camera sees a face differently from the registration photo."""
    if "flip" in edit:
        image = image[:, ::-1]
    if "dark" in edit:
        image = (image.astype(np.float32) * 0.7).astype(np.uint8)
    if "bright" in edit:
        image = np.clip(image.astype(np.float32) * 1.25, 0, 255).astype(np.uint8)
    if "tilt" in edit:
        height, width = image.shape[:2]
        rotation = cv2.getRotationMatrix2D((width / 2, height / 2), 8, 1)
        image = cv2.warpAffine(image, rotation, (width, height), borderMode=cv2.BORDER_REPLICATE)
    if "blur" in edit:  # walking fast past the camera: the face is found, but not recognised with confidence
        kernel = np.zeros((15, 15), np.float32)
        kernel[7, :] = 1 / 15
        image = cv2.filter2D(image, -1, kernel)
    scale = {"small": 0.7, "near": 1.3}.get(next((e for e in edit.split("+") if e in ("small", "near")), ""), 1.0)
    if scale != 1.0:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image)


@dataclass(frozen=True)
class Shot:
    """One recorded frame: when (seconds into the visit), which camera, who is in it (who, edit, x, y)."""

    second: float
    camera: str
    cast: tuple[tuple[str, str, int, int], ...] = ()


# Two minutes at the entrance and the till: Maria arrives, a stranger passes, João arrives, both shop,
# Maria pays and leaves, João pays. Frames where nobody faces the camera carry no face at all.
VISIT = [
    Shot(0.0, "entrance"),
    Shot(1.5, "till"),
    Shot(4.0, "entrance", (("maria", "", 300, 60),)),
    Shot(7.2, "entrance", (("maria", "flip", 260, 70),)),
    Shot(9.0, "till"),
    Shot(11.4, "entrance", (("maria", "bright", 220, 80), ("stranger", "", 40, 150))),
    Shot(14.6, "entrance", (("stranger", "", 120, 120),)),
    Shot(18.0, "entrance", (("maria", "blur", 150, 90),)),
    Shot(21.8, "entrance"),
    Shot(25.0, "till"),
    Shot(29.6, "entrance", (("joao", "near", 280, 20),)),
    Shot(33.0, "entrance", (("joao", "flip+dark", 300, 60),)),
    Shot(36.4, "entrance", (("joao", "", 360, 70), ("maria", "small", 60, 120))),
    Shot(40.0, "till", (("maria", "tilt", 330, 60),)),
    Shot(43.2, "till", (("maria", "", 300, 80),)),
    Shot(46.0, "entrance", (("joao", "small", 250, 120),)),
    Shot(49.4, "till", (("maria", "dark", 320, 70), ("stranger", "", 60, 160))),
    Shot(53.0, "entrance"),
    Shot(56.6, "till", (("maria", "flip", 280, 60),)),
    Shot(60.2, "entrance", (("stranger", "", 400, 100),)),
    Shot(63.8, "till", (("maria", "bright", 300, 70),)),
    Shot(67.0, "entrance", (("maria", "small+flip", 420, 130),)),
    Shot(70.6, "till"),
    Shot(74.0, "entrance"),
    Shot(77.4, "till", (("joao", "", 300, 40),)),
    Shot(81.0, "till", (("joao", "tilt", 280, 60),)),
    Shot(84.6, "entrance"),
    Shot(88.0, "till", (("joao", "bright", 310, 50), ("stranger", "", 40, 170))),
    Shot(91.6, "till", (("joao", "flip", 300, 60),)),
    Shot(95.0, "entrance", (("stranger", "", 250, 110),)),
    Shot(98.4, "till", (("joao", "dark", 290, 50),)),
    Shot(102.0, "till", (("joao", "small", 330, 110),)),
    Shot(105.6, "entrance"),
    Shot(109.0, "till"),
    Shot(113.4, "entrance", (("joao", "small+dark", 200, 120),)),
    Shot(118.0, "entrance"),
]


def film(shot: Shot, heads: dict[str, np.ndarray]) -> np.ndarray:
    """The camera's frame: a plain shop backdrop with the cast pasted in."""
    width, height = FRAME_SIZE
    x = np.linspace(50, 190, width, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 50, height, dtype=np.float32)[:, None, None]
    tint = np.array([1.0, 0.95, 0.9] if shot.camera == "entrance" else [0.9, 0.95, 1.0], np.float32)
    frame = np.broadcast_to((x + y) * tint, (height, width, 3)).astype(np.uint8).copy()
    for who, edit, left, top in shot.cast:
        image = _edit(heads[who], edit)
        bottom, right = min(height, top + image.shape[0]), min(width, left + image.shape[1])
        frame[top:bottom, left:right] = image[: bottom - top, : right - left]
    return frame


def _jpeg(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


def stream_processor_record(frame: np.ndarray, stream_arn: str, at: float, collection: str, threshold: float) -> dict:
    """What a face-search stream processor writes for this frame, asked of (fake) Rekognition's image APIs."""
    rekognition = boto3.client("rekognition", region_name=REGION)
    height, width = frame.shape[:2]
    faces = []
    for detail in rekognition.detect_faces(Image={"Bytes": _jpeg(frame)})["FaceDetails"]:
        box = detail["BoundingBox"]
        margin_x, margin_y = box["Width"] * width / 2, box["Height"] * height / 2
        left = max(0, int(box["Left"] * width - margin_x))
        top = max(0, int(box["Top"] * height - margin_y))
        right = min(width, int((box["Left"] + box["Width"]) * width + margin_x))
        bottom = min(height, int((box["Top"] + box["Height"]) * height + margin_y))
        found = rekognition.search_faces_by_image(
            CollectionId=collection,
            Image={"Bytes": _jpeg(frame[top:bottom, left:right])},
            FaceMatchThreshold=threshold,
            MaxFaces=5,
        )
        faces.append(
            {
                "DetectedFace": {k: detail[k] for k in ("BoundingBox", "Confidence", "Landmarks", "Pose", "Quality")},
                "MatchedFaces": [{"Similarity": m["Similarity"], "Face": m["Face"]} for m in found["FaceMatches"]],
            }
        )
    return face_search_record(stream_arn, at, faces, frame_offset=0.0)


class FrameSearchCamera:
    """A camera in FrameSearch mode and the frame-search function behind it: the camera's detector cuts the
    crops, each is uploaded under the camera's key, and the real function handles S3's event for it."""

    def __init__(self, stack: Stack, monkeypatch: pytest.MonkeyPatch, clock: _Clock) -> None:
        self.stack = stack
        self.bucket = stack.ref("CropsBucket")
        # The camera's settings as camera.env gives them (pi/provision-camera.sh writes the stack's values).
        self.settings = {
            camera: DetectionSettings(crops_bucket=self.bucket, stream_name=f"{stack.name}-{camera}", region=REGION)
            for camera in stack.parameters["Cameras"]
        }
        self.detector = load_face_detector(next(iter(self.settings.values())))
        self.app = stack.load_function("FrameSearchFunction", monkeypatch)
        # The function's `now` is the clock's: the crops are as fresh as if the visit were happening now.
        search_module = sys.modules[type(self.app.crop_search).__module__]
        monkeypatch.setattr(search_module, "time", types.SimpleNamespace(time=clock))
        self.outcomes: list[str] = []

    def send(self, frame: np.ndarray, camera: str, at: float) -> int:
        """Crops, uploads and searches every face the camera's detector finds in the frame; how many it found."""
        s3 = self.stack.client("s3")
        settings = self.settings[camera]
        faces = self.detector.detect(frame)
        for face in faces:
            crop, _ = crop_face(frame, face, settings.crop_margin)
            key = crop_object_key(settings.stream_name, at)
            s3.put_object(Bucket=self.bucket, Key=key, Body=encode_jpeg(crop, settings.jpeg_quality))
            event = copy.deepcopy(json.loads(CROP_EVENT.read_text()))
            event["id"] = str(uuid.uuid4())
            event["time"] = datetime.fromtimestamp(at + UPLOAD_SECONDS + 1, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            event["resources"] = [f"arn:aws:s3:::{self.bucket}"]
            event["detail"]["bucket"]["name"] = self.bucket
            event["detail"]["object"]["key"] = key
            self.outcomes.append(self.app.lambda_handler(event, LambdaContext())["outcome"])
        return len(faces)


# ---------------------------------------------------------------------- the demo
@dataclass
class DemoResult:
    mode: str
    frames: int
    crops: int  # FrameSearch: the crops the cameras uploaded (0 in StreamProcessor mode)
    crop_outcomes: dict[str, int]  # FrameSearch: what the frame-search function answered, e.g. {"CropsMatched": 18}
    faces: int
    matched: int
    emails: list[Path]
    sent: int
    suppressed: int
    stack_name: str
    cooldown_minutes: int


class _Clock:
    """The match function's `now()`: the moment Lambda would invoke it (the end of the batching window)."""

    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def run_demo(output: Path = OUTPUT, show_frames: bool = False, echo=print, mode: str = MODES[0]) -> DemoResult:
    started = time.time()
    echo(
        f"Standing Greeter up on moto from template.yaml in {mode} mode, registering two people, "
        "filming a two-minute visit..."
    )
    visit_start = float(int(started - VISIT[-1].second - 30))  # the visit ended half a minute ago
    for old in [*output.glob("*.eml"), *(output / "frames").glob("*.jpg")]:
        old.unlink()
    (output / "frames").mkdir(parents=True, exist_ok=True)

    with offline_aws(), pytest.MonkeyPatch.context() as monkeypatch:
        stack = Stack({**STACK_PARAMETERS, "DetectionMode": mode}, name="greeter-demo").deploy()
        collection = stack.ref("FaceCollection")
        threshold = float(stack.parameters["MatchThreshold"])
        zone = stack.parameters["StoreTimeZone"]
        rekognition = boto3.client("rekognition", region_name=REGION)

        # 1. Two people register: their row, and their face from a real photo indexed under their person id.
        for person in PEOPLE.values():
            indexed = rekognition.index_faces(
                CollectionId=collection,
                Image={"Bytes": _jpeg(person.image())},
                ExternalImageId=person.person_id,
                MaxFaces=1,
                QualityFilter="AUTO",
            )
            face_ids = tuple(record["Face"]["FaceId"] for record in indexed["FaceRecords"])
            register_person(stack, person.person_id, person.name, notes=person.notes, face_ids=face_ids)

        # 2-4. The recorded visit, detected frame by frame as the mode does, and the real match function on the
        # records, delivered as Lambda's event source mapping would (one batch per second with records in it).
        video = {
            camera: stack.client("kinesisvideo").describe_stream(StreamName=f"{stack.name}-{camera}")["StreamInfo"][
                "StreamARN"
            ]
            for camera in ("entrance", "till")
        }
        heads = {key: person.head() for key, person in PEOPLE.items()} | {"stranger": stranger_head()}
        names = {person.person_id: person.name for person in PEOPLE.values()}
        clock = _Clock(visit_start)
        camera = FrameSearchCamera(stack, monkeypatch, clock) if mode == "FrameSearch" else None
        app = stack.load_function("MatchFunction", monkeypatch)
        monkeypatch.setattr(app, "now", clock)
        source = detection_source(stack, app.lambda_handler, LambdaContext(), clock=clock)
        alerts: list[tuple[dict, float]] = []
        crops = 0
        seen: list[str] = []
        with function_output() as function_log:
            for number, shot in enumerate(VISIT, start=1):
                frame = film(shot, heads)
                cv2.imwrite(str(output / "frames" / f"{number:02d}-{shot.second:05.1f}s-{shot.camera}.jpg"), frame)
                at = visit_start + shot.second
                clock.at = at + UPLOAD_SECONDS
                if camera is not None:
                    before = len(camera.outcomes)
                    crops += camera.send(frame, shot.camera, at)
                    found = [OUTCOME_WORDS.get(o, o) for o in camera.outcomes[before:]]
                else:
                    record = stream_processor_record(frame, video[shot.camera], at, collection, threshold)
                    source.put(record, partition_key=shot.camera)
                    found = [
                        f"{names[m[0]['Face']['ExternalImageId']]} {m[0]['Similarity']:.1f}%"
                        if (m := face["MatchedFaces"])
                        else "a face matching nobody"
                        for face in record["FaceSearchResponse"]
                    ]
                # The functions' log lines go to function_log; the frames are listed once they are done.
                seen.append(f"  {shot.second:5.1f}s  {shot.camera:<9} {', '.join(found) or 'nobody'}")
                window_end = visit_start + (shot.second // BATCH_WINDOW + 1) * BATCH_WINDOW
                following = VISIT[number].second if number < len(VISIT) else None
                if following is not None and visit_start + following < window_end:
                    continue  # the next frame falls in the same batching window
                clock.at = window_end
                before = len(sent_emails(stack))
                source.drain()
                alerts += [(alert, clock.at) for alert in sent_emails(stack)[before:]]
        metrics = emitted_metrics(function_log.getvalue())
        if show_frames:
            echo(f"What {'the frame-search function answered for each crop' if camera else 'Rekognition found'}:")
            for line in seen:
                echo(line)

        # SNS sends each confirmed email subscriber their own copy.
        subscriptions = boto3.client("sns", region_name=REGION).list_subscriptions_by_topic(
            TopicArn=stack.ref("AlertsTopic")
        )["Subscriptions"]
        emails = []
        for number, (alert, sent_at) in enumerate(alerts, start=1):
            person_id = alert["attributes"]["person_id"].get("StringValue") or alert["attributes"]["person_id"]["Value"]
            for copy, subscription in enumerate(s for s in subscriptions if s["Protocol"] == "email"):
                message = email_file(alert, sent_at, subscription["Endpoint"], subscription["SubscriptionArn"], zone)
                suffix = f"-to-{slug(subscription['Endpoint'])}" if copy else ""
                path = output / f"{number:02d}-{slug(names.get(person_id, person_id))}{suffix}.eml"
                path.write_bytes(bytes(message))
                emails.append(path)
        stack_name, cooldown = stack.name, int(stack.parameters["AlertCooldownMinutes"])

    result = DemoResult(
        mode=mode,
        frames=len(VISIT),
        crops=crops,
        crop_outcomes=dict(Counter(camera.outcomes)) if camera else {},
        faces=int(metrics.get("FacesDetected", 0)),
        matched=int(metrics.get("FacesMatched", 0)),
        emails=emails,
        sent=int(metrics.get("AlertsSent", 0)),
        suppressed=int(metrics.get("AlertsSuppressed", 0)),
        stack_name=stack_name,
        cooldown_minutes=cooldown,
    )
    _summarise(result, metrics, output, echo, time.time() - started)
    return result


def _summarise(result: DemoResult, metrics: dict, output: Path, echo, seconds: float) -> None:
    strangers = int(metrics.get("FacesDetected", 0) - metrics.get("FacesMatched", 0))
    empty = int(metrics.get("EmptyFrames", 0))
    shown = output.relative_to(ROOT) if output.is_relative_to(ROOT) else output
    echo("")
    for path in result.emails:
        echo(describe(path))
    echo(
        f"Greeter demo, on moto (template.yaml as stack {result.stack_name}, DetectionMode={result.mode}; no AWS "
        f"account): {PEOPLE['maria'].name} and {PEOPLE['joao'].name} registered with their photos."
    )
    if result.mode == "FrameSearch":
        detected = (
            f"the cameras' face detector cut {result.crops} face crops from {result.frames} frames of 2 cameras over "
            f"{VISIT[-1].second / 60:.0f} minutes and the frame-search function searched each; the match function got "
        )
        nobody = "frames with nobody sent nothing"
    else:
        detected = (
            f"the stream processor's part analysed {result.frames} frames of 2 cameras over "
            f"{VISIT[-1].second / 60:.0f} minutes; the match function got "
        )
        nobody = f"{empty} frames had nobody in them"
    echo(
        f"Detection: {detected}{result.faces} faces, {result.matched} matched to a registered person, "
        f"{strangers} matching nobody (strangers, a blurred face); {nobody}."
    )
    echo(
        f"Emails sent: {result.sent}; sightings kept quiet by the {result.cooldown_minutes}-minute cooldown: "
        f"{result.suppressed}."
    )
    written = ", ".join(path.name for path in result.emails)
    echo(f"Written to {shown}/: {written}, and the frames in frames/ ({seconds:.0f} s).")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"where the .eml files go (default {OUTPUT})")
    parser.add_argument("--frames", action="store_true", help="list what was found in each frame")
    parser.add_argument(
        "--mode", choices=MODES, default=MODES[0], help=f"the stack's DetectionMode (default {MODES[0]})"
    )
    args = parser.parse_args(argv)
    run_demo(args.output.resolve(), show_frames=args.frames, mode=args.mode)


if __name__ == "__main__":
    sys.exit(main())
