"""statemachines/store_hours.asl.json executed by moto's Step Functions, from template.yaml, with the real
store-hours function and the shared Rekognition fake (see conftest.py for what is real and what is bent)."""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from moto.scheduler.exceptions import ValidationException
from moto.scheduler.models import EventBridgeSchedulerBackend

from local.rekognition import RekognitionError

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
POLL_SECONDS, MAX_CHECKS = 10, 30  # the ASL's WaitForStreamProcessor and StillChanging


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
    # what a run that changes nothing costs, once the schedules exist (bench/store_hours_cost.py)
    assert len(closing.states_entered()) == 12
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


def test_start_stuck_in_starting_gives_up_after_bounded_polling(store):
    store.rekognition.processor_outcome[store.processor("entrance")] = "STUCK"
    run = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert run.status == "FAILED" and run.error == "CamerasNotInWantedState"
    assert store.clock.waits == [POLL_SECONDS] * MAX_CHECKS
    assert store.calls("DescribeStreamProcessor") == 1 + MAX_CHECKS
    assert store.calls("StartStreamProcessor") == 1  # never started twice
    entrance = cameras(run)["entrance"]
    assert entrance["status"] == "STARTING"
    assert f"is STARTING after {MAX_CHECKS} checks, not RUNNING" in entrance["problem"]
    assert len(store.ops_messages()) == 1


def test_throttling_is_retried_with_backoff_then_succeeds(store):
    store.rekognition.fail("DescribeStreamProcessor", "ProvisionedThroughputExceededException", times=1)
    store.rekognition.fail("StartStreamProcessor", "ThrottlingException", times=2)
    run = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert run.status == "SUCCEEDED" and store.status("entrance") == "RUNNING"
    assert store.calls("StartStreamProcessor") == 3
    assert len(store.clock.retry_sleeps) == 3
    assert all(0 <= seconds <= 30 for seconds in store.clock.retry_sleeps)  # full jitter under the 30 s cap


def test_throttling_that_never_ends_is_reported(store):
    store.rekognition.fail("StartStreamProcessor", "ThrottlingException", times=100)
    run = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert run.status == "FAILED"
    assert store.calls("StartStreamProcessor") == 1 + 6  # the first try and MaxAttempts (6) retries
    assert len(store.clock.retry_sleeps) == 6
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
    opening = store.schedule("opening")
    assert opening["ScheduleExpression"] == "at(2026-10-25T10:00:00)"
    assert opening["ScheduleExpressionTimezone"] == "Europe/London"


def test_new_york_store_opens_on_its_own_clock_change_day(store_hours_factory):
    store = store_hours_factory(StoreTimeZone="America/New_York")
    # Sunday 8 March 2026, New York springs forward: 14:05 UTC is 10:05 EDT.
    run = store.run({"trigger": "reconcile"}, at=datetime(2026, 3, 8, 14, 5, tzinfo=UTC))
    assert run.status == "SUCCEEDED" and store.status("entrance") == "RUNNING"
    assert store.schedule("closing")["ScheduleExpression"] == "at(2026-03-08T16:00:00)"
    assert store.schedule("closing")["ScheduleExpressionTimezone"] == "America/New_York"


def test_closed_date_keeps_detection_off_all_day_and_special_hours_close_early(store):
    store.set_special_days({"closed_dates": ["2026-05-11"], "special_hours": {"2026-12-24": "09:00-14:00"}})
    opening = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert opening.status == "SUCCEEDED" and store.status("entrance") == "STOPPED"
    assert opening.output["decision"]["reason"] == "closed (closed date 2026-05-11)"
    store.set_status("entrance", "RUNNING")  # someone started it by hand
    midday = store.run({"trigger": "reconcile"}, at=london(2026, 5, 11, 12, 5))
    assert midday.status == "SUCCEEDED" and store.status("entrance") == "STOPPED"
    # and the next opening skips the closed date
    assert store.schedule("opening")["ScheduleExpression"] == "at(2026-05-12T09:00:00)"
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
def test_each_run_keeps_the_next_opening_and_closing_schedules(store):
    first = store.run({"trigger": "opening"}, at=MONDAY_OPENING)
    assert "CreateBoundarySchedule" in first.states_entered()
    opening, closing = store.schedule("opening"), store.schedule("closing")
    assert opening["ScheduleExpression"] == "at(2026-05-12T09:00:00)"
    assert closing["ScheduleExpression"] == "at(2026-05-11T18:00:00)"
    assert opening["ScheduleExpressionTimezone"] == closing["ScheduleExpressionTimezone"] == "Europe/London"
    assert opening["Target"]["Arn"] == store.state_machine_arn
    assert opening["Target"]["RoleArn"] == store.stack.get_att("StoreHoursSchedulerRole", "Arn")
    assert json.loads(opening["Target"]["Input"]) == {"trigger": "opening"}
    assert json.loads(closing["Target"]["Input"]) == {"trigger": "closing"}
    assert opening["FlexibleTimeWindow"] == {"Mode": "OFF"}
    second = store.run({"trigger": "closing"}, at=MONDAY_CLOSING)
    assert "CreateBoundarySchedule" not in second.states_entered()  # updated in place
    assert store.schedule("closing")["ScheduleExpression"] == "at(2026-05-12T18:00:00)"
    # and the template's reconcile schedule, in the same group, every 10 minutes in store time
    reconcile = store.schedule(store.stack.ref("StoreHoursReconcileSchedule"))
    assert reconcile["ScheduleExpression"] == "cron(5/10 * * * ? *)"
    assert reconcile["ScheduleExpressionTimezone"] == "Europe/London"
    assert reconcile["Target"]["Arn"] == store.state_machine_arn
    assert json.loads(reconcile["Target"]["Input"]) == {"trigger": "reconcile"}


def test_schedules_that_cannot_be_kept_fail_the_run_after_the_cameras_are_done(store, monkeypatch):
    def refuse(self, **kwargs):
        raise ValidationException("injected: schedule refused")

    monkeypatch.setattr(EventBridgeSchedulerBackend, "update_schedule", refuse)
    monkeypatch.setattr(EventBridgeSchedulerBackend, "create_schedule", refuse)
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
    again = store.run({"trigger": "reconcile"}, at=london(2026, 5, 11, 10, 5))
    assert again.status == "SUCCEEDED"
    assert store.frame_search_item("entrance")["changed_at"] == first_change  # unchanged: no write
    closing = store.run({"trigger": "closing"}, at=MONDAY_CLOSING)
    assert closing.status == "SUCCEEDED"
    assert store.frame_search_item("entrance")["detection"] == {"S": "STOPPED"}
    assert store.frame_search_item("till")["changed_by"]["S"] == f"store-hours {closing.arn.split(':')[-1]}"
