"""The store-hours function: its decision rules (pure) and its handler on moto (SSM parameters from the template)."""

import importlib
import json
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import boto3
import pytest
from helpers import emitted_metrics
from stack import ROOT, Stack

sys.path.insert(0, str(ROOT / "functions" / "store_hours"))
hours = importlib.import_module("greeter_common.store_calendar")
decision_module = importlib.import_module("decision")
models = importlib.import_module("models")

LONDON = ZoneInfo("Europe/London")
WEEK = {day: "09:00-18:00" for day in ("mon", "tue", "wed", "thu", "fri", "sat")} | {"sun": "10:00-16:00"}
CALENDAR = hours.StoreCalendar.from_text("Europe/London", WEEK)
CONTEXT = decision_module.Context(store_name="Greeter store", reconcile_minutes=10, camera_seconds=240)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def decide(execution_input: dict, now: datetime, stored=None):
    request = models.StoreHoursRequest(input=execution_input, now=now, execution="arn:exec")
    return decision_module.decide(request, CALENDAR, stored, now, CONTEXT)


# ---------------------------------------------------------------------- decisions
def test_scheduled_runs_follow_the_hours():
    open_now, change = decide({"trigger": "reconcile"}, local(2026, 5, 4, 12, 5))
    assert open_now["wanted"] == "RUNNING" and open_now["reason"] == "open (Monday hours 09:00-18:00)"
    assert change.kind == "keep"
    closed_now, _ = decide({"trigger": "reconcile"}, local(2026, 5, 5, 3, 5))
    assert closed_now["wanted"] == "STOPPED" and closed_now["reason"] == "closed (Tuesday hours 09:00-18:00)"
    empty, _ = decide({}, local(2026, 5, 5, 3, 5))
    assert empty["trigger"] == "reconcile"


def test_manual_close_lasts_until_the_next_scheduled_boundary():
    result, change = decide({"action": "close", "reason": "stocktake"}, local(2026, 5, 4, 11, 0))
    assert result["wanted"] == "STOPPED" and result["trigger"] == "manual"
    assert change.kind == "set"
    assert change.override.until == local(2026, 5, 4, 18, 0)  # Monday's closing
    assert result["reason"] == "manual override: close until 18:00 Mon 04 May 2026 (Europe/London) (stocktake)"
    # a reconcile before then keeps to it, although the hours say open
    kept, kept_change = decide({"trigger": "reconcile"}, local(2026, 5, 4, 14, 5), stored=change.override)
    assert kept["wanted"] == "STOPPED" and kept_change.kind == "keep"
    # the first run after it forgets it
    after, after_change = decide({"trigger": "reconcile"}, local(2026, 5, 5, 9, 5), stored=change.override)
    assert after["wanted"] == "RUNNING" and after_change.kind == "clear"


def test_manual_open_after_hours_with_an_end_time():
    result, change = decide({"action": "open", "until": "22:00"}, local(2026, 5, 4, 19, 0))
    assert result["wanted"] == "RUNNING" and change.override.until == local(2026, 5, 4, 22, 0)
    past_time_today, change = decide({"action": "open", "until": "08:30"}, local(2026, 5, 4, 19, 0))
    assert change.override.until == local(2026, 5, 5, 8, 30)  # the next 08:30
    iso, change = decide({"action": "open", "until": "2026-05-04T23:30"}, local(2026, 5, 4, 19, 0))
    assert change.override.until == local(2026, 5, 4, 23, 30)  # no offset: store time
    assert result["override"]["action"] == "open"


@pytest.mark.parametrize(
    ("until", "complaint"),
    [("2026-05-04T18:00:00+01:00", "in the past"), ("2026-06-30T12:00", "more than 14 days"), ("soon", "neither")],
)
def test_manual_override_end_must_be_sensible(until, complaint):
    with pytest.raises(decision_module.InvalidRequest, match=complaint):
        decide({"action": "open", "until": until}, local(2026, 5, 4, 19, 0))


def test_resume_forgets_the_override_at_once():
    _, change = decide({"action": "close"}, local(2026, 5, 4, 11, 0))
    result, resumed = decide({"action": "resume"}, local(2026, 5, 4, 11, 30), stored=change.override)
    assert result["wanted"] == "RUNNING" and resumed.kind == "clear" and result["override"] is None


def test_reconcile_runs_notify_ops_once_an_hour_boundary_and_manual_runs_always():
    assert decide({"trigger": "reconcile"}, local(2026, 5, 4, 15, 5))[0]["notify_ops"] is True
    assert decide({"trigger": "reconcile"}, local(2026, 5, 4, 15, 25))[0]["notify_ops"] is False
    assert decide({"trigger": "closing"}, local(2026, 5, 4, 18, 0))[0]["notify_ops"] is True
    assert decide({"action": "open"}, local(2026, 5, 4, 19, 27))[0]["notify_ops"] is True


def test_boundaries_become_one_time_schedules_in_store_time():
    result, _ = decide({"trigger": "closing"}, local(2026, 3, 28, 18, 0, 1))
    assert result["boundaries"] == [
        {
            "name": "opening",
            "schedule_name": "opening-20260329T0900Z",  # 10:00 BST, the first day of summer time
            "at": "2026-03-29T09:00:00Z",
            "expression": "at(2026-03-29T10:00:00)",
            "time_zone": "Europe/London",
            "description": "Greeter store opens at 10:00 Sun 29 Mar 2026 (Europe/London)",
            "input": '{"trigger": "opening"}',
        },
        {
            "name": "closing",
            "schedule_name": "closing-20260329T1500Z",
            "at": "2026-03-29T15:00:00Z",
            "expression": "at(2026-03-29T16:00:00)",
            "time_zone": "Europe/London",
            "description": "Greeter store closes at 16:00 Sun 29 Mar 2026 (Europe/London)",
            "input": '{"trigger": "closing"}',
        },
    ]
    assert result["valid_until"] == "2026-03-29T09:00:00Z"  # the next opening: until then, STOPPED holds
    assert result["camera_deadline"] == "2026-03-28T18:04:01Z"  # 240 s after the decision


def test_an_override_holds_until_its_end_whatever_boundaries_come_first():
    result, _ = decide({"action": "open", "until": "2026-05-05T20:00"}, local(2026, 5, 4, 19, 0))
    assert result["valid_until"] == "2026-05-05T19:00:00Z"  # 20:00 BST, past Tuesday's opening and closing


def test_a_boundary_in_the_repeated_hour_is_scheduled_in_utc():
    night = hours.StoreCalendar.from_text("Europe/London", WEEK | {"sun": "01:30-03:00"})
    request = models.StoreHoursRequest(input={"trigger": "reconcile"}, now=local(2026, 10, 24, 20, 0))
    result, _ = decision_module.decide(request, night, None, local(2026, 10, 24, 20, 0), CONTEXT)
    opening = result["boundaries"][0]
    assert opening["expression"] == "at(2026-10-25T00:30:00)" and opening["time_zone"] == "UTC"


@pytest.mark.parametrize(
    "execution_input",
    [{"action": "opne"}, {"acton": "open"}, {"trigger": "midnight"}, {"action": "open", "reason": "x" * 201}],
)
def test_unknown_input_is_refused(execution_input):
    with pytest.raises(ValueError, match="validation error"):
        models.StoreHoursRequest(input=execution_input)


def test_actions_are_case_insensitive():
    assert models.StoreHoursRequest(input={"action": " Open "}).input.action == "open"


# ---------------------------------------------------------------------- the handler on moto
@pytest.fixture
def stack(aws):
    """template.yaml with only what the function's environment references deployed (its SSM parameters)."""
    return Stack({"AlertEmails": "staff@example.com"})


@pytest.fixture
def function(stack, monkeypatch):
    return stack.load_function("StoreHoursFunction", monkeypatch)


def _event(execution_input: dict, now: datetime) -> dict:
    return {"input": execution_input, "now": now.astimezone(UTC).isoformat(), "execution": "arn:aws:states:x:exec"}


def test_handler_keeps_the_override_in_its_ssm_parameter(stack, function, lambda_context):
    ssm = boto3.client("ssm")
    name = stack.ref("StoreHoursOverrideParameter")
    assert json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"]) == {}
    closed = function.lambda_handler(_event({"action": "close"}, local(2026, 5, 4, 11, 0)), lambda_context)
    assert closed["wanted"] == "STOPPED"
    stored = json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    assert stored["action"] == "close" and stored["set_by"] == "arn:aws:states:x:exec"
    assert datetime.fromisoformat(stored["until"]) == local(2026, 5, 4, 18, 0)
    still = function.lambda_handler(_event({"trigger": "reconcile"}, local(2026, 5, 4, 15, 5)), lambda_context)
    assert still["wanted"] == "STOPPED"
    later = function.lambda_handler(_event({"trigger": "reconcile"}, local(2026, 5, 5, 10, 5)), lambda_context)
    assert later["wanted"] == "RUNNING"
    assert json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"]) == {}


def test_handler_reads_closed_dates_and_special_hours_staff_wrote(stack, function, lambda_context):
    boto3.client("ssm").put_parameter(
        Name=stack.ref("StoreHoursSpecialDaysParameter"),
        Value=json.dumps({"closed_dates": ["2026-12-25"], "special_hours": {"2026-12-24": "09:00-14:00"}}),
        Type="String",
        Overwrite=True,
    )
    christmas = function.lambda_handler(_event({}, local(2026, 12, 25, 12, 0)), lambda_context)
    assert christmas["wanted"] == "STOPPED" and christmas["reason"] == "closed (closed date 2026-12-25)"
    eve = function.lambda_handler(_event({}, local(2026, 12, 24, 15, 0)), lambda_context)
    assert eve["wanted"] == "STOPPED" and "special hours 2026-12-24 09:00-14:00" in eve["reason"]


def _special_days(stack, value: str) -> None:
    boto3.client("ssm").put_parameter(
        Name=stack.ref("StoreHoursSpecialDaysParameter"), Value=value, Type="String", Overwrite=True
    )


def test_one_mistyped_special_hours_entry_drops_only_that_entry_and_names_it(stack, function, lambda_context, capsys):
    _special_days(
        stack,
        json.dumps(
            {
                "closed_dates": ["2026-12-25", "25/12/2026", "2026-12-26"],
                "special_hours": {"2026-12-24": "9:00-14:00", "2026-12-31": "09:00-16:00"},
            }
        ),
    )
    christmas = function.lambda_handler(_event({}, local(2026, 12, 25, 12, 0)), lambda_context)
    assert christmas["wanted"] == "STOPPED" and christmas["reason"] == "closed (closed date 2026-12-25)"
    boxing_day = function.lambda_handler(_event({}, local(2026, 12, 26, 12, 0)), lambda_context)
    assert boxing_day["wanted"] == "STOPPED"
    new_years_eve = function.lambda_handler(_event({}, local(2026, 12, 31, 17, 0)), lambda_context)
    assert new_years_eve["wanted"] == "STOPPED" and "special hours 2026-12-31 09:00-16:00" in new_years_eve["reason"]
    eve = function.lambda_handler(_event({}, local(2026, 12, 24, 15, 0)), lambda_context)
    assert eve["wanted"] == "RUNNING" and eve["reason"] == "open (Thursday hours 09:00-18:00)"  # dropped entry
    problem = eve["calendar_problem"]
    parameter = stack.ref("StoreHoursSpecialDaysParameter")
    assert f"{parameter}: closed_dates entry '25/12/2026' dropped" in problem
    assert f"{parameter}: special_hours entry '2026-12-24' dropped ('9:00-14:00' is not HH:MM-HH:MM" in problem
    assert "2026-12-31" not in problem and "2026-12-26" not in problem
    assert emitted_metrics(capsys.readouterr().out)["StoreHoursCalendarProblems"] == 2 * 4  # two problems, 4 runs


@pytest.mark.parametrize(
    ("broken", "complaint", "christmas_closed"),
    [
        ('{"closed_date": ["2026-12-24"], "closed_dates": ["2026-12-25"]}', "did you mean 'closed_dates'", True),
        ('{"closed_dates": "2026-12-25"}', "closed_dates is not a list", False),
        ('{"closed_dates": ["2026-12-25"], "special_hours": ["09:00-14:00"]}', "special_hours is not an object", True),
        ('{"closed_dates": ["2026-12-25"], "special_hours": {"2026-12-24": 9}}', "9 is not text", True),
        ('{"closed_dates": ["2026-12-25", "the 26th"]}', "entry number 2 (not quoted", True),
        ('{"closed_dates": ["2026-12-25"], "special_hours": {"2026-12-24": "Ana off"}}', "(not quoted: free", True),
        ('{"closed_dates": ["2026-12-25"],}', "not JSON", False),
        ('["2026-12-25"]', "not a JSON object", False),
    ],
)
def test_special_days_keep_what_can_be_read_and_name_the_rest(
    stack, function, lambda_context, capsys, broken, complaint, christmas_closed
):
    _special_days(stack, broken)
    result = function.lambda_handler(_event({}, local(2026, 12, 25, 12, 0)), lambda_context)
    assert result["wanted"] == ("STOPPED" if christmas_closed else "RUNNING")  # a Friday: the weekly hours hold
    assert complaint in result["calendar_problem"]
    assert result["calendar_problem"].startswith(stack.ref("StoreHoursSpecialDaysParameter") + ": ")
    assert emitted_metrics(capsys.readouterr().out)["StoreHoursCalendarProblems"] == 1


def test_weekday_hours_the_pattern_lets_through_but_the_rules_refuse_are_a_closed_day_and_a_problem(
    aws, monkeypatch, lambda_context, capsys
):
    stack = Stack(
        {"AlertEmails": "staff@example.com", "MondayHours": "09:00-09:00", "TuesdayHours": "09:00-13:00,12:00-18:00"}
    )
    function = stack.load_function("StoreHoursFunction", monkeypatch)
    monday = function.lambda_handler(_event({"trigger": "opening"}, local(2026, 5, 4, 9, 0, 1)), lambda_context)
    assert monday["wanted"] == "STOPPED" and monday["reason"] == "closed (Monday hours closed)"
    assert "MondayHours '09:00-09:00': '09:00-09:00' opens and closes at the same minute" in monday["calendar_problem"]
    assert (
        "Mondays count as closed until the stack is deployed with hours that can be read" in monday["calendar_problem"]
    )
    assert (
        "TuesdayHours '09:00-13:00,12:00-18:00':" in monday["calendar_problem"]
        and "overlap" in monday["calendar_problem"]
    )
    wednesday = function.lambda_handler(_event({}, local(2026, 5, 6, 12, 0)), lambda_context)
    assert wednesday["wanted"] == "RUNNING"  # the other days keep their hours
    assert emitted_metrics(capsys.readouterr().out)["StoreHoursCalendarProblems"] == 2 * 2


def test_a_check_decides_without_touching_the_override_or_the_metrics(stack, function, lambda_context, capsys):
    function.lambda_handler(_event({"action": "close"}, local(2026, 5, 4, 11, 0)), lambda_context)
    capsys.readouterr()
    check = {**_event({"action": "open"}, local(2026, 5, 4, 12, 0)), "check": True}
    result = function.lambda_handler(check, lambda_context)
    assert result["wanted"] == "RUNNING"  # what this input would decide
    stored = boto3.client("ssm").get_parameter(Name=stack.ref("StoreHoursOverrideParameter"))["Parameter"]["Value"]
    assert json.loads(stored)["action"] == "close"  # but nothing is stored
    assert emitted_metrics(capsys.readouterr().out) == {}


@pytest.mark.parametrize(
    ("execution_input", "complaint"),
    [({"action": "opne"}, "action"), ({"action": "open", "until": "yesterday"}, "neither HH:MM")],
)
def test_handler_refuses_input_it_does_not_understand(
    stack, function, lambda_context, capsys, execution_input, complaint
):
    with pytest.raises(ValueError, match=complaint) as error:  # the fresh module's InvalidRequest (a ValueError)
        function.lambda_handler(_event(execution_input, local(2026, 5, 4, 11, 0)), lambda_context)
    assert type(error.value).__name__ == "InvalidRequest"
    assert emitted_metrics(capsys.readouterr().out) == {"StoreHoursInvalidRequests": 1}
    override = boto3.client("ssm").get_parameter(Name=stack.ref("StoreHoursOverrideParameter"))
    assert json.loads(override["Parameter"]["Value"]) == {}  # nothing stored


def test_handler_uses_its_own_clock_without_now(function, lambda_context):
    result = function.lambda_handler({"input": {"trigger": "reconcile"}}, lambda_context)
    local_time = datetime.fromisoformat(result["local_time"])
    assert abs(local_time - datetime.now(UTC)) < timedelta(minutes=1)


# ---------------------------------------------------------------------- events/ samples
EVENTS = ROOT / "events"


@pytest.mark.parametrize(
    ("sample", "wanted"),
    [
        ("opening", "RUNNING"),
        ("closing", "STOPPED"),
        ("reconcile-night", "STOPPED"),
        ("reconcile-clock-change", "RUNNING"),  # 09:05 UTC on 29 March 2026 is 10:05 BST, a Sunday: open
        ("manual-open-until", "RUNNING"),
        ("manual-close", "STOPPED"),
        ("resume", "RUNNING"),
        ("second-look", "RUNNING"),  # Monday 14:06: what is wanted now, nothing stored
    ],
)
def test_function_samples_are_what_the_state_machine_sends(function, lambda_context, sample, wanted):
    event = json.loads((EVENTS / f"store-hours-function-{sample}.json").read_text())
    assert function.lambda_handler(event, lambda_context)["wanted"] == wanted


def test_execution_input_samples_are_what_the_schedules_send_and_managers_type(stack):
    samples = {path.stem: json.loads(path.read_text()) for path in EVENTS.glob("store-hours-execution-*.json")}
    assert len(samples) == 6
    for sample in samples.values():
        models.ExecutionInput.model_validate(sample)
    reconcile_input = stack.resources["StoreHoursReconcileSchedule"]["Properties"]["Target"]["Input"]
    assert json.loads(reconcile_input) == samples["store-hours-execution-reconcile"]
    boundaries = decide({}, local(2026, 5, 11, 12, 0))[0]["boundaries"]
    for boundary in boundaries:
        assert json.loads(boundary["input"]) == samples[f"store-hours-execution-{boundary['name']}"]
