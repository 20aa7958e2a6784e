"""The store-hours alarms watch what the state machine and the function really produce."""

from stack import ROOT, Stack


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


def test_special_days_alarm_watches_the_metric_the_function_emits(aws):
    stack = Stack({"AlertEmails": "staff@example.com"})
    alarm = stack.resolve(stack.resources["StoreHoursSpecialDaysInvalidAlarm"]["Properties"])
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
