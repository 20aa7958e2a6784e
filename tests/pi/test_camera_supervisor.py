"""Restart with backoff, and what the health file and systemd are told meanwhile (no real sleeping)."""

from __future__ import annotations

import json

import pytest
from greeter_camera.health import HealthReporter, RunOutcome, describe_health
from greeter_camera.supervisor import Backoff, Supervisor


class FakeTime:
    """A clock that only moves when a run 'lasts' or the supervisor 'waits'."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []
        self.stop_after_waits: int | None = None

    def clock(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return self.stop_after_waits is not None and len(self.waits) >= self.stop_after_waits


def scripted_runs(fake: FakeTime, script: list[tuple[float, RunOutcome]]):
    """run_once that plays `script`: each run lasts its seconds and ends with its outcome."""
    runs = iter(script)

    def run_once() -> RunOutcome:
        seconds, outcome = next(runs)
        fake.now += seconds
        return outcome

    return run_once


def reporter(tmp_path, fake: FakeTime, notes: list[str]) -> HealthReporter:
    return HealthReporter(
        str(tmp_path / "health.json"),
        "greeter-entrance",
        notify=lambda m: notes.append(m) or True,
        wallclock=fake.clock,
    )


UNPLUGGED = RunOutcome("error", "The camera /dev/video0 is not there: is the webcam unplugged?", "v4l2src0: ...")
STOPPED = RunOutcome("stopped", "Stopped on request.")


def test_backoff_doubles_up_to_the_cap():
    backoff = Backoff(initial_s=1, maximum_s=60, factor=2, healthy_after_s=60)

    delays = [backoff.after_failure(ran_for_s=0.5) for _ in range(9)]

    assert delays == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_backoff_starts_over_after_a_healthy_run():
    backoff = Backoff(initial_s=1, maximum_s=60, factor=2, healthy_after_s=60)
    for _ in range(5):
        backoff.after_failure(ran_for_s=1)

    assert backoff.after_failure(ran_for_s=3600) == 1
    assert backoff.after_failure(ran_for_s=1) == 2


def test_supervisor_restarts_until_stopped_waiting_longer_each_time(tmp_path):
    fake = FakeTime()
    notes: list[str] = []
    health = reporter(tmp_path, fake, notes)
    run_once = scripted_runs(fake, [(0.1, UNPLUGGED)] * 4 + [(5.0, STOPPED)])

    code = Supervisor(run_once, health=health, clock=fake.clock, wait=fake.wait).run()

    assert code == 0
    assert fake.waits == [1, 2, 4, 5, 3]  # 1, 2, 4, 8 s: the 8 s wait is cut in 5 s steps for the watchdog
    assert notes.count("WATCHDOG=1") == 5
    assert notes[-2:] == ["STOPPING=1", "STATUS=Stopped."]
    assert "STATUS=The camera /dev/video0 is not there: is the webcam unplugged? Retrying in 8 s." in notes


def test_a_long_healthy_run_resets_the_wait(tmp_path):
    fake = FakeTime()
    notes: list[str] = []
    run_once = scripted_runs(
        fake,
        [(0.1, UNPLUGGED), (0.1, UNPLUGGED), (0.1, UNPLUGGED), (7200.0, UNPLUGGED), (0.1, STOPPED)],
    )

    Supervisor(run_once, health=reporter(tmp_path, fake, notes), clock=fake.clock, wait=fake.wait).run()

    assert fake.waits == [1, 2, 4, 1]


def test_stop_during_the_wait_ends_the_service(tmp_path):
    fake = FakeTime()
    fake.stop_after_waits = 1
    notes: list[str] = []
    run_once = scripted_runs(fake, [(0.1, UNPLUGGED)] * 10)

    code = Supervisor(run_once, health=reporter(tmp_path, fake, notes), clock=fake.clock, wait=fake.wait).run()

    assert code == 0
    assert fake.waits == [1]
    assert json.loads((tmp_path / "health.json").read_text())["state"] == "stopped"


def test_max_attempts_gives_up_with_exit_code_1(tmp_path):
    fake = FakeTime()
    run_once = scripted_runs(fake, [(0.1, UNPLUGGED)] * 3)
    supervisor = Supervisor(
        run_once, health=reporter(tmp_path, fake, []), clock=fake.clock, wait=fake.wait, max_attempts=3
    )

    assert supervisor.run() == 1
    assert supervisor.restarts == 3


def test_health_file_keeps_the_last_error_in_plain_words(tmp_path):
    fake = FakeTime()
    run_once = scripted_runs(fake, [(0.1, UNPLUGGED), (0.1, UNPLUGGED)])
    health = reporter(tmp_path, fake, [])
    Supervisor(run_once, health=health, clock=fake.clock, wait=fake.wait, max_attempts=2).run()

    data = json.loads((tmp_path / "health.json").read_text())

    assert data["state"] == "restarting"
    assert data["restarts"] == 2
    assert data["stream_name"] == "greeter-entrance"
    assert data["last_error"] == "The camera /dev/video0 is not there: is the webcam unplugged?"
    assert data["last_error_detail"] == "v4l2src0: ..."
    assert data["next_attempt_at"] == pytest.approx(fake.now + 2)


def test_streaming_shows_in_systemctl_status_and_the_health_file(tmp_path):
    fake = FakeTime()
    notes: list[str] = []
    health = reporter(tmp_path, fake, notes)

    health.streaming("Streaming 1280x720 at 30 fps (x264enc) to greeter-entrance.")

    assert notes == ["STATUS=Streaming 1280x720 at 30 fps (x264enc) to greeter-entrance."]
    assert json.loads((tmp_path / "health.json").read_text())["state"] == "streaming"


def test_status_text_reads_like_a_sentence():
    data = {
        "state": "restarting",
        "summary": "The camera /dev/video0 is not there. Retrying in 8 s.",
        "since": 1000.0,
        "stream_name": "greeter-entrance",
        "restarts": 4,
        "last_error": "The camera /dev/video0 is not there.",
        "last_error_at": 940.0,
        "next_attempt_at": 1008.0,
    }

    text = describe_health(data, now=1003.0)

    assert text.splitlines() == [
        "Camera: restarting since 3 s ago: The camera /dev/video0 is not there. Retrying in 8 s.",
        "Stream: greeter-entrance",
        "Restarts since the service started: 4",
        "Last error (63 s ago): The camera /dev/video0 is not there.",
        "Next attempt in 5 s",
    ]


def test_an_unwritable_health_file_does_not_stop_the_camera(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    health = HealthReporter(str(blocker / "health.json"), notify=lambda _m: True)

    health.failed(UNPLUGGED, retry_in=1, restarts=1)

    assert health.state.last_error == UNPLUGGED.message
