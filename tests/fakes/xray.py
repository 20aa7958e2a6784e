"""What X-Ray would keep of a function's traces: every subsegment Powertools' Tracer opens, with the annotations
and metadata put on it and the exceptions the X-Ray SDK records (type and message). Plugged in as the tracer's
provider, so the function's own decorators and settings decide what is recorded. It also holds the function's
log lines, as CloudWatch Logs would receive them."""

from __future__ import annotations

import io
import json
from contextlib import contextmanager
from typing import Any


class _Subsegment:
    def __init__(self, traces: RecordedTraces, name: str):
        self._traces, self._name = traces, name

    def put_annotation(self, key: str, value: Any) -> None:
        self._traces.lines.append({"subsegment": self._name, "annotation": {key: value}})

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self._traces.lines.append({"subsegment": self._name, "metadata": {namespace: {key: value}}})

    def add_exception(self, exception: BaseException, stack: Any = None, remote: bool = False) -> None:
        self._traces.lines.append({"subsegment": self._name, "exception": f"{type(exception).__name__}: {exception}"})


class RecordedTraces:
    def __init__(self) -> None:
        self.lines: list[dict] = []
        self._logs = io.StringIO()

    @contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs):
        subsegment = _Subsegment(self, name or "")
        self.lines.append({"subsegment": name})
        try:
            yield subsegment
        except Exception as error:
            subsegment.add_exception(error)  # as the X-Ray SDK's subsegment context manager does
            raise

    def put_annotation(self, key: str, value: Any) -> None:
        self.lines.append({"annotation": {key: value}})

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.lines.append({"metadata": {namespace: {key: value}}})

    def patch(self, modules) -> None:
        """AWS SDK calls are not recorded here (X-Ray's botocore patch keeps only whitelisted parameters)."""

    def patch_all(self) -> None:
        """As patch."""

    def text(self) -> str:
        return json.dumps(self.lines, default=str)

    def watch(self, app, monkeypatch) -> None:
        """Record the traces of a loaded function (`app` is its app module, which imports the shared tracer)."""
        monkeypatch.setattr(app.tracer, "provider", self)
        monkeypatch.setattr(app.tracer, "disabled", False)
        # Powertools' log handler keeps the stream of the first test that created it: point it here as well,
        # so `logs` holds every line this function logs, as the JSON Lambda would receive.
        for handler in app.logger.handlers:
            monkeypatch.setattr(handler, "stream", self._logs)

    @property
    def logs(self) -> str:
        return self._logs.getvalue()
