"""No personal data in the store-hours function's logs or traces: staff write free text in the special-days
parameter where a name can slip in (its comment, a mistyped closed date); a broken entry is reported, not
quoted. (A mistyped hours value is quoted back so staff find their typo, and a manual override's reason is the
manager's own note: both go into the decision on purpose.)"""

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
        {"closed_dates": [f"{NAME}'s birthday"]},
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
