"""Nothing half-written: each side effect registers how to undo it; if a later step fails, the undo steps run
(last first) and the original error propagates. An undo step that itself fails is logged and counted
(metric CompensationFailed, alarmed in the template) and the remaining undo steps still run."""

from collections.abc import Callable

from aws_lambda_powertools.metrics import MetricUnit
from errors import ServiceBusy
from greeter_common.observability import logger, metrics


class Undo:
    def __init__(self, context: dict):
        self._steps: list[tuple[str, Callable[[], object]]] = []
        self._context = context  # logged with every undo step (ids only, never personal data)
        self._committed = False

    def __enter__(self) -> "Undo":
        return self

    def add(self, description: str, step: Callable[[], object]) -> None:
        self._steps.append((description, step))

    def commit(self) -> None:
        self._committed = True

    def __exit__(self, exc_type, exc, traceback) -> bool:
        if self._committed or exc_type is None:
            return False
        logger.warning("undoing a failed change", extra={**self._context, "failure": repr(exc)})
        metrics.add_metric(name="CompensationRan", unit=MetricUnit.Count, value=1)
        for description, step in reversed(self._steps):
            try:
                step()
            except Exception:
                logger.exception("undo step failed", extra={**self._context, "step": description})
                metrics.add_metric(name="CompensationFailed", unit=MetricUnit.Count, value=1)
        return False


class Deadline:
    """Start a step only if it can finish and still leave time to undo everything before Lambda's timeout."""

    def __init__(self, remaining_ms: Callable[[], int], step_ms: int, reserve_ms: int):
        self._remaining_ms = remaining_ms
        self._needed_ms = step_ms + reserve_ms

    def check(self, step: str) -> None:
        if self._remaining_ms() < self._needed_ms:
            raise ServiceBusy(f"ran out of time before '{step}'; nothing was kept, retry the same request")
