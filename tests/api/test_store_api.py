"""The Store screen's API: each camera's detection state as the store-hours machinery records it, today's hours in
the store's time zone (weekly hours, special days), the override in force; a manager's override starting the
store-hours state machine with the input it takes by hand, refused to other roles, checked before it starts,
safe to retry and to press twice at once."""

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import boto3
import pytest
import time_machine
from stack import ROOT, create_state_machine_on_moto
from test_roles import claims_of

LONDON = ZoneInfo("Europe/London")  # the template's default StoreTimeZone
TUESDAY_10AM = datetime(2026, 12, 1, 10, 0, tzinfo=LONDON)  # MondayHours..SaturdayHours default 09:00-18:00


@pytest.fixture
def at_tuesday_10am():
    with time_machine.travel(TUESDAY_10AM, tick=True):
        yield


def _executions(api, machine: str) -> list[dict]:
    sfn = boto3.client("stepfunctions", region_name="eu-west-1")
    return [
        sfn.describe_execution(executionArn=execution["executionArn"])
        for execution in sfn.list_executions(stateMachineArn=machine)["executions"]
    ]


def _ssm(api, logical_id: str, value: str) -> None:
    boto3.client("ssm", region_name="eu-west-1").put_parameter(
        Name=api.stack.ref(logical_id), Value=value, Type="String", Overwrite=True
    )


def test_a_fresh_store_shows_each_camera_watching_and_todays_hours(api, store_hours_machine, faults, at_tuesday_10am):
    faults.calls.clear()
    reply = api.call("store")
    # Four reads, however many cameras: the detection states in one batch, the two parameters, the latest runs.
    assert sorted(faults.calls) == [
        ("dynamodb", "BatchGetItem"),
        ("sfn", "ListExecutions"),
        ("ssm", "GetParameter"),
        ("ssm", "GetParameter"),
    ]
    assert reply.status == 200, reply.body
    store = reply.body
    # No store-hours run yet: frame search searches (a fresh stack works at once), and the screen says so.
    assert store["cameras"] == [{"camera": "entrance", "detection": "RUNNING", "changed_at": None}]
    assert store["today"] == {
        "date": "2026-12-01",
        "hours": "09:00-18:00",
        "why": "Tuesday hours 09:00-18:00",
        "open_by_hours": True,
        "next_opening": "2026-12-02T09:00:00+00:00",
        "next_closing": "2026-12-01T18:00:00+00:00",
    }
    assert store["wanted"] == "RUNNING" and store["override"] is None and store["last_request"] is None
    assert store["detection_mode"] == "FrameSearch" and store["time_zone"] == "Europe/London"
    assert store["may_override"] is True
    assert api.call("store", claims=claims_of("tablet")).body["may_override"] is False


def test_the_screen_reads_what_the_state_machine_and_the_store_hours_function_wrote(
    api, store_hours_machine, at_tuesday_10am
):
    # What SetFrameSearchDetection writes for a camera, and what the store-hours function keeps for an override.
    boto3.client("dynamodb", region_name="eu-west-1").put_item(
        TableName=api.stack.ref("FrameSearchStateTable"),
        Item={
            "pk": {"S": "camera#entrance"},
            "detection": {"S": "STOPPED"},
            "decided_at": {"S": "2026-12-01T09:55:00.000000Z"},
            "changed_at": {"S": "2026-12-01T09:55:00.123Z"},
            "changed_by": {"S": "store-hours staff-close-0123"},
        },
    )
    _ssm(
        api,
        "StoreHoursOverrideParameter",
        json.dumps(
            {
                "action": "close",
                "until": "2026-12-01T14:00:00+00:00",
                "set_at": "2026-12-01T09:55:00+00:00",
                "set_by": "arn:aws:states:eu-west-1:123456789012:execution:x:staff-close-0123",
                "reason": "stocktaking",
            }
        ),
    )
    # Staff typed a special day for today, and a mistyped entry that is dropped and named.
    _ssm(
        api,
        "StoreHoursSpecialDaysParameter",
        json.dumps({"special_hours": {"2026-12-01": "09:00-13:00", "2026-13-01": "10:00-12:00"}}),
    )

    store = api.call("store").body

    assert store["cameras"] == [
        {"camera": "entrance", "detection": "STOPPED", "changed_at": "2026-12-01T09:55:00+00:00"}
    ]
    assert store["override"] == {
        "action": "close",
        "until": "2026-12-01T14:00:00+00:00",
        "set_at": "2026-12-01T09:55:00+00:00",
        "reason": "stocktaking",
    }
    assert store["wanted"] == "STOPPED"
    assert (store["today"]["hours"], store["today"]["why"]) == ("09:00-13:00", "special hours 2026-12-01 09:00-13:00")
    assert store["calendar_problems"] == [
        "special days: special_hours entry '2026-13-01' dropped: not a date (YYYY-MM-DD)"
    ]


def test_an_override_that_has_ended_is_not_shown(api, store_hours_machine, at_tuesday_10am):
    ended = {"action": "open", "until": "2026-12-01T09:00:00+00:00", "set_at": "2026-12-01T07:00:00+00:00"}
    _ssm(api, "StoreHoursOverrideParameter", json.dumps(ended))
    assert api.call("store").body["override"] is None


def test_a_managers_override_starts_the_state_machine_with_its_manual_input(
    api, store_hours_machine, everything, at_tuesday_10am
):
    reply = api.call(
        "store-override",
        body={"action": "close", "until": "14:00", "reason": "stocktaking"},
        headers={"Idempotency-Key": "press-0001-close"},
    )
    assert reply.status == 202, reply.body
    assert reply.body["action"] == "close" and reply.body["until"] == "2026-12-01T14:00:00+00:00"
    (execution,) = _executions(api, store_hours_machine)
    # The input a manager would give the state machine by hand (the store-hours function's ExecutionInput).
    assert json.loads(execution["input"]) == {"action": "close", "until": "14:00", "reason": "stocktaking"}
    assert execution["name"] == reply.body["execution"] and execution["name"].startswith("staff-close-")
    audit = [entry for entry in everything().staff_audit if entry["action"] == "override_store_hours"]
    assert [(entry["subject"], entry["staff"]) for entry in audit] == [("store hours close", "maria@example.com")]
    # The screen shows the request and how far the state machine got.
    last = api.call("store").body["last_request"]
    assert last["action"] == "close" and last["status"] in ("RUNNING", "SUCCEEDED")

    resume = api.call("store-override", body={"action": "resume"})
    assert resume.status == 202 and resume.body["until"] is None
    assert json.loads(_executions(api, store_hours_machine)[0]["input"]) == {"action": "resume"}


def test_the_latest_request_is_found_behind_days_of_scheduled_runs_and_forgotten_after_the_longest_override(
    api, store_hours_machine
):
    """The schedules start six runs an hour: four days of them are more than a thousand, a page of ListExecutions.
    A manager's request behind them is still the screen's last request; one older than the longest override is
    not (it says nothing about the store now)."""
    sfn = boto3.client("stepfunctions", region_name="eu-west-1")
    with time_machine.travel(TUESDAY_10AM - timedelta(days=20)):
        assert api.call("store-override", body={"action": "open"}).status == 202
    with time_machine.travel(TUESDAY_10AM - timedelta(days=5)):
        assert api.call("store-override", body={"action": "close"}).status == 202
    with time_machine.travel(TUESDAY_10AM - timedelta(days=4, hours=12), tick=True):
        for run in range(1010):
            sfn.start_execution(stateMachineArn=store_hours_machine, name=f"reconcile-{run}", input="{}")

    with time_machine.travel(TUESDAY_10AM):
        last = api.call("store").body["last_request"]
        assert last["action"] == "close"
        assert last["started_at"] == (TUESDAY_10AM - timedelta(days=5)).isoformat(timespec="seconds")
    with time_machine.travel(TUESDAY_10AM + timedelta(days=10)):  # the close is now 15 days old, the open 30
        assert api.call("store").body["last_request"] is None


def test_open_now_without_an_end_lasts_until_the_next_boundary_of_the_hours(api, store_hours_machine, at_tuesday_10am):
    reply = api.call("store-override", body={"action": "open"})
    assert (reply.status, reply.body["until"]) == (202, "2026-12-01T18:00:00+00:00")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"action": "shut"}, "validation_error"),
        ({"action": "close", "until": "25:00"}, "invalid_override"),
        ({"action": "close", "until": "2026-11-30T10:00:00+00:00"}, "invalid_override"),  # in the past
        ({"action": "open", "until": "2027-01-30T10:00:00"}, "invalid_override"),  # beyond 14 days
        ({"action": "resume", "until": "14:00"}, "invalid_override"),
        ({"action": "close", "by": "me"}, "validation_error"),
        ({"action": "close", "reason": "x" * 201}, "validation_error"),
    ],
)
def test_an_override_the_state_machine_could_not_act_on_is_refused_before_it_starts(
    api, store_hours_machine, everything, at_tuesday_10am, body, code
):
    reply = api.call("store-override", body=body)
    assert (reply.status, reply.code) == (422, code), reply.body
    assert _executions(api, store_hours_machine) == []
    assert everything().staff_audit == []


@pytest.mark.parametrize("role", ["tablet", "assistant", None], ids=str)
def test_only_a_manager_may_override(api, store_hours_machine, role):
    reply = api.call("store-override", body={"action": "close"}, claims=claims_of(role))
    assert (reply.status, reply.code) == (403, "forbidden")
    assert _executions(api, store_hours_machine) == []


def test_a_retried_press_is_one_run_and_a_reused_key_for_another_action_is_refused(api, store_hours_machine):
    first = api.call("store-override", body={"action": "close"}, headers={"Idempotency-Key": "press-0002-close"})
    again = api.call("store-override", body={"action": "close"}, headers={"Idempotency-Key": "press-0002-close"})
    assert first.status == again.status == 202 and first.body["execution"] == again.body["execution"]
    assert len(_executions(api, store_hours_machine)) == 1
    other = api.call("store-override", body={"action": "open"}, headers={"Idempotency-Key": "press-0002-close"})
    assert other.status == 202  # another action is another run's name: the key names a press, not a run
    reused = api.call(
        "store-override", body={"action": "close", "reason": "x"}, headers={"Idempotency-Key": "press-0002-close"}
    )
    assert (reused.status, reused.code) == (422, "idempotency_key_reused")


def _finish_runs(machine: str) -> None:
    """Every run of the machine ends, as a store-hours run does within seconds (moto's runs stay RUNNING)."""
    from moto.stepfunctions.models import stepfunctions_backends

    account, region = machine.split(":")[4], machine.split(":")[3]
    for execution in stepfunctions_backends[account][region].describe_state_machine(machine).executions:
        execution.status = "SUCCEEDED"


def test_a_press_retried_after_its_run_finished_is_answered_with_that_run(api, store_hours_machine, faults):
    """The first answer was lost and the run has already finished when the tablet retries: the retry is told about
    the run that did it (same execution, same start), not refused; a different request under the key still is."""
    faults.lose_answer("sfn", "StartExecution")
    lost = api.call("store-override", body={"action": "close"}, headers={"Idempotency-Key": "press-0004-close"})
    assert (lost.status, lost.code) == (503, "service_busy")
    _finish_runs(store_hours_machine)
    (run,) = _executions(api, store_hours_machine)
    assert run["status"] == "SUCCEEDED"

    retried = api.call("store-override", body={"action": "close"}, headers={"Idempotency-Key": "press-0004-close"})
    assert retried.status == 202 and retried.body["execution"] == run["name"]
    assert datetime.fromisoformat(retried.body["started_at"]) == run["startDate"].replace(microsecond=0)
    assert len(_executions(api, store_hours_machine)) == 1

    reused = api.call(
        "store-override", body={"action": "close", "reason": "x"}, headers={"Idempotency-Key": "press-0004-close"}
    )
    assert (reused.status, reused.code) == (422, "idempotency_key_reused")
    assert len(_executions(api, store_hours_machine)) == 1


def test_two_managers_pressing_at_once_start_two_runs_and_both_are_answered(
    api, store_hours_machine, another_container
):
    """Two Lambda containers, two managers, close and open in the same second: each run starts; the store-hours
    state machine orders their decisions (a newer decision's camera state stands)."""
    other = another_container()
    replies = [
        api.call("store-override", body={"action": "close"}, claims=claims_of("manager", sub="sub-a")),
        other.call("store-override", body={"action": "open"}, claims=claims_of("manager", sub="sub-b")),
    ]
    assert [reply.status for reply in replies] == [202, 202]
    inputs = sorted(json.loads(execution["input"])["action"] for execution in _executions(api, store_hours_machine))
    assert inputs == ["close", "open"]


def test_step_functions_busy_or_its_answer_lost_is_service_busy_and_the_retry_is_the_same_run(
    api, store_hours_machine, faults, everything
):
    faults.fail("sfn", "StartExecution", code="ThrottlingException", status=400)
    busy = api.call("store-override", body={"action": "close"}, headers={"Idempotency-Key": "press-0003-close"})
    assert (busy.status, busy.code) == (503, "service_busy") and busy.headers.get("Retry-After") == "2"
    assert _executions(api, store_hours_machine) == [] and everything().staff_audit == []

    faults.lose_answer("sfn", "StartExecution")
    lost = api.call("store-override", body={"action": "close"}, headers={"Idempotency-Key": "press-0003-close"})
    assert (lost.status, lost.code) == (503, "service_busy")
    assert len(_executions(api, store_hours_machine)) == 1  # it did start

    retried = api.call("store-override", body={"action": "close"}, headers={"Idempotency-Key": "press-0003-close"})
    assert retried.status == 202
    assert len(_executions(api, store_hours_machine)) == 1  # the same run, not a second one


def test_in_stream_processor_mode_each_cameras_processor_is_its_state(
    stack_factory, rekognition, monkeypatch, lambda_context
):
    """A store with two cameras in StreamProcessor mode: the screen shows what each camera's processor says."""
    stack = stack_factory(DetectionMode="StreamProcessor", Cameras="entrance,till")
    create_state_machine_on_moto(stack, "StoreHoursStateMachine")
    function = stack.load_function("RegistrationFunction", monkeypatch)
    rekognition.settle_after = 5  # describes before a starting processor is RUNNING
    rekognition.start_stream_processor({"Name": f"{stack.name}-entrance"})  # the store-hours run turning it on
    event = json.loads((ROOT / "events" / "registration-store.json").read_text())

    response = function.lambda_handler(event, lambda_context)

    assert response["statusCode"] == 200, response["body"]
    store = json.loads(response["body"])
    assert store["detection_mode"] == "StreamProcessor"
    assert [(c["camera"], c["detection"]) for c in store["cameras"]] == [("entrance", "STARTING"), ("till", "STOPPED")]
    assert all(c["changed_at"] for c in store["cameras"])
