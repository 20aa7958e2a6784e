"""The whole Greeter on one machine: `LocalRuntime` starts it, `stop()` ends it with nothing left running.

One process holds the local AWS (moto's server on 127.0.0.1, with the Rekognition stand-in) and plays the
services that call the functions; each function runs in its own process, and so does the camera:

    camera (pi/greeter_camera) --crop--> S3 --EventBridge rule--> FrameSearchFunction --> SQS
        --event source mapping--> MatchFunction --> SNS --> local-output/NN-name.eml
                                                --> AppSync Events stand-in --WebSocket--> staff app tablets
    browser / staff CLI --> 127.0.0.1:PORT/v1 (API Gateway + Cognito authorizer) --> RegistrationFunction
    schedules / "open now" --> StoreHoursStateMachine (moto) --> StoreHoursFunction

The stack is template.yaml stood up by local/stack.py, as the tests stand it up. Every AWS client here and in
the child processes gets fake credentials and the local endpoint, and nothing else: AWS_* settings of the
machine (a profile, real keys, config files) are dropped, so nothing can use a real account or reach AWS.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import socket
import string
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.sign_in import StaffAccount
from local.stack import REGION, ROOT
from local.test_controls import TestControls

log = logging.getLogger("greeter.local")

STACK_NAME = "greeter-local"
CAMERA_NAME = "entrance"
STAFF_EMAIL = "staff@greeter.local"
# Keys in the shape AWS's are (the camera's configuration checks the shape); they open nothing but moto.
ACCESS_KEY_ID = "AKIAGREETERLOCAL0001"
SECRET_ACCESS_KEY = "greeter-local-fake-secret-key-00000000000"[:40]
ALWAYS_OPEN = "00:00-24:00"
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FUNCTIONS = ("RegistrationFunction", "FrameSearchFunction", "MatchFunction", "StoreHoursFunction")
DEFAULT_STATE = ROOT / "local-state"
DEFAULT_OUTPUT = ROOT / "local-output"
# Kinesis Video Streams' archived-media operations (its data endpoint's), by their REST paths.
_ARCHIVED_MEDIA_PATHS = {
    "/getHLSStreamingSessionURL",
    "/getDASHStreamingSessionURL",
    "/getClip",
    "/getImages",
    "/getMediaForFragmentList",
    "/listFragments",
}
STAFF_APP_CANDIDATES = ("staff-app/dist", "staff_app/dist", "web/dist", "app/dist")


def machine_time_zone() -> str:
    """The machine's IANA time zone name (TZ, /etc/timezone or /etc/localtime), or UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text().strip())
    with contextlib.suppress(OSError):
        candidates.append(str(Path("/etc/localtime").resolve()).split("zoneinfo/", 1)[-1])
    from zoneinfo import ZoneInfo

    for name in candidates:
        if name and "/" in name or name == "UTC":
            with contextlib.suppress(Exception):
                ZoneInfo(name)
                return name
    return "UTC"


def aws_environment(endpoint: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """`base` (the process environment) without any AWS_* setting of the machine, plus the local ones."""
    clean = {k: v for k, v in (base if base is not None else os.environ).items() if not k.startswith("AWS_")}
    # A proxy the machine uses for the internet must not carry local calls (moto's own go to localhost).
    bypass = ",".join(filter(None, [clean.get("NO_PROXY") or clean.get("no_proxy"), "127.0.0.1,localhost"]))
    return clean | {
        "NO_PROXY": bypass,
        "no_proxy": bypass,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def stack_parameters(time_zone: str) -> dict[str, str]:
    """The template's parameters for a laptop: frame search, one camera, a store that never closes (store
    hours still decide, on their schedule; "close now" on the page stops detection)."""
    return {
        "AlertEmails": "staff@example.com",
        "StoreName": "Greeter on this laptop",
        "StoreTimeZone": time_zone,
        "DetectionMode": "FrameSearch",
        "Cameras": CAMERA_NAME,
        **{f"{day}Hours": ALWAYS_OPEN for day in DAYS},
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def first_webcam() -> str | None:
    devices = sorted(Path("/dev").glob("video*"), key=lambda p: (len(p.name), p.name))
    return str(devices[0]) if devices else None


@dataclass
class CameraChoice:
    """What the camera reads: a webcam device, a video file, or nothing (and why)."""

    device: str | None = None
    video: Path | None = None
    why_none: str = ""

    @classmethod
    def from_setting(cls, setting: str | None) -> CameraChoice:
        if setting in (None, "", "auto"):
            device = first_webcam()
            if device is None:
                return cls(
                    why_none="no webcam found (no /dev/video* device); give CAMERA=path/to/video.mp4 to use a file"
                )
            return cls(device=device)
        if setting == "none":
            return cls(why_none="CAMERA=none")
        if setting.startswith("/dev/"):
            if not Path(setting).exists():
                return cls(why_none=f"{setting} does not exist (is the webcam plugged in?)")
            return cls(device=setting)
        path = Path(setting).expanduser().resolve()
        if not path.is_file():
            return cls(why_none=f"{setting}: no such video file")
        return cls(video=path)

    def describe(self) -> str:
        if self.device:
            return f"webcam {self.device}"
        if self.video:
            return f"video file {self.video.name}, in a loop"
        return f"no camera: {self.why_none}"


def _video_size(path: Path) -> tuple[int, int, int]:
    """The file's width, height and frame rate, kept within what the camera accepts."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30
    capture.release()
    if not (640 <= width <= 1920 and 480 <= height <= 1080) or width % 2 or height % 2:
        width, height = 1280, 720
    return width, height, max(5, min(30, round(fps)))


def _password() -> str:
    alphabet = string.ascii_letters + string.digits
    core = "".join(secrets.choice(alphabet) for _ in range(14))
    return f"Gr{core}7!"


@dataclass
class LocalRuntime:
    """The local Greeter (see the module docstring). `start()`, then `url`, `api_url`, `aws_url`, `staff`;
    `stop()` at the end. In one process at a time: it sets this process's AWS_* environment."""

    port: int = 8765
    camera: str | None = None
    state_dir: Path = DEFAULT_STATE
    output_dir: Path = DEFAULT_OUTPUT
    echo: Any = print
    staff_app: Path | None = None
    camera_settings: dict[str, str] = field(default_factory=dict)  # extra camera.env lines (tests, bench)
    # The /local/test/ control routes (reset to the state at start-up, staff accounts, the arrivals channel):
    # for the browser tests and benchmarks only, since any page a browser opens could call them.
    test_routes: bool = False

    def __post_init__(self) -> None:
        self._stops: list[Any] = []
        self.functions: dict[str, Any] = {}
        self.camera_process: subprocess.Popen | None = None
        self.camera_choice = CameraChoice.from_setting(self.camera)
        self.started_at = 0.0
        self.staff: StaffAccount | None = None
        self._stopped = threading.Event()
        self._save_requested = threading.Event()
        self.test_controls: TestControls | None = None

    # ------------------------------------------------------------------ start
    def start(self) -> LocalRuntime:
        started = time.monotonic()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "logs").mkdir(exist_ok=True)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_aws()
            self._start_arrivals()
            self._deploy()
            self._start_functions()
            self._start_event_sources()
            self._start_store_hours()
            self._create_staff_account()
            self._start_front()
            self._start_camera()
            self._start_saver()
            if self.test_controls is not None:
                self.test_controls.remember_start()
        except BaseException:
            self.stop()
            raise
        self.started_at = time.time()
        log.info("local Greeter started in %.1f s", time.monotonic() - started)
        return self

    def _start_aws(self) -> None:
        from moto.server import ThreadedMotoServer

        from local.front import this_machine_only

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        moto_port = free_port()
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
        self.moto.start()
        # Before any client knows the port: the local AWS, like the front, answers only requests addressed to this
        # machine (werkzeug's server reads its app per request; moto offers no hook for wrapping it).
        self.moto._server.app = this_machine_only(self.moto._server.app)
        self._stops.append(self.moto.stop)
        self.moto_url = f"http://127.0.0.1:{moto_port}"
        self.environment = aws_environment(self.moto_url)
        for name in [k for k in os.environ if k.startswith("AWS_")]:
            del os.environ[name]
        os.environ.update(
            {
                k: v
                for k, v in self.environment.items()
                if k.startswith(("AWS_", "POWERTOOLS_")) or k in ("NO_PROXY", "no_proxy")
            }
        )
        # moto's Step Functions interpreter calls the other services through the server on this port.
        os.environ["MOTO_PORT"] = str(moto_port)
        # Cognito checks two-step sign-in codes, as the real service does (moto accepts any code otherwise).
        os.environ["MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP"] = "true"
        self._local_video_endpoints()

        from local.rekognition import FakeRekognition, install

        self.rekognition = FakeRekognition(REGION)
        self._stops.append(install(self.rekognition))

    def _start_arrivals(self) -> None:
        """The arrivals channel (AppSync Events; local/appsync_events.py), started before the stack is deployed so
        the stack's ArrivalsApi gets its endpoints. The functions publish with the local access key (SigV4,
        checked); tablets subscribe with an ID token of the local user pool, checked as the API's authorizer
        checks it."""
        from local.appsync_events import FakeAppSyncEvents

        self.events = FakeAppSyncEvents(
            region=REGION, secrets={ACCESS_KEY_ID: SECRET_ACCESS_KEY}, authorize=self._tablet_claims
        ).start()
        self._stops.append(self.events.stop)

    def _tablet_claims(self, token: str) -> dict | None:
        front = getattr(self, "front", None)
        return front.authorizer.claims(token) if front is not None else None

    def _function_overrides(self) -> dict[str, str]:
        """What differs from AWS for every function: the arrivals stand-in speaks HTTP on 127.0.0.1 where
        AppSync speaks HTTPS."""
        return {"ARRIVALS_HTTP_ENDPOINT": self.events.http_endpoint}

    def _local_video_endpoints(self) -> None:
        """Kinesis Video Streams' data endpoints point at the local server too (moto names AWS hosts). Its
        archived-media calls sign as `kinesisvideo` like the control plane, which is all moto's server goes by on
        127.0.0.1: their paths send them to the archived-media backend, as AWS's data endpoint host does."""
        from moto.kinesisvideo.models import Stream
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        original = Stream.get_data_endpoint
        Stream.get_data_endpoint = lambda stream, api_name: self.moto_url
        infer = DomainDispatcherApplication.infer_service_region_host

        def archived_media_by_path(app, environ: dict, path: str) -> str | None:
            if environ.get("PATH_INFO", "") in _ARCHIVED_MEDIA_PATHS:
                return f"data.kinesisvideo.{REGION}.amazonaws.com"
            return infer(app, environ, path)

        DomainDispatcherApplication.infer_service_region_host = archived_media_by_path

        def undo() -> None:
            Stream.get_data_endpoint = original
            DomainDispatcherApplication.infer_service_region_host = infer

        self._stops.append(undo)

    def _deploy(self) -> None:
        from local.stack import Stack, load_template
        from local.state import StateStore

        self.time_zone = machine_time_zone()
        parameters = stack_parameters(self.time_zone)
        if "ManagerEmail" in load_template().get("Parameters", {}):
            parameters["ManagerEmail"] = STAFF_EMAIL  # the template makes the first staff account a manager
        self.stack = Stack(parameters, name=STACK_NAME).deploy()
        self.state = StateStore(self.stack, self.rekognition, self.state_dir / "state.json")
        self.restored = self.state.restore()

    def _start_functions(self) -> None:
        from local.lambda_runtime import FunctionProcess

        if not self.port:  # the front's port, known before the functions start: the emails link to its staff app
            self.port = free_port()
        for logical_id in FUNCTIONS:
            if logical_id not in self.stack.resources:
                continue
            process = FunctionProcess(
                self.stack, logical_id, self.environment, self.state_dir / "logs" / f"{logical_id}.log"
            )
            if "ARRIVALS_HTTP_ENDPOINT" in process.environment:
                process.environment |= self._function_overrides()
            if "STAFF_APP_URL" in process.environment:  # the staff app is served here, not from CloudFront
                process.environment["STAFF_APP_URL"] = self.url.rstrip("/")
            process.start()
            self.functions[logical_id] = process
            self._stops.append(process.stop)

    def _start_event_sources(self) -> None:
        from local.event_sources import EventBridgeDelivery, detection_source

        match = self.functions["MatchFunction"]
        self.detections = detection_source(self.stack, lambda event, _context: match.invoke(event), None)
        stop = threading.Event()
        thread = threading.Thread(target=self.detections.poll, args=(stop,), name="detections-poller", daemon=True)
        thread.start()
        self._stops.append(stop.set)
        if "FrameSearchFunction" in self.functions:
            self.crops = EventBridgeDelivery(
                self.stack, "FrameSearchFunction", self.functions["FrameSearchFunction"].invoke
            )
            self._stops.append(self.crops.install())

        from local.emails import EmailWriter

        self.emails = EmailWriter(self.stack, self.output_dir, self.echo)
        stop_emails = threading.Event()

        def watch_emails() -> None:
            while not stop_emails.wait(0.1):
                try:
                    self.emails.check()
                except Exception:
                    log.exception("could not write an email")

        threading.Thread(target=watch_emails, name="emails", daemon=True).start()
        self._stops.append(stop_emails.set)

    def _start_store_hours(self) -> None:
        """The state machine and its scheduler, and a first run (what the reconcile schedule would do within 10
        minutes: bring detection to the store's hours now). Done before the runtime says it is ready: moto's
        Lambda and Step Functions code loads and parses for seconds, holding this process's interpreter, and
        a staff member's first request should not wait behind it."""
        from local.store_hours import Scheduler, deploy_store_hours, enable_step_functions, wait_for

        by_name = {process.name: process for process in self.functions.values()}
        self._stops.append(enable_step_functions(by_name))
        arn = deploy_store_hours(self.stack, self.functions["StoreHoursFunction"])
        self.scheduler = Scheduler(self.stack, arn)
        self.scheduler.start()
        self._stops.append(self.scheduler.stop)
        first = self.scheduler.start_execution({"trigger": "reconcile"}, "start-up")
        outcome = wait_for(self.scheduler.sfn, first, timeout=120)
        if outcome["status"] != "SUCCEEDED":
            log.warning("store hours: the first run ended %s: %s", outcome["status"], outcome.get("cause", ""))

    def run_store_hours(self, run_input: dict) -> str:
        if self.scheduler is None:
            raise RuntimeError("store hours are still starting")
        return self.scheduler.start_execution(run_input)

    def _create_staff_account(self) -> None:
        """The first staff account (kept across restarts): its email and password, printed at start-up."""
        from local.sign_in import create_staff_account

        saved = self.state_dir / "staff.txt"
        email, password = STAFF_EMAIL, _password()
        if saved.exists():
            email, password, *rest = saved.read_text().split("\n")
            self.staff = StaffAccount(email, password, rest[0] if rest and rest[0] else None)
            users = self.stack.client("cognito-idp").list_users(
                UserPoolId=self.stack.ref("StaffUserPool"), Filter=f'email = "{email}"'
            )["Users"]
            if users:  # kept in the saved state
                return
        self.staff = create_staff_account(self.stack, email, password)
        saved.write_text(f"{self.staff.email}\n{self.staff.password}\n{self.staff.totp_secret or ''}\n")
        saved.chmod(0o600)
        self.state.save()

    def _start_front(self) -> None:
        from local.front import Front

        self.test_controls = TestControls(self) if self.test_routes else None
        self.front = Front(
            self.stack,
            self.functions["RegistrationFunction"].invoke,
            self.moto_url,
            self.status,
            self.output_dir,
            self.run_store_hours,
            self._staff_app_dir(),
            self._save_requested.set,
            self.events,
            test_controls=self.test_controls,
        )
        self.port = self.front.start(self.port)
        self._stops.append(self.front.stop)

    def _staff_app_dir(self) -> Path | None:
        if self.staff_app:
            return self.staff_app
        for candidate in STAFF_APP_CANDIDATES:
            if (ROOT / candidate / "index.html").is_file():
                return ROOT / candidate
        return None

    def camera_env(self) -> Path:
        """The camera's configuration file, as provision-camera.sh writes it for access keys, frame search on."""
        settings = {
            "GREETER_STREAM_NAME": f"{STACK_NAME}-{CAMERA_NAME}",
            "AWS_REGION": REGION,
            "GREETER_STREAM_VIDEO": "false",
            "GREETER_DETECTION": "frame-search",
            "GREETER_CROPS_BUCKET": self.stack.ref("CropsBucket"),
            "GREETER_CREDENTIALS": "access-keys",
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "GREETER_HEALTH_FILE": str(self.state_dir / "camera-health.json"),
        }
        choice = self.camera_choice
        if choice.device:
            settings |= {"GREETER_DEVICE": choice.device, "GREETER_RESOLUTION": "1280x720", "GREETER_FRAMERATE": "30"}
        elif choice.video:
            width, height, fps = _video_size(choice.video)
            settings |= {"GREETER_RESOLUTION": f"{width}x{height}", "GREETER_FRAMERATE": str(fps)}
        settings |= self.camera_settings
        path = self.state_dir / "camera.env"
        path.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
        path.chmod(0o600)
        return path

    def _start_camera(self) -> None:
        from local.lambda_runtime import die_with_parent

        if not (self.camera_choice.device or self.camera_choice.video):
            return
        command = [sys.executable, "-m", "local.camera", "--config", str(self.camera_env())]
        if self.camera_choice.video:
            command += ["--file", str(self.camera_choice.video)]
        self.camera_process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            env=self.environment | {"PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "pi")])},
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            preexec_fn=die_with_parent,  # noqa: PLW1509
        )
        threading.Thread(target=self._camera_log, args=(self.camera_process,), name="camera-log", daemon=True).start()
        self._stops.append(self._stop_camera)

    def _camera_log(self, process: subprocess.Popen) -> None:
        """The camera's log goes to logs/camera.log; its warnings and errors also to the terminal."""
        with open(self.state_dir / "logs" / "camera.log", "a", encoding="utf-8") as log_file:
            for line in process.stdout:
                log_file.write(line)
                log_file.flush()
                if " WARNING " in line or " ERROR " in line:
                    self.echo("camera: " + line.rstrip().split(": ", 1)[-1])

    def _stop_camera(self) -> None:
        process, self.camera_process = self.camera_process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=8)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _start_saver(self) -> None:
        """Save the state soon after each change through the API (a crash then loses at most a second)."""

        def saver() -> None:
            while not self._stopped.is_set():
                if self._save_requested.wait(0.5):
                    self._save_requested.clear()
                    try:
                        self.state.save()
                    except Exception:
                        log.exception("could not save the local state")

        threading.Thread(target=saver, name="saver", daemon=True).start()

    # ------------------------------------------------------------------ stop
    def stop(self) -> None:
        """Stop everything started, last first; save the state."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        state = getattr(self, "state", None)
        if state is not None and getattr(self, "started_at", 0):
            try:
                began = time.monotonic()
                state.save()
                log.debug("saved the state in %.1f s", time.monotonic() - began)
            except Exception:
                log.exception("could not save the local state")
        # Every child starts ending at once; the stops below then only wait for them.
        if self.camera_process is not None and self.camera_process.poll() is None:
            self.camera_process.terminate()
        for process in self.functions.values():
            process.end_input()
        while self._stops:
            stop = self._stops.pop()
            began = time.monotonic()
            try:
                stop()
            except Exception:
                log.exception("stopping %s failed", stop)
            log.debug("stopped %s in %.1f s", getattr(stop, "__qualname__", stop), time.monotonic() - began)

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ what runs
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def aws_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/aws"

    def pids(self) -> list[int]:
        pids = [p.pid for p in self.functions.values() if p.pid]
        if self.camera_process is not None:
            pids.append(self.camera_process.pid)
        return pids

    def status(self) -> dict:
        camera_health = self.state_dir / "camera-health.json"
        return {
            "stack": STACK_NAME,
            "engine": "offline face engine (OpenCV YuNet + SFace), standing in for Amazon Rekognition",
            "pid": os.getpid(),
            "pids": self.pids(),
            "url": self.url,
            "api_url": self.api_url,
            "aws_url": self.aws_url,
            "moto_url": self.moto_url,
            "camera": {
                "what": self.camera_choice.describe(),
                "running": self.camera_process is not None and self.camera_process.poll() is None,
                "health": json.loads(camera_health.read_text()) if camera_health.exists() else None,
            },
            "functions": {
                name: {"invocations": p.invocations, "errors": p.errors, "running": p.pid is not None}
                for name, p in self.functions.items()
            },
            "store_hours": self.scheduler.last_runs() if getattr(self, "scheduler", None) else [],
            "emails": [p.name for p in sorted(self.output_dir.glob("*.eml"))],
            "staff": {"email": self.staff.email} if self.staff else None,
            # The staff app's config.json, as the stack writes it at deploy time, with the local addresses.
            "staff_app_config": {
                "region": REGION,
                "userPoolId": self.stack.ref("StaffUserPool"),
                "userPoolClientId": self.stack.ref("StaffUserPoolClient"),
                "apiUrl": self.api_url,
                "cognitoEndpoint": self.aws_url,
                "eventsHttpHost": self.events.http_host,
                "eventsRealtimeEndpoint": f"ws://{self.events.realtime_host}/event/realtime",
                "storeName": self.stack.parameters["StoreName"],
                "storeTimeZone": self.stack.parameters["StoreTimeZone"],
                "locale": self.stack.parameters.get("StoreLocale", "en-GB"),
            },
        }
