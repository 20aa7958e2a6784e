"""Browser tests of the staff app: Debian's Chromium driven by Playwright, a real face as the webcam, and the
app on the local runtime (`make local`: template.yaml on moto, each function in its own process, the arrivals
channel), one per test session (each xdist worker starts its own, on its own free ports)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect
from staff_app_kit import ROOT, Backend, webcam_y4m

from local import start_local

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
def browser_type_launch_args(webcam) -> dict:
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
def local_greeter(staff_app_dist, tmp_path_factory):
    """The local runtime with its test routes, serving the app just built."""
    work = tmp_path_factory.mktemp("local")
    greeter = start_local(state_dir=work / "state", output_dir=work / "output", test_routes=True)
    yield greeter
    greeter.stop()


@pytest.fixture
def backend(local_greeter) -> Backend:
    """The local runtime, reset to the state it started in for this test."""
    backend = Backend(local_greeter.url, local_greeter.aws_url)
    backend.reset()
    return backend


@pytest.fixture(scope="session")
def screens() -> Path:
    shutil.rmtree(SCREENS, ignore_errors=True)
    SCREENS.mkdir(parents=True)
    return SCREENS
