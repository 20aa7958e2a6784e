"""No personal data in the store-hours function's logs or traces: the special-days parameter's comment is free
text where staff may write a name (who the store closes for); it is never logged, whether the rest of the
parameter is valid or not. (A mistyped entry is quoted back, in the decision and its log line, so staff can
find and fix it; a manual override's reason is the manager's own note and goes into the decision on purpose.)"""

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import boto3
import pytest
from helpers import PERSONAL_DATA, personal_data_in
from stack import Stack

NAME = PERSONAL_DATA["name"]


def _event(execution_input: dict, when: datetime) -> dict:
    return {"input": execution_input, "now": when.astimezone(UTC).isoformat(), "execution": "arn:aws:states:x:exec"}


@pytest.mark.parametrize(
    "special_days",
    [
        {"closed_dates": ["2026-12-25"], "special_hours": {}, "comment": f"closed for {NAME}'s funeral"},
        {"closed_dates": ["2026-12-25", "25/12/2026"], "comment": f"closed for {NAME}'s funeral"},
    ],
)
def test_staff_free_text_stays_out_of_logs_and_traces(aws, monkeypatch, lambda_context, capsys, observed, special_days):
    stack = Stack({"AlertEmails": "staff@example.com"})
    boto3.client("ssm").put_parameter(
        Name=stack.ref("StoreHoursSpecialDaysParameter"), Value=json.dumps(special_days), Overwrite=True
    )
    function = stack.load_function("StoreHoursFunction", monkeypatch)
    observed.watch(function, monkeypatch)
    monday = datetime(2026, 5, 4, 11, 0, tzinfo=ZoneInfo("Europe/London"))

    function.lambda_handler(_event({"action": "close", "until": "13:00"}, monday), lambda_context)
    function.lambda_handler(_event({"trigger": "reconcile"}, monday), lambda_context)

    captured = capsys.readouterr()
    assert "detection decided" in observed.logs and observed.lines
    assert personal_data_in(observed.logs + captured.err) == []
    assert personal_data_in(observed.text()) == [], observed.text()[:3000]
