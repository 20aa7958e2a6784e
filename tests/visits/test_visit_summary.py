"""The weekly summary on the template-wired stack: a week of visits and stranger counts in, one email of numbers
(no names) out, per store-time day."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import boto3
import pytest
import time_machine
from event_source import sent_emails
from greeter_common.visit_history import VisitHistory
from stack import Stack

LONDON = ZoneInfo("Europe/London")
MARIA, JOAO, ANA = (f"{n}{n}{n}{n}{n}{n}{n}{n}-{n}{n}{n}{n}-4{n}{n}{n}-8{n}{n}{n}-{n * 12}" for n in "123")


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON).timestamp()


@pytest.fixture
def summary_stack(aws):
    return Stack({"AlertEmails": "staff@example.com", "WeeklySummary": "On", "Cameras": "entrance,till"}).deploy()


def test_without_the_parameter_there_is_no_summary_function(aws):
    assert "VisitSummaryFunction" not in Stack({"AlertEmails": "staff@example.com"}).resources


def test_last_weeks_numbers_go_to_the_staff_as_one_email_without_names(summary_stack, monkeypatch, lambda_context):
    table = boto3.resource("dynamodb", region_name="eu-west-1").Table(summary_stack.ref("VisitHistoryTable"))
    history = VisitHistory(table, LONDON, retention_days=90)
    history.opened(MARIA, at("2026-11-17T10:00:00"), "entrance")  # the week before: Maria comes back
    # Monday 23 November: Maria (40 min, alerted) and Joao (10 min); Wednesday: Maria twice, Ana once.
    history.opened(MARIA, at("2026-11-23T10:00:00"), "entrance", alerted_at=at("2026-11-23T10:00:01"))
    history.seen_again(MARIA, at("2026-11-23T10:00:00"), at("2026-11-23T10:40:00"), ["till"])
    history.opened(JOAO, at("2026-11-23T15:00:00"), "entrance", alerted_at=at("2026-11-23T15:00:01"))
    history.seen_again(JOAO, at("2026-11-23T15:00:00"), at("2026-11-23T15:10:00"), [])
    history.opened(MARIA, at("2026-11-25T09:00:00"), "entrance")
    history.opened(MARIA, at("2026-11-25T17:00:00"), "till", alerted_at=at("2026-11-25T17:00:01"))
    history.opened(ANA, at("2026-11-25T12:00:00"), "entrance", alerted_at=at("2026-11-25T12:00:01"))
    history.opened(ANA, at("2026-11-30T09:00:00"), "entrance")  # this week: not in last week's numbers
    cloudwatch = boto3.client("cloudwatch", region_name="eu-west-1")
    for camera, when, count in [
        ("entrance", "2026-11-23T10:30:00", 4),
        ("till", "2026-11-23T23:30:00", 2),
        ("entrance", "2026-11-29T23:30:00", 3),
    ]:
        cloudwatch.put_metric_data(
            Namespace="Greeter",
            MetricData=[
                {
                    "MetricName": "StrangerSightings",
                    "Dimensions": [
                        {"Name": "camera", "Value": camera},
                        {"Name": "service", "Value": "greeter"},
                        {"Name": "stack", "Value": summary_stack.name},
                    ],
                    "Timestamp": datetime.fromtimestamp(at(when), UTC),
                    "Value": count,
                    "Unit": "Count",
                }
            ],
        )

    function = summary_stack.load_function("VisitSummaryFunction", monkeypatch)
    with time_machine.travel(datetime(2026, 11, 30, 8, 0, 5, tzinfo=LONDON), tick=False):
        result = function.lambda_handler({}, lambda_context)

    assert result["week_start"] == "2026-11-23"
    (email,) = sent_emails(summary_stack)
    assert email["subject"] == "Greeter: Greeter store, week of 23 November - 4 registered visits"
    lines = email["message"].splitlines()
    monday = next(line for line in lines if line.startswith("Mon 23"))
    wednesday = next(line for line in lines if line.startswith("Wed 25"))
    sunday = next(line for line in lines if line.startswith("Sun 29"))
    # visitors, repeat, median stay, alerts, strangers
    assert monday.split()[2:] == ["2", "1", "25", "min", "2", "6"]  # the till's 23:30 is still Monday in London
    assert wednesday.split()[2:] == ["2", "1", "0", "min", "2", "0"]
    assert sunday.split()[2:] == ["0", "0", "-", "0", "3"]
    for person in (MARIA, JOAO, ANA):
        assert person not in email["message"]
