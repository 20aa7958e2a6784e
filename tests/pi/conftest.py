"""Fixtures for the camera producer's tests (pi/greeter_camera): configurations, GStreamer availability."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from greeter_camera.config import CameraConfig, config_from_values

PI_DIR = Path(__file__).resolve().parents[2] / "pi"

VALID_IOT = {
    "GREETER_STREAM_NAME": "greeter-entrance",
    "AWS_REGION": "eu-west-1",
    "GREETER_CREDENTIALS": "iot-certificate",
    "GREETER_IOT_CREDENTIALS_ENDPOINT": "c1abcdefghijkl.credentials.iot.eu-west-1.amazonaws.com",
    "GREETER_IOT_ROLE_ALIAS": "greeter-camera",
}
ACCESS_KEYS = {
    "GREETER_CREDENTIALS": "access-keys",
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}
FRAME_SEARCH = {"GREETER_DETECTION": "frame-search", "GREETER_CROPS_BUCKET": "greeter-crops-123456789012"}


@pytest.fixture
def make_config():
    """A valid configuration (IoT credentials, USB webcam) with the given settings changed."""

    def make(**settings: str) -> CameraConfig:
        return config_from_values({**VALID_IOT, **settings})

    return make


@pytest.fixture
def gst_launch() -> str:
    """Path of gst-launch-1.0; the GStreamer tests skip, saying why, only where it is not installed."""
    path = shutil.which("gst-launch-1.0")
    if path is None:
        pytest.skip("gst-launch-1.0 is not installed (run `make system-packages`): GStreamer smoke tests not run")
    return path


@pytest.fixture
def gst(gst_launch):
    """GStreamer's Python bindings (PyGObject, pinned in requirements-dev.txt), initialised."""
    gi = pytest.importorskip("gi", reason="PyGObject is not installed (make setup installs it)")
    gi.require_version("Gst", "1.0")
    from gi.repository import Gst

    Gst.init(None)
    return Gst
