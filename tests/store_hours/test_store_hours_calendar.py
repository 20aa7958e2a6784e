"""The hours calendar (greeter_common.store_calendar): time zones, daylight saving, closed dates, special hours."""

import importlib
import sys
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from stack import ROOT

sys.path.insert(0, str(ROOT / "functions" / "store_hours"))
hours = importlib.import_module("greeter_common.store_calendar")
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
        ("18:00-02:00", ["18:00-02:00"]),  # into the next morning
        ("09:00-08:00", ["09:00-08:00"]),  # 23 hours
        ("09:00-12:00 , 20:00-02:00", ["09:00-12:00", "20:00-02:00"]),
    ],
)
def test_day_hours_are_read(text, expected):
    assert [str(r) for r in parse_day_hours(text)] == expected


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("9-18", "not HH:MM-HH:MM"),
        ("9:00-14:00", "not HH:MM-HH:MM"),
        ("09:00-09:00", "opens and closes at the same minute"),
        ("09:00-13:00,12:00-18:00", "overlap"),
        ("20:00-02:00,22:00-23:00", "overlap"),
        ("09:00-24:30", "closing up to 24:00"),
        ("24:00-02:00", "not HH:MM-HH:MM"),
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


# ---------------------------------------------------------------------- after midnight
BAR = WEEK | {"fri": "18:00-02:00", "sat": "18:00-02:00"}


def test_a_range_that_closes_earlier_than_it_opens_runs_into_the_next_morning():
    bar = StoreCalendar.from_text("Europe/London", BAR)  # January: London time is UTC
    assert not bar.is_open(utc(2026, 1, 16, 17, 59)) and bar.is_open(utc(2026, 1, 16, 18, 0))  # Friday
    assert bar.is_open(utc(2026, 1, 17, 1, 59)) and not bar.is_open(utc(2026, 1, 17, 2, 0))  # Saturday morning
    assert bar.why(utc(2026, 1, 17, 1, 0)) == "open (Friday hours 18:00-02:00)"
    assert bar.why(utc(2026, 1, 17, 3, 0)) == "closed (Saturday hours 18:00-02:00)"
    assert bar.next_change(utc(2026, 1, 16, 22, 0)).at.astimezone(UTC) == utc(2026, 1, 17, 2, 0)
    opening, closing = bar.next_boundaries(utc(2026, 1, 17, 2, 30))
    assert (opening.at.astimezone(UTC), closing.at.astimezone(UTC)) == (utc(2026, 1, 17, 18), utc(2026, 1, 18, 2))


def test_a_night_belongs_to_the_day_it_opens_whatever_the_next_day_holds():
    saturday_closed = StoreCalendar.from_text("Europe/London", BAR).with_special_days([date(2026, 1, 17)], {})
    assert saturday_closed.is_open(utc(2026, 1, 17, 1, 0))  # Friday's night still runs to 02:00
    assert not saturday_closed.is_open(utc(2026, 1, 17, 20, 0))  # Saturday's own hours are gone
    friday_closed = StoreCalendar.from_text("Europe/London", BAR).with_special_days([date(2026, 1, 16)], {})
    assert not friday_closed.is_open(utc(2026, 1, 16, 20, 0)) and not friday_closed.is_open(utc(2026, 1, 17, 1, 0))
    short_saturday = StoreCalendar.from_text("Europe/London", BAR).with_special_days([], {date(2026, 1, 17): "closed"})
    assert short_saturday.is_open(utc(2026, 1, 17, 1, 0))  # special hours replace Saturday's, not Friday's night


def test_a_night_running_into_the_next_days_hours_is_one_interval():
    market = StoreCalendar.from_text("UTC", WEEK | {"fri": "20:00-02:00", "sat": "01:00-10:00"})
    (night,) = market.intervals(date(2026, 1, 16), date(2026, 1, 17))
    assert (night.opens, night.closes) == (utc(2026, 1, 16, 20, 0), utc(2026, 1, 17, 10, 0))
    assert market.next_change(utc(2026, 1, 16, 21, 0)).at.astimezone(UTC) == utc(2026, 1, 17, 10, 0)


def test_a_night_across_the_autumn_clock_change_lasts_what_the_shop_clock_says():
    # Saturday 24 October 2026 20:00 BST (19:00 UTC) to Sunday 02:00 GMT (02:00 UTC): 7 real hours.
    bar = StoreCalendar.from_text("Europe/London", WEEK | {"sat": "20:00-02:00"})
    (night,) = bar.intervals(date(2026, 10, 24), date(2026, 10, 24))
    assert (night.opens, night.closes) == (utc(2026, 10, 24, 19, 0), utc(2026, 10, 25, 2, 0))
    # a closing in the repeated hour means the first one: 01:30 BST
    early = StoreCalendar.from_text("Europe/London", WEEK | {"sat": "20:00-01:30"})
    assert early.intervals(date(2026, 10, 24), date(2026, 10, 24))[0].closes == utc(2026, 10, 25, 0, 30)


def test_a_night_across_the_spring_clock_change_closes_when_the_shop_clock_says():
    # Saturday 28 March 2026 22:00 GMT; 01:30 on Sunday does not exist (01:00 GMT -> 02:00 BST): it moves to
    # 02:30 BST, which is 01:30 UTC. 02:00 exists (BST) and is 01:00 UTC: one real hour less than the clock says.
    gap = StoreCalendar.from_text("Europe/London", WEEK | {"sat": "22:00-01:30"})
    assert gap.intervals(date(2026, 3, 28), date(2026, 3, 28))[0].closes == utc(2026, 3, 29, 1, 30)
    bar = StoreCalendar.from_text("Europe/London", WEEK | {"sat": "22:00-02:00"})
    (night,) = bar.intervals(date(2026, 3, 28), date(2026, 3, 28))
    assert (night.opens, night.closes) == (utc(2026, 3, 28, 22, 0), utc(2026, 3, 29, 1, 0))
    assert bar.why(utc(2026, 3, 29, 0, 30)) == "open (Saturday hours 22:00-02:00)"


def test_weekly_hours_that_cannot_be_read_are_closed_days_with_the_reason():
    ranges, problems = hours.read_weekly_hours(WEEK | {"mon": "09:00-09:00", "tue": "09:00-13:00,12:00-18:00"})
    assert ranges[0] == ranges[1] == () and [str(r) for r in ranges[2]] == ["09:00-18:00"]
    assert set(problems) == {"mon", "tue"}
    assert "same minute" in problems["mon"] and "overlap" in problems["tue"]
