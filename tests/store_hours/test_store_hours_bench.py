"""bench/store_hours_cost.py: the README's cost figure comes from the template's default hours."""

import importlib.util

from stack import ROOT


def load_bench():
    spec = importlib.util.spec_from_file_location("store_hours_cost", ROOT / "bench" / "store_hours_cost.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_default_hours_cost_a_third_of_24_7():
    bench = load_bench()
    result = bench.figures(2026, "Europe/London")
    # Mon-Sat 09:00-18:00 and Sun 10:00-16:00: 6 x 9 h + 6 h = 60 h = 3,600 minutes of 10,080
    assert result["week"] == {"store_hours": 3600, "always_on": 10080}
    assert round(result["month"]["always_on"]) == 43800  # 365 days / 12
    assert round(result["month"]["store_hours"]) == 15645
    text = bench.report(result)
    assert "| monthly cost at $0.12/min, us-east-1 | $1,877 | $5,256 | $3,379 |" in text


def test_clock_change_weeks_count_their_real_minutes():
    bench = load_bench()
    calendar = bench.StoreCalendar.from_text("Europe/London", bench.default_weekly_hours())
    spring_week = (bench.date(2026, 3, 23), bench.date(2026, 3, 29))  # ends on the spring-forward Sunday
    assert bench.open_minutes(calendar, *spring_week) == 3600  # opening hours are wall-clock hours
    assert bench.wall_minutes(calendar, *spring_week) == 10080 - 60  # the week itself is an hour short
