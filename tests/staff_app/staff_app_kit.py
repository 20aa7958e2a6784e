"""What the staff app's browser tests share: the back end's control routes, signing in, TOTP codes, the webcam
video made from a real face photo, and photos."""

from __future__ import annotations

import io
import json
import re
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import Page, expect
from skimage import data
from stack import load_template
from staff_app_totp import totp  # noqa: F401 - re-exported for the tests

ROOT = Path(__file__).resolve().parents[2]
POOL = load_template()["Resources"]["StaffUserPool"]["Properties"]
PASSWORD = "Counter-Tablet-2026"  # noqa: S105 - a test account's password on moto


class Backend:
    """The test back end's control routes (tests/staff_app/staff_app_backend.py)."""

    def __init__(self, url: str):
        self.url = url
        self.authenticators: dict[str, str] = {}  # staff email -> their authenticator app's key

    def _call(self, method: str, path: str, body=None) -> dict:
        request = urllib.request.Request(
            self.url + path, method=method, data=None if body is None else json.dumps(body).encode()
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - 127.0.0.1
            return json.loads(response.read())

    def reset(self) -> dict:
        self.config = self._call("POST", "/_test/reset")
        return self.config

    def staff(
        self, email: str, password: str = PASSWORD, confirmed: bool = True, two_step: bool | None = None, role="manager"
    ) -> str:
        """A staff account in a role's group; with two_step it has TOTP sign-in set up, and its key is returned."""
        if two_step is None:  # a working account has set up two-step sign-in where the pool requires it
            two_step = confirmed and POOL.get("MfaConfiguration") == "ON"
        request = {"email": email, "password": password, "confirmed": confirmed, "totp": two_step, "role": role}
        answer = self._call("POST", "/_test/staff", request)
        if answer.get("totp_secret"):
            self.authenticators[email] = answer["totp_secret"]
        return answer.get("totp_secret") or email

    def stored(self) -> dict:
        return self._call("GET", "/_test/stored")


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


def arrival(backend: Backend, name: str, camera: str = "entrance", similarity: float = 97.5, new_visit=False) -> dict:
    """The match function's decision to greet `name`: the visit is claimed and the arrival published."""
    request = {"name": name, "camera": camera, "similarity": similarity, "new_visit": new_visit}
    return backend._call("POST", "/_test/arrival", request)


def visits(backend: Backend, name: str, *visits: tuple[float, float] | dict) -> dict:
    """Past visits of a registered person, as the match function writes them to the visit history: (first sighting,
    last sighting) in epoch seconds, or {first_seen, last_seen, cameras}."""
    request = [v if isinstance(v, dict) else {"first_seen": v[0], "last_seen": v[1]} for v in visits]
    return backend._call("POST", "/_test/visits", {"name": name, "visits": request})


def store_hours_runs(backend: Backend) -> list[dict]:
    """The store-hours state machine's runs, newest first: {name, status, input}."""
    return backend._call("GET", "/_test/store-hours")


def register_by_file(page: Page, name: str, photo: bytes, notes: str = "") -> None:
    page.get_by_role("link", name="Register").click()
    page.get_by_label("Choose a file").set_input_files(files=[photo_file(photo)])
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Notes for staff (optional)").fill(notes)
    page.get_by_label("The customer read this and agreed").check()
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text(f"{name} is registered.")).to_be_visible()


def photos_from_moto(context, backend: Backend) -> None:
    """The browser fetches registered photos from S3 with presigned links; here S3 is moto in the back end."""
    import urllib.parse

    def fulfil(route):
        url = urllib.parse.quote(route.request.url, safe="")
        with urllib.request.urlopen(f"{backend.url}/_test/photo?url={url}", timeout=30) as answer:  # noqa: S310
            route.fulfill(status=200, body=answer.read(), content_type=answer.headers["Content-Type"])

    context.route(re.compile(r"^https://[a-z0-9.-]+\.amazonaws\.com/people/"), fulfil)
