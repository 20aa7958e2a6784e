"""The store-hours template pieces: the weekday parameters' pattern is the function's own definition of the
hours format, and the alarms watch what the state machine and the function really produce."""

import importlib
import itertools
import re
import sys

from stack import ROOT, Stack, load_template

sys.path.insert(0, str(ROOT / "functions" / "store_hours"))
hours = importlib.import_module("greeter_common.store_calendar")
WEEKDAY_PARAMETERS = [f"{name}Hours" for name in hours.DAY_NAMES]


def test_every_weekday_parameter_allows_exactly_the_format_the_function_reads():
    parameters = load_template()["Parameters"]
    for name in WEEKDAY_PARAMETERS:
        assert parameters[name]["AllowedPattern"] == hours.DAY_HOURS_PATTERN, name
        assert hours.parse_day_hours(parameters[name]["Default"])


def _candidates():
    """Day-hours texts near every edge of the format: clock values, separators, 'closed', 24:00."""
    clocks = ["00:00", "09:00", "12:00", "13:30", "18:00", "23:59", "24:00", "24:30", "9:00", "25:00", "12:60"]
    ranges = [f"{a}-{b}" for a, b in itertools.product(clocks, repeat=2)]
    yield from ranges
    yield from ["closed", "Closed", "", "09:00-18:00,", ",09:00-18:00", "09:00 - 18:00", "09:00-18:00;13:00-14:00"]
    for first, second in itertools.product(["09:00-12:00", "09:00-13:00", "20:00-02:00"], ranges[::7]):
        yield f"{first},{second}"


def test_what_the_pattern_lets_through_the_function_reads_or_refuses_for_a_rule_a_pattern_cannot_express():
    """The pattern is the syntax; the parser adds only what a pattern cannot say (same minute, overlaps). A
    text the pattern lets through never fails the function on syntax, and the pattern refuses everything
    the function cannot read as text at all."""
    mismatches, semantic = [], 0
    for text in sorted(set(_candidates())):
        allowed = re.fullmatch(hours.DAY_HOURS_PATTERN, text) is not None
        try:
            hours.parse_day_hours(text)
            problem = None
        except hours.HoursError as error:
            problem = str(error)
        if allowed and problem is not None:
            semantic += 1
            if "same minute" not in problem and "overlap" not in problem:
                mismatches.append((text, problem))
        # the parser forgives case and spaces (staff type special days by hand), the pattern does not
        if not allowed and text == text.strip().lower().replace(" ", "") and problem is None:
            mismatches.append((text, "read by the function but refused by the pattern"))
    assert mismatches == []
    assert semantic > 10  # the rules beyond the pattern were exercised (the function's fallback covers them)


def test_failed_timed_out_or_aborted_runs_alarm_the_ops_topic(aws):
    stack = Stack({"AlertEmails": "staff@example.com"})
    alarm = stack.resolve(stack.resources["StoreHoursFailedRunsAlarm"]["Properties"])
    watched = {
        query["MetricStat"]["Metric"]["MetricName"]: query["MetricStat"]["Metric"]["Dimensions"]
        for query in alarm["Metrics"]
        if "MetricStat" in query
    }
    assert set(watched) == {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}
    for dimensions in watched.values():
        assert dimensions == [{"Name": "StateMachineArn", "Value": stack.ref("StoreHoursStateMachine")}]
    (expression,) = [q for q in alarm["Metrics"] if q.get("ReturnData")]
    assert expression["Expression"] == "FILL(failed, 0) + FILL(timedout, 0) + FILL(aborted, 0)"
    assert alarm["AlarmActions"] == [stack.ref("OpsTopic")]


def test_calendar_problems_alarm_watches_the_metric_the_function_emits(aws):
    stack = Stack({"AlertEmails": "staff@example.com"})
    alarm = stack.resolve(stack.resources["StoreHoursCalendarProblemsAlarm"]["Properties"])
    environment = stack.function_environment("StoreHoursFunction")
    assert alarm["Namespace"] == environment["POWERTOOLS_METRICS_NAMESPACE"]
    assert alarm["Dimensions"] == [
        {"Name": "service", "Value": environment["POWERTOOLS_SERVICE_NAME"]},
        {"Name": "stack", "Value": environment["STACK_NAME"]},
    ]
    assert f'name="{alarm["MetricName"]}"' in (ROOT / "functions" / "store_hours" / "app.py").read_text()
    assert alarm["AlarmActions"] == [stack.ref("OpsTopic")]


def test_state_machine_is_standard_traced_and_logged_with_a_retention(aws):
    stack = Stack({"AlertEmails": "staff@example.com"})
    machine = stack.resolve(stack.resources["StoreHoursStateMachine"]["Properties"])
    assert machine["Type"] == "STANDARD" and machine["Tracing"] == {"Enabled": True}
    assert machine["Logging"]["Level"] == "ALL"
    (destination,) = machine["Logging"]["Destinations"]
    assert destination["CloudWatchLogsLogGroup"]["LogGroupArn"] == stack.get_att(
        "StoreHoursStateMachineLogGroup", "Arn"
    )
    log_group = stack.resources["StoreHoursStateMachineLogGroup"]["Properties"]
    assert log_group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
