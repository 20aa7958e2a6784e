"""GStreamer and kvssink errors, said in words a store's IT person can act on."""

from __future__ import annotations

import socket

import pytest
from greeter_camera.health import explain_error, sd_notify

# Real message/debug pairs as GStreamer 1.22 posts them (the first two captured from v4l2src here).
NO_DEVICE = (
    "Cannot identify device '/dev/video0'.",
    "../sys/v4l2/v4l2_calls.c(608): gst_v4l2_open (): /GstPipeline:pipeline0/GstV4l2Src:camera:\n"
    "system error: No such file or directory",
)
NOT_V4L2 = (
    "Error getting capabilities for device '/dev/video0': It isn't a v4l2 driver. Check if it is a v4l1 driver.",
    "../sys/v4l2/v4l2_calls.c(91): gst_v4l2_get_capabilities (): /GstPipeline:pipeline0/GstV4l2Src:camera",
)
BUSY = ("Device '/dev/video0' is busy", "gst_v4l2_object_set_format_full (): /GstPipeline:pipeline0/GstV4l2Src:camera")
# What v4l2src posts when the webcam is pulled out while streaming.
UNPLUGGED = (
    "Could not read from resource.",
    "../sys/v4l2/gstv4l2bufferpool.c(1212): gst_v4l2_buffer_pool_poll (): /GstPipeline:pipeline0/GstV4l2Src:camera:\n"
    "poll error 1: No such device (19)",
)
NOT_NEGOTIATED = (
    "Internal data stream error.",
    "../libs/gst/base/gstbasesrc.c(3132): gst_base_src_loop (): /GstPipeline:pipeline0/GstV4l2Src:camera:\n"
    "streaming stopped, reason not-negotiated (-4)",
)


@pytest.mark.parametrize(
    ("element", "error", "expected"),
    [
        (
            "v4l2src",
            NO_DEVICE,
            "The camera /dev/video0 is not there: is the webcam unplugged, or is GREETER_DEVICE wrong?",
        ),
        (
            "v4l2src",
            UNPLUGGED,
            "The camera /dev/video0 stopped sending video: it was probably unplugged or lost power. Check its USB "
            "cable (a powered hub helps); the service starts it again as soon as it is back.",
        ),
        ("v4l2src", NOT_V4L2, "/dev/video0 is not a camera (not a video capture device); check GREETER_DEVICE."),
        ("v4l2src", BUSY, "The camera /dev/video0 is in use by another program (close it, or reboot the Pi)."),
        (
            "v4l2src",
            NOT_NEGOTIATED,
            "The camera cannot deliver 1280x720 at 30 fps (MJPEG). List what it can do with "
            "`v4l2-ctl -d /dev/video0 --list-formats-ext`, then change GREETER_RESOLUTION, GREETER_FRAMERATE or "
            "GREETER_USB_FORMAT.",
        ),
        (
            "libcamerasrc",
            ("Could not find any supported camera on this system.", "gstlibcamerasrc.cpp(...)"),
            "No Pi camera module found: check the ribbon cable, then run `rpicam-hello --list-cameras`.",
        ),
        (
            "kvssink",
            ("Failed to create stream.", "Error: AccessDeniedException 403"),
            "AWS refused the camera's credentials for stream greeter-entrance",
        ),
        (
            "kvssink",
            ("Failed to create stream. Error: ResourceNotFoundException", ""),
            "Could not open the Kinesis video stream greeter-entrance: check GREETER_STREAM_NAME and AWS_REGION",
        ),
        ("kvssink", ("Curl error: Could not resolve host", ""), "Cannot reach AWS (is the network down?)"),
        ("x264enc", ("Can not initialize x264 encoder.", ""), "The H.264 encoder failed: Can not initialize x264"),
        ("queue0", ("Something odd.", ""), "queue0 failed: Something odd."),
    ],
)
def test_errors_are_explained(make_config, element, error, expected):
    message, debug = error

    assert explain_error(element, message, debug, make_config()).startswith(expected)


def test_sd_notify_reaches_systemd_socket(tmp_path, monkeypatch):
    address = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address)
        monkeypatch.setenv("NOTIFY_SOCKET", address)

        assert sd_notify("STATUS=Streaming.") is True
        assert server.recv(100) == b"STATUS=Streaming."


def test_sd_notify_outside_systemd_does_nothing(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)

    assert sd_notify("READY=1") is False
