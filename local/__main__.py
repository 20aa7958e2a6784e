"""`make local`: the whole Greeter on this machine until Ctrl-C (see local/__init__.py)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from local.runtime import DEFAULT_OUTPUT, DEFAULT_STATE, LocalRuntime


def banner(runtime: LocalRuntime) -> str:
    staff = runtime.staff
    lines = [
        "",
        "Greeter is running on this machine (no AWS account; everything on 127.0.0.1).",
        "Face matching here is the offline face engine (OpenCV's YuNet + SFace models), not Amazon Rekognition.",
        "",
        f"  Staff app / status page   {runtime.url}",
        f"  Camera                    {runtime.camera_choice.describe()}",
        f"  Alert emails              {runtime.output_dir}/NN-name.eml (and printed here)",
        f"  Staff sign-in             {staff.email}  password: {staff.password}",
    ]
    if staff.totp_secret:
        lines.append(f"  Authenticator (TOTP) key  {staff.totp_secret}")
    restored = runtime.restored
    if restored:
        lines.append(
            f"  Kept from the last run    {restored.get('people', 0)} people, {restored.get('faces', 0)} faces, "
            f"{restored.get('staff', 0)} staff accounts"
        )
    lines += [
        "",
        "Register yourself: open the page above, or with the staff CLI:",
        f"  export AWS_REGION=eu-west-1 AWS_ENDPOINT_URL={runtime.aws_url} GREETER_API_URL={runtime.api_url}",
        f"  export GREETER_USER_POOL_ID={runtime.stack.ref('StaffUserPool')} "
        f"GREETER_CLIENT_ID={runtime.stack.ref('StaffUserPoolClient')}",
        f"  .venv/bin/python tools/greeter_staff.py sign-in --email {staff.email}",
        '  .venv/bin/python tools/greeter_staff.py register me.jpg --name "Your Name" --consent-by "Your Name" '
        "--consent-version local",
        "",
        "Ctrl-C stops everything. State is kept in local-state/ (make clean removes it).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description="The whole Greeter on this machine.")
    parser.add_argument("--port", type=int, default=8765, help="the port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--camera", default="auto", help="a webcam device, a video file, auto (first webcam) or none")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE)
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--ready-file", type=Path, help="write the addresses and staff sign-in here (JSON) once up")
    parser.add_argument("--camera-setting", action="append", default=[], help="extra camera.env line KEY=VALUE")
    parser.add_argument(
        "--test-routes", action="store_true", help="serve /local/test/ (reset, staff accounts): tests and benchmarks"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    if os.environ.get("GREETER_LOCAL_DEBUG"):
        logging.getLogger("greeter.local").setLevel(logging.DEBUG)
    logging.getLogger("botocore").setLevel(logging.WARNING)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    runtime = LocalRuntime(
        port=args.port,
        camera=args.camera,
        state_dir=args.state_dir.resolve(),
        output_dir=args.output_dir.resolve(),
        echo=lambda text: print(text, flush=True),
        camera_settings=dict(setting.split("=", 1) for setting in args.camera_setting),
        test_routes=args.test_routes,
    )
    try:
        runtime.start()
    except OSError as error:
        print(f"could not start: {error}", file=sys.stderr)
        return 1
    try:
        print(banner(runtime), flush=True)
        if args.ready_file:
            staff = runtime.staff
            ready = {
                "url": runtime.url,
                "api_url": runtime.api_url,
                "aws_url": runtime.aws_url,
                "pid": runtime.status()["pid"],
                "pids": runtime.pids(),
                "client_id": runtime.stack.ref("StaffUserPoolClient"),
                "user_pool_id": runtime.stack.ref("StaffUserPool"),
                "state_dir": str(runtime.state_dir),
                "staff": {"email": staff.email, "password": staff.password, "totp_secret": staff.totp_secret},
            }
            partial = args.ready_file.with_suffix(".partial")
            partial.write_text(json.dumps(ready))
            partial.replace(args.ready_file)
        stop.wait()
    finally:
        print("\nStopping Greeter...", flush=True)
        runtime.stop()
        print("Stopped; nothing left running.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
