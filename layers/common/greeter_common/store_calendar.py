"""The store's hours calendar: weekly hours, closed dates and special hours, in the store's time zone.

Pure date arithmetic, no AWS. Every time that goes in or comes out is timezone-aware; wall-clock
times ("09:00") are turned into instants in the store's zone, so daylight-saving changes are handled
the way the store experiences them: on the spring-forward Sunday "09:00" is still 09:00 on the shop's
clock, which is one hour earlier in UTC than the day before.

How a day's hours are written is defined once, here (DAY_HOURS_PATTERN; the template's weekday
parameters use it as their AllowedPattern, and a test keeps the two equal): one or more ranges,
"09:00-18:00" or "09:00-12:30,13:30-18:00" (a lunch break), "24:00" allowed as a closing time, or
"closed". What a pattern cannot say is checked by `parse_day_hours`: a range that opens and closes at
the same minute, and ranges of one day that overlap.

A range whose closing is earlier than its opening runs into the next morning: a bar's Friday
"18:00-02:00" closes at 02:00 on Saturday. A range belongs to the day it opens (the business day):
Friday's night runs to 02:00 even when Saturday is a closed date or has special hours, and a closed
Friday has no Friday night. Contiguous or overlapping intervals of neighbouring days merge, so
"18:00-24:00" on Friday with "00:00-02:00" on Saturday is the same night without a midnight boundary.

Two SSM parameters go with the weekly hours (the template's weekday parameters): the staff's special days,
      {"closed_dates": ["2026-12-25", "2026-12-26"],
       "special_hours": {"2026-12-24": "09:00-14:00"},
       "comment": "Christmas 2026"}
read entry by entry (`read_special_days`: a mistyped entry is dropped and named, the rest kept), and the
manager's manual override (`Override`; "{}" when there is none), which the store-hours function writes.

Local times that do not exist (inside the spring-forward gap) move forward by the gap, as clocks do;
local times that happen twice (the fall-back hour) mean the first one. A night that spans a clock
change is as long as the shop's clock says: "20:00-02:00" is 7 real hours the night the clocks go back.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")  # <name>Hours parameters
CLOSED = "closed"
_CLOCK = "([01][0-9]|2[0-3]):([0-5][0-9])"
_RANGE_TEXT = f"{_CLOCK}-({_CLOCK}|24:00)"
_RANGE = re.compile(f"^{_RANGE_TEXT}$")
# The whole syntax of a day's hours (the template's AllowedPattern for every weekday parameter).
DAY_HOURS_PATTERN = f"^({CLOSED}|{_RANGE_TEXT}(,{_RANGE_TEXT})*)$"
# How far ahead to look for the next opening (a store closed for longer has no "next opening").
HORIZON_DAYS = 400
_DAY_MINUTES = 24 * 60


class HoursError(ValueError):
    """Hours written in a way the calendar cannot read."""


@dataclass(frozen=True)
class TimeRange:
    opens: time
    closes: time | None  # None means 24:00 (midnight at the end of the day)

    @property
    def overnight(self) -> bool:
        """True when the range runs into the next morning (closes earlier on the clock than it opens)."""
        return self.closes is not None and self.closes < self.opens

    @property
    def minutes(self) -> tuple[int, int]:
        """Opening and closing as minutes from the start of the range's own day (closing may pass 1440)."""
        start = self.opens.hour * 60 + self.opens.minute
        end = _DAY_MINUTES if self.closes is None else self.closes.hour * 60 + self.closes.minute
        return start, end + (_DAY_MINUTES if self.overnight else 0)

    def __str__(self) -> str:
        return f"{self.opens:%H:%M}-{'24:00' if self.closes is None else f'{self.closes:%H:%M}'}"


def parse_day_hours(text: str) -> tuple[TimeRange, ...]:
    """ "09:00-12:30,13:30-18:00" -> two ranges; "18:00-02:00" -> one overnight range; "closed" -> none.

    Case and spaces around the commas are forgiven (staff type special hours by hand); otherwise the
    text must match DAY_HOURS_PATTERN."""
    text = ",".join(part.strip() for part in text.strip().lower().split(","))
    if text == CLOSED:
        return ()
    ranges = []
    for part in text.split(","):
        match = _RANGE.match(part)
        if not match:
            raise HoursError(f"{part!r} is not HH:MM-HH:MM (00:00 to 23:59, closing up to 24:00) or 'closed'")
        opens = time(int(match[1]), int(match[2]))
        closes = None if match[3] == "24:00" else time(int(match[4]), int(match[5]))
        if closes == opens:
            raise HoursError(f"{part!r} opens and closes at the same minute (open all day is 00:00-24:00)")
        ranges.append(TimeRange(opens, closes))
    ranges.sort(key=lambda r: r.opens)
    for earlier, later in zip(ranges, ranges[1:], strict=False):
        if earlier.minutes[1] > later.minutes[0]:
            raise HoursError(f"{text!r}: {earlier} and {later} overlap")
    return tuple(ranges)


def read_weekly_hours(weekly: dict[str, str]) -> tuple[dict[int, tuple[TimeRange, ...]], dict[str, str]]:
    """Each weekday's ranges (0 = Monday), and the days whose text cannot be read with why.

    A day that cannot be read counts as closed: detection off is the safe reading of hours nobody can
    interpret (no faces searched, nothing billed); the caller reports the problem."""
    ranges, problems = {}, {}
    for index, day in enumerate(WEEKDAYS):
        try:
            ranges[index] = parse_day_hours(weekly[day])
        except KeyError:
            ranges[index], problems[day] = (), "missing"
        except HoursError as error:
            ranges[index], problems[day] = (), str(error)
    return ranges, problems


@dataclass(frozen=True)
class Interval:
    """The store open from `opens` (inclusive) to `closes` (exclusive), as UTC-aware instants."""

    opens: datetime
    closes: datetime
    why: str


@dataclass(frozen=True)
class Boundary:
    at: datetime  # aware, in the store's zone
    opens: bool  # True: the store opens then; False: it closes

    @property
    def name(self) -> str:
        return "opening" if self.opens else "closing"


@dataclass
class StoreCalendar:
    time_zone: ZoneInfo
    weekly: dict[int, tuple[TimeRange, ...]]  # 0 = Monday
    closed_dates: frozenset[date] = frozenset()
    special_hours: dict[date, tuple[TimeRange, ...]] = field(default_factory=dict)

    @classmethod
    def from_text(
        cls,
        time_zone: str,
        weekly: dict[str, str],
        closed_dates: list[str] | tuple[str, ...] = (),
        special_hours: dict[str, str] | None = None,
    ) -> StoreCalendar:
        missing = [day for day in WEEKDAYS if day not in weekly]
        if missing:
            raise HoursError(f"weekly hours lack {', '.join(missing)}")
        ranges, problems = read_weekly_hours(weekly)
        if problems:
            raise HoursError("; ".join(f"{day}: {problem}" for day, problem in problems.items()))
        return cls(
            time_zone=ZoneInfo(time_zone),
            weekly=ranges,
            closed_dates=frozenset(date.fromisoformat(d) for d in closed_dates),
            special_hours={date.fromisoformat(d): parse_day_hours(h) for d, h in (special_hours or {}).items()},
        )

    def with_special_days(self, closed_dates: Iterable[date], special_hours: dict[date, str]) -> StoreCalendar:
        """This calendar's weekly hours with the given closed dates and special hours."""
        return replace(
            self,
            closed_dates=frozenset(closed_dates),
            special_hours={day: parse_day_hours(text) for day, text in special_hours.items()},
        )

    # ------------------------------------------------------------------ one day
    def hours_on(self, day: date) -> tuple[tuple[TimeRange, ...], str]:
        """The day's ranges and why (closed date, special hours or the weekday's usual hours)."""
        if day in self.closed_dates:
            return (), f"closed date {day.isoformat()}"
        if day in self.special_hours:
            ranges = self.special_hours[day]
            return ranges, f"special hours {day.isoformat()} {_describe(ranges)}"
        ranges = self.weekly[day.weekday()]
        return ranges, f"{day:%A} hours {_describe(ranges)}"

    def _instant(self, day: date, at: time | None) -> datetime:
        """A wall-clock time of a day in the store's zone, as an aware UTC instant (None = 24:00)."""
        if at is None:
            day, at = day + timedelta(days=1), time(0, 0)
        local = datetime.combine(day, at, tzinfo=self.time_zone)  # fold=0: first of a repeated time
        instant = local.astimezone(UTC)
        # Inside a spring-forward gap zoneinfo uses the offset from before the gap: the instant is
        # then the wall-clock time moved forward by the gap, as the store's clock moved.
        return instant

    def intervals(self, first: date, last: date) -> list[Interval]:
        """Open intervals of the ranges that open on the days first..last (inclusive), contiguous ones merged."""
        merged: list[Interval] = []
        day = first
        while day <= last:
            ranges, why = self.hours_on(day)
            for time_range in ranges:
                opens = self._instant(day, time_range.opens)
                closes = self._instant(day + timedelta(days=1 if time_range.overnight else 0), time_range.closes)
                if closes <= opens:  # a range swallowed by a DST gap
                    continue
                if merged and merged[-1].closes >= opens:
                    previous = merged[-1]
                    merged[-1] = Interval(previous.opens, max(previous.closes, closes), previous.why)
                else:
                    merged.append(Interval(opens, closes, why))
            day += timedelta(days=1)
        return merged

    # ------------------------------------------------------------------ questions asked of the calendar
    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.time_zone)

    def open_interval(self, instant: datetime) -> Interval | None:
        """The open interval containing `instant`, or None when the store is closed then (yesterday's
        overnight range included)."""
        today = self.local(instant).date()
        for interval in self.intervals(today - timedelta(days=1), today + timedelta(days=1)):
            if interval.opens <= instant < interval.closes:
                return interval
        return None

    def is_open(self, instant: datetime) -> bool:
        return self.open_interval(instant) is not None

    def why(self, instant: datetime) -> str:
        """Why the store is open or closed at `instant`, in words for logs and notifications."""
        interval = self.open_interval(instant)
        if interval is not None:
            return f"open ({interval.why})"
        _, why = self.hours_on(self.local(instant).date())
        return f"closed ({why})"

    def next_boundaries(self, instant: datetime) -> tuple[Boundary | None, Boundary | None]:
        """The next opening and the next closing strictly after `instant` (None: none within the horizon)."""
        today = self.local(instant).date()
        next_opening = next_closing = None
        # Look a week ahead first (the usual case), then up to the horizon (a long closure, or 24/7).
        for days in (8, HORIZON_DAYS):
            last = today + timedelta(days=days)
            window_end = self._instant(last, None)
            for interval in self.intervals(today - timedelta(days=1), last):
                if next_opening is None and interval.opens > instant:
                    next_opening = Boundary(self.local(interval.opens), opens=True)
                # An interval running into the window's end may go on beyond it: not a known closing.
                if next_closing is None and instant < interval.closes < window_end:
                    next_closing = Boundary(self.local(interval.closes), opens=False)
            if next_opening and next_closing:
                break
        return next_opening, next_closing

    def next_change(self, instant: datetime) -> Boundary | None:
        """The next scheduled boundary after `instant`: the next time the store opens or closes."""
        candidates = [b for b in self.next_boundaries(instant) if b is not None]
        return min(candidates, key=lambda b: b.at, default=None)


def _describe(ranges: tuple[TimeRange, ...]) -> str:
    return ",".join(str(r) for r in ranges) if ranges else CLOSED


@dataclass(frozen=True)
class SpecialDays:
    """The entries of the special-days parameter that can be read, and what was dropped, entry by entry."""

    closed_dates: tuple[date, ...] = ()
    special_hours: dict[date, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


SPECIAL_DAYS_KEYS = ("closed_dates", "special_hours", "comment")
# Staff type free text here, where a customer's name can slip in ("Maria's birthday"): a dropped entry is
# quoted only when it is made of what dates and hours are made of; otherwise it is named by its place.
_QUOTABLE = re.compile(r"[0-9:/.,\- ]{1,25}")


def read_special_days(raw: str | None) -> SpecialDays:
    """The staff's JSON, read entry by entry: one mistyped date or range drops that entry only (and says
    so), so the other closed dates still hold. Only text that is not a JSON object loses everything."""
    try:
        value = json.loads(raw or "{}")
    except ValueError as error:
        return SpecialDays(problems=(f"not JSON ({error}); nothing in it is used",))
    if not isinstance(value, dict):
        return SpecialDays(problems=("not a JSON object; nothing in it is used",))
    problems = [_unknown_key(key) for key in value if key not in SPECIAL_DAYS_KEYS]
    closed: list[date] = []
    dates = value.get("closed_dates", [])
    if not isinstance(dates, list):
        problems.append("closed_dates is not a list of dates; no closed date is used")
        dates = []
    for place, entry in enumerate(dates, start=1):
        day = _date(entry)
        if day is None:
            problems.append(f"closed_dates entry {_shown(entry, place)} dropped: not a date (YYYY-MM-DD)")
        else:
            closed.append(day)
    special: dict[date, str] = {}
    entries = value.get("special_hours", {})
    if not isinstance(entries, dict):
        problems.append("special_hours is not an object of date: hours; no special hours are used")
        entries = {}
    for place, (key, text) in enumerate(entries.items(), start=1):
        day = _date(key)
        if day is None:
            problems.append(f"special_hours entry {_shown(key, place)} dropped: not a date (YYYY-MM-DD)")
            continue
        try:
            if not isinstance(text, str):
                raise HoursError(f"{text!r} is not text")
            parse_day_hours(text)
        except HoursError as error:
            free_text = isinstance(text, str) and not _QUOTABLE.fullmatch(text)
            why = "its hours are not HH:MM-HH:MM ranges or 'closed' (not quoted: free text)" if free_text else error
            problems.append(f"special_hours entry {_shown(key, place)} dropped ({why}); the weekday's hours apply")
            continue
        special[day] = text
    return SpecialDays(tuple(closed), special, tuple(problems))


def _shown(value: object, place: int) -> str:
    """The entry as staff wrote it when it cannot be anyone's name; otherwise its place in the list."""
    if isinstance(value, str) and _QUOTABLE.fullmatch(value):
        return repr(value)
    return f"number {place} (not quoted: it is not a date)"


def _unknown_key(key: str) -> str:
    guess = difflib.get_close_matches(key, SPECIAL_DAYS_KEYS, n=1)
    hint = f"; did you mean {guess[0]!r}?" if guess else ""
    return f"an unknown key ignored (the keys are {', '.join(SPECIAL_DAYS_KEYS)}){hint}"


def _date(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()) if len(value.strip()) == 10 else None
    except ValueError:
        return None


class Override(BaseModel):
    model_config = ConfigDict(extra="ignore")

    action: Literal["open", "close"]
    until: AwareDatetime
    set_at: AwareDatetime
    set_by: str = ""
    reason: str = ""

    def active(self, now: datetime) -> bool:
        return now < self.until


# How far ahead a manager may override the hours.
MAX_OVERRIDE = timedelta(days=14)
_CLOCK_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def override_until(text: str, calendar: StoreCalendar, now: datetime) -> datetime:
    """The end of a manager's override: "22:00" (its next occurrence, store time) or an ISO 8601 time (store
    time when it has no offset). HoursError when it is neither, in the past, or beyond MAX_OVERRIDE."""
    text = text.strip()
    clock = _CLOCK_TIME.match(text)
    if clock:
        local_now = calendar.local(now)
        wall = time(int(clock[1]), int(clock[2]))
        until = datetime.combine(local_now.date(), wall, tzinfo=calendar.time_zone)
        if until <= now:
            until = datetime.combine(local_now.date() + timedelta(days=1), wall, tzinfo=calendar.time_zone)
    else:
        try:
            until = datetime.fromisoformat(text)
        except ValueError:
            raise HoursError(f"until {text!r} is neither HH:MM nor an ISO 8601 time") from None
        if until.tzinfo is None:
            until = until.replace(tzinfo=calendar.time_zone)
    if until <= now:
        raise HoursError(f"until {text!r} is in the past")
    if until - now > MAX_OVERRIDE:
        raise HoursError(f"until {text!r} is more than {MAX_OVERRIDE.days} days ahead")
    return until
