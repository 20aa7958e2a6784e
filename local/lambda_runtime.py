"""Lambda's execution environment, played locally: one Python process per function, as Lambda gives each
function its own.

`FunctionProcess` starts `python -m local.lambda_worker <code dir> <handler>` with the environment the
template gives the function (Globals merged with its own, resolved by local/stack.py), the shared layer on
the path (Lambda's /opt/python) and the local runtime's AWS settings (fake credentials, the local endpoint).
The function's code is imported once, at the first start (a cold start), and each invocation is one JSON
line on the process's stdin answered by one line on a private pipe: the result, or Lambda's error payload
(errorType, errorMessage). What the function prints or logs goes to its log file. One invocation runs at a
time in one environment, as in Lambda.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, TextIO

from local.event_sources import FunctionError
from local.stack import ROOT, Stack

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child process: get SIGTERM when the local runtime dies, however it dies (Linux), so nothing is
    left running after it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class FunctionProcess:
    """One template function, in its own process, invoked with `invoke(event)`."""

    def __init__(self, stack: Stack, logical_id: str, aws_environment: dict[str, str], log_path: Path) -> None:
        properties = stack.resources[logical_id]["Properties"]
        globals_ = stack.template.get("Globals", {}).get("Function", {})
        self.logical_id = logical_id
        self.name = stack.ref(logical_id)
        self.arn = stack.get_att(logical_id, "Arn")
        self.timeout = float(stack.resolve(properties.get("Timeout", globals_.get("Timeout", 3))))
        self.memory = int(stack.resolve(properties.get("MemorySize", globals_.get("MemorySize", 128))))
        self.handler = properties["Handler"]
        self.code_dir = stack.function_code_dir(logical_id)
        self.environment = {
            **aws_environment,
            **stack.function_environment(logical_id),
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "GREETER_LOCAL_FUNCTION_ARN": self.arn,
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "common")]),
            "PYTHONUNBUFFERED": "1",
        }
        self.log_path = log_path
        self.invocations = 0
        self.errors = 0
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._answers: TextIO | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        read_end, write_end = os.pipe()
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed right after
        try:
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "local.lambda_worker", str(self.code_dir), self.handler, str(write_end)],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                env=self.environment,
                cwd=self.code_dir,
                pass_fds=(write_end,),
                preexec_fn=die_with_parent,  # noqa: PLW1509 - no threads touch the child before exec
                text=True,
            )
        finally:
            log.close()
            os.close(write_end)
        self._answers = os.fdopen(read_end, "r")

    def invoke(self, event: dict) -> Any:
        """Run the handler on `event`; the result, or FunctionError with Lambda's error payload."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self.start()  # a new execution environment (a cold start)
            assert self._process and self._process.stdin and self._answers
            self.invocations += 1
            request = {"event": event, "request_id": str(uuid.uuid4()), "deadline": time.time() + self.timeout}
            try:
                self._process.stdin.write(json.dumps(request) + "\n")
                self._process.stdin.flush()
                line = self._answers.readline()
            except (BrokenPipeError, OSError):
                line = ""
            if not line:
                self.errors += 1
                self._process = None
                raise FunctionError({"errorType": "Runtime.ExitError", "errorMessage": f"{self.name} exited"})
            answer = json.loads(line)
            if "errorType" in answer:
                self.errors += 1
                raise FunctionError(answer)
            return answer["result"]

    def end_input(self) -> None:
        """Tell the environment no more invocations come (it exits once its current one is done)."""
        if self._process is not None and self._process.stdin:
            with contextlib.suppress(OSError):
                self._process.stdin.close()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(OSError):
            process.stdin.close()
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self._answers:
            self._answers.close()
