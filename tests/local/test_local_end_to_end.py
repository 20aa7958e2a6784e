"""make local, end to end: the local runtime as a user starts it, with a recorded visit playing as the camera.

A real face (scikit-image's astronaut) walks in, stays and leaves, then a stranger passes; the video plays in a
loop. A staff member signs in against the local user pool and registers the visitor through the local API;
the next time the visitor walks in, exactly one alert email is written (the cooldown keeps the following
appearances quiet), a tablet subscribed to the arrivals channel with the staff member's token gets the
visitor's arrival, and the stranger gets neither. Meanwhile nothing may try to reach AWS: an HTTP(S) proxy that
records every connection stands between the runtime and the internet (only 127.0.0.1 bypasses it), and the
machine's own AWS settings (a profile, keys) are poison values the runtime must drop. Stopping it leaves no
process behind.
"""

from __future__ import annotations

import base64
import contextlib
import email
import json
import os
import socketserver
import threading
import time
import urllib.error
import urllib.request
import uuid
from email import policy
from pathlib import Path

import pytest
from fakes.appsync_events import SUBPROTOCOL
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from local import start_local
from local.sample_video import SECONDS, visitor_photo, write_visit_video

pytestmark = pytest.mark.gstreamer
EMAIL_TIMEOUT = 45


class _Canary(socketserver.ThreadingTCPServer):
    """An HTTP(S) proxy that only writes down who tried to go through it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.attempts: list[str] = []
        super().__init__(("127.0.0.1", 0), self._Handler)

    class _Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.server.attempts.append(self.rfile.readline(4096).decode(errors="replace").strip())


def _call(
    greeter, method: str, path: str, body: dict | None = None, token: str | None = None, key: str | None = None
) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", "Idempotency-Key": key or str(uuid.uuid4())}
    if token:
        headers["Authorization"] = token
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(greeter.api_url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@contextlib.contextmanager
def _tablet(greeter, token: str):
    """A tablet on the arrivals channel, as the staff app subscribes (config.json's endpoints, the ID token)."""
    with urllib.request.urlopen(greeter.url + "config.json", timeout=30) as response:
        config = json.loads(response.read())
    auth = {"host": config["eventsHttpHost"], "Authorization": token}
    header = base64.urlsafe_b64encode(json.dumps(auth).encode()).decode().rstrip("=")
    with connect(config["eventsRealtimeEndpoint"], subprotocols=[SUBPROTOCOL, f"header-{header}"]) as socket:
        socket.send(json.dumps({"type": "connection_init"}))
        assert json.loads(socket.recv(10))["type"] == "connection_ack"
        socket.send(json.dumps({"type": "subscribe", "id": "counter", "channel": "/arrivals/*", "authorization": auth}))
        assert json.loads(socket.recv(10)) == {"type": "subscribe_success", "id": "counter"}
        yield socket


def _arrivals(socket, within: float) -> list[dict]:
    found = []
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = json.loads(socket.recv(left))
        except TimeoutError:
            break
        if message["type"] == "data":
            found.append(json.loads(message["event"]))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def _processes_using(folder: Path) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(folder) in text:
            found.append(text)
    return found


def test_a_registered_visitor_gets_one_email_a_stranger_none_nothing_reaches_aws_and_nothing_is_left(tmp_path):
    video = write_visit_video(tmp_path / "visit.avi")
    canary = _Canary()
    threading.Thread(target=canary.serve_forever, daemon=True).start()
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text(
        "[real]\naws_access_key_id = AKIAREALACCOUNTKEY01\naws_secret_access_key = real-secret-must-not-be-used\n"
    )
    machine = {
        "HOME": str(home),
        "AWS_PROFILE": "real",
        "AWS_ACCESS_KEY_ID": "AKIAREALACCOUNTKEY02",
        "AWS_SECRET_ACCESS_KEY": "real-secret-must-not-be-used",
        "AWS_ENDPOINT_URL": "https://aws.example.invalid",
        "HTTP_PROXY": f"http://127.0.0.1:{canary.server_address[1]}",
        "HTTPS_PROXY": f"http://127.0.0.1:{canary.server_address[1]}",
        "NO_PROXY": "127.0.0.1",
    }
    output = tmp_path / "emails"
    greeter = start_local(camera=str(video), state_dir=tmp_path / "state", output_dir=output, env=machine)
    pids = greeter.pids
    try:
        # No token, or a token that is not the pool's: API Gateway's authorizer refuses, the function never runs.
        assert _call(greeter, "GET", "/people")[0] == 401
        assert _call(greeter, "GET", "/people", token="eyJhbGciOiJSUzI1NiJ9.e30.c2ln")[0] == 401

        token = greeter.id_token()
        with pytest.raises(InvalidStatus), _tablet(greeter, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"):
            pass  # the channel takes only the pool's tokens
        tablets = contextlib.ExitStack()
        tablet = tablets.enter_context(_tablet(greeter, token))
        registration = {
            "name": "Ana Lima",
            "notes": "Likes the window seat.",
            "consent": {"given_by": "Ana Lima", "given_at": "2026-12-01T10:00:00+00:00", "wording_version": "1"},
            "photo": base64.b64encode(visitor_photo()).decode(),
        }
        key = str(uuid.uuid4())
        for _ in range(3):  # as the API asks on a busy machine: "retry the same request" (same Idempotency-Key)
            status, person = _call(greeter, "POST", "/people", registration, token, key)
            if status != 503:
                break
        assert status == 201, person
        registered = time.monotonic()

        deadline = registered + EMAIL_TIMEOUT
        while not list(output.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.25)
        assert list(output.glob("*.eml")), f"no email within {EMAIL_TIMEOUT} s of registering"
        time.sleep(SECONDS * 1.5)  # the visitor walks in again (and the stranger passes): no more emails

        [path] = sorted(output.glob("*.eml"))
        assert path.name == "01-ana-lima.eml"
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert message["Subject"].startswith("Greeter: Ana Lima is at the entrance (")
        assert message["To"] == "staff@example.com"
        assert "Likes the window seat." in message.get_content()
        assert f"  {greeter.url}#/people/" in message.get_content()  # the visit's page in the staff app served here

        # The counter tablet was told, once: Ana at the entrance.
        [told] = _arrivals(tablet, within=1)
        assert (told["type"], told["name"], told["camera"]) == ("arrival", "Ana Lima", "entrance")
        assert told["notes"] == "Likes the window seat." and told["person_id"] == person["person_id"]
        tablets.close()

        status, people = _call(greeter, "GET", "/people", token=token)
        assert status == 200 and [p["name"] for p in people["people"]] == ["Ana Lima"]
        with urllib.request.urlopen(greeter.url + "local/status", timeout=30) as response:
            running = json.loads(response.read())
        assert running["emails"] == ["01-ana-lima.eml"] and running["camera"]["running"]
        assert running["functions"]["FrameSearchFunction"]["invocations"] >= 2
        assert [run["status"] for run in running["store_hours"] if run["source"] == "start-up"] == ["SUCCEEDED"]

        # A page that points its own domain name at 127.0.0.1 (DNS rebinding) reads nothing: not the staff app's
        # front, not the local AWS with the registered photos.
        for url in (greeter.url + "local/status", running["moto_url"] + "/"):
            rebound = urllib.request.Request(url, headers={"Host": "rebound.example"})
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(rebound, timeout=30)
            assert refused.value.code == 421, url

        # A manager closes the store now: the state machine runs, with the real store-hours function.
        close = urllib.request.Request(
            greeter.url + "local/store-hours",
            data=b'{"action": "close"}',
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(close, timeout=30) as response:
            assert response.status == 202
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with urllib.request.urlopen(greeter.url + "local/status", timeout=30) as response:
                runs = [r for r in json.loads(response.read())["store_hours"] if r["source"] == "on demand"]
            if runs and runs[0]["status"] != "RUNNING":
                break
            time.sleep(0.5)
        assert runs[0]["status"] == "SUCCEEDED", runs
        assert greeter.stop() == 0
    finally:
        greeter.stop()

    assert [pid for pid in pids if _alive(pid)] == []
    assert _processes_using(tmp_path) == []
    assert canary.attempts == [], "something tried to reach the internet"
    # Kept for the next start: the person, the photo and the face.
    state = json.loads((tmp_path / "state" / "state.json").read_text())
    assert [item["name"]["S"] for item in state["tables"]["PeopleTable"]] == ["Ana Lima"]
    assert sum(len(faces) for faces in state["collections"].values()) == 1
    canary.shutdown()
