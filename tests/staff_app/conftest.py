"""Browser tests of the staff app: Debian's Chromium driven by Playwright, a real face as the webcam, the
app's back end (template.yaml on moto + the real registration function) in its own process."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect
from staff_app_kit import ROOT, Backend, webcam_y4m

CHROMIUM = os.environ.get("GREETER_CHROMIUM", "/usr/bin/chromium")
# expect() waits by itself; a registration runs real face models, and CI's two cores may be busy.
expect.set_options(timeout=15_000)
SCREENS = ROOT / "test-results" / "screens"


@pytest.fixture(scope="session")
def staff_app_dist() -> Path:
    """Build the app from its sources (esbuild, about 0.2 s) so the tests never run a stale bundle."""
    app = ROOT / "staff-app"
    if not (app / "node_modules" / "esbuild").exists():
        pytest.fail("staff-app/node_modules is missing: run `make setup` (npm ci)")
    subprocess.run(["node", "build.mjs"], cwd=app, check=True)
    return app / "dist"


@pytest.fixture(scope="session")
def webcam(tmp_path_factory) -> Path:
    return webcam_y4m(tmp_path_factory.mktemp("webcam") / "astronaut.y4m")


@pytest.fixture(scope="session")
def browser_type_launch_args(webcam, _backend_started) -> dict:
    # Asking for _backend_started here starts the back end (seconds of imports) while Chromium launches.
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make setup` (it installs Debian's chromium)")
    return {
        "executable_path": CHROMIUM,
        "args": [
            # Root in a container: Chromium's sandbox needs user namespaces it does not get here.
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            # The webcam is a video of a real face; the permission prompt is answered yes.
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={webcam}",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args() -> dict:
    # A 10-inch tablet in landscape; tests turn it to portrait where that matters.
    return {"viewport": {"width": 1280, "height": 800}, "locale": "en-GB", "permissions": ["camera"]}


@pytest.fixture(scope="session")
def _backend_started(staff_app_dist):
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("staff_app_backend.py"))],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    yield process
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def _backend_process(_backend_started) -> str:
    line = _backend_started.stdout.readline()
    if not line:
        pytest.fail(f"the app's back end did not start (exit {_backend_started.wait()})")
    return json.loads(line)["url"]


@pytest.fixture
def backend(_backend_process) -> Backend:
    """The back end, reset to a freshly deployed stack for this test."""
    backend = Backend(_backend_process)
    backend.reset()
    return backend


@pytest.fixture(scope="session")
def screens() -> Path:
    shutil.rmtree(SCREENS, ignore_errors=True)
    SCREENS.mkdir(parents=True)
    return SCREENS
