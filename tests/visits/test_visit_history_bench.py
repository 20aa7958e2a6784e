"""bench/visit_history.py reads through the API's own VisitHistory and meters read units as DynamoDB bills them."""

import importlib
import sys

from stack import ROOT


def test_the_bench_reads_a_day_a_persons_year_and_a_month_by_query(tmp_path):
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # as `python -m bench.visit_history` from the repository root
    bench = importlib.import_module("bench.visit_history")
    assert bench.item_bytes({"person_id": "abc", "cameras": {"till"}}) == len("person_id") + 3 + len("cameras") + 4 + 3

    text = bench.main(["--days", "2", "--visits-a-day", "40", "--output", str(tmp_path / "h.md")])

    rows = {
        line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
        for line in text.splitlines()
        if line.startswith("| ") and "read units" not in line
    }
    assert rows["one day's visits (GET /visits, one day)"][0] == "40"
    assert rows["one regular's year (GET /people/{id}/visits)"][0] == "104"  # every Tuesday and Friday of a year
    assert float(rows["a month as CSV (GET /visits/export, 30 days)"][2]) >= 1.0
    assert "none scans" in text
