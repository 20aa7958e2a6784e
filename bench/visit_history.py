"""Reading a year of visit history for a busy store: read capacity, time and on-demand cost of what staff ask.

    .venv/bin/python -m bench.visit_history                  # about a minute

A busy store's history (300 visits of registered people a day from 1,500 regular customers; one of them comes
every Tuesday and Friday) is written into template.yaml's VisitHistoryTable on moto, in the shape the match
function writes it. The table holds that customer's whole year and everyone's last 30 days: a Query reads only
the partition it asks for, so the other eleven months change no read below (DynamoDB bills what a query reads,
not the table's size); they would only slow moto, whose queries scan its whole table. Then the staff API's
reads run through the same VisitHistory the API uses, side by side:
  - one day's visits (GET /visits?from=D&to=D, every page);
  - one regular customer's year (GET /people/{id}/visits, every page);
  - a month as CSV (GET /visits/export for 30 days);
and, for scale, what a Scan of a whole year (what the indexes avoid) would read.

Read capacity is computed as DynamoDB bills it (items' sizes by DynamoDB's rules, each query's bytes rounded up
to 4 KB, eventually consistent = half a unit), since moto does not meter it. Time is moto in-process: it shows
how the reads scale (moto scans its whole table for each query, so it overstates DynamoDB's time), not AWS's
latency. Cost: on-demand reads at bench/prices.py's price.

Prints the table and writes it as markdown to bench/results/visit_history.md.
"""

from __future__ import annotations

import argparse
import importlib
import math
import random
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import boto3
from moto import mock_aws

from bench.harness import Stack  # first: puts the shared layer on sys.path and sets fake credentials
from bench.prices import PRICES
from bench.report import markdown_table, publish

VisitHistory = importlib.import_module("greeter_common.visit_history").VisitHistory
iso = importlib.import_module("greeter_common.visit_history").iso

RESULTS = Path(__file__).resolve().parent / "results"
LONDON = ZoneInfo("Europe/London")


def item_bytes(item: dict) -> int:
    """An item's size as DynamoDB counts it: attribute names plus values (strings UTF-8, numbers ~ digits/2+1)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        if isinstance(value, str):
            size += len(value.encode())
        elif isinstance(value, set):
            size += sum(len(v.encode()) for v in value) + 3
        else:
            size += len(str(value)) // 2 + 2
    return size


class Meter:
    """Counts read units per query page as DynamoDB would, wrapping the table's query."""

    def __init__(self, table):
        self.table, self.units, self.items, self.pages = table, 0.0, 0, 0
        self._query = table.query

    def query(self, **kwargs):
        page = self._query(**kwargs)
        self.units += math.ceil(max(sum(item_bytes(i) for i in page["Items"]), 1) / 4096) * 0.5
        self.items += len(page["Items"])
        self.pages += 1
        return page

    def reset(self) -> None:
        self.units, self.items, self.pages = 0.0, 0, 0


def fill(history, days: int, visits_a_day: int, seed: int) -> tuple[str, date, float]:
    """Writes everyone's last `days` days and one regular's year; returns the regular's id, the last day and the
    mean item size in bytes."""
    rng = random.Random(seed)
    regulars = [f"{n:08d}-0000-4000-8000-{n:012d}" for n in range(1500)]
    cameras = ["entrance", "till", "door"]
    last_day = date(2026, 11, 30)
    regular = regulars[0]
    sizes = []
    with history.table.batch_writer() as batch:
        for d in range(365):
            day = last_day - timedelta(days=364 - d)
            everyone = d >= 365 - days
            people = rng.sample(regulars[1:], visits_a_day - (1 if day.weekday() in (1, 4) else 0)) if everyone else []
            if day.weekday() in (1, 4):
                people.append(regular)  # comes every Tuesday and Friday
            for person in people:
                start = datetime.combine(day, datetime.min.time(), LONDON).timestamp() + rng.uniform(9, 17.5) * 3600
                end = start + rng.lognormvariate(math.log(12 * 60), 0.6)
                item = {
                    "person_id": person,
                    "first_seen": iso(start),
                    "last_seen": iso(end),
                    "store_day": day.isoformat(),
                    "cameras": set(rng.sample(cameras, rng.randint(1, 3))),
                    "expires_at": int(end) + 3650 * 86400,
                }
                if rng.random() < 0.9:
                    item["alerted_at"] = iso(start + 1)
                batch.put_item(Item=item)
                sizes.append(item_bytes(item))
    return regular, last_day, sum(sizes) / len(sizes)


def measure(label: str, meter: Meter, read) -> list[str]:
    meter.reset()
    started = time.perf_counter()
    visits = read()
    seconds = time.perf_counter() - started
    cost = meter.units * PRICES["dynamodb_read"].each
    return [
        label,
        f"{visits:,}",
        f"{meter.pages:,}",
        f"{meter.units:,.1f}",
        f"${cost:.7f}",
        f"{seconds * 1000:,.0f} ms",
    ]


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=30, help="days of everyone's visits in the table")
    parser.add_argument("--visits-a-day", type=int, default=300)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--output", type=Path, default=RESULTS / "visit_history.md")
    args = parser.parse_args(argv)

    with mock_aws():
        stack = Stack({"AlertEmails": "staff@example.com"}, name="benchhistory")
        table = boto3.resource("dynamodb", region_name="eu-west-1").Table(stack.ref("VisitHistoryTable"))
        history = VisitHistory(table, LONDON, retention_days=3650)
        started = time.perf_counter()
        regular, last_day, mean_item = fill(history, args.days, args.visits_a_day, args.seed)
        fill_seconds = time.perf_counter() - started
        meter = Meter(table)
        table.query = meter.query  # every read below goes through the meter

        def read_all(first: date, last: date) -> int:
            count, token = 0, None
            while True:
                page, token = history.between(first, last, limit=500, token=token)
                count += len(page)
                if token is None:
                    return count

        def read_person() -> int:
            count, token = 0, None
            while True:
                page, token = history.of_person(regular, limit=100, token=token)
                count += len(page)
                if token is None:
                    return count

        month_first = last_day - timedelta(days=min(args.days, 30) - 1)
        rows = [
            measure("one day's visits (GET /visits, one day)", meter, lambda: read_all(last_day, last_day)),
            measure("one regular's year (GET /people/{id}/visits)", meter, read_person),
            measure("a month as CSV (GET /visits/export, 30 days)", meter, lambda: read_all(month_first, last_day)),
        ]
        year_items = args.visits_a_day * 365
        scan_units = math.ceil(year_items * mean_item / 4096) * 0.5
        rows.append(
            [
                "(for scale) a Scan of a whole year",
                f"{year_items:,}",
                "-",
                f"{scan_units:,.1f}",
                f"${scan_units * PRICES['dynamodb_read'].each:.7f}",
                "-",
            ]
        )

    header = ["read", "visits", "query pages", "read units", "on-demand cost", "time on moto"]
    table_md = markdown_table(header, rows)
    text = "\n".join(
        [
            f"## Visit history reads: a busy store ({args.visits_a_day} visits a day; items of {mean_item:.0f} bytes)",
            "",
            table_md,
            "",
            f"Written in {fill_seconds:,.0f} s on moto. Read units as DynamoDB bills them (4 KB per unit, eventually "
            f"consistent reads at half a unit); {PRICES['dynamodb_read']}. Every read is a Query on the table or its "
            "ByDay index; none scans.",
        ]
    )
    return publish(text, args.output)


if __name__ == "__main__":
    main()
