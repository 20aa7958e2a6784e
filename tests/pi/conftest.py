"""Fixtures for the camera producer's tests (pi/greeter_camera): configurations, GStreamer availability."""

from __future__ import annotations

import shutil

import pytest
from camera_settings import ACCESS_KEYS, FRAME_SEARCH, PI_DIR, VALID_IOT, settings_with  # noqa: F401 - shared
from greeter_camera.config import CameraConfig, config_from_values


@pytest.fixture
def make_config():
    """A valid configuration (IoT credentials, USB webcam) with the given settings changed."""

    def make(**settings: str) -> CameraConfig:
        return config_from_values(settings_with(**settings))

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
