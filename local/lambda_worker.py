"""One function's Lambda execution environment (see lambda_runtime.py): imports the handler, then answers
one invocation per line of stdin on the file descriptor it is given. Standard library only, so a function
process loads nothing the function itself does not."""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time
import traceback


class _Context:
    """The context object Lambda passes a Python handler."""

    def __init__(self, request_id: str, deadline: float) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = os.environ["GREETER_LOCAL_FUNCTION_ARN"]
        self.memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def _serve(code_dir: str, handler: str, answers_fd: int) -> None:
    """The process side: import the handler, then answer one invocation per line of stdin."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the runtime, which closes our stdin
    answers = os.fdopen(answers_fd, "w")
    sys.path.insert(0, code_dir)
    module_name, function_name = handler.rsplit(".", 1)
    function = getattr(importlib.import_module(module_name), function_name)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            result = function(request["event"], _Context(request["request_id"], request["deadline"]))
            answer: dict = {"result": result}
        except Exception as error:  # noqa: BLE001 - Lambda turns any exception into an error payload
            traceback.print_exc()
            answer = {"errorType": type(error).__name__, "errorMessage": str(error)}
        sys.stdout.flush()
        answers.write(json.dumps(answer, default=str) + "\n")
        answers.flush()


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2], int(sys.argv[3]))
