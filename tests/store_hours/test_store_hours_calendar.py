"""The hours calendar (functions/store_hours/hours.py): time zones, daylight saving, closed dates, special hours."""

import importlib
import sys
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from stack import ROOT

sys.path.insert(0, str(ROOT / "functions" / "store_hours"))
hours = importlib.import_module("hours")
StoreCalendar, HoursError, parse_day_hours = hours.StoreCalendar, hours.HoursError, hours.parse_day_hours

WEEK = {day: "09:00-18:00" for day in ("mon", "tue", "wed", "thu", "fri", "sat")} | {"sun": "10:00-16:00"}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def calendar(zone: str = "Europe/London", **overrides) -> StoreCalendar:
    return StoreCalendar.from_text(zone, WEEK | overrides)


# ---------------------------------------------------------------------- reading hours
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:00-18:00", ["09:00-18:00"]),
        ("closed", []),
        (" Closed ", []),
        ("13:30-18:00,09:00-12:30", ["09:00-12:30", "13:30-18:00"]),
        ("18:00-24:00", ["18:00-24:00"]),
    ],
)
def test_day_hours_are_read(text, expected):
    assert [str(r) for r in parse_day_hours(text)] == expected


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("9-18", "not HH:MM-HH:MM"),
        ("18:00-09:00", "cannot cross midnight"),
        ("09:00-09:00", "closes before it opens"),
        ("09:00-13:00,12:00-18:00", "overlap"),
        ("09:00-24:30", "24:00 is the latest"),
    ],
)
def test_unreadable_hours_are_refused_with_a_reason(text, complaint):
    with pytest.raises(HoursError, match=complaint):
        parse_day_hours(text)


def test_every_weekday_must_be_given():
    with pytest.raises(HoursError, match="sun"):
        StoreCalendar.from_text("Europe/London", {d: "09:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat")})


# ---------------------------------------------------------------------- Europe/London and its clock changes
def test_london_winter_hours_are_utc_hours():
    london = calendar()
    assert london.is_open(utc(2026, 1, 12, 9, 0)) and not london.is_open(utc(2026, 1, 12, 8, 59))
    assert london.is_open(utc(2026, 1, 12, 17, 59)) and not london.is_open(utc(2026, 1, 12, 18, 0))
    assert london.why(utc(2026, 1, 12, 12, 0)) == "open (Monday hours 09:00-18:00)"


def test_london_spring_forward_sunday_opens_at_ten_on_the_shop_clock():
    # 29 March 2026, last Sunday of March: clocks go 01:00 GMT -> 02:00 BST. 10:00 BST is 09:00 UTC.
    london = calendar()
    assert not london.is_open(utc(2026, 3, 29, 8, 59))
    assert london.is_open(utc(2026, 3, 29, 9, 0))  # 10:00 BST (10:00 GMT, a naive reading, would say closed)
    assert london.is_open(utc(2026, 3, 29, 14, 59)) and not london.is_open(utc(2026, 3, 29, 15, 0))  # 16:00 BST
    # The Saturday before was still on GMT: 18:00 local is 18:00 UTC.
    assert london.is_open(utc(2026, 3, 28, 17, 59)) and not london.is_open(utc(2026, 3, 28, 18, 0))


def test_london_fall_back_sunday_opens_at_ten_on_the_shop_clock():
    # 25 October 2026, last Sunday of October: clocks go 02:00 BST -> 01:00 GMT. 10:00 GMT is 10:00 UTC.
    london = calendar()
    assert not london.is_open(utc(2026, 10, 25, 9, 30))  # 09:30 GMT (10:30 BST, a stale offset, would say open)
    assert london.is_open(utc(2026, 10, 25, 10, 0))
    assert london.is_open(utc(2026, 10, 24, 16, 59)) and not london.is_open(utc(2026, 10, 24, 17, 0))  # Sat, BST


def test_london_next_boundaries_cross_the_clock_change():
    london = calendar()
    opening, closing = london.next_boundaries(utc(2026, 3, 28, 18, 30))  # Saturday evening, GMT
    assert opening.at == datetime(2026, 3, 29, 10, 0, tzinfo=ZoneInfo("Europe/London"))
    assert opening.at.utcoffset().total_seconds() == 3600  # BST by then
    assert closing.at.astimezone(UTC) == utc(2026, 3, 29, 15, 0)
    assert london.next_change(utc(2026, 3, 28, 18, 30)) == opening


def test_hours_inside_the_spring_forward_gap_move_forward_with_the_clock():
    night = calendar(sun="00:30-03:00")  # 01:00-02:00 does not exist on 29 March 2026
    (interval,) = night.intervals(date(2026, 3, 29), date(2026, 3, 29))
    assert interval.opens == utc(2026, 3, 29, 0, 30)
    assert interval.closes == utc(2026, 3, 29, 2, 0)  # 03:00 BST: 1.5 real hours instead of 2.5
    inside = calendar(sun="01:15-01:45")  # entirely inside the gap: both ends move to 02:15-02:45 BST
    assert [(i.opens, i.closes) for i in inside.intervals(date(2026, 3, 29), date(2026, 3, 29))] == [
        (utc(2026, 3, 29, 1, 15), utc(2026, 3, 29, 1, 45))
    ]
    across = calendar(sun="01:30-02:30")  # 01:30 moves to 02:30 BST, which is also the closing: no time at all
    assert across.intervals(date(2026, 3, 29), date(2026, 3, 29)) == []


def test_hours_in_the_repeated_fall_back_hour_mean_the_first_one():
    night = calendar(sun="01:30-02:30")  # 01:00-02:00 happens twice on 25 October 2026
    (interval,) = night.intervals(date(2026, 10, 25), date(2026, 10, 25))
    assert interval.opens == utc(2026, 10, 25, 0, 30)  # 01:30 BST, the first 01:30
    assert interval.closes == utc(2026, 10, 25, 2, 30)  # 02:30 GMT: two real hours


# ---------------------------------------------------------------------- other zones
def test_new_york_spring_and_fall_changes():
    ny = calendar("America/New_York")
    # Sunday 8 March 2026: clocks go 02:00 EST -> 03:00 EDT. 10:00 EDT is 14:00 UTC; a week before, 15:00 UTC.
    assert not ny.is_open(utc(2026, 3, 8, 13, 59)) and ny.is_open(utc(2026, 3, 8, 14, 0))
    assert not ny.is_open(utc(2026, 3, 1, 14, 59)) and ny.is_open(utc(2026, 3, 1, 15, 0))
    # Sunday 1 November 2026: back to EST. 16:00 EST is 21:00 UTC.
    assert ny.is_open(utc(2026, 11, 1, 20, 59)) and not ny.is_open(utc(2026, 11, 1, 21, 0))
    assert ny.why(utc(2026, 11, 1, 12, 0)) == "closed (Sunday hours 10:00-16:00)"


def test_sydney_changes_the_other_way_round():
    sydney = calendar("Australia/Sydney")
    # Sunday 5 April 2026: daylight saving ends (AEDT +11 -> AEST +10). 10:00 AEST is 00:00 UTC.
    assert not sydney.is_open(utc(2026, 4, 4, 23, 59)) and sydney.is_open(utc(2026, 4, 5, 0, 0))
    # Sunday 4 October 2026: daylight saving starts (+10 -> +11). 10:00 AEDT is 23:00 UTC on the Saturday.
    assert not sydney.is_open(utc(2026, 10, 3, 22, 59)) and sydney.is_open(utc(2026, 10, 3, 23, 0))


def test_half_hour_zone_without_daylight_saving():
    kolkata = calendar("Asia/Kolkata")  # +05:30 all year
    assert not kolkata.is_open(utc(2026, 6, 15, 3, 29)) and kolkata.is_open(utc(2026, 6, 15, 3, 30))


# ---------------------------------------------------------------------- closed dates, special hours, shapes of a week
def test_closed_date_wins_over_everything():
    london = calendar().with_special_days([date(2026, 12, 25)], {date(2026, 12, 25): "10:00-12:00"})
    assert not london.is_open(utc(2026, 12, 25, 11, 0))
    assert london.why(utc(2026, 12, 25, 11, 0)) == "closed (closed date 2026-12-25)"
    assert london.is_open(utc(2026, 12, 24, 11, 0))


def test_special_hours_replace_the_weekday_hours_for_one_date():
    london = calendar().with_special_days([], {date(2026, 12, 24): "09:00-14:00", date(2026, 12, 27): "closed"})
    assert london.is_open(utc(2026, 12, 24, 13, 59)) and not london.is_open(utc(2026, 12, 24, 14, 0))
    assert london.why(utc(2026, 12, 24, 15, 0)) == "closed (special hours 2026-12-24 09:00-14:00)"
    assert not london.is_open(utc(2026, 12, 27, 12, 0))  # a Sunday the store stays shut
    assert london.is_open(utc(2026, 12, 31, 17, 59))  # untouched days keep their weekday hours


def test_next_opening_skips_closed_dates():
    london = calendar().with_special_days([date(2026, 12, 25), date(2026, 12, 26), date(2026, 12, 27)], {})
    opening, closing = london.next_boundaries(utc(2026, 12, 24, 18, 30))
    assert opening.at.date() == date(2026, 12, 28) and opening.at.hour == 9
    assert closing.at.date() == date(2026, 12, 28) and closing.at.hour == 18


def test_a_long_closure_still_finds_the_reopening():
    closed_for_refit = [date.fromordinal(date(2026, 6, 1).toordinal() + i) for i in range(60)]
    london = calendar().with_special_days(closed_for_refit, {})
    opening, _ = london.next_boundaries(utc(2026, 5, 31, 20, 0))
    assert opening.at.date() == date(2026, 7, 31)


def test_a_store_that_never_opens_has_no_next_boundary():
    never = StoreCalendar.from_text("Europe/London", dict.fromkeys(WEEK, "closed"))
    assert never.next_boundaries(utc(2026, 5, 1, 12, 0)) == (None, None)
    assert never.next_change(utc(2026, 5, 1, 12, 0)) is None


def test_lunch_break_is_two_intervals_with_a_boundary_between():
    lunch = calendar("Europe/Lisbon", mon="09:00-13:00,14:00-19:00")
    assert lunch.is_open(utc(2026, 1, 12, 12, 59)) and not lunch.is_open(utc(2026, 1, 12, 13, 0))
    assert lunch.next_change(utc(2026, 1, 12, 13, 30)).at.hour == 14


def test_open_past_midnight_is_one_interval_without_a_midnight_boundary():
    late = calendar(fri="18:00-24:00", sat="00:00-02:00")
    assert late.is_open(utc(2026, 1, 16, 23, 59)) and late.is_open(utc(2026, 1, 17, 0, 0))
    assert late.next_change(utc(2026, 1, 16, 22, 0)).at.astimezone(UTC) == utc(2026, 1, 17, 2, 0)
    always = StoreCalendar.from_text("UTC", dict.fromkeys(WEEK, "00:00-24:00"))
    opening, closing = always.next_boundaries(utc(2026, 1, 16, 12, 0))
    assert opening is None and closing is None
