"""Greeter's local runtime: the whole application on one machine, with a webcam or a video file, and no AWS
account (`make local`; runtime.py says what runs and how).

From Python (tests, the staff app's browser tests, benchmarks), start it as a subprocess on free ports and
stop it again:

    from local import start_local

    with start_local(camera="tests/visit.avi", state_dir=tmp / "state", output_dir=tmp / "out") as greeter:
        greeter.url        # http://127.0.0.1:<port>/       the staff app (or the status page)
        greeter.api_url    # http://127.0.0.1:<port>/v1     the staff API (API Gateway + Cognito authorizer)
        greeter.aws_url    # http://127.0.0.1:<port>/aws    the local AWS endpoint (Cognito sign-in)
        greeter.staff      # {"email", "password", "totp_secret"} of the first staff account
        greeter.client_id, greeter.user_pool_id
        greeter.id_token() # a staff ID token from a real sign-in against the local user pool
    # stopped: every process it started has ended; state_dir keeps what was registered

`start_local(port=0, camera="none", state_dir=..., output_dir=..., camera_settings={...}, timeout=180,
test_routes=False)`; `camera` is "none", "auto" (the first webcam), a /dev/video* device or a video file played
in a loop; `test_routes` serves the /local/test/ control routes (local/test_controls.py) for tests and benchmarks.
In-process, `local.runtime.LocalRuntime(...).start()` / `.stop()` does the same (it sets the process's AWS_*
environment, so one at a time).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class LocalGreeter:
    """A running local Greeter (a subprocess); `stop()` ends it and everything it started."""

    process: subprocess.Popen
    ready: dict
    log_path: Path
    _stopped: bool = field(default=False, repr=False)

    url = property(lambda self: self.ready["url"])
    api_url = property(lambda self: self.ready["api_url"])
    aws_url = property(lambda self: self.ready["aws_url"])
    staff = property(lambda self: self.ready["staff"])
    client_id = property(lambda self: self.ready["client_id"])
    user_pool_id = property(lambda self: self.ready["user_pool_id"])
    pids = property(lambda self: [self.process.pid, *self.ready["pids"]])

    def cognito(self) -> Any:
        import boto3

        return boto3.client(
            "cognito-idp",
            endpoint_url=self.aws_url,
            region_name="eu-west-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - Cognito's public sign-in calls are not signed
        )

    def id_token(self) -> str:
        from local.sign_in import sign_in

        staff = self.staff
        result = sign_in(
            self.cognito(), self.user_pool_id, self.client_id, staff["email"], staff["password"], staff["totp_secret"]
        )
        return result["IdToken"]

    def stop(self, timeout: float = 60) -> int:
        if not self._stopped:
            self._stopped = True
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> LocalGreeter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_local(
    port: int = 0,
    camera: str | os.PathLike = "none",
    state_dir: Path | None = None,
    output_dir: Path | None = None,
    camera_settings: dict[str, str] | None = None,
    timeout: float = 180,
    env: dict[str, str] | None = None,
    test_routes: bool = False,
) -> LocalGreeter:
    """Start `python -m local` and wait until it serves; raise RuntimeError with its log if it does not."""
    work = Path(tempfile.mkdtemp(prefix="greeter-local-"))
    state_dir = state_dir or work / "state"
    output_dir = output_dir or work / "output"
    state_dir.mkdir(parents=True, exist_ok=True)
    ready_file = state_dir / "ready.json"
    ready_file.unlink(missing_ok=True)
    log_path = state_dir / "local.log"
    command = [
        sys.executable,
        "-m",
        "local",
        f"--port={port}",
        f"--camera={camera}",
        f"--state-dir={state_dir}",
        f"--output-dir={output_dir}",
        f"--ready-file={ready_file}",
    ] + [f"--camera-setting={key}={value}" for key, value in (camera_settings or {}).items()]
    if test_routes:
        command.append("--test-routes")
    with open(log_path, "ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
    deadline = time.monotonic() + timeout
    while not ready_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                process.kill()
                process.wait()
            raise RuntimeError(f"the local runtime did not start:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.2)
    return LocalGreeter(process, json.loads(ready_file.read_text()), log_path)
