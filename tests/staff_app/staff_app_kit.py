"""What the staff app's browser tests share: the local runtime's control routes, signing in, TOTP codes, the
webcam video made from a real face photo, photos, and the camera seeing a registered customer."""

from __future__ import annotations

import base64
import io
import json
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import boto3
import numpy as np
from greeter_camera.uploader import crop_object_key
from greeter_common.visit_history import VisitHistory, iso
from PIL import Image
from playwright.sync_api import Page, expect
from skimage import data
from stack import load_template
from staff_app_totp import totp  # noqa: F401 - re-exported for the tests

from local.faces import FaceEngine

ROOT = Path(__file__).resolve().parents[2]
POOL = load_template()["Resources"]["StaffUserPool"]["Properties"]
PASSWORD = "Counter-Tablet-2026"  # noqa: S105 - a test account's password on moto
# From the crop landing in S3 to the match function's publish: frame search, Kinesis, the match function.
ARRIVAL_TIMEOUT = 30


class Backend:
    """The local runtime (`make local`'s, started with its test routes) and its /local/test/ control routes
    (local/test_controls.py). `url` is the staff app's origin, without a trailing slash."""

    def __init__(self, url: str, aws_url: str | None = None):
        self.url = url.rstrip("/")
        self.aws_url = aws_url or f"{self.url}/aws"
        self.authenticators: dict[str, str] = {}  # staff email -> their authenticator app's key

    def _call(self, method: str, path: str, body=None) -> dict | list:
        request = urllib.request.Request(
            f"{self.url}/local/test/{path.lstrip('/')}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - 127.0.0.1
            return json.loads(response.read())

    def reset(self) -> dict:
        """Back to the state the runtime started in: no people, photos, faces, visits or staff of other tests."""
        self.config = self._call("POST", "reset")
        return self.config

    def staff(
        self, email: str, password: str = PASSWORD, confirmed: bool = True, two_step: bool | None = None, role="manager"
    ) -> str:
        """A staff account in a role's group; with two_step it has TOTP sign-in set up, and its key is returned."""
        if two_step is None:  # a working account has set up two-step sign-in where the pool requires it
            two_step = confirmed and POOL.get("MfaConfiguration") == "ON"
        request = {"email": email, "password": password, "confirmed": confirmed, "totp": two_step, "role": role}
        answer = self._call("POST", "staff", request)
        if answer.get("totp_secret"):
            self.authenticators[email] = answer["totp_secret"]
        return answer.get("totp_secret") or email

    def stored(self) -> dict:
        return self._call("GET", "stored")

    def arrivals(self) -> list[dict]:
        """Every arrival the match function published on the arrivals channel, oldest first, with the time the
        channel received it (`received_at`, epoch seconds)."""
        return [
            {**entry["event"], "received_at": entry["received_at"]}
            for entry in self._call("GET", "arrivals")
            if entry["event"].get("type") == "arrival"
        ]

    def drop_connections(self) -> None:
        """The shop's Wi-Fi drops: every tablet's socket on the arrivals channel closes, and new ones are refused."""
        self._call("POST", "events/pause")

    def restore_connections(self) -> None:
        self._call("POST", "events/resume")


def sign_in(page: Page, backend: Backend, email: str, password: str = PASSWORD) -> None:
    """Sign in as a staff member; accounts with two-step sign-in (every one, where the pool requires it) type
    their authenticator's code."""
    page.goto(backend.url)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    if email in backend.authenticators:
        page.get_by_label("6-digit code").fill(totp(backend.authenticators[email]))
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()


# ---------------------------------------------------------------------- the webcam and photos
def _astronaut_frame(width: int = 640, height: int = 480) -> Image.Image:
    """The astronaut photo (one real face) framed as a webcam sees a customer: face centred, room around it."""
    face = Image.fromarray(data.astronaut()).crop((100, 0, 412, 312)).resize((360, 360))
    frame = Image.new("RGB", (width, height), (120, 120, 110))
    frame.paste(face, ((width - 360) // 2, (height - 360) // 2))
    return frame


def webcam_y4m(path: Path, frames: int = 10) -> Path:
    """A Y4M video (4:2:0) Chromium plays as its fake webcam (--use-file-for-fake-video-capture)."""
    image = _astronaut_frame()
    y, cb, cr = (np.asarray(plane) for plane in image.convert("YCbCr").split())
    chroma = [np.asarray(Image.fromarray(p).resize((p.shape[1] // 2, p.shape[0] // 2))) for p in (cb, cr)]
    frame = b"FRAME\n" + y.tobytes() + chroma[0].tobytes() + chroma[1].tobytes()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{image.width} H{image.height} F10:1 Ip A1:1 C420jpeg\n".encode())
        out.write(frame * frames)
    return path


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def group_photo() -> bytes:
    """Two real faces side by side (the astronaut and the cameraman)."""
    both = Image.new("RGB", (1024, 512))
    both.paste(Image.fromarray(data.astronaut()), (0, 0))
    both.paste(Image.fromarray(data.camera()).convert("RGB"), (512, 0))
    return jpeg(both)


def astronaut_photo() -> bytes:
    return jpeg(Image.fromarray(data.astronaut()))


def flipped_astronaut_photo() -> bytes:
    return jpeg(Image.fromarray(data.astronaut()).transpose(Image.Transpose.FLIP_LEFT_RIGHT))


def photo_file(photo: bytes, name: str = "photo.jpg") -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": photo}


_engine: FaceEngine | None = None


def face_crop(photo: bytes) -> bytes:
    """The largest face of a photo cut out with a margin, as the camera's detector crops it (JPEG)."""
    global _engine
    _engine = _engine or FaceEngine()
    left, top, width, height = _engine.faces(photo)[0].box
    image = Image.open(io.BytesIO(photo))
    margin = 0.25 * max(width, height)
    box = (left - margin, top - margin, left + width + margin, top + height + margin)
    box = tuple(int(v) for v in (max(0, box[0]), max(0, box[1]), min(image.width, box[2]), min(image.height, box[3])))
    return jpeg(image.crop(box))


def arrival(backend: Backend, name: str, camera: str = "entrance") -> dict:
    """The camera sees `name` (a registered customer): a crop of their registered photo's face lands in the crops
    bucket where the camera puts it, and the real pipeline runs (FrameSearch -> detection stream -> the match
    function -> the arrivals channel). Returns the arrival the match function published, with `uploaded_at`
    (the crop stored) and `received_at` (the channel got the publish, right after the match function's
    decision)."""
    person = backend._call("GET", f"person?name={urllib.parse.quote(name)}")
    seen = {a["visit_id"] for a in backend.arrivals() if a["person_id"] == person["person_id"]}
    s3 = boto3.client(
        "s3",
        endpoint_url=backend.aws_url,
        region_name="eu-west-1",
        aws_access_key_id="local",  # the local S3 takes any key; the camera's own are in its camera.env
        aws_secret_access_key="local",  # noqa: S106
    )
    captured_at = time.time()
    key = crop_object_key(f"{person['video_stream_prefix']}{camera}", captured_at, uuid.uuid4())
    s3.put_object(
        Bucket=person["crops_bucket"],
        Key=key,
        Body=face_crop(base64.b64decode(person["photo"])),
        ContentType="image/jpeg",
    )
    uploaded_at = time.time()
    deadline = uploaded_at + ARRIVAL_TIMEOUT
    while time.time() < deadline:
        for published in backend.arrivals():
            if published["person_id"] == person["person_id"] and published["visit_id"] not in seen:
                return {**published, "uploaded_at": uploaded_at, "delivered": True}
        time.sleep(0.05)
    raise AssertionError(f"no arrival of {name} was published within {ARRIVAL_TIMEOUT} s of the crop {key}")


def visits(backend: Backend, name: str, *visits: tuple[float, float] | dict) -> dict:
    """Past visits of a registered person, written to the visit history through the local AWS endpoint as the
    match function writes them: (first sighting, last sighting) in epoch seconds, or {first_seen, last_seen,
    cameras}; opened at the first sighting (alerted then), seen again until the last."""
    person_id = backend._call("GET", f"person?name={urllib.parse.quote(name)}")["person_id"]
    dynamodb = boto3.resource(
        "dynamodb",
        endpoint_url=backend.aws_url,
        region_name="eu-west-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - the local endpoint takes any key
    )
    history = VisitHistory(
        dynamodb.Table(backend.config["tables"]["VisitHistoryTable"]),
        ZoneInfo(backend.config["storeTimeZone"]),
        retention_days=90,
    )
    ids = []
    for visit in visits:
        visit = visit if isinstance(visit, dict) else {"first_seen": visit[0], "last_seen": visit[1]}
        cameras = visit.get("cameras", ["entrance"])
        history.opened(person_id, visit["first_seen"], cameras[0], alerted_at=visit["first_seen"])
        history.seen_again(person_id, visit["first_seen"], visit["last_seen"], cameras[1:])
        ids.append(iso(visit["first_seen"]))
    return {"person_id": person_id, "visit_ids": ids}


def store_hours_runs(backend: Backend) -> list[dict]:
    """The store-hours state machine's runs since the test's reset, newest first: {name, status, input}."""
    return backend._call("GET", "store-hours")


def register_by_file(page: Page, name: str, photo: bytes, notes: str = "") -> None:
    page.get_by_role("link", name="Register").click()
    page.get_by_label("Choose a file").set_input_files(files=[photo_file(photo)])
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Notes for staff (optional)").fill(notes)
    page.get_by_label("The customer read this and agreed").check()
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text(f"{name} is registered.")).to_be_visible()
