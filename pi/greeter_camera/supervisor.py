"""Keep the pipeline running: when it dies, wait a little longer each time, then start it again.

The clock and the waiting are injected, so tests run the whole loop without sleeping.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from greeter_camera.health import HealthReporter, RunOutcome

log = logging.getLogger(__name__)

WATCHDOG_INTERVAL_S = 5.0  # systemd's WatchdogSec in greeter-camera.service is 60 s; ping well within it


@dataclass
class Backoff:
    """1, 2, 4, ... 60 s between attempts; back to 1 s once a run has lasted `healthy_after_s`."""

    initial_s: float = 1.0
    maximum_s: float = 60.0
    factor: float = 2.0
    healthy_after_s: float = 60.0
    _next_s: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._next_s = self.initial_s

    def after_failure(self, ran_for_s: float) -> float:
        """The wait before the next attempt, given how long the failed run lasted."""
        if ran_for_s >= self.healthy_after_s:
            self._next_s = self.initial_s
        delay = self._next_s
        self._next_s = min(self._next_s * self.factor, self.maximum_s)
        return delay


class Supervisor:
    def __init__(
        self,
        run_once: Callable[[], RunOutcome],
        *,
        health: HealthReporter,
        clock: Callable[[], float],
        wait: Callable[[float], bool],
        backoff: Backoff | None = None,
        max_attempts: int | None = None,
    ) -> None:
        """`wait(seconds)` sleeps and returns True when the service was asked to stop meanwhile
        (threading.Event.wait does exactly that)."""
        self.run_once = run_once
        self.health = health
        self.clock = clock
        self.wait = wait
        self.backoff = backoff or Backoff()
        self.max_attempts = max_attempts
        self.restarts = 0

    def run(self) -> int:
        """Run until stopped (exit code 0), or until `max_attempts` failures (exit code 1)."""
        attempt = 0
        while True:
            self.health.starting(attempt)
            started = self.clock()
            outcome = self.run_once()
            ran_for = self.clock() - started
            if outcome.kind == "stopped":
                self.health.stopped()
                return 0
            attempt += 1
            delay = self.backoff.after_failure(ran_for)
            self.restarts += 1
            log.error("%s (after %.0f s; retrying in %.0f s)", outcome.message, ran_for, delay)
            if outcome.detail:
                log.info("details: %s", outcome.detail)
            self.health.failed(outcome, delay, self.restarts)
            if self.max_attempts is not None and attempt >= self.max_attempts:
                return 1
            if self._wait_with_watchdog(delay):
                self.health.stopped()
                return 0

    def _wait_with_watchdog(self, seconds: float) -> bool:
        remaining = seconds
        while remaining > 0:
            step = min(remaining, WATCHDOG_INTERVAL_S)
            if self.wait(step):
                return True
            remaining -= step
            self.health.watchdog()
        return False
