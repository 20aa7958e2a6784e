"""What running detection only in opening hours saves, per camera, against a stream processor left on 24/7.

    .venv/bin/python -m bench.store_hours_cost [--year 2026] [--time-zone Europe/London]

The hours are template.yaml's own defaults (MondayHours ... SundayHours), fed through the store-hours
function's calendar (layers/common/greeter_common/store_calendar.py), so daylight-saving weeks count their real minutes.
A face-search stream processor is billed per minute it runs; the prices compared:
  - $0.12/min: us-east-1, the figure AWS quotes and the frame-search bench uses; the live pricing page could
    not be read from here (a Rekognition deep-dive write-up says "~$0.10-0.12/minute");
  - $0.15/min: ap-northeast-1, the cost table of a published Raspberry Pi + Kinesis Video + Rekognition
    walkthrough (it bills 24 x 31 days at $0.15 = $6,696).
The orchestration itself costs (Step Functions standard, us-east-1: $0.025 per 1,000 state transitions
after 4,000 free a month): a reconcile run that changes nothing enters RECONCILE_TRANSITIONS states with
one camera and CAMERA_TRANSITIONS more per extra camera (pinned by the state-machine tests), 6 an hour.

Prints the table and writes it as markdown to bench/results/store_hours_cost.md.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
sys.path.insert(0, str(ROOT / "layers" / "common"))

from greeter_common.store_calendar import DAY_NAMES, WEEKDAYS, StoreCalendar  # noqa: E402

PRICES_PER_MINUTE = {"us-east-1": 0.12, "ap-northeast-1": 0.15}
# DecideDetection ... Done: one camera already in the wanted state, both next schedules already there
RECONCILE_TRANSITIONS = 17
CAMERA_TRANSITIONS = 4  # WhichDetectionMode, DescribeStreamProcessor, CompareWithWanted, CameraInWantedState
RUNS_PER_HOUR = 6
STEP_FUNCTIONS_PER_1000 = 0.025
STEP_FUNCTIONS_FREE = 4000


class _TemplateLoader(yaml.SafeLoader):
    """Reads template.yaml, leaving CloudFormation's short-form tags (!Ref, !Sub...) unresolved."""


_TemplateLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def default_weekly_hours() -> dict[str, str]:
    parameters = yaml.load((ROOT / "template.yaml").read_text(), Loader=_TemplateLoader)["Parameters"]  # noqa: S506
    return {day: parameters[f"{name}Hours"]["Default"] for day, name in zip(WEEKDAYS, DAY_NAMES, strict=True)}


def open_minutes(calendar: StoreCalendar, first: date, last: date) -> float:
    """Minutes the store is open from the start of `first` to the end of `last`, store time."""
    start = datetime.combine(first, datetime.min.time(), tzinfo=calendar.time_zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=calendar.time_zone).astimezone(UTC)
    total = 0.0
    for interval in calendar.intervals(first - timedelta(days=1), last + timedelta(days=1)):
        overlap = min(interval.closes, end) - max(interval.opens, start)
        total += max(overlap.total_seconds(), 0) / 60
    return total


def wall_minutes(calendar: StoreCalendar, first: date, last: date) -> float:
    start = datetime.combine(first, datetime.min.time(), tzinfo=calendar.time_zone)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=calendar.time_zone)
    return (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() / 60


def figures(year: int, time_zone: str) -> dict:
    calendar = StoreCalendar.from_text(time_zone, default_weekly_hours())
    week = (date(year, 5, 11), date(year, 5, 17))  # an ordinary Monday-Sunday week
    whole_year = (date(year, 1, 1), date(year, 12, 31))
    store_year, always_year = open_minutes(calendar, *whole_year), wall_minutes(calendar, *whole_year)
    runs_per_month = RUNS_PER_HOUR * 24 * 365.25 / 12
    transitions = runs_per_month * RECONCILE_TRANSITIONS
    return {
        "hours": default_weekly_hours(),
        "time_zone": time_zone,
        "week": {"store_hours": open_minutes(calendar, *week), "always_on": wall_minutes(calendar, *week)},
        "month": {"store_hours": store_year / 12, "always_on": always_year / 12},
        "orchestration": {
            "runs_per_month": runs_per_month,
            "transitions_per_month": transitions,
            "usd_per_month": max(transitions - STEP_FUNCTIONS_FREE, 0) / 1000 * STEP_FUNCTIONS_PER_1000,
            "usd_per_extra_camera": runs_per_month * CAMERA_TRANSITIONS / 1000 * STEP_FUNCTIONS_PER_1000,
        },
    }


def report(result: dict) -> str:
    week, month = result["week"], result["month"]
    hours = ", ".join(f"{day} {text}" for day, text in result["hours"].items())
    lines = [
        f"Default hours ({result['time_zone']}): {hours}",
        "",
        "| per camera | store hours (Greeter) | 24/7 | saved |",
        "|---|---:|---:|---:|",
        f"| processor-minutes per week | {week['store_hours']:,.0f} | {week['always_on']:,.0f} | "
        f"{week['always_on'] - week['store_hours']:,.0f} ({1 - week['store_hours'] / week['always_on']:.0%}) |",
        f"| processor-minutes per month (average) | {month['store_hours']:,.0f} | {month['always_on']:,.0f} | "
        f"{month['always_on'] - month['store_hours']:,.0f} |",
    ]
    for label, price in PRICES_PER_MINUTE.items():
        store, always = month["store_hours"] * price, month["always_on"] * price
        lines.append(
            f"| monthly cost at ${price:.2f}/min, {label} | ${store:,.0f} | ${always:,.0f} | ${always - store:,.0f} |"
        )
    orchestration = result["orchestration"]
    lines += [
        "",
        f"Orchestration: {orchestration['runs_per_month']:,.0f} reconcile runs a month x {RECONCILE_TRANSITIONS} "
        f"state transitions = {orchestration['transitions_per_month']:,.0f} transitions, "
        f"${orchestration['usd_per_month']:.2f}/month after the free tier "
        f"(+${orchestration['usd_per_extra_camera']:.2f} per extra camera); the store-hours Lambda adds cents.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--time-zone", default="Europe/London")
    args = parser.parse_args()
    text = report(figures(args.year, args.time_zone))
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "store_hours_cost.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
