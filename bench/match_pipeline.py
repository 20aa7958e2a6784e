"""The match pipeline, measured: Greeter's match function against a naive per-frame consumer, on one stream.

    .venv/bin/python -m bench.match_pipeline                         # from the repository root (make bench); minutes
    .venv/bin/python -m bench.match_pipeline --repeat 5              # more rounds, steadier timings
    .venv/bin/python -m bench.match_pipeline --face-share 0.5        # people facing the camera half the time
    .venv/bin/python -m bench.match_pipeline --mode StreamProcessor  # the records a stream processor writes

The stream is what a store's two cameras (entrance, till) see in about three quarters of an hour (generated,
seeded, the same every run), analysed at 5 frames per second: 20 visits of registered people lasting 1-5
minutes, in which the camera sees the person's face in about 10% of the frames (they face the shelves, not the
camera; a few of those matches fall under the threshold, so the search reports a face matching nobody),
strangers walking past, a few people who come back after longer than a visit can last unseen (the cooldown,
and the quarter more by which a visit's recorded last sighting may lag: see functions/match/greeting.py), a
couple of visits overlapping at one camera and a few people who walk from the entrance to the till. Between
visits the cameras see nobody.

What reaches the match function depends on the stack's DetectionMode (`--mode`; FrameSearch, the template's
default, unless it says otherwise), each record in the stream processor's shape:
- FrameSearch: one record per face the cameras find (frame search searches each face crop on its own), sent to
  the detection queue; a frame with nobody in it sends nothing;
- StreamProcessor: one record per analysed frame, empty or not, written to the detection stream.
Both consumers get exactly the same Lambda events: the records in arrival order, cut into 1-second batches as
the mode's event source mapping would (MaximumBatchingWindowInSeconds and BatchSize from template.yaml): one
batch a window from the queue, one per shard from the stream. The events go straight to the handlers rather
than through moto's queue or stream (whose GetRecords rescans a shard's whole history on each call): that would
time the harness, not the consumers.

Measured per consumer, on moto (template.yaml's tables and topic via tests/stack.py):
- emails per visit and in total (each published message is matched to the visit of its person at that time);
- AWS calls per 1,000 records and per visit, by operation: the consumer's own calls (counted at botocore's
  send, tests/faults.py), the staff tablets' arrival pushes among them: each HTTPS publish request to AppSync
  Events, counted where it arrives (the AppSync Events stand-in, local/appsync_events.py) as
  `appsync.EventPublish`. What Lambda's poller does for the function is not among them: its ReceiveMessage and
  DeleteMessageBatch on the detection queue and its long polls of the empty queue (and the frame-search
  function's SendMessage) are priced by the bill bench (bench/monthly_bill.py), not counted here;
- handler time per 1,000 records: wall-clock (and CPU) time inside the handler, median of the rounds. This is
  our code plus moto answering in-process, not AWS: a real GetItem or Publish takes milliseconds more, which
  would widen the gap. The match function replays the whole stream in every round, starting cold; the naive
  consumer keeps no state, so the rounds share its invocations (every third one each, by default) and it
  handles the whole stream once: its AWS calls cost most of the run;
- for the match function, the AlertLatency metric it emitted. Its clock (`app.now`) is simulated: during an
  invocation it reads the moment Lambda would invoke it (the end of the record's 1-second batching window)
  plus the real time the handler has spent so far. So the latency is the batching wait plus our handler's
  time; it leaves out the face search's own delay and Lambda's invoke overhead.

Then, each on a fresh deployment: AWS calls per visit on the same stream, on an all-visit stream (the same
visits, the face in every frame, no empty frame), and on all-visit streams of 1-, 5- and 30-minute visits, for
both consumers; and emails per visit under faults: a stream of 100 short visits delivered with the retry
semantics of the mode's event source mapping (the queue's: each failed message back on its own after the
match function's backoff, parked by the queue's redrive; the stream's: retry from the first failed record,
bisect) while AWS calls are refused, carried out with their answers lost, or kill the process (FAULT_RATES),
with cold starts after every death and now and then.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import heapq
import json
import math
import os
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from bench.harness import (
    REGION,
    ROOT,
    FaultInjector,
    KinesisEventSource,
    LambdaContext,
    ProcessDied,
    Stack,
    detection_source,
    emitted_metrics,
    face,
    face_search_record,
    function_output,
    import_function,
    install_fault_injector,
    kinesis_event_record,
    metric_values,
    offline_aws,
    published,
    register_person,
)
from local import appsync_events

FPS = 5
CAMERAS = ("entrance", "till")
START = datetime(2026, 11, 17, 10, 0, tzinfo=UTC).timestamp()  # a Tuesday, opening time
STACK_PARAMETERS = {"AlertEmails": "staff@example.com", "Cameras": "entrance,till"}
MODES = ("FrameSearch", "StreamProcessor")  # the template's default first
NAIVE_CONSUMER = ROOT / "bench" / "naive_match"
RESULTS = ROOT / "bench" / "results" / "match_pipeline.md"
NAMES = [
    "Maria Silva", "Joao Costa", "Aisha Khan", "Tom Becker", "Sofia Rossi", "Liam Walsh", "Chen Wei", "Ana Lima",
    "Omar Haddad", "Emma Novak", "Lucas Martin", "Ines Duarte", "Noah Schmidt", "Yuki Tanaka", "Priya Nair",
    "Marta Kowalska", "Diego Ruiz", "Fatima Zahra", "Hugo Laurent", "Nina Berg", "Pedro Alves", "Sara Cohen",
]  # fmt: skip


# ---------------------------------------------------------------------- the stream
@dataclass(frozen=True)
class Segment:
    camera: str
    start: float
    end: float


@dataclass(frozen=True)
class Visit:
    number: int  # in order of arrival, from 1
    person_id: str
    segments: tuple[Segment, ...]
    face_rate: float  # share of the visit's frames in which the camera sees the face
    similarity: float  # how well this visit's frames match the person's indexed face, on average

    @property
    def start(self) -> float:
        return self.segments[0].start

    @property
    def end(self) -> float:
        return self.segments[-1].end


@dataclass(frozen=True)
class Frame:
    at: float  # producer timestamp, epoch seconds
    camera: str
    faces: tuple[tuple[tuple[str, float], ...], ...]  # each detected face's matches (person id, similarity)


@dataclass
class DetectionStream:
    start: float
    end: float
    people: dict[str, str]  # person id -> name
    visits: list[Visit]
    frames: list[Frame]  # in arrival order
    strangers: int
    threshold: float
    cooldown_seconds: float
    minutes: tuple[float, float]  # how long visits last
    face_share: float  # on average, the share of a visit's frames in which the camera sees the face
    mode: str = MODES[0]  # the stack's DetectionMode: what carries the records to the match function
    _by_person: dict[str, list[Visit]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for visit in self.visits:
            self._by_person.setdefault(visit.person_id, []).append(visit)

    @functools.cached_property
    def records(self) -> list[Frame]:
        """What reaches the match function. A stream processor writes one record per analysed frame, empty or
        not. Frame search sends one record per face crop, that face alone, and nothing for a frame without a
        face: every face in the frames counts as a crop here (the camera's per-face resend limit would send
        fewer, so this is the busier case for both consumers)."""
        if self.mode == "StreamProcessor":
            return self.frames
        return [Frame(frame.at, frame.camera, (found,)) for frame in self.frames for found in frame.faces]

    def visit_of(self, person_id: str, at: float, slack: float = 5.0) -> Visit | None:
        """The visit of `person_id` under way at `at` (an email may leave up to a batching window after)."""
        for visit in self._by_person.get(person_id, []):
            if visit.start <= at <= visit.end + slack:
                return visit
        return None

    def matching_frames(self, visit: Visit) -> int:
        return sum(
            1
            for frame in self.frames
            if visit.start <= frame.at <= visit.end
            for matches in frame.faces
            if matches and matches[0][0] == visit.person_id
        )

    def composition(self) -> Counter:
        counts: Counter = Counter()
        for frame in self.records:
            if not frame.faces:
                counts["no face"] += 1
            elif any(frame.faces):
                counts["a registered face"] += 1
            else:
                counts["only faces matching nobody"] += 1
        return counts


def generate_stream(
    visits: int = 20,
    returning: int = 3,
    overlapping: int = 2,
    walking: int = 3,
    strangers: int = 12,
    face_share: float = 0.10,
    minutes: tuple[float, float] = (1, 5),
    seed: int = 2026,
    start: float = START,
    threshold: float = 85.0,
    cooldown_minutes: float = 30,
    only_visits: bool = False,
    mode: str = MODES[0],
) -> DetectionStream:
    """A seeded, realistic detection stream (see the module docstring); the same arguments give the same stream."""
    rng = random.Random(seed)
    cooldown = cooldown_minutes * 60
    returning = min(returning, visits // 2)

    # When and where: visits alternate between the cameras; in each camera's view people come one after another,
    # except `overlapping` visits that begin while the previous one there is still under way.
    lanes: dict[str, list[tuple[float, float]]] = {camera: [] for camera in CAMERAS}
    free = {camera: start + rng.uniform(5, 30) for camera in CAMERAS}
    overlaps = set(rng.sample(range(2, visits), min(overlapping, max(0, visits - 2))))
    plan = []
    for index in range(visits):
        camera = CAMERAS[index % len(CAMERAS)]
        duration = rng.uniform(minutes[0] * 60, minutes[1] * 60)
        if index in overlaps and lanes[camera]:
            previous_start, previous_end = lanes[camera][-1]
            begin = previous_start + rng.uniform(20, max(21, (previous_end - previous_start) / 2))
        else:
            begin = free[camera] + rng.uniform(20, 120)
        lanes[camera].append((begin, begin + duration))
        free[camera] = max(free[camera], begin + duration)
        plan.append([camera, begin, duration])

    # Who: the first `returning` arrivals come back as the last ones, after more than the cooldown.
    order = sorted(range(visits), key=lambda i: plan[i][1])
    person_of_slot = {slot: arrival for arrival, slot in enumerate(order)}
    for first, second in zip(order[:returning], reversed(order[len(order) - returning :]), strict=True):
        person_of_slot[second] = person_of_slot[first]
        earliest = plan[first][1] + plan[first][2] + cooldown * 1.25 + 60
        if plan[second][1] < earliest:
            plan[second][1] = earliest + rng.uniform(0, 60)
    ids = sorted(set(person_of_slot.values()))
    people = {f"p-{n:02d}": NAMES[n % len(NAMES)] for n in range(len(ids))}
    renumber = {old: f"p-{new:02d}" for new, old in enumerate(ids)}

    # Some entrance visits end at the till: a few seconds out of view on the way, still one visit.
    walkers = set(rng.sample([i for i in range(visits) if plan[i][0] == CAMERAS[0]], min(walking, visits // 2)))
    planned = []
    for index, (camera, begin, duration) in enumerate(plan):
        split = begin + duration * rng.uniform(0.5, 0.7)
        if index in walkers and begin + duration - split > 10:
            segments = (Segment(camera, begin, split), Segment(CAMERAS[1], split + 8, begin + duration))
        else:
            segments = (Segment(camera, begin, begin + duration),)
        planned.append((segments, renumber[person_of_slot[index]]))
    planned.sort(key=lambda item: item[0][0].start)
    visit_list = [
        Visit(
            number,
            person_id,
            segments,
            face_rate=min(1.0, face_share * rng.uniform(0.5, 1.5)),
            similarity=rng.uniform(89, 97),
        )
        for number, (segments, person_id) in enumerate(planned, start=1)
    ]

    end = max(visit.end for visit in visit_list) + 10
    passers = []
    for _ in range(strangers):
        begin = rng.uniform(start, end - 60)
        passers.append(Segment(rng.choice(CAMERAS), begin, begin + rng.uniform(5, 45)))

    # Who can be in view at a camera in each minute, in visit_list order: a long day is then quick to generate,
    # and the random draws (only ever made for people in view) are the same as checking every visit at every tick.
    in_view: dict[tuple[str, int], list[Visit]] = defaultdict(list)
    passing: dict[tuple[str, int], list[Segment]] = defaultdict(list)
    for visit in visit_list:
        for camera in CAMERAS:
            minutes_in_view = {
                minute
                for s in visit.segments
                if s.camera == camera
                for minute in range(int((s.start - start) // 60), int((s.end - start) // 60) + 1)
            }
            for minute in sorted(minutes_in_view):
                in_view[(camera, minute)].append(visit)
    for passer in passers:
        for minute in range(int((passer.start - start) // 60), int((passer.end - start) // 60) + 1):
            passing[(passer.camera, minute)].append(passer)

    frames = []
    for tick in range(math.ceil((end - start) * FPS)):
        for offset, camera in enumerate(CAMERAS):
            at = start + tick / FPS + offset * 0.1  # the cameras' frames interleave
            minute = int((at - start) // 60)
            faces = []
            for visit in in_view.get((camera, minute), ()):
                if not any(s.camera == camera and s.start <= at <= s.end for s in visit.segments):
                    continue
                if rng.random() >= visit.face_rate:
                    continue  # turned away, walking behind a shelf: no face in this frame
                similarity = min(99.9, rng.gauss(visit.similarity, 3.0))
                # The stream processor reports only matches at or above its FaceMatchThreshold.
                faces.append(((visit.person_id, round(similarity, 4)),) if similarity >= threshold else ())
            for passer in passing.get((camera, minute), ()):
                if passer.start <= at <= passer.end and rng.random() < 0.7:
                    faces.append(())  # a stranger: a face matching nobody
            if faces or not only_visits:  # an all-visit stream: no frame without a face in it
                frames.append(Frame(at, camera, tuple(faces)))
    return DetectionStream(
        start,
        end,
        people,
        visit_list,
        frames,
        strangers,
        threshold,
        cooldown,
        minutes=minutes,
        face_share=face_share,
        mode=mode,
    )


# ---------------------------------------------------------------------- delivery
@dataclass
class Invocation:
    invoked_at: float  # simulated: when Lambda would call the handler
    event: dict


def lambda_events(stream: DetectionStream, stack: Stack) -> list[Invocation]:
    """The records as Lambda's event source mapping delivers them, in batches of what arrived in one batching
    window (BatchSize and MaximumBatchingWindowInSeconds from the mode's mapping in template.yaml): the
    detection queue's, one batch a window for the whole store; or the detection stream's, one per shard."""
    source = detection_source(stack, handler=None, context=None)
    window = float(source.settings.get("MaximumBatchingWindowInSeconds", 0)) or 1.0
    batch_size = int(source.settings.get("BatchSize", 100))
    video = {camera: _video_stream_arn(stack, camera) for camera in CAMERAS}
    documents = [(frame, _document(frame, video[frame.camera])) for frame in stream.records]
    invocations = []
    if isinstance(source, KinesisEventSource):
        shards = {camera: source.shard_for(camera) for camera in CAMERAS}
        batches: dict[tuple[int, str], list[dict]] = defaultdict(list)
        sequence: Counter = Counter()
        for frame, document in documents:
            shard = shards[frame.camera]
            sequence[shard] += 1
            record = kinesis_event_record(
                stack,
                source.stream_arn,
                shard,
                sequence_number=f"4959{int(shard.split('-')[-1]):04d}{sequence[shard]:048d}",
                data=json.dumps(document).encode(),
                partition_key=frame.camera,
                arrival=frame.at,
            )
            batches[(int((frame.at - stream.start) // window), shard)].append(record)
        for (number, _shard), records in sorted(batches.items()):
            for first in range(0, len(records), batch_size):
                invoked_at = stream.start + (number + 1) * window
                invocations.append(Invocation(invoked_at, {"Records": records[first : first + batch_size]}))
        return invocations
    windows: dict[int, list[tuple[Frame, dict]]] = defaultdict(list)
    for frame, document in documents:
        windows[int((frame.at - stream.start) // window)].append((frame, document))
    for number, arrived in sorted(windows.items()):
        for first in range(0, len(arrived), batch_size):
            batch = arrived[first : first + batch_size]
            # One event per batch, its messages sent when the crops were searched; `shard` keeps every batch's
            # message ids apart (the match function names an alert by its record's message id).
            event = source.event(
                [json.dumps(document).encode() for _, document in batch],
                batch[0][0].at,
                shard=len(invocations) + 1,
            )
            for record, (frame, _) in zip(event["Records"], batch, strict=True):
                record["attributes"]["SentTimestamp"] = str(round(frame.at * 1000))
            invocations.append(Invocation(stream.start + (number + 1) * window, event))
    return invocations


def _document(frame: Frame, video_stream_arn: str) -> dict:
    """The face-search record of a frame (a stream processor's) or of a face crop (frame search's: one face)."""
    faces = [face(list(matches), left=0.1 + 0.25 * i) for i, matches in enumerate(frame.faces)]
    return face_search_record(video_stream_arn, frame.at, faces)


def _video_stream_arn(stack: Stack, camera: str) -> str:
    return stack.client("kinesisvideo").describe_stream(StreamName=f"{stack.name}-{camera}")["StreamInfo"]["StreamARN"]


class SimulatedClock:
    """The match function's `now()` during a replay: the simulated moment of the invocation, plus the real
    time the handler has spent since it was called."""

    def __init__(self) -> None:
        self.invoked_at = 0.0
        self._since = time.perf_counter()

    def invoke(self, at: float) -> None:
        self.invoked_at, self._since = at, time.perf_counter()

    def __call__(self) -> float:
        return self.invoked_at + (time.perf_counter() - self._since)


# ---------------------------------------------------------------------- the two consumers
@dataclass(frozen=True)
class Consumer:
    key: str
    label: str
    load: Callable  # (stack, monkeypatch, clock) -> handler
    person_of: Callable  # (published message tuple) -> person id


def _load_match_function(stack: Stack, monkeypatch, clock: SimulatedClock):
    return _load_match_app(stack, monkeypatch, clock).lambda_handler


def _load_match_app(stack: Stack, monkeypatch, clock: SimulatedClock):
    app = stack.load_function("MatchFunction", monkeypatch)
    monkeypatch.setattr(app, "now", clock)
    channel = appsync_events.running
    if channel is not None:  # the stand-in speaks plain HTTP on 127.0.0.1 (the template's endpoint is HTTPS)
        for listener in app.greeter.listeners:
            publisher = getattr(listener, "_publisher", None)
            if publisher is not None:
                monkeypatch.setattr(publisher, "http_endpoint", channel.http_endpoint)
    return app


@contextlib.contextmanager
def tablet_channel(calls: Counter) -> Iterator[appsync_events.FakeAppSyncEvents]:
    """The staff tablets' AppSync Events API (the stand-in), counting each publish request into `calls`.
    Inside offline_aws(): it accepts the fake credentials the functions sign with."""
    credentials = boto3.session.Session().get_credentials().get_frozen_credentials()
    channel = appsync_events.FakeAppSyncEvents(
        region=REGION, secrets={credentials.access_key: credentials.secret_key}, authorize=lambda _: None, calls=calls
    ).start()
    try:
        yield channel
    finally:
        channel.stop()


def _load_naive_consumer(stack: Stack, monkeypatch, clock: SimulatedClock):
    for name, value in stack.function_environment("MatchFunction").items():
        monkeypatch.setenv(name, value)
    return import_function(NAIVE_CONSUMER, monkeypatch).lambda_handler


def _attribute(message: tuple, name: str) -> str:
    value = (message[3] or {})[name]
    return value.get("StringValue", value.get("Value"))


MATCH_FUNCTION = Consumer(
    "greeter", "Greeter match function", _load_match_function, lambda message: _attribute(message, "person_id")
)
NAIVE = Consumer(
    "naive",
    "naive consumer (walkthrough style)",
    _load_naive_consumer,
    lambda message: json.loads(message[1])["person_id"],
)


@dataclass
class PassResult:
    consumer: Consumer
    records: int
    invocations: int
    handler_seconds: float  # wall-clock
    handler_cpu_seconds: float  # this process's CPU time (moto answers in-process), steadier on a busy machine
    calls: Counter
    emails_by_visit: dict[int, int]  # visit number -> emails sent for it
    unattributed_emails: int  # emails that fall in no visit of their person (should be none)
    latencies_ms: list[float]
    metrics: dict[str, float]

    @property
    def emails(self) -> int:
        return sum(self.emails_by_visit.values()) + self.unattributed_emails

    @property
    def ms_per_1000_records(self) -> float:
        return self.handler_seconds * 1_000_000 / self.records

    @property
    def cpu_ms_per_1000_records(self) -> float:
        return self.handler_cpu_seconds * 1_000_000 / self.records

    def calls_per_1000_records(self) -> dict[str, float]:
        return {call: count * 1000 / self.records for call, count in sorted(self.calls.items())}


def replay(
    consumer: Consumer,
    stream: DetectionStream,
    stack: Stack,
    invocations: list[Invocation],
    calls: Counter,
    monkeypatch,
) -> PassResult:
    """Deliver every invocation to one consumer, in order; count its emails, AWS calls and handler time.

    The consumer starts cold (imported afresh) and the visits table empty, as on a fresh deployment."""
    _forget_visits(stack)
    clock = SimulatedClock()
    handler = consumer.load(stack, monkeypatch, clock)
    context = LambdaContext()
    notifications = published(stack)
    emails_by_visit = {visit.number: 0 for visit in stream.visits}
    unattributed = 0
    elapsed = cpu = 0.0
    calls_before = Counter(calls)
    with function_output() as output:
        for invocation in invocations:
            sent_before = len(notifications)
            clock.invoke(invocation.invoked_at)
            started, cpu_started = time.perf_counter(), time.process_time()
            response = handler(invocation.event, context)
            elapsed += time.perf_counter() - started
            cpu += time.process_time() - cpu_started
            if response and response.get("batchItemFailures"):
                raise RuntimeError(f"{consumer.label} failed records: {response['batchItemFailures']}")
            for message in notifications[sent_before:]:
                visit = stream.visit_of(consumer.person_of(message), invocation.invoked_at)
                if visit is None:
                    unattributed += 1
                else:
                    emails_by_visit[visit.number] += 1
    text = output.getvalue()
    return PassResult(
        consumer=consumer,
        records=sum(len(invocation.event["Records"]) for invocation in invocations),
        invocations=len(invocations),
        handler_seconds=elapsed,
        handler_cpu_seconds=cpu,
        calls=Counter(calls) - calls_before,
        emails_by_visit=emails_by_visit,
        unattributed_emails=unattributed,
        latencies_ms=metric_values(text, "AlertLatency"),
        metrics=emitted_metrics(text),
    )


def _forget_visits(stack: Stack) -> None:
    table = boto3.resource("dynamodb", region_name=REGION).Table(stack.ref("VisitsTable"))
    with table.batch_writer() as batch:
        for item in table.scan(ProjectionExpression="person_id")["Items"]:
            batch.delete_item(Key={"person_id": item["person_id"]})


def deploy(stream: DetectionStream) -> Stack:
    """template.yaml on moto, its people registered (call inside `offline_aws()`)."""
    parameters = {"DetectionMode": stream.mode, "AlertCooldownMinutes": round(stream.cooldown_seconds / 60)}
    stack = Stack({**STACK_PARAMETERS, **parameters}).deploy()
    for person_id, name in stream.people.items():
        register_person(stack, person_id, name, notes="Prefers to browse alone; ask about the new season.")
    return stack


@dataclass
class Measurements:
    """`greeter`: one full replay of the stream per round (the match function keeps state: each round starts
    cold, with no visits). `naive`: that consumer keeps no state at all, so the rounds share its work: of n
    rounds, round k gets invocations k, k+n, k+2n... and over the rounds it handles the whole stream once."""

    greeter: list[PassResult]
    naive: list[PassResult]

    def total(self, key: str) -> PassResult:
        if key == "greeter":
            first = self.greeter[0]
            for other in self.greeter[1:]:  # simulated stream and clock: every round must send the same emails
                if other.emails_by_visit != first.emails_by_visit:
                    raise RuntimeError("the match function's emails differ between rounds")
            return first
        return _merged(self.naive)

    def median_ms_per_1000_records(self, key: str, cpu: bool = False) -> float:
        results = self.greeter if key == "greeter" else self.naive
        return statistics.median(r.cpu_ms_per_1000_records if cpu else r.ms_per_1000_records for r in results)


def _merged(results: list[PassResult]) -> PassResult:
    emails: Counter = Counter()
    calls: Counter = Counter()
    metrics: Counter = Counter()
    for result in results:
        emails.update(result.emails_by_visit)
        calls.update(result.calls)
        metrics.update(result.metrics)
    return PassResult(
        consumer=results[0].consumer,
        records=sum(r.records for r in results),
        invocations=sum(r.invocations for r in results),
        handler_seconds=sum(r.handler_seconds for r in results),
        handler_cpu_seconds=sum(r.handler_cpu_seconds for r in results),
        calls=calls,
        emails_by_visit={number: emails[number] for number in results[0].emails_by_visit},
        unattributed_emails=sum(r.unattributed_emails for r in results),
        latencies_ms=[latency for r in results for latency in r.latencies_ms],
        metrics=dict(metrics),
    )


def run(stream: DetectionStream, repeat: int = 3, progress: Callable[[str], None] = lambda _: None) -> Measurements:
    """Deploy once, then `repeat` rounds of both consumers on the stream's invocations (see Measurements)."""
    injector = FaultInjector()  # nothing injected: it only counts the calls that reach moto
    uninstall = install_fault_injector(injector)
    measured = Measurements(greeter=[], naive=[])
    try:
        with offline_aws(), tablet_channel(injector.calls), pytest.MonkeyPatch.context() as monkeypatch:
            stack = deploy(stream)
            invocations = lambda_events(stream, stack)
            for number in range(repeat):
                shares = {MATCH_FUNCTION.key: invocations, NAIVE.key: invocations[number::repeat]}
                for consumer in [MATCH_FUNCTION, NAIVE] if number % 2 == 0 else [NAIVE, MATCH_FUNCTION]:
                    with monkeypatch.context() as patch:
                        result = replay(consumer, stream, stack, shares[consumer.key], injector.calls, patch)
                    getattr(measured, consumer.key).append(result)
                    progress(
                        f"round {number + 1}/{repeat}: {consumer.label}: {result.records:,} records, "
                        f"{result.handler_seconds:.1f} s in the handler"
                    )
    finally:
        uninstall()
    return measured


# ---------------------------------------------------------------------- calls per visit, several streams
def all_visit_stream(minutes: float, visits: int = 2, seed: int = 2026, mode: str = MODES[0]) -> DetectionStream:
    """Visits of `minutes` one after another, the face in every frame, no empty frame and no stranger."""
    return generate_stream(
        visits=visits,
        returning=0,
        overlapping=0,
        walking=0,
        strangers=0,
        face_share=1.0,
        minutes=(minutes, minutes),
        seed=seed,
        only_visits=True,
        mode=mode,
    )


@dataclass
class VisitCalls:
    label: str
    records: int
    visits: int
    greeter_calls: int
    naive_calls: int
    greeter_emails: list[int]


def _all_visit(stream: DetectionStream) -> DetectionStream:
    """The bench's visits (same people, times and cameras) with the face in every frame and nothing else."""
    return generate_stream(
        visits=len(stream.visits),
        strangers=0,
        face_share=1.0,
        minutes=stream.minutes,
        only_visits=True,
        mode=stream.mode,
    )


def calls_per_visit(label: str, stream: DetectionStream) -> VisitCalls:
    measured = run(stream, repeat=1)
    greeter, naive = measured.total("greeter"), measured.total("naive")
    return VisitCalls(
        label,
        len(stream.records),
        len(stream.visits),
        sum(greeter.calls.values()),
        sum(naive.calls.values()),
        list(greeter.emails_by_visit.values()),
    )


# ---------------------------------------------------------------------- emails per visit under faults
# Per attempt of each call: the share AWS refuses, the share it carries out and whose answer is lost, and the
# share after which the execution environment dies (AWS did it). Publish's lost answers and deaths are the
# windows no code can close; the rest must cost nothing.
FAULT_RATES = {
    "dynamodb.UpdateItem": (0.30, 0.10, 0.01),
    "dynamodb.TransactWriteItems": (0.30, 0.10, 0.01),
    "dynamodb.BatchGetItem": (0.30, 0.10, 0.0),
    "sns.Publish": (0.30, 0.05, 0.01),
}


def faults_stream(visits: int = 100, seed: int = 2026, mode: str = MODES[0]) -> DetectionStream:
    """Many short visits, only the frames with faces in them (empty frames cost no AWS call, so no fault)."""
    return generate_stream(visits=visits, face_share=0.3, minutes=(1, 2), seed=seed, only_visits=True, mode=mode)


RECYCLE_EVERY = 200  # invocations, on average, between two cold starts of the execution environment


@dataclass
class FaultResult:
    visits: int
    emails_by_visit: dict[int, int]
    unattributed: int
    injected: Counter
    parked_records: int
    invocations: int
    cold_starts: int
    mode: str = MODES[0]
    max_retries: int = 8

    @property
    def windows(self) -> int:
        """Faults in the windows no code can close: SNS took the email, then its answer or the process was lost."""
        return sum(n for (call, kind), n in self.injected.items() if call == "sns.Publish" and kind != "refused")


def run_under_faults(stream: DetectionStream, seed: int = 2026) -> FaultResult:
    """The stream delivered as Lambda would with faults at FAULT_RATES, a cold start after a death and now and
    then. The detection queue: each failed message comes back on its own after the match function's backoff (or
    the queue's visibility timeout when the process died), and the queue parks it after `max_retries` retries.
    The detection stream: retry from the first failed record, bisect on a failed invocation, `max_retries`
    retries, then the failure queue."""
    injector = FaultInjector()
    uninstall = install_fault_injector(injector)
    try:
        with (
            offline_aws(),
            tablet_channel(injector.calls),
            pytest.MonkeyPatch.context() as monkeypatch,
            function_output(),
        ):
            stack = deploy(stream)
            invocations = lambda_events(stream, stack)
            source = detection_source(stack, None, None)
            run = _FaultRun(stream, stack, monkeypatch, random.Random(seed))
            injector.at_random(FAULT_RATES, seed)
            if isinstance(source, KinesisEventSource):
                _deliver_from_stream(run, invocations, source.max_retries)
            else:
                visibility = float(stack.resources["DetectionQueue"]["Properties"]["VisibilityTimeout"])
                _deliver_from_queue(run, invocations, source.max_retries, visibility)
    finally:
        uninstall()
    return FaultResult(
        len(stream.visits),
        run.emails_by_visit,
        run.unattributed,
        injector.injected_kinds,
        run.parked,
        run.invocations,
        run.cold_starts,
        stream.mode,
        source.max_retries,
    )


class _FaultRun:
    """The match function invoked under faults: its emails counted per visit, its container recycled."""

    def __init__(self, stream: DetectionStream, stack: Stack, monkeypatch, rng: random.Random) -> None:
        self.stream, self.stack, self.monkeypatch, self.rng = stream, stack, monkeypatch, rng
        self.clock = SimulatedClock()
        self.handler = self._cold_start()
        self.notifications = published(stack)
        self.context = LambdaContext()
        self.emails_by_visit = {visit.number: 0 for visit in stream.visits}
        self.unattributed = self.parked = self.invocations = self.cold_starts = 0

    def _cold_start(self) -> Callable:
        app = _load_match_app(self.stack, self.monkeypatch, self.clock)
        # The match function's own backoff for a failed message (the visibility it sets), from its integrations.
        self.backoff = sys.modules[app.QueueRetries.__module__].backoff_seconds
        return app.lambda_handler

    def invoke(
        self, batch: list[dict], at: float, key: Callable[[dict], str], slack: float
    ) -> tuple[set[str], bool, bool]:
        """One invocation at `at`: the keys of the records that failed (all of them when the invocation failed
        as a whole), whether it failed as a whole (an error, not a partial batch response), and whether the
        process died."""
        sent_before = len(self.notifications)
        self.clock.invoke(at)
        self.invocations += 1
        whole = died = False
        try:
            response = self.handler({"Records": batch}, self.context)
            failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        except Exception:  # an invocation error: every record failed (BatchProcessingError, the queue's BatchFailed)
            failed, whole = {key(r) for r in batch}, True
        except ProcessDied:
            failed, whole, died = {key(r) for r in batch}, True, True
        for message in self.notifications[sent_before:]:
            visit = self.stream.visit_of(_attribute(message, "person_id"), at, slack=slack)
            if visit is None:
                self.unattributed += 1
            else:
                self.emails_by_visit[visit.number] += 1
        if died or self.rng.random() < 1 / RECYCLE_EVERY:
            self.handler = self._cold_start()
            self.cold_starts += 1
        return failed, whole, died


def _deliver_from_stream(run: _FaultRun, invocations: list[Invocation], max_retries: int) -> None:
    """Lambda's Kinesis semantics: a shard waits for its batch; retry from the first failed record, bisect a
    batch that failed as a whole, give up (the failure queue) after `max_retries` retries."""

    def key(record: dict) -> str:
        return record["kinesis"]["sequenceNumber"]

    for invocation in invocations:
        pending, size, attempts = list(invocation.event["Records"]), len(invocation.event["Records"]), 0
        while pending:
            batch = pending[:size]
            failed, whole, _ = run.invoke(batch, invocation.invoked_at + attempts, key, slack=30)
            if not failed:
                del pending[: len(batch)]
                size, attempts = len(pending), 0
                continue
            first = next(i for i, r in enumerate(batch) if key(r) in failed)
            del pending[:first]
            attempts += 1
            if attempts > max_retries:
                run.parked += len(batch) - first
                del pending[: len(batch) - first]
                size, attempts = len(pending), 0
            elif whole and len(batch) > 1:
                size = max(1, len(batch) // 2)


def _deliver_from_queue(run: _FaultRun, invocations: list[Invocation], max_retries: int, visibility: float) -> None:
    """Lambda's SQS semantics: the messages after a failed one are handled now; each failed message comes
    back on its own, after the backoff the match function sets (or the visibility timeout, when the process
    died before it could), in a batch of what comes back together; the queue's redrive parks it after
    `max_retries` retries. Emails may leave up to a visibility timeout after the visit."""
    due = [(invocation.invoked_at, n, invocation.event["Records"]) for n, invocation in enumerate(invocations)]
    heapq.heapify(due)
    receives: Counter = Counter()
    order = len(due)
    while due:
        at, _, batch = heapq.heappop(due)
        for record in batch:
            receives[record["messageId"]] += 1
            record["attributes"]["ApproximateReceiveCount"] = str(receives[record["messageId"]])
        failed, _, died = run.invoke(batch, at, lambda r: r["messageId"], slack=visibility + 30)
        back: dict[float, list[dict]] = defaultdict(list)
        for record in batch:
            if record["messageId"] not in failed:
                continue
            if receives[record["messageId"]] > max_retries:
                run.parked += 1
            else:
                back[visibility if died else run.backoff(receives[record["messageId"]])].append(record)
        for wait, records in back.items():
            order += 1
            heapq.heappush(due, (at + wait, order, records))


# ---------------------------------------------------------------------- the report
def _ratio(naive: float, greeter: float) -> str:
    if greeter == 0:
        return "-" if naive == 0 else "∞"
    return f"{naive / greeter:,.0f}x" if naive / greeter >= 10 else f"{naive / greeter:,.1f}x"


def _number(value: float) -> str:
    if value == 0:
        return "0"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}" if value >= 10 else f"{value:,.2f}"


def _ordinal(number: int) -> str:
    return {2: "second", 3: "third"}.get(number, f"{number}th")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def report(
    stream: DetectionStream,
    measured: Measurements,
    elapsed: float,
    command: str = ".venv/bin/python -m bench.match_pipeline",
    visit_calls: list[VisitCalls] = (),
    faults: FaultResult | None = None,
) -> str:
    greeter, naive = measured.total("greeter"), measured.total("naive")
    rounds = len(measured.greeter)
    timing = {key: measured.median_ms_per_1000_records(key) for key in ("greeter", "naive")}
    cpu = {key: measured.median_ms_per_1000_records(key, cpu=True) for key in ("greeter", "naive")}
    each = {
        key: ", ".join(f"{r.ms_per_1000_records:,.0f}" for r in getattr(measured, key)) for key in ("greeter", "naive")
    }
    composition = stream.composition()
    records = len(stream.records)
    people_back = len(stream.visits) - len(stream.people)
    minutes = (stream.end - stream.start) / 60
    per_visit = {key: list(r.emails_by_visit.values()) for key, r in (("greeter", greeter), ("naive", naive))}

    lines = [
        "# Match pipeline benchmark",
        "",
        f"Stream: {len(stream.visits)} visits of {stream.minutes[0]:g}-{stream.minutes[1]:g} minutes by "
        f"{len(stream.people)} registered people "
        f"({people_back} of them came back after more than the {stream.cooldown_seconds / 60:.0f}-minute cooldown "
        "and its quarter), "
        f"{stream.strangers} strangers walking past, two cameras (entrance, till) at {FPS} frames/s for "
        f"{minutes:.0f} minutes; the camera sees a visitor's face in {stream.face_share:.0%} of a visit's frames "
        f"on average (people face the shelves, not the camera): {records:,} records, "
        + ", ".join(f"{count / records:.0%} {kind}" for kind, count in composition.most_common())
        + f". DetectionMode={stream.mode}: "
        + _DELIVERY[stream.mode]
        + f" Delivered as {greeter.invocations:,} "
        "Lambda invocations of 1-second batches, the same events to both consumers, on moto.",
        "",
        "| | Greeter match function | naive consumer (walkthrough style) | naive / Greeter |",
        "|---|---:|---:|---:|",
        "| emails per visit: mean (min-max) | "
        + " | ".join(
            f"{statistics.mean(per_visit[key]):,.1f} ({min(per_visit[key]):,}-{max(per_visit[key]):,})"
            for key in ("greeter", "naive")
        )
        + f" | {_ratio(statistics.mean(per_visit['naive']), statistics.mean(per_visit['greeter']))} |",
        f"| emails in total | {greeter.emails:,} | {naive.emails:,} | {_ratio(naive.emails, greeter.emails)} |",
        f"| AWS calls per visit | {_number(sum(greeter.calls.values()) / len(stream.visits))} | "
        f"{_number(sum(naive.calls.values()) / len(stream.visits))} | "
        f"{_ratio(sum(naive.calls.values()), sum(greeter.calls.values()))} |",
        f"| AWS calls per 1,000 records | {_number(sum(greeter.calls.values()) * 1000 / records)} | "
        f"{_number(sum(naive.calls.values()) * 1000 / records)} | "
        f"{_ratio(sum(naive.calls.values()), sum(greeter.calls.values()))} |",
    ]
    greeter_calls, naive_calls = greeter.calls_per_1000_records(), naive.calls_per_1000_records()
    for call in sorted(set(greeter_calls) | set(naive_calls)):
        lines.append(
            f"| &nbsp;&nbsp;{call} | {_number(greeter_calls.get(call, 0))} | {_number(naive_calls.get(call, 0))} | |"
        )
    lines.append(
        f"| handler time per 1,000 records, ms (median of {rounds}) | {timing['greeter']:,.0f} | "
        f"{timing['naive']:,.0f} | {_ratio(timing['naive'], timing['greeter'])} |"
    )
    lines.append(
        f"| &nbsp;&nbsp;of which CPU time, ms (median of {rounds}) | {cpu['greeter']:,.0f} | "
        f"{cpu['naive']:,.0f} | {_ratio(cpu['naive'], cpu['greeter'])} |"
    )
    latencies = greeter.latencies_ms
    if latencies:
        lines.append(
            f"| alert latency (AlertLatency), ms: min / p50 / p90 / max | {min(latencies):,.0f} / "
            f"{_percentile(latencies, 0.5):,.0f} / {_percentile(latencies, 0.9):,.0f} / {max(latencies):,.0f} | "
            "- (emits no metrics) | |"
        )
    lines += [
        "",
        "- Each visit's emails: Greeter "
        + ("exactly one for every visit" if set(per_visit["greeter"]) == {1} else str(per_visit["greeter"]))
        + f"; naive one per matching frame ({naive.emails:,} emails for "
        f"{sum(stream.matching_frames(v) for v in stream.visits):,} matching frames). Emails outside any visit: "
        f"Greeter {greeter.unattributed_emails}, naive {naive.unattributed_emails}.",
        f"- Greeter's metrics: {greeter.metrics.get('AlertsSent', 0):,.0f} alerts sent, "
        f"{greeter.metrics.get('AlertsSuppressed', 0):,.0f} suppressed by the cooldown, "
        f"{greeter.metrics.get('EmptyFrames', 0):,.0f} empty frames, "
        f"{greeter.metrics.get('FacesDetected', 0):,.0f} faces, {greeter.metrics.get('FacesMatched', 0):,.0f} matched.",
        "- AWS calls are each consumer's own (counted at botocore's send; tablet pushes where they arrive). Lambda's "
        "poller's requests for the function are not among them: on the detection queue its ReceiveMessage and "
        "DeleteMessageBatch and its long polls of the empty queue, with the frame-search function's SendMessage, "
        "are priced by `.venv/bin/python -m bench.monthly_bill`.",
        f"- Handler time per 1,000 records in each round, ms: Greeter {each['greeter']} (the whole stream each "
        f"round, starting cold); naive {each['naive']} ("
        + (
            f"it keeps no state, so the rounds share its invocations: every {_ordinal(rounds)} one each, the whole "
            "stream once in all"
            if rounds > 1
            else "the whole stream"
        )
        + "). Wall-clock inside the handlers, on moto: "
        "our code plus moto's in-process answers, not AWS latency (a real GetItem or Publish costs milliseconds "
        "more, which only widens the gap); CPU time is steadier when the machine is busy. X-Ray tracing off.",
        "- Alert latency: the match function's own AlertLatency metric (frame filmed -> email published), with its "
        "clock simulated as the moment Lambda would invoke it (end of the 1-second batching window) plus the real "
        "time spent in the handler. It leaves out the face search's delay and Lambda's invoke overhead. "
        f"{len(latencies)} alerts.",
    ]
    lines += _visit_calls_section(visit_calls) + _faults_section(faults)
    lines += [
        f"- Machine: {sys.platform}, {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f} at the end), "
        f"Python {sys.version.split()[0]}; whole run {elapsed:.0f} s (`{command}`).",
        "",
    ]
    return "\n".join(lines)


def _visit_calls_section(rows: list[VisitCalls]) -> list[str]:
    if not rows:
        return []
    lines = [
        "## AWS calls per visit, by stream",
        "",
        "Each stream on its own fresh deployment, one round; the naive consumer is the same walkthrough-style one.",
        "",
        "| stream | records | visits | Greeter: calls per visit | per 1,000 records | emails per visit "
        "| naive: calls per visit | naive / Greeter |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        emails = f"{min(row.greeter_emails)}-{max(row.greeter_emails)}" if row.greeter_emails else "-"
        lines.append(
            f"| {row.label} | {row.records:,} | {row.visits} | {_number(row.greeter_calls / row.visits)} | "
            f"{_number(row.greeter_calls * 1000 / row.records)} | {emails} | "
            f"{_number(row.naive_calls / row.visits)} | {_ratio(row.naive_calls, row.greeter_calls)} |"
        )
    return [*lines, ""]


_DELIVERY = {
    "FrameSearch": "one record per face found (frame search's crops), none for a frame with nobody in it, "
    "through the detection queue.",
    "StreamProcessor": "one record per analysed frame (a stream processor's), empty or not, through the detection "
    "stream.",
}
_RETRIES = {
    "FrameSearch": lambda retries: (
        "SQS retry semantics (the messages after a failed one handled at once, each "
        "failed one back on its own after the match function's backoff, or the queue's visibility timeout when the "
        f"process died; {retries} retries, then the queue's redrive parks it in the failure queue)"
    ),
    "StreamProcessor": lambda retries: (
        "Kinesis retry semantics (retry from the first failed record, bisect a "
        f"failed invocation, {retries} retries, then the failure queue)"
    ),
}


def _faults_section(result: FaultResult | None) -> list[str]:
    if result is None:
        return []
    per_visit = list(result.emails_by_visit.values())
    duplicated = sum(n - 1 for n in per_visit if n > 1)
    injected = ", ".join(
        f"{call} {kind}: {n}" for (call, kind), n in sorted(result.injected.items(), key=lambda item: item[0])
    )
    return [
        "## Emails per visit under faults",
        "",
        f"The bench's stream delivered with Lambda's {_RETRIES[result.mode](result.max_retries)} while AWS calls "
        "fail at random "
        f"({', '.join(f'{call} {r:.0%}/{lo:.0%}/{d:.0%}' for call, (r, lo, d) in FAULT_RATES.items())} "
        "refused / answer lost / process died after AWS did it), and the execution environment starts cold after "
        f"every death and about every {RECYCLE_EVERY} invocations.",
        "",
        "| visits | emails per visit: mean (min-max) | visits with no email | extra emails | Publish faults "
        "in the unclosable windows | records parked | invocations | cold starts |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {result.visits} | {statistics.mean(per_visit):.2f} ({min(per_visit)}-{max(per_visit)}) | "
        f"{sum(1 for n in per_visit if n == 0)} | {duplicated} | {result.windows} | {result.parked_records} | "
        f"{result.invocations:,} | {result.cold_starts} |",
        "",
        f"- Faults injected: {injected}. Emails outside any visit: {result.unattributed}.",
        "- An extra email can only come from a Publish that SNS carried out whose answer, or process, was then "
        "lost: each such fault allows at most one.",
        "",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=20, help="visits of registered people (default 20)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds, for the median handler time (default 3)")
    parser.add_argument("--seed", type=int, default=2026, help="the stream's random seed (default 2026)")
    parser.add_argument(
        "--face-share",
        type=float,
        default=0.10,
        help="share of a visit's frames in which the camera sees the face (default 0.10; 0.5 for people facing "
        "the camera most of the time: slower, the naive consumer's emails grow with it)",
    )
    parser.add_argument(
        "--fault-visits", type=int, default=100, help="visits in the stream played under faults (default 100)"
    )
    parser.add_argument(
        "--mode", choices=MODES, default=MODES[0], help=f"the stack's DetectionMode (default {MODES[0]})"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"markdown report (default {RESULTS})")
    args = parser.parse_args(argv)
    if args.fault_visits < 1:
        parser.error("--fault-visits needs at least one visit to play under faults")

    started = time.perf_counter()
    stream = generate_stream(visits=args.visits, face_share=args.face_share, seed=args.seed, mode=args.mode)
    print(
        f"{len(stream.records):,} records ({args.mode}), {len(stream.visits)} visits; {args.repeat} rounds",
        file=sys.stderr,
    )
    measured = run(stream, repeat=args.repeat, progress=lambda line: print(line, file=sys.stderr))
    greeter, naive = measured.total("greeter"), measured.total("naive")
    visit_calls = [
        VisitCalls(
            "the stream above",
            len(stream.records),
            len(stream.visits),
            sum(greeter.calls.values()),
            sum(naive.calls.values()),
            list(greeter.emails_by_visit.values()),
        )
    ]
    print("calls per visit: the all-visit streams", file=sys.stderr)
    visit_calls.append(calls_per_visit("all visit (the face in every frame), 1-5 min visits", _all_visit(stream)))
    for minutes in (1, 5, 30):
        stream_of = all_visit_stream(minutes, mode=args.mode)
        visit_calls.append(calls_per_visit(f"all visit, {minutes}-minute visits", stream_of))
    print("under faults", file=sys.stderr)
    faults = run_under_faults(faults_stream(args.fault_visits, seed=args.seed, mode=args.mode), seed=args.seed)
    command = " ".join([".venv/bin/python -m bench.match_pipeline", *(sys.argv[1:] if argv is None else argv)])
    text = report(stream, measured, time.perf_counter() - started, command, visit_calls, faults)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"written to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
