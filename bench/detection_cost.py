"""What detection costs per store-month in each mode, on the same simulated store days.

    .venv/bin/python -m bench.detection_cost [--visitors 300] [--open-hours 12] [--days 30] [--seed 7]

One entrance camera. A stream processor bills every minute it runs, whoever is in view; frame search
pays per face crop the camera sends. The camera looks at a face when it first sees it and then again after
10, 20, 40, 80, 120, 120... seconds while the same face stays in view, at most 30 crops a minute. With its memory
of searched faces (the Pi's defaults, pi/greeter_camera/detection_settings.py and face_memory.py), a track that
has sent nothing yet is spared when the face's crops were uploaded twice in the last 10 minutes (a first look
and its second chance); a track's own resends always go. Whether the memory knows a face again, or takes
someone for another, is measured on real photos with the camera's own models (bench/face_memory.py) and drawn
at those rates here: recognition per remembered upload and look, confusion once per pair of people (a lookalike
stays a lookalike). Both policies run side by side on the same simulated days, and each counts the visitors
never searched while in the store (a registered one among them is not greeted). The simulated day
(assumptions printed with the results, all parameters of `StoreDay`):
  - the store is open 12 h; visitors arrive with a lunchtime and an after-work peak, alone (60%), in
    pairs (30%) or threes (10%), and stay 12 min (median; lognormal);
  - the entrance camera sees a visitor's face for ~4 s coming in; 15% linger at the display by the door
    (20-90 s, looking away now and then, which breaks the track into several); 30% show their face again
    for ~2 s on the way out;
  - 3 staff on the floor each cross the camera's view twice an hour (~3 s): their faces are searched too.
Prices are us-east-1 list prices (see PRICES and their sources); month = 30 open days.

Prints the tables and writes them as markdown to bench/results/detection_cost.md.
"""

from __future__ import annotations

import argparse
import math
import random
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

from bench.face_memory import DEFAULT_MEMORY_MINUTES, MAX_REMEMBERED, SEARCHES_BEFORE_SPARED
from bench.face_memory import report as face_memory_report
from bench.prices import PRICES as ALL_PRICES
from bench.report import markdown_table, publish

RESULTS = Path(__file__).resolve().parent / "results"


# The prices this bench uses, from the one table every cost bench shares (bench/prices.py: source and date each).
PRICES = {
    key: ALL_PRICES[key]
    for key in (
        "stream_face_search_minute",
        "search_faces_by_image",
        "face_storage",
        "kvs_consumed_gb",
        "s3_put",
        "s3_get",
        "lambda_request",
        "lambda_gb_second",
        "dynamodb_write",
        "dynamodb_read",
        "cw_logs_ingest_gb",
    )
}


@dataclass(frozen=True)
class StoreDay:
    visitors: int = 300
    open_hours: float = 12.0
    # Relative arrival rate for each part of the day (equal slices): a lunchtime and an after-work peak.
    arrival_profile: tuple[float, ...] = (0.5, 0.7, 0.9, 1.2, 1.3, 1.0, 0.8, 0.9, 1.1, 1.3, 1.2, 0.6)
    group_sizes: tuple[tuple[int, float], ...] = ((1, 0.6), (2, 0.3), (3, 0.1))
    visit_median_minutes: float = 12.0
    visit_sigma: float = 0.6
    entry_view_median_seconds: float = 4.0
    view_sigma: float = 0.5
    linger_share: float = 0.15
    linger_seconds: tuple[float, float] = (20.0, 90.0)
    linger_look_seconds: tuple[float, float] = (3.0, 10.0)  # face visible, then turned away for...
    linger_away_seconds: tuple[float, float] = (2.0, 6.0)  # ...long enough (> 2 s) to end the camera's track
    exit_view_share: float = 0.3
    exit_view_median_seconds: float = 2.0
    staff: int = 3
    staff_passes_per_hour: float = 2.0
    staff_view_median_seconds: float = 3.0


@dataclass(frozen=True)
class CameraPolicy:
    """The Pi's crop policy (pi/greeter_camera/detection_settings.py defaults) and the cloud's guardrail.
    `measured()` is the policy with the memory's rates as bench/face_memory.py measures them."""

    confirm_seconds: float = 0.4  # GREETER_CONFIRM_FRAMES=2 at 5 fps
    resend_seconds: float = 10.0  # GREETER_RESEND_SECONDS
    resend_max_seconds: float = 120.0  # GREETER_RESEND_MAX_SECONDS
    camera_cap_per_minute: int = 30  # GREETER_MAX_CROPS_PER_MINUTE
    cloud_cap_per_minute: int = 60  # template parameter SearchesPerMinutePerCamera
    search_memory_seconds: float = 0.0  # GREETER_SEARCH_MEMORY_MINUTES (10 on the camera; 0 = no memory)
    recognised_share: float = 0.0  # a face sent earlier is known again (bench/face_memory.py)
    confused_share: float = 0.0  # per pair of people: one taken for the other
    searches_before_spared: int = SEARCHES_BEFORE_SPARED  # face_memory.py
    max_remembered: int = MAX_REMEMBERED  # uploads the memory holds (face_memory.py)

    @classmethod
    def measured(cls, memory_minutes: float = DEFAULT_MEMORY_MINUTES) -> CameraPolicy:
        from bench.face_memory import measure

        recognition = measure()
        return cls(
            search_memory_seconds=memory_minutes * 60,
            recognised_share=recognition.recognised_share,
            confused_share=recognition.confused_share,
        )

    @property
    def at_the_confusion_bound(self) -> CameraPolicy:
        """This policy with the highest per-pair confusion rate bench/face_memory.py's pairs leave possible."""
        from bench.face_memory import measure

        return replace(self, confused_share=measure().confused_share_bound)

    @property
    def without_memory(self) -> CameraPolicy:
        return replace(self, search_memory_seconds=0.0)


class Track(NamedTuple):
    """A stretch of time the camera keeps one face's track; `who` is the person (negative: staff)."""

    start: float
    end: float
    who: int


@dataclass(frozen=True)
class CloudUsage:
    """Per crop in frame-search mode (assumptions, not measured against AWS)."""

    lambda_seconds: float = 0.4  # DynamoDB get + update, SearchFacesByImage (~0.2-0.3 s), PutRecord, DeleteObject
    lambda_memory_gb: float = 0.25  # template Globals MemorySize 256
    log_bytes: float = 1500  # START/END/REPORT lines and one structured "crop handled" line
    video_kbps: float = 3000  # the Pi's GREETER_BITRATE_KBPS default with detection off: a stream processor reads it
    registered_faces: int = 500


@dataclass
class DayResult:
    tracks: int = 0
    crops: int = 0
    looks_known: int = 0  # a look the memory of searched faces answered: no crop
    looks_confused: int = 0  # ... of these, spared only because someone else was taken for this face
    visitors: int = 0  # customers in view at least once (staff not counted)
    visitors_never_searched: int = 0  # ... none of whose looks became a crop: a registered one is not greeted
    most_remembered: int = 0  # uploads the memory held at its fullest
    dropped_by_camera_cap: int = 0
    dropped_by_cloud_cap: int = 0
    seconds_with_a_face: float = 0.0
    open_seconds: float = 0.0
    track_lengths: list[float] = field(default_factory=list)

    @property
    def searches(self) -> int:
        return self.crops - self.dropped_by_cloud_cap


# ---------------------------------------------------------------------- the simulated day
def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return rng.lognormvariate(math.log(median), sigma)


def _arrival_times(rng: random.Random, day: StoreDay) -> list[float]:
    """Group arrival times (s since opening) for about `day.visitors` people."""
    slice_seconds = day.open_hours * 3600 / len(day.arrival_profile)
    weights = [w / sum(day.arrival_profile) for w in day.arrival_profile]
    sizes, probabilities = zip(*day.group_sizes, strict=True)
    mean_group = sum(s * p for s, p in day.group_sizes)
    groups = []
    for i, weight in enumerate(weights):
        for _ in range(_poisson(rng, day.visitors * weight / mean_group)):
            groups.append(
                (rng.uniform(i * slice_seconds, (i + 1) * slice_seconds), rng.choices(sizes, probabilities)[0])
            )
    return sorted(groups)


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method is fine for the means here (tens); split large means to keep exp() in range.
    count = 0
    while mean > 50:
        count += round(rng.gauss(50, math.sqrt(50)))
        mean -= 50
    limit, product = math.exp(-mean), rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return max(count, 0)


def face_tracks(rng: random.Random, day: StoreDay) -> list[Track]:
    """Every stretch during which the camera keeps one face's track, over one open day, and whose face it is."""
    open_seconds = day.open_hours * 3600
    tracks = []
    visitor = 0
    for arrived, size in _arrival_times(rng, day):
        for _ in range(size):
            visitor += 1
            start = arrived + rng.uniform(0, 2)  # a group comes in within a couple of seconds
            tracks.append(Track(start, start + _lognormal(rng, day.entry_view_median_seconds, day.view_sigma), visitor))
            if rng.random() < day.linger_share:
                t, end = tracks[-1].end, tracks[-1].end + rng.uniform(*day.linger_seconds)
                while t < end:
                    t += rng.uniform(*day.linger_away_seconds)
                    look = min(rng.uniform(*day.linger_look_seconds), max(end - t, 0.5))
                    tracks.append(Track(t, t + look, visitor))
                    t += look
            leaves = start + _lognormal(rng, day.visit_median_minutes * 60, day.visit_sigma)
            if leaves < open_seconds and rng.random() < day.exit_view_share:
                view = _lognormal(rng, day.exit_view_median_seconds, day.view_sigma)
                tracks.append(Track(leaves, leaves + view, visitor))
    for member in range(1, day.staff + 1):
        for _ in range(_poisson(rng, day.staff_passes_per_hour * day.open_hours)):
            start = rng.uniform(0, open_seconds)
            tracks.append(Track(start, start + _lognormal(rng, day.staff_view_median_seconds, day.view_sigma), -member))
    return sorted(Track(s, min(e, open_seconds), who) for s, e, who in tracks if s < open_seconds)


def crop_times(track: tuple[float, ...], policy: CameraPolicy) -> list[float]:
    """When the camera would look at one track (send a crop of it, without a memory), before its per-minute cap."""
    start, end = track[0], track[1]
    times, t, interval = [], start + policy.confirm_seconds, policy.resend_seconds
    while t <= end:
        times.append(t)
        t += interval
        interval = min(interval * 2, policy.resend_max_seconds)
    return times


def _camera_sends(
    rng: random.Random, looks: list[tuple[float, int, int]], policy: CameraPolicy, day: DayResult
) -> list[tuple[float, int]]:
    """The looks (time, who, track) in time order through the camera's per-minute cap and its memory of searched
    faces, as pi/greeter_camera/tracking.py decides them; returns the crops sent (time, who) and counts the rest.
    Every crop sent is taken to reach S3 (the Pi remembers only those)."""
    sent: list[tuple[float, int]] = []
    in_cap_window: deque[float] = deque()
    remembered: deque[tuple[float, int]] = deque()  # (time, who) of each upload the memory holds, oldest first
    uploads_of: Counter[int] = Counter()  # who -> their uploads in `remembered`
    tracks_that_sent: set[int] = set()
    lookalikes: dict[tuple[int, int], bool] = {}  # a pair of people, drawn once: one taken for the other

    def confused(a: int, b: int) -> bool:
        pair = (min(a, b), max(a, b))
        if pair not in lookalikes:
            lookalikes[pair] = rng.random() < policy.confused_share
        return lookalikes[pair]

    for t, who, track in sorted(looks):
        while in_cap_window and in_cap_window[0] <= t - 60:
            in_cap_window.popleft()
        if len(in_cap_window) >= policy.camera_cap_per_minute:
            day.dropped_by_camera_cap += 1
            continue
        if policy.search_memory_seconds > 0 and track not in tracks_that_sent:
            while remembered and t - remembered[0][0] >= policy.search_memory_seconds:
                uploads_of[remembered.popleft()[1]] -= 1
            own = sum(1 for _ in range(uploads_of[who]) if rng.random() < policy.recognised_share)
            others = 0
            if policy.confused_share > 0:
                others = sum(n for other, n in uploads_of.items() if n and other != who and confused(who, other))
            if own + others >= policy.searches_before_spared:
                day.looks_known += 1
                day.looks_confused += own < policy.searches_before_spared
                continue
        in_cap_window.append(t)
        sent.append((t, who))
        tracks_that_sent.add(track)
        if policy.search_memory_seconds > 0:
            remembered.append((t, who))
            uploads_of[who] += 1
            while len(remembered) > policy.max_remembered:
                uploads_of[remembered.popleft()[1]] -= 1
            day.most_remembered = max(day.most_remembered, len(remembered))
    return sent


def _apply_calendar_cap(times: list[float], per_minute: int) -> int:
    per_minute_counts: dict[int, int] = {}
    dropped = 0
    for t in times:
        minute = int(t // 60)
        if per_minute_counts.get(minute, 0) >= per_minute:
            dropped += 1
        else:
            per_minute_counts[minute] = per_minute_counts.get(minute, 0) + 1
    return dropped


def _covered_seconds(tracks: list[Track]) -> float:
    covered, current_end = 0.0, -1.0
    for start, end, _ in tracks:
        if end > current_end:
            covered += end - max(start, current_end)
            current_end = end
    return covered


def simulate_day(rng: random.Random, day: StoreDay, policy: CameraPolicy) -> DayResult:
    tracks = face_tracks(rng, day)
    # The memory's draws have a generator of their own, seeded alike whatever the policy: both policies see
    # the same days.
    draws = random.Random(rng.random())
    looks = [(t, track.who, i) for i, track in enumerate(tracks) for t in crop_times(track, policy)]
    visitors = {track.who for track in tracks if track.who > 0}
    result = DayResult(
        tracks=len(tracks),
        seconds_with_a_face=_covered_seconds(tracks),
        open_seconds=day.open_hours * 3600,
        track_lengths=[end - start for start, end, _ in tracks],
        visitors=len(visitors),
    )
    sent = _camera_sends(draws, looks, policy, result)
    result.crops = len(sent)
    result.dropped_by_cloud_cap = _apply_calendar_cap([t for t, _ in sent], policy.cloud_cap_per_minute)
    result.visitors_never_searched = len(visitors - {who for _, who in sent})
    return result


# ---------------------------------------------------------------------- costs
@dataclass(frozen=True)
class Line:
    item: str
    stream_processor: float | None
    frame_search: float | None
    how: str


def monthly_costs(days: list[DayResult], day: StoreDay, usage: CloudUsage) -> list[Line]:
    p = {name: price.each for name, price in PRICES.items()}
    open_minutes = day.open_hours * 60 * len(days)
    searches = sum(d.searches for d in days)
    crops = sum(d.crops for d in days)
    video_gb = usage.video_kbps * 1000 / 8 * day.open_hours * 3600 * len(days) / 1e9
    storage = usage.registered_faces * p["face_storage"]
    return [
        Line(
            "Rekognition face search",
            open_minutes * p["stream_face_search_minute"],
            searches * p["search_faces_by_image"],
            f"{open_minutes:,.0f} processor-minutes vs {searches:,} SearchFacesByImage calls",
        ),
        Line("Face storage", storage, storage, f"{usage.registered_faces} registered faces"),
        Line(
            "Video read by Rekognition (KVS)",
            video_gb * p["kvs_consumed_gb"],
            None,
            f"{video_gb:,.0f} GB at {usage.video_kbps / 1000:g} Mbit/s",
        ),
        Line(
            "S3 (crop PUT + Rekognition's GET)",
            None,
            crops * (p["s3_put"] + p["s3_get"]),
            f"{crops:,} crops; deleted after the search",
        ),
        Line(
            "Lambda (frame search)",
            None,
            crops * (p["lambda_request"] + usage.lambda_seconds * usage.lambda_memory_gb * p["lambda_gb_second"]),
            f"{usage.lambda_seconds:g} s at {usage.lambda_memory_gb * 1024:.0f} MB per crop",
        ),
        Line(
            "DynamoDB (state read + quota write)",
            None,
            crops * (0.5 * p["dynamodb_read"] + p["dynamodb_write"]),
            "per crop: 1 eventually consistent read, 1 write",
        ),
        Line(
            "CloudWatch Logs (frame search)",
            None,
            crops * usage.log_bytes / 1e9 * p["cw_logs_ingest_gb"],
            f"~{usage.log_bytes / 1000:g} KB per crop",
        ),
    ]


def _usd(value: float | None) -> str:
    if value is None:
        return "-"
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:.4f}"


def simulate_month(day: StoreDay, policy: CameraPolicy, days: int, seed: int) -> list[DayResult]:
    rng = random.Random(seed)
    return [simulate_day(rng, day, policy) for _ in range(days)]


def report(day: StoreDay, policy: CameraPolicy, usage: CloudUsage, days: int, seed: int) -> str:
    month = simulate_month(day, policy, days, seed)
    lines = monthly_costs(month, day, usage)
    sp_total = sum(line.stream_processor or 0 for line in lines)
    fs_total = sum(line.frame_search or 0 for line in lines)
    tracks_a_day = sum(d.tracks for d in month) / days
    crops_a_day = sum(d.crops for d in month) / days
    camera_capped_a_day = sum(d.dropped_by_camera_cap for d in month) / days
    cloud_capped_a_day = sum(d.dropped_by_cloud_cap for d in month) / days
    search_price = PRICES["search_faces_by_image"].each
    idle = 1 - sum(d.seconds_with_a_face for d in month) / sum(d.open_seconds for d in month)
    open_minutes = day.open_hours * 60

    out = [
        f"## Detection cost per store-month ({days} open days of {day.open_hours:g} h, one camera, "
        f"{day.visitors} visitors a day)",
        "",
        markdown_table(
            ["", "StreamProcessor", "FrameSearch", "basis"],
            [[line.item, _usd(line.stream_processor), _usd(line.frame_search), line.how] for line in lines]
            + [["**Total**", f"**{_usd(sp_total)}**", f"**{_usd(fs_total)}**", f"{sp_total / fs_total:,.0f}x cheaper"]],
        ),
        "",
        markdown_table(
            ["Rekognition per day", "StreamProcessor", "FrameSearch"],
            [
                ["billed units", f"{open_minutes:,.0f} processor-minutes", f"{crops_a_day:,.0f} searches"],
                ["API calls", "2 (start + stop, not billed)", f"{crops_a_day:,.0f} SearchFacesByImage"],
            ],
        ),
        "",
        f"Simulated day: {tracks_a_day:,.0f} face tracks (a face the camera follows until it is out of view "
        f"for 2 s), {crops_a_day:,.0f} crops sent ({crops_a_day / day.visitors:.1f} per visitor, staff "
        f"included), {sum(d.looks_known for d in month) / days:,.0f} looks at a face sent within the last "
        f"{policy.search_memory_seconds / 60:g} minutes not sent, {camera_capped_a_day:,.1f} held back by the "
        f"camera's {policy.camera_cap_per_minute}/min cap, {cloud_capped_a_day:,.1f} dropped by the cloud's "
        f"{policy.cloud_cap_per_minute}/min cap; "
        f"nobody in view {idle:.0%} of opening hours (the stream processor bills those minutes too).",
        "",
        f"Ceilings: a camera held at its own cap ({policy.camera_cap_per_minute}/min) all day would cost "
        f"{_usd(policy.camera_cap_per_minute * open_minutes * days * search_price)} a month; "
        f"at the cloud's cap ({policy.cloud_cap_per_minute}/min), "
        f"{_usd(policy.cloud_cap_per_minute * open_minutes * days * search_price)}. "
        "Not included (the same in both modes): the detection data stream, the match function, SNS, and "
        "Kinesis Video Streams ingest/storage when the camera also streams video.",
        "",
        "Prices (us-east-1):",
        "",
        markdown_table(
            ["price", "source"],
            [[str(price), price.source] for price in PRICES.values()],
        ),
    ]
    return "\n".join(out)


def _month_figures(day: StoreDay, policy: CameraPolicy, usage: CloudUsage, days: int, seed: int) -> dict:
    month = simulate_month(day, policy, days, seed)
    return {
        "searches": sum(d.searches for d in month),
        "missed": sum(d.visitors_never_searched for d in month),
        "visitors": sum(d.visitors for d in month),
        "fullest": max(d.most_remembered for d in month),
        "cost": sum(line.frame_search or 0 for line in monthly_costs(month, day, usage)),
    }


def sensitivity(day: StoreDay, policy: CameraPolicy, usage: CloudUsage, days: int, seed: int) -> str:
    """What the memory of searched faces saves and what it costs in greetings, by footfall and by its minutes: the
    resend schedule alone beside the schedule with the memory, on the same simulated days."""
    bound = policy.at_the_confusion_bound

    def row(label: str, scenario: StoreDay, with_memory: CameraPolicy) -> list[str]:
        alone = _month_figures(scenario, with_memory.without_memory, usage, days, seed)
        memory = _month_figures(scenario, with_memory, usage, days, seed)
        worst = _month_figures(
            scenario, replace(bound, search_memory_seconds=with_memory.search_memory_seconds), usage, days, seed
        )
        per_visitor = scenario.visitors * days
        return [
            label,
            f"{alone['searches']:,} ({alone['searches'] / per_visitor:.2f})",
            f"{memory['searches']:,} ({memory['searches'] / per_visitor:.2f})",
            f"{alone['missed']:,}",
            f"{memory['missed']:,}",
            f"{worst['missed']:,} ({worst['missed'] / worst['visitors']:.1%})",
            f"{memory['fullest']}",
            f"{_usd(alone['cost'])} / {_usd(memory['cost'])}",
        ]

    header = [
        "",
        "searches, schedule alone (per visitor)",
        "searches, with memory",
        "customers never searched, schedule alone",
        "... with memory",
        "... with memory at the bound",
        "uploads remembered at most",
        "FrameSearch a month, alone / with memory",
    ]
    by_footfall = [
        row(f"{visitors:,} visitors a day", StoreDay(**{**day.__dict__, "visitors": visitors}), policy)
        for visitors in (100, 300, 1000, 3000)
    ]
    by_minutes = [
        row(f"{minutes:g} min", day, replace(policy, search_memory_seconds=minutes * 60)) for minutes in (10, 30, 60)
    ]
    return "\n".join(
        [
            "### What the memory of searched faces saves, and what it costs in greetings",
            "",
            f"Same simulated days ({days} of them), one camera; searches a month (per visitor, staff included) and the "
            "customers never searched while in the store (a registered one among them is not greeted). The memory "
            f"({policy.search_memory_seconds / 60:g} min, at most {policy.max_remembered} uploads, a face spared after "
            f"{policy.searches_before_spared} uploads) knows a face sent earlier again {policy.recognised_share:.0%} "
            f"of the time and took no stranger for another ({policy.confused_share:.1%} of pairs) on the photos of "
            'bench/face_memory.py; "at the bound" runs the same days at the highest rate those 406 pairs leave '
            f"possible ({bound.confused_share:.2%} per pair, rule of three): what the memory could cost if SFace "
            "confuses people that often.",
            "",
            markdown_table(header, by_footfall),
            "",
            f"The memory's minutes at {day.visitors:,} visitors a day. The Pi does not know whether a search matched "
            "anyone, so a customer registered at the counter is not searched by a new track until the minutes are "
            "over; the shorter memory also holds fewer faces to confuse a stranger with.",
            "",
            markdown_table(["memory", *header[1:]], by_minutes),
        ]
    )


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visitors", type=int, default=StoreDay.visitors)
    parser.add_argument("--open-hours", type=float, default=StoreDay.open_hours)
    parser.add_argument("--days", type=int, default=30, help="open days in the month")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", type=Path, default=RESULTS / "detection_cost.md")
    args = parser.parse_args(argv)
    day = StoreDay(visitors=args.visitors, open_hours=args.open_hours)
    policy, usage = CameraPolicy.measured(), CloudUsage()
    text = "\n\n".join(
        [
            report(day, policy, usage, args.days, args.seed),
            sensitivity(day, policy, usage, args.days, args.seed),
            face_memory_report(),
        ]
    )
    return publish(text, args.output)


if __name__ == "__main__":
    main()
