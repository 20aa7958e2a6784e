"""python -m greeter_camera, as the installer, the README and a store's IT person call it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from camera_settings import PI_DIR


def greeter_camera(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(PI_DIR)}
    return subprocess.run(
        [sys.executable, "-m", "greeter_camera", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_check_lists_every_problem_and_exits_78(tmp_path):
    config = tmp_path / "camera.env"
    config.write_text("GREETER_STREAM_NAME=greeter-entrance\nGREETER_RESOLUTION=4k\nGREETER_CAMERA=webcam\n")

    result = greeter_camera("check", "--config", str(config))

    assert result.returncode == 78
    assert f"{config}: 5 problem(s):" in result.stderr
    for expected in (
        "AWS_REGION is missing",
        "GREETER_CAMERA='webcam' is not one of: usb, picam.",
        "GREETER_RESOLUTION='4k' should look like 1280x720",
        "GREETER_IOT_CREDENTIALS_ENDPOINT is missing",
        "GREETER_IOT_ROLE_ALIAS is missing",
    ):
        assert expected in result.stderr


def test_check_shows_the_typo_warning_together_with_the_errors(tmp_path):
    config = tmp_path / "camera.env"
    config.write_text("GREETER_STREAM_NAM=greeter-entrance\nAWS_REGION=eu-west-1\nGREETER_CREDENTIALS=access-keys\n")

    result = greeter_camera("check", "--config", str(config))

    assert result.returncode == 78
    assert "GREETER_STREAM_NAM is set: a typo for GREETER_STREAM_NAME?" in result.stderr
    assert (
        "warning: GREETER_STREAM_NAM is not a setting this camera knows; it is ignored. Did you mean" in result.stderr
    )


def test_check_reports_the_face_detectors_settings_with_the_videos(tmp_path):
    config = tmp_path / "camera.env"
    config.write_text(
        "GREETER_STREAM_NAME=greeter-entrance\nAWS_REGION=eu-west-1\nGREETER_CREDENTIALS=access-keys\n"
        "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
        "GREETER_DETECTION=frame-search\nGREETER_FRAMERATE=3\nGREETER_RESEND_SECONDS=often\n"
        "GREETER_MIN_FACE_PX=20\n"
    )

    result = greeter_camera("check", "--config", str(config))

    assert result.returncode == 78
    assert result.stderr.splitlines() == [
        f"{config}: 4 problem(s):",
        "  - GREETER_FRAMERATE=3 is outside 5-30 frames per second: Rekognition needs at least 5 fps and the "
        "encoders stop at 30.",
        "  - GREETER_CROPS_BUCKET is missing: the bucket frame-search mode uploads face crops to (the "
        "CropsBucketName output of the Greeter stack).",
        "  - GREETER_RESEND_SECONDS='often' is not a number.",
        "  - GREETER_MIN_FACE_PX=20: must be at least 40: Rekognition detects no smaller face in a 1920x1080 image",
    ]


def test_run_with_a_bad_file_exits_78_so_systemd_does_not_loop(tmp_path):
    config = tmp_path / "camera.env"
    config.write_text("GREETER_FRAMERATE=120\n")
    health = tmp_path / "health.json"

    result = subprocess.run(
        [sys.executable, "-m", "greeter_camera", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PI_DIR), "GREETER_HEALTH_FILE": str(health)},
        timeout=60,
        check=False,
    )

    assert result.returncode == 78
    assert "GREETER_FRAMERATE=120 is outside 5-30 frames per second" in result.stderr
    assert "then: sudo systemctl restart greeter-camera" in result.stderr
    assert json.loads(health.read_text())["state"] == "config-error"


def test_print_pipeline_gives_a_command_to_paste():
    result = greeter_camera("print-pipeline", "--config", str(PI_DIR / "camera.env.example"))

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("gst-launch-1.0 -e v4l2src name=camera device=/dev/video0 ")
    assert "kvssink name=kvs stream-name=greeter-entrance" in result.stdout


def test_status_reads_the_health_file(tmp_path):
    health = tmp_path / "health.json"
    health.write_text(
        json.dumps({"state": "streaming", "summary": "Streaming.", "since": 0, "restarts": 2, "stream_name": "s"})
    )

    result = greeter_camera("status", "--health-file", str(health))

    assert result.returncode == 0
    assert result.stdout.startswith("Camera: streaming since")
    assert "Restarts since the service started: 2" in result.stdout


def test_status_without_a_running_service(tmp_path):
    result = greeter_camera("status", "--health-file", str(tmp_path / "absent.json"))

    assert result.returncode == 3
    assert "is the service running?" in result.stdout


def test_missing_gstreamer_bindings_are_named_with_the_fix(monkeypatch):
    from greeter_camera import runner

    monkeypatch.setattr(runner, "_gst_modules", None)
    monkeypatch.setitem(sys.modules, "gi", None)  # as if python3-gi were not installed

    assert "sudo apt install python3-gi gir1.2-gstreamer-1.0" in runner.bindings_problem()


def test_check_loads_the_face_detector_the_service_would_use(make_config, tmp_path, monkeypatch):
    from camera_settings import FRAME_SEARCH
    from greeter_camera import __main__ as cli
    from greeter_camera import faces

    assert cli._face_detector(make_config(**FRAME_SEARCH)) == ("yunet", [])

    altered = tmp_path / "face_detection_yunet_2023mar.onnx"
    altered.write_bytes(b"not the model")
    monkeypatch.setattr(faces, "bundled_yunet_model", lambda: altered)
    name, problems = cli._face_detector(make_config(**FRAME_SEARCH, GREETER_DETECTOR="yunet"))

    assert name == ""
    assert problems[0].startswith(f"frame-search mode cannot load the face detector (ModelIntegrityError: {altered}")
    assert problems[0].endswith("(pip install -r /opt/greeter/camera/requirements.txt in the venv).")
