"""The Pi's installer, provisioning script and systemd unit."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess

import pytest
from camera_settings import PI_DIR

SCRIPTS = sorted(PI_DIR.glob("*.sh"))


def test_there_are_scripts_to_check():
    assert {p.name for p in SCRIPTS} >= {"install.sh", "provision-camera.sh"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_shell_scripts_are_shellcheck_clean(script):
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (run `make system-packages`): shell scripts not checked")

    result = subprocess.run([shellcheck, str(script)], capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stdout


def dry_run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(PI_DIR / "install.sh"), "--dry-run", *args], capture_output=True, text=True, check=False
    )


def test_installer_dry_run_builds_the_pinned_kvssink_with_documented_options():
    result = dry_run()

    assert result.returncode == 0, result.stderr
    out = result.stdout
    version = re.search(r'KVS_SDK_VERSION="\$\{KVS_SDK_VERSION:-(v[\d.]+)\}"', (PI_DIR / "install.sh").read_text())[1]
    assert f"git clone --depth 1 --branch {version} " in out
    commit = re.search(r'KVS_SDK_COMMIT="\$\{KVS_SDK_COMMIT:-([0-9a-f]{40})\}"', (PI_DIR / "install.sh").read_text())[1]
    assert f"is at the pinned commit {commit}" in out
    assert "-DBUILD_GSTREAMER_PLUGIN=ON -DBUILD_DEPENDENCIES=OFF -DBUILD_SAMPLES=OFF -DCMAKE_BUILD_TYPE=Release" in out
    for package in ("gstreamer1.0-libcamera", "gstreamer1.0-plugins-ugly", "python3-gi", "liblog4cplus-dev"):
        assert package in out
    assert "useradd --system --user-group --groups video" in out
    assert "python3 -m venv --system-site-packages /opt/greeter/camera/venv" in out
    assert "systemctl enable greeter-camera.service" in out
    assert "-m greeter_camera check --config /etc/greeter/camera.env" in out
    assert "Dry run: nothing was changed." in out


def run_install_step(step: str, **variables: str) -> subprocess.CompletedProcess:
    """Source install.sh (which then runs nothing by itself) and run one step, in dry-run mode."""
    assignments = " ".join(f"{name}={value}" for name, value in variables.items())
    script = f'source "{PI_DIR / "install.sh"}"; DRY_RUN=1; {assignments}; {step}; printf "%s\\n" "${{DONE[@]}}"'
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)


def test_a_dry_run_shows_no_kvssink_build_when_kvssink_already_works():
    # kvssink_works stands in for gst-inspect-1.0 finding the plugin this Pi already built.
    result = run_install_step("kvssink_works() { true; }; build_kvssink", BUILD_JOBS="2")

    assert result.returncode == 0, result.stderr
    assert "kept kvssink v3.4.1 (already built in /opt/greeter/kvs-sdk/v3.4.1)" in result.stdout
    assert "cmake" not in result.stdout and "20-40 minutes" not in result.stdout


def test_a_real_run_refuses_a_moved_release_tag(tmp_path):
    source = tmp_path / "sdk"
    subprocess.run(["git", "init", "-q", str(source)], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(source),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "x",
        ],
        check=True,
    )

    result = run_install_step("kvssink_works() { false; }; DRY_RUN=0; build_kvssink", KVS_SRC=str(source))

    assert result.returncode == 1
    assert "not the pinned 8e59b313950d4dbb1ecfb88e2108df87e3331c4e: the tag was moved" in result.stderr


def test_installer_keeps_an_existing_configuration(tmp_path):
    (tmp_path / "camera.env").write_text("GREETER_STREAM_NAME=greeter-entrance\n")

    result = run_install_step("install_config", CONFIG_DIR=str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert f"kept your {tmp_path}/camera.env" in result.stdout
    assert f"{tmp_path}/camera.env" not in "".join(line for line in result.stdout.splitlines() if "[dry-run]" in line)


def test_installer_creates_the_configuration_only_when_missing(tmp_path):
    result = run_install_step("install_config", CONFIG_DIR=str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert f"camera.env.example {tmp_path}/camera.env" in result.stdout
    assert f"created {tmp_path}/camera.env from the example" in result.stdout


def test_installer_refuses_unknown_options():
    result = dry_run("--yes-to-all")

    assert result.returncode == 2
    assert "unknown option: --yes-to-all" in result.stderr


def test_provisioning_script_says_what_is_missing():
    result = subprocess.run(
        ["bash", str(PI_DIR / "provision-camera.sh"), "--stack", "greeter"], capture_output=True, text=True, check=False
    )

    assert result.returncode == 1
    assert "--camera is required" in result.stderr


FAKE_AWS = r"""#!/usr/bin/env bash
# The AWS CLI calls provision-camera.sh makes, answered like a deployed stack would.
set -euo pipefail
echo "$*" >>"$FAKE_AWS_LOG"
arg() { local want="$1"; shift; while [ $# -gt 0 ]; do [ "$1" = "$want" ] && { echo "$2"; return; }; shift; done; }
case "$1 $2" in
  "cloudformation describe-stacks")
    case "$(arg --query "$@")" in
      *DetectionMode*) echo "$FAKE_DETECTION_MODE" ;;
      *CropsBucketName*) [ "$FAKE_DETECTION_MODE" = FrameSearch ] && echo greeter-cropsbucket-1a2b3c || echo None ;;
      *CameraIotPolicyName*) echo greeter-camera ;;
      *CameraRoleAlias*) echo greeter-camera ;;
      *CameraAccessKeyPolicyArn*) echo arn:aws:iam::123456789012:policy/greeter-cameras/greeter-CameraAccessKeyPolicy ;;
    esac ;;
  "kinesisvideo describe-stream") echo arn:aws:kinesisvideo:eu-west-1:123456789012:stream/greeter-entrance/1 ;;
  "iot describe-thing" | "iam get-user") exit 254 ;;
  "iot create-keys-and-certificate")
    echo CERT >"$(arg --certificate-pem-outfile "$@")"; echo KEY >"$(arg --private-key-outfile "$@")"
    echo arn:aws:iot:eu-west-1:123456789012:cert/abc123 ;;
  "iot describe-endpoint") echo c1example2abcd.credentials.iot.eu-west-1.amazonaws.com ;;
  "iam create-access-key") printf 'AKIAIOSFODNN7EXAMPLE\twJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n' ;;
esac
"""


@pytest.mark.parametrize(
    ("method", "mode"),
    [("iot-certificate", "FrameSearch"), ("access-keys", "FrameSearch"), ("iot-certificate", "StreamProcessor")],
)
def test_provisioning_writes_a_camera_env_the_camera_accepts(tmp_path, method, mode):
    from greeter_camera.config import AccessKeyCredentials, IotCertificateCredentials, load_config

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS)
    (bin_dir / "aws").chmod(0o755)
    out = tmp_path / "camera-entrance"
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "FAKE_AWS_LOG": str(tmp_path / "aws.log"),
        "FAKE_DETECTION_MODE": mode,
    }

    result = subprocess.run(
        ["bash", str(PI_DIR / "provision-camera.sh"), "--stack", "greeter", "--camera", "entrance"]
        + ["--region", "eu-west-1", "--method", method, "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    config = load_config(out / "camera.env")
    assert (config.kvs.stream_name, config.kvs.region, config.warnings) == ("greeter-entrance", "eu-west-1", ())
    if method == "iot-certificate":
        assert isinstance(config.credentials, IotCertificateCredentials)
        assert config.credentials.thing_name == "greeter-entrance"  # the crops' and the stream's name
        assert "iot attach-thing-principal --thing-name greeter-entrance" in (tmp_path / "aws.log").read_text()
    else:
        assert isinstance(config.credentials, AccessKeyCredentials)
    if mode == "FrameSearch":
        assert config.detection is not None
        assert (config.detection.crops_bucket, config.detection.stream_name) == (
            "greeter-cropsbucket-1a2b3c",
            "greeter-entrance",
        )
    else:
        assert config.detection is None


def test_systemd_unit_restarts_always_after_the_network_as_an_unprivileged_camera_user():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read(PI_DIR / "greeter-camera.service")
    service = unit["Service"]

    assert "network-online.target" in unit["Unit"]["After"]
    assert "network-online.target" in unit["Unit"]["Wants"]
    assert service["Restart"] == "always"
    assert service["User"] == "greeter-camera"
    assert service["SupplementaryGroups"] == "video"
    assert service["Type"] == "notify"
    assert service["RestartPreventExitStatus"] == "78"  # service.EX_CONFIG: a wrong file is not retried
    # ...and the health file saying why survives the exit, for `python -m greeter_camera status`.
    assert service["RuntimeDirectory"] == "greeter-camera"
    assert service["RuntimeDirectoryPreserve"] == "yes"
    assert service["ExecStart"].endswith("-m greeter_camera run --config /etc/greeter/camera.env")
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_unit_watchdog_is_longer_than_the_service_pings():
    from greeter_camera.supervisor import WATCHDOG_INTERVAL_S

    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(PI_DIR / "greeter-camera.service")

    assert int(unit["Service"]["WatchdogSec"]) >= 4 * WATCHDOG_INTERVAL_S
