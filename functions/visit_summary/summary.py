"""Last week's numbers for the staff: per store-time day, from the visit history and the stranger counts.

No names and no person ids leave this module: the email carries counts and a median only.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from greeter_common.visit_history import Visit, VisitHistory


@dataclass(frozen=True)
class DayNumbers:
    day: date
    registered_visitors: int  # distinct registered people who came
    repeat_visitors: int  # of those, people who had come before that day (within the history's retention)
    median_dwell_minutes: float | None
    alerts_sent: int
    strangers_seen: int  # sightings of unregistered faces (one person walking past may count more than once)


def previous_week(now: datetime) -> tuple[date, date]:
    """Monday..Sunday of the week before `now` (store time)."""
    monday = now.date() - timedelta(days=now.weekday())
    return monday - timedelta(days=7), monday - timedelta(days=1)


def day_numbers(
    history: VisitHistory, day: date, visits: list[Visit], strangers_seen: int, time_zone: ZoneInfo
) -> DayNumbers:
    day_start = datetime.combine(day, time.min, tzinfo=time_zone).timestamp()
    people = {visit.person_id for visit in visits}
    dwell = [visit.dwell_seconds / 60 for visit in visits]
    return DayNumbers(
        day=day,
        registered_visitors=len(people),
        repeat_visitors=sum(1 for person in people if history.had_visit_before(person, day_start)),
        median_dwell_minutes=round(statistics.median(dwell), 1) if dwell else None,
        alerts_sent=sum(1 for visit in visits if visit.alerted_at is not None),
        strangers_seen=strangers_seen,
    )


def week_numbers(
    history: VisitHistory,
    first: date,
    last: date,
    strangers_by_day: Callable[[date, date], dict[date, int]],
    time_zone: ZoneInfo,
) -> list[DayNumbers]:
    strangers = strangers_by_day(first, last)
    numbers = []
    for day in (first + timedelta(days=n) for n in range((last - first).days + 1)):
        visits: list[Visit] = []
        token = None
        while True:
            page, token = history.between(day, day, limit=500, token=token)
            visits += page
            if token is None:
                break
        numbers.append(day_numbers(history, day, visits, strangers.get(day, 0), time_zone))
    return numbers


def compose(store_name: str, numbers: list[DayNumbers]) -> tuple[str, str]:
    """The email: a plain-text table a manager reads on a phone."""
    first, last = numbers[0].day, numbers[-1].day
    visits = sum(n.registered_visitors for n in numbers)
    subject = f"Greeter: {store_name}, week of {first.day} {first:%B} - {visits} registered visits"
    rows = [f"{'day':<10} {'visitors':>8} {'repeat':>6} {'median stay':>11} {'alerts':>6} {'strangers':>9}"]
    for n in numbers:
        dwell = f"{n.median_dwell_minutes:g} min" if n.median_dwell_minutes is not None else "-"
        rows.append(
            f"{n.day:%a} {n.day.day:<6} {n.registered_visitors:>8} {n.repeat_visitors:>6} {dwell:>11} "
            f"{n.alerts_sent:>6} {n.strangers_seen:>9}"
        )
    body = "\n".join(
        [
            f"{store_name}: registered customers Greeter recognised, "
            f"{first.day} {first:%B} to {last.day} {last:%B %Y}.",
            "",
            *rows,
            "",
            "visitors: registered people who came (each counted once a day); repeat: of those, people who had",
            "come before; median stay: from first to last sighting; alerts: emails sent to staff; strangers:",
            "sightings of faces nobody registered (counted, never stored).",
        ]
    )
    return subject, body
