"""statemachines/store_hours.asl.json executed by moto's Step Functions, from template.yaml, with the real
store-hours function and the shared Rekognition fake (see conftest.py for what is real and what is bent)."""

import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
from moto.dynamodb.models import DynamoDBBackend
from moto.scheduler.exceptions import ValidationException
from moto.scheduler.models import EventBridgeSchedulerBackend
from moto.sns.exceptions import SNSException
from moto.sns.models import SNSBackend

from local.rekognition import RekognitionError

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
POLL_SECONDS = 10  # the ASL's WaitForStreamProcessor
CAMERA_SECONDS = 240  # the template's CAMERA_SECONDS: how long a run waits for its cameras


def london(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


MONDAY_OPENING = london(2026, 5, 11, 9, 0, 1)
MONDAY_CLOSING = london(2026, 5, 11, 18, 0, 1)


def cameras(run) -> dict[str, dict]:
    results = run.output["cameras"] if run.output else json.loads(run.cause)
    return {result["camera"]: result for result in results}


# ---------------------------------------------------------------------- opening and closing
def test_opening_starts_a_stopped_processor_and_waits_until_it_runs(store):
    run = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert run.status == "SUCCEEDED"
    assert store.status("entrance") == "RUNNING"
    assert store.calls("StartStreamProcessor", "entrance") == 1
    assert store.calls("DescribeStreamProcessor", "entrance") == 2  # before, and one poll after the start
    assert store.clock.waits == [POLL_SECONDS]
    assert run.output["decision"]["reason"] == "open (Monday hours 09:00-18:00)"
    assert cameras(run) == {"entrance": {"camera": "entrance", "wanted": "RUNNING", "ok": True}}
    assert store.ops_messages() == []


def test_rerunning_is_safe_opening_a_running_and_closing_a_stopped_processor_changes_nothing(store):
    store.set_status("entrance", "RUNNING")
    opening = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert opening.status == "SUCCEEDED" and store.status("entrance") == "RUNNING"
    store.set_status("entrance", "STOPPED")
    closing = store.run({"trigger": "closing"}, at=MONDAY_CLOSING)
    assert closing.status == "SUCCEEDED" and store.status("entrance") == "STOPPED"
    quiet = store.run({"trigger": "reconcile"}, at=MONDAY_CLOSING + timedelta(minutes=5))
    assert quiet.status == "SUCCEEDED"
    # what a run that changes nothing costs, once the schedules exist (bench/store_hours_cost.py)
    assert len(quiet.states_entered()) == 17
    assert store.calls("StartStreamProcessor") == 0 and store.calls("StopStreamProcessor") == 0
    assert store.clock.waits == []


def test_closing_stops_a_running_processor_and_waits_until_it_stopped(store):
    store.set_status("entrance", "RUNNING")
    run = store.run({"trigger": "closing"}, at=MONDAY_CLOSING)
    assert run.status == "SUCCEEDED" and store.status("entrance") == "STOPPED"
    assert store.calls("StopStreamProcessor", "entrance") == 1
    assert store.clock.waits == [POLL_SECONDS]
    assert run.output["decision"]["wanted"] == "STOPPED"


def test_a_failed_processor_is_restarted_at_opening(store):
    store.set_status("entrance", "FAILED")
    run = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert run.status == "SUCCEEDED" and store.status("entrance") == "RUNNING"


# ---------------------------------------------------------------------- what goes wrong
def test_start_that_ends_failed_is_reported_with_rekognitions_status_message(store):
    store.rekognition.processor_outcome[store.processor("entrance")] = "FAILED"
    run = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert run.status == "FAILED" and run.error == "CamerasNotInWantedState"
    entrance = cameras(run)["entrance"]
    assert entrance["ok"] is False and entrance["status"] == "FAILED"
    assert "Unable to read from the Kinesis video stream: access denied." in entrance["problem"]
    (message,) = store.ops_messages()
    assert message["Subject"] == "Greeter: entrance camera detection is not RUNNING"
    assert "Unable to read from the Kinesis video stream: access denied." in message["Message"]
    assert "Why RUNNING: open (Monday hours 09:00-18:00)" in message["Message"]
    assert run.arn in message["Message"]


def test_start_stuck_in_starting_gives_up_at_the_camera_deadline(store):
    store.rekognition.processor_outcome[store.processor("entrance")] = "STUCK"
    run = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert run.status == "FAILED" and run.error == "CamerasNotInWantedState"
    checks = len(store.clock.waits)
    # 240 s of 10 s polls (fewer when the machine is slow: real seconds pass on the travelled clock too)
    assert store.clock.waits == [POLL_SECONDS] * checks and 20 <= checks <= CAMERA_SECONDS // POLL_SECONDS
    assert store.calls("DescribeStreamProcessor") == 1 + checks
    assert store.calls("StartStreamProcessor") == 1  # never started twice
    entrance = cameras(run)["entrance"]
    assert entrance["status"] == "STARTING"
    assert f"is STARTING after {checks} checks, not RUNNING" in entrance["problem"]
    assert len(store.ops_messages()) == 1


def test_throttling_is_retried_with_backoff_then_succeeds(store):
    store.rekognition.fail("DescribeStreamProcessor", "ProvisionedThroughputExceededException", times=1)
    store.rekognition.fail("StartStreamProcessor", "ThrottlingException", times=2)
    run = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert run.status == "SUCCEEDED" and store.status("entrance") == "RUNNING"
    assert store.calls("StartStreamProcessor") == 3
    assert len(store.clock.retry_sleeps) == 3
    assert all(0 <= seconds <= 8 for seconds in store.clock.retry_sleeps)  # full jitter under the 8 s cap


def test_throttling_that_never_ends_is_reported(store):
    store.rekognition.fail("StartStreamProcessor", "ThrottlingException", times=100)
    run = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert run.status == "FAILED"
    assert store.calls("StartStreamProcessor") == 1 + 3  # the first try and MaxAttempts (3) retries
    assert len(store.clock.retry_sleeps) == 3
    assert cameras(run)["entrance"]["problem"].startswith("Rekognition.ThrottlingException: ")


def test_cameras_where_one_fails_notifies_ops_about_that_one_and_fails_the_run(store_hours_factory):
    store = store_hours_factory(Cameras="entrance,till,back-door")
    store.rekognition.processor_outcome[store.processor("till")] = "FAILED"
    run = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert run.status == "FAILED" and run.error == "CamerasNotInWantedState"
    assert store.status("entrance") == store.status("back-door") == "RUNNING" and store.status("till") == "FAILED"
    results = cameras(run)
    assert results["entrance"]["ok"] is results["back-door"]["ok"] is True and results["till"]["ok"] is False
    (message,) = store.ops_messages()
    assert message["Subject"] == "Greeter: till camera detection is not RUNNING"
    assert "entrance" not in message["Message"] and "back-door" not in message["Message"]


def test_missing_processor_is_reported(store):
    del store.rekognition.processors[store.processor("entrance")]
    run = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert run.status == "FAILED"
    entrance = cameras(run)["entrance"]
    assert entrance["status"] == "MISSING"
    assert f"there is no stream processor named {store.processor('entrance')}" in entrance["problem"]
    assert "no stream processor" in store.ops_messages()[0]["Message"]


def test_starting_or_stopping_one_another_run_just_changed_is_not_an_error(store, monkeypatch):
    """ResourceInUseException: another run (say the reconcile at the same minute) got there first."""
    fake = store.rekognition
    really_start, really_stop = fake.start_stream_processor, fake.stop_stream_processor

    def start_after_another_run(params):
        really_start(params)
        raise RekognitionError("ResourceInUseException", f"Stream processor {params['Name']} is STARTING.")

    def stop_after_another_run(params):
        really_stop(params)
        raise RekognitionError("ResourceInUseException", f"Stream processor {params['Name']} is STOPPING.")

    monkeypatch.setattr(fake, "start_stream_processor", start_after_another_run)
    monkeypatch.setattr(fake, "stop_stream_processor", stop_after_another_run)
    opening = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert opening.status == "SUCCEEDED" and store.status("entrance") == "RUNNING"
    closing = store.run({"trigger": "closing"}, at=MONDAY_CLOSING)
    assert closing.status == "SUCCEEDED" and store.status("entrance") == "STOPPED"
    assert store.ops_messages() == []


def test_reconcile_runs_report_a_broken_camera_by_email_once_an_hour(store):
    store.rekognition.processor_outcome[store.processor("entrance")] = "FAILED"
    quiet = store.run({"trigger": "reconcile"}, at=london(2026, 5, 11, 14, 25))
    assert quiet.status == "FAILED"  # the failed-runs alarm sees it
    assert store.ops_messages() == []
    told = store.run({"trigger": "reconcile"}, at=london(2026, 5, 11, 15, 5))
    assert told.status == "FAILED" and len(store.ops_messages()) == 1


def test_input_not_understood_fails_the_run_without_touching_a_camera(store):
    run = store.run({"action": "opne"}, at=MONDAY_OPENING)
    assert run.status == "FAILED" and run.error == "InvalidRequest"
    assert "action" in json.loads(run.cause)["errorMessage"]
    assert store.calls("DescribeStreamProcessor") == store.calls("StartStreamProcessor") == 0


# ---------------------------------------------------------------------- the calendar through the state machine
def test_reconcile_at_three_in_the_morning_stops_a_processor_left_running(store):
    store.set_status("entrance", "RUNNING")
    run = store.run({"trigger": "reconcile"}, at=london(2026, 5, 12, 3, 5))
    assert run.status == "SUCCEEDED" and store.status("entrance") == "STOPPED"
    assert run.output["decision"]["reason"] == "closed (Tuesday hours 09:00-18:00)"


def test_reconcile_in_opening_hours_starts_a_processor_a_missed_opening_left_stopped(store):
    run = store.run({"trigger": "reconcile"}, at=london(2026, 5, 11, 9, 5))
    assert run.status == "SUCCEEDED" and store.status("entrance") == "RUNNING"


def test_clock_change_days_follow_the_shop_clock(store):
    # Sunday 29 March 2026 (London springs forward), Sunday hours 10:00-16:00: 09:05 UTC is 10:05 BST, open.
    spring = store.run({"trigger": "reconcile"}, at=datetime(2026, 3, 29, 9, 5, tzinfo=UTC))
    assert spring.status == "SUCCEEDED" and store.status("entrance") == "RUNNING"
    assert spring.output["decision"]["local_time"] == "2026-03-29T10:05:00+01:00"
    # Sunday 25 October 2026 (falls back): 09:35 UTC is 09:35 GMT, not yet open (BST would say 10:35, open).
    autumn = store.run({"trigger": "reconcile"}, at=datetime(2026, 10, 25, 9, 35, tzinfo=UTC))
    assert autumn.status == "SUCCEEDED" and store.status("entrance") == "STOPPED"
    opening = store.schedule("opening-20261025T1000Z")
    assert opening["ScheduleExpression"] == "at(2026-10-25T10:00:00)"
    assert opening["ScheduleExpressionTimezone"] == "Europe/London"


def test_new_york_store_opens_on_its_own_clock_change_day(store_hours_factory):
    store = store_hours_factory(StoreTimeZone="America/New_York")
    # Sunday 8 March 2026, New York springs forward: 14:05 UTC is 10:05 EDT.
    run = store.run({"trigger": "reconcile"}, at=datetime(2026, 3, 8, 14, 5, tzinfo=UTC))
    assert run.status == "SUCCEEDED" and store.status("entrance") == "RUNNING"
    closing = store.schedule("closing-20260308T2000Z")  # 16:00 EDT
    assert closing["ScheduleExpression"] == "at(2026-03-08T16:00:00)"
    assert closing["ScheduleExpressionTimezone"] == "America/New_York"


def test_closed_date_keeps_detection_off_all_day_and_special_hours_close_early(store):
    store.set_special_days({"closed_dates": ["2026-05-11"], "special_hours": {"2026-12-24": "09:00-14:00"}})
    opening = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert opening.status == "SUCCEEDED" and store.status("entrance") == "STOPPED"
    assert opening.output["decision"]["reason"] == "closed (closed date 2026-05-11)"
    store.set_status("entrance", "RUNNING")  # someone started it by hand
    midday = store.run({"trigger": "reconcile"}, at=london(2026, 5, 11, 12, 5))
    assert midday.status == "SUCCEEDED" and store.status("entrance") == "STOPPED"
    # and the next opening skips the closed date
    assert store.schedule("opening-20260512T0800Z")["ScheduleExpression"] == "at(2026-05-12T09:00:00)"
    store.set_status("entrance", "RUNNING")
    christmas_eve = store.run({"trigger": "reconcile"}, at=london(2026, 12, 24, 14, 5))
    assert christmas_eve.status == "SUCCEEDED" and store.status("entrance") == "STOPPED"
    assert christmas_eve.output["decision"]["reason"] == "closed (special hours 2026-12-24 09:00-14:00)"


# ---------------------------------------------------------------------- the manual override
def test_manual_close_is_respected_until_the_next_scheduled_boundary(store):
    store.set_status("entrance", "RUNNING")
    closed = store.run({"action": "close", "reason": "stocktake"}, at=london(2026, 5, 11, 11, 0))
    assert closed.status == "SUCCEEDED" and store.status("entrance") == "STOPPED"
    assert store.override()["action"] == "close"
    assert datetime.fromisoformat(store.override()["until"]) == london(2026, 5, 11, 18, 0)
    respected = store.run({"trigger": "reconcile"}, at=london(2026, 5, 11, 14, 5))
    assert respected.status == "SUCCEEDED" and store.status("entrance") == "STOPPED"  # the hours say open
    assert store.calls("StartStreamProcessor") == 0
    assert respected.output["decision"]["reason"].startswith("manual override: close until 18:00")
    next_day = store.run({"trigger": "opening"}, at=london(2026, 5, 12, 9, 0, 1))
    assert next_day.status == "SUCCEEDED" and store.status("entrance") == "RUNNING"
    assert store.override() == {}


def test_manual_open_for_an_event_after_hours_with_an_end_time(store):
    opened = store.run({"action": "open", "until": "22:00", "reason": "launch party"}, at=london(2026, 5, 11, 19, 0))
    assert opened.status == "SUCCEEDED" and store.status("entrance") == "RUNNING"
    during = store.run({"trigger": "reconcile"}, at=london(2026, 5, 11, 21, 45))
    assert during.status == "SUCCEEDED" and store.status("entrance") == "RUNNING"
    after = store.run({"trigger": "reconcile"}, at=london(2026, 5, 11, 22, 5))
    assert after.status == "SUCCEEDED" and store.status("entrance") == "STOPPED"


def test_resume_returns_to_the_hours_at_once(store):
    store.run({"action": "close"}, at=london(2026, 5, 11, 11, 0))
    resumed = store.run({"action": "resume"}, at=london(2026, 5, 11, 11, 30))
    assert resumed.status == "SUCCEEDED" and store.status("entrance") == "RUNNING"
    assert store.override() == {}


# ---------------------------------------------------------------------- the opening and closing schedules
def test_each_run_makes_sure_the_next_opening_and_closing_schedules_exist(store):
    first = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert first.states_entered().count("CreateBoundarySchedule") == 2
    schedules = store.boundary_schedules()
    assert sorted(schedules) == ["closing-20260511T1700Z", "opening-20260512T0800Z"]
    opening, closing = schedules["opening-20260512T0800Z"], schedules["closing-20260511T1700Z"]
    assert opening["ScheduleExpression"] == "at(2026-05-12T09:00:00)"
    assert closing["ScheduleExpression"] == "at(2026-05-11T18:00:00)"
    assert opening["ScheduleExpressionTimezone"] == closing["ScheduleExpressionTimezone"] == "Europe/London"
    assert opening["Target"]["Arn"] == store.state_machine_arn
    assert opening["Target"]["RoleArn"] == store.stack.get_att("StoreHoursSchedulerRole", "Arn")
    assert json.loads(opening["Target"]["Input"]) == {"trigger": "opening"}
    assert json.loads(closing["Target"]["Input"]) == {"trigger": "closing"}
    assert opening["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert opening["ActionAfterCompletion"] == closing["ActionAfterCompletion"] == "DELETE"  # gone once run
    again = store.run({"trigger": "reconcile"}, at=london(2026, 5, 11, 12, 5))
    assert again.status == "SUCCEEDED" and again.states_entered().count("BoundaryScheduleKept") == 2  # both exist
    second = store.run({"trigger": "closing"}, at=MONDAY_CLOSING)
    assert second.status == "SUCCEEDED"
    assert sorted(store.boundary_schedules()) == [
        "closing-20260511T1700Z",  # Scheduler deletes it after it has run; moto's Scheduler never runs one
        "closing-20260512T1700Z",
        "opening-20260512T0800Z",
    ]
    assert store.boundary_schedules()["closing-20260512T1700Z"]["ScheduleExpression"] == "at(2026-05-12T18:00:00)"
    # and the template's reconcile schedule, in the same group, every 10 minutes in store time
    reconcile = store.schedule(store.stack.ref("StoreHoursReconcileSchedule"))
    assert reconcile["ScheduleExpression"] == "cron(5/10 * * * ? *)"
    assert reconcile["ScheduleExpressionTimezone"] == "Europe/London"
    assert reconcile["Target"]["Arn"] == store.state_machine_arn
    assert json.loads(reconcile["Target"]["Input"]) == {"trigger": "reconcile"}


def test_schedules_that_cannot_be_kept_fail_the_run_after_the_cameras_are_done(store, monkeypatch):
    _refuse_schedules(monkeypatch)
    run = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert store.status("entrance") == "RUNNING"
    assert run.status == "FAILED" and run.error == "OpeningClosingSchedulesNotKept"
    assert "schedule refused" in run.cause


# ---------------------------------------------------------------------- frame-search mode
def test_frame_search_mode_switches_detection_in_the_state_table(store_hours_factory):
    store = store_hours_factory(DetectionMode="FrameSearch", Cameras="entrance,till,back-door")
    opening = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert opening.status == "SUCCEEDED"
    assert sorted(cameras(opening)) == ["back-door", "entrance", "till"]
    for camera in ("entrance", "till", "back-door"):
        item = store.frame_search_item(camera)
        assert item["detection"] == {"S": "RUNNING"}
        assert item["changed_by"]["S"] == f"store-hours {opening.arn.split(':')[-1]}"
        assert abs(datetime.fromisoformat(item["changed_at"]["S"]) - MONDAY_OPENING) < timedelta(seconds=5)
    assert not any("StreamProcessor" in name for name, _ in store.rekognition.calls)  # none in this mode
    first_change = store.frame_search_item("entrance")["changed_at"]
    first_decision = store.frame_search_item("entrance")["decided_at"]
    again = store.run({"trigger": "reconcile"}, at=london(2026, 5, 11, 10, 5))
    assert again.status == "SUCCEEDED"
    assert store.frame_search_item("entrance")["changed_at"] == first_change  # unchanged: no change made
    assert store.frame_search_item("entrance")["decided_at"]["S"] > first_decision["S"]  # but confirmed by it
    closing = store.run({"trigger": "closing"}, at=MONDAY_CLOSING)
    assert closing.status == "SUCCEEDED"
    assert store.frame_search_item("entrance")["detection"] == {"S": "STOPPED"}
    assert store.frame_search_item("till")["changed_by"]["S"] == f"store-hours {closing.arn.split(':')[-1]}"


def _refuse_schedules(monkeypatch) -> None:
    def refuse(self, **kwargs):
        raise ValidationException("injected: schedule refused")

    monkeypatch.setattr(EventBridgeSchedulerBackend, "create_schedule", refuse)


def test_a_camera_failure_and_a_schedule_failure_in_one_run_are_both_reported(store, monkeypatch):
    _refuse_schedules(monkeypatch)
    store.rekognition.processor_outcome[store.processor("entrance")] = "FAILED"
    run = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert run.status == "FAILED" and run.error == "CamerasNotInWantedStateAndSchedulesNotKept"
    assert "Unable to read from the Kinesis video stream: access denied." in run.cause
    assert "Opening/closing schedules: " in run.cause and "schedule refused" in run.cause
    assert len(store.ops_messages()) == 1  # the camera's own email, as always


# ---------------------------------------------------------------------- runs that overlap
def test_a_slow_reconcile_overtaken_by_the_closing_run_neither_alarms_nor_undoes_it_nor_moves_its_schedules(store):
    """17:55: the reconcile restarts a crashed processor and polls. 18:00: the closing run stops it and
    keeps tomorrow's schedules. 18:01: the reconcile, still polling, finds it STOPPED."""
    store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    store.set_status("entrance", "FAILED")
    starts = store.calls("StartStreamProcessor")
    slow = uuid.uuid4().hex
    reached, release = store.clock.hold(slow)
    with store.clock.at(london(2026, 5, 11, 17, 55)):
        slow_arn = store.start({"trigger": "reconcile"}, name=slow)
        assert reached.wait(10)  # it started the processor and waits to look again
        store.clock.move_to(MONDAY_CLOSING)
        closing = store.finish(store.start({"trigger": "closing"}))
        assert closing.status == "SUCCEEDED" and store.status("entrance") == "STOPPED"
        after_closing = {name: s["ScheduleExpression"] for name, s in store.boundary_schedules().items()}
        store.clock.move_to(london(2026, 5, 11, 18, 1))
        release.set()
        late = store.finish(slow_arn)
    assert late.status == "SUCCEEDED"
    entrance = cameras(late)["entrance"]
    assert entrance["ok"] is True and entrance["superseded"].startswith("STOPPED is wanted now: closed (Monday")
    assert store.status("entrance") == "STOPPED"
    assert store.calls("StartStreamProcessor") == starts + 1  # its own restart at 17:55; never again after 18:00
    assert store.ops_messages() == []
    assert "BoundaryPassed" in late.states_entered()  # its 18:00 closing is past: left to the closing run
    assert {name: s["ScheduleExpression"] for name, s in store.boundary_schedules().items()} == after_closing
    assert after_closing["closing-20260512T1700Z"] == "at(2026-05-12T18:00:00)"


def test_a_run_does_not_report_a_camera_that_a_managers_later_override_changed(store):
    store.set_status("entrance", "FAILED")
    slow = uuid.uuid4().hex
    reached, release = store.clock.hold(slow)
    with store.clock.at(london(2026, 5, 11, 14, 5)):  # a reconcile that emails ops (first of the hour)
        slow_arn = store.start({"trigger": "reconcile"}, name=slow)
        assert reached.wait(10)
        close = store.finish(store.start({"action": "close", "reason": "stocktake"}))
        assert close.status == "SUCCEEDED" and store.status("entrance") == "STOPPED"
        release.set()
        reconcile = store.finish(slow_arn)
    assert reconcile.status == "SUCCEEDED"
    entrance = cameras(reconcile)["entrance"]
    assert entrance["superseded"].startswith("STOPPED is wanted now: manual override: close until 18:00")
    assert "SecondLook" in reconcile.states_entered() and "DecisionOutdated" not in reconcile.states_entered()
    assert store.ops_messages() == []
    assert store.status("entrance") == "STOPPED"


def test_a_run_whose_decision_expired_carries_on_when_the_second_look_still_wants_the_same(store, monkeypatch):
    """17:57:30: a reconcile starts a crashed processor (slow to come up). 17:58: a manager keeps the store open
    until 22:00 (the override is stored). 18:00:05: the reconcile, past its decision's 18:00, asks again, is
    told RUNNING, and waits it out."""
    store.set_status("entrance", "FAILED")
    monkeypatch.setattr(store.rekognition, "settle_after", 3)
    slow = uuid.uuid4().hex
    reached, release = store.clock.hold(slow)
    with store.clock.at(london(2026, 5, 11, 17, 57, 30)):
        slow_arn = store.start({"trigger": "reconcile"}, name=slow)
        assert reached.wait(10)
        store.set_override(
            {"action": "open", "until": "2026-05-11T22:00:00+01:00", "set_at": "2026-05-11T17:58:00+01:00"}
        )
        store.clock.move_to(london(2026, 5, 11, 17, 59, 55))
        release.set()
        late = store.finish(slow_arn)
    assert late.status == "SUCCEEDED" and cameras(late)["entrance"] == {
        "camera": "entrance",
        "wanted": "RUNNING",
        "ok": True,
    }
    entered = late.states_entered()
    second_look = ["DecisionOutdated", "SecondLook", "AfterSecondLook", "DecisionRenewed"]
    assert [name for name in entered if name in second_look] == second_look
    assert store.status("entrance") == "RUNNING" and store.ops_messages() == []


def test_frame_search_an_older_runs_late_write_never_lands_over_a_newer_runs(store_hours_factory):
    store = store_hours_factory(DetectionMode="FrameSearch")
    slow = uuid.uuid4().hex
    reached, release = store.lambdas.hold(slow)
    with store.clock.at(london(2026, 5, 11, 17, 55)):
        slow_arn = store.start({"trigger": "reconcile"}, name=slow)
        assert reached.wait(10)  # decided RUNNING at 17:55; the answer is slow to arrive
        store.clock.move_to(MONDAY_CLOSING)
        closing = store.finish(store.start({"trigger": "closing"}))
        release.set()
        late = store.finish(slow_arn)
    assert closing.status == late.status == "SUCCEEDED"
    item = store.frame_search_item("entrance")
    assert item["detection"] == {"S": "STOPPED"}
    assert item["changed_by"]["S"] == f"store-hours {closing.arn.split(':')[-1]}"
    assert cameras(late)["entrance"] == {
        "camera": "entrance",
        "wanted": "RUNNING",
        "ok": True,
        "superseded": "a newer run decided this camera's state",
    }


# ---------------------------------------------------------------------- time limits and error names
def test_a_camera_stuck_while_throttled_is_reported_well_before_the_next_reconcile(store, monkeypatch):
    store.rekognition.processor_outcome[store.processor("entrance")] = "STUCK"
    fake, calls = store.rekognition, itertools.count()
    really_describe = fake.describe_stream_processor

    def mostly_throttled(params):
        if next(calls) % 4:  # three of every four looks are throttled; the fourth says STARTING
            raise RekognitionError("ThrottlingException", "Rate exceeded")
        return really_describe(params)

    monkeypatch.setattr(fake, "describe_stream_processor", mostly_throttled)
    run = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert run.status == "FAILED" and cameras(run)["entrance"]["status"] == "STARTING"
    (message,) = store.ops_messages()
    assert message["Subject"] == "Greeter: entrance camera detection is not RUNNING"
    waited = sum(store.clock.waits) + sum(store.clock.retry_sleeps)
    assert CAMERA_SECONDS - 30 <= waited <= CAMERA_SECONDS + 30  # the deadline, not 30 polls' worth of retries
    assert len(store.clock.retry_sleeps) == 3 * len(store.clock.waits)


def _fail_first(monkeypatch, backend: type, method: str, errors: list[Exception]) -> list[Exception]:
    """The next calls of a moto backend method raise these errors (as the service would answer), then work."""
    really = getattr(backend, method)

    def failing(self, *args, **kwargs):
        if errors:
            raise errors.pop(0)
        return really(self, *args, **kwargs)

    monkeypatch.setattr(backend, method, failing)
    return errors


_DYNAMODB_THROTTLING = ("RequestLimitExceeded", "InternalServerError", "ThrottlingException")


def test_dynamodb_throttling_errors_are_retried_under_the_names_the_integration_gives_them(
    store_hours_factory, monkeypatch
):
    store = store_hours_factory(DetectionMode="FrameSearch")
    errors = [DynamodbException(ERROR_TYPE_PREFIX + code, "injected") for code in _DYNAMODB_THROTTLING]
    errors[1].code = 500  # InternalServerError is a server fault
    pending = _fail_first(monkeypatch, DynamoDBBackend, "update_item", errors)
    run = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert run.status == "SUCCEEDED" and store.frame_search_item("entrance")["detection"] == {"S": "RUNNING"}
    assert pending == [] and len(store.clock.retry_sleeps) == 3


def test_sns_throttling_errors_are_retried_under_the_names_the_integration_gives_them(store, monkeypatch):
    store.rekognition.processor_outcome[store.processor("entrance")] = "FAILED"
    pending = _fail_first(
        monkeypatch,
        SNSBackend,
        "publish",
        [SNSException("Throttled", "Rate exceeded"), SNSException("KMSThrottling", "KMS rate exceeded")],
    )
    run = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert run.status == "FAILED" and pending == []
    (message,) = store.ops_messages()  # delivered on the third try
    assert message["Subject"] == "Greeter: entrance camera detection is not RUNNING"


# ---------------------------------------------------------------------- hours that cannot be read, after midnight
def test_one_mistyped_special_day_costs_only_that_entry_and_ops_are_told_which(store):
    store.set_special_days({"closed_dates": ["2026-12-25"], "special_hours": {"2026-12-24": "9:00-14:00"}})
    store.set_status("entrance", "RUNNING")
    christmas = store.run({"trigger": "opening"}, at=london(2026, 12, 25, 9, 0, 1))  # a Friday
    assert christmas.status == "SUCCEEDED" and store.status("entrance") == "STOPPED"
    assert christmas.output["decision"]["reason"] == "closed (closed date 2026-12-25)"
    (message,) = store.ops_messages()
    assert message["Subject"] == "Greeter: store hours need fixing"
    assert "special_hours entry '2026-12-24' dropped ('9:00-14:00' is not HH:MM-HH:MM" in message["Message"]
    assert "Detection is STOPPED now: closed (closed date 2026-12-25)" in message["Message"]


def test_weekday_hours_that_break_a_rule_close_that_day_and_every_run_still_works(store_hours_factory):
    store = store_hours_factory(MondayHours="09:00-09:00")  # lets the pattern through; no range at all
    store.set_status("entrance", "RUNNING")
    monday = store.run({"trigger": "reconcile"}, at=london(2026, 5, 11, 9, 5))
    assert monday.status == "SUCCEEDED" and store.status("entrance") == "STOPPED"
    (message,) = store.ops_messages()
    assert "MondayHours '09:00-09:00': '09:00-09:00' opens and closes at the same minute" in message["Message"]
    tuesday = store.run({"trigger": "reconcile"}, at=london(2026, 5, 12, 9, 25))
    assert tuesday.status == "SUCCEEDED" and store.status("entrance") == "RUNNING"
    assert store.ops_messages() == []  # a reconcile past the hour's first minutes: no email, the alarm holds


def test_a_bar_open_past_midnight_detects_until_its_closing_the_next_morning(store_hours_factory):
    store = store_hours_factory(FridayHours="18:00-02:00", SaturdayHours="closed")
    night = store.run({"trigger": "reconcile"}, at=london(2026, 5, 16, 1, 5))  # Saturday 01:05
    assert night.status == "SUCCEEDED" and store.status("entrance") == "RUNNING"
    assert night.output["decision"]["reason"] == "open (Friday hours 18:00-02:00)"
    assert sorted(store.boundary_schedules()) == ["closing-20260516T0100Z", "opening-20260517T0900Z"]  # Sunday 10:00
    assert store.schedule("closing-20260516T0100Z")["ScheduleExpression"] == "at(2026-05-16T02:00:00)"
    after = store.run({"trigger": "closing"}, at=london(2026, 5, 16, 2, 0, 1))
    assert after.status == "SUCCEEDED" and store.status("entrance") == "STOPPED"
